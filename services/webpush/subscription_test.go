package webpush_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/webpush"
)

// fakeResolver answers from a table, like DNS the test controls.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, s := range ips {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

var resolver = fakeResolver{
	"fcm.googleapis.com":       {"142.250.74.42", "2a00:1450:4001:82b::200a"},
	"evil.example":             {"127.0.0.1"},
	"mixed.example":            {"142.250.74.42", "10.1.2.3"},
	"metadata.example":         {"169.254.169.254"},
	"mapped.example":           {"::ffff:192.168.1.1"},
	"updates.push.services.io": {"34.117.59.81"},
}

func validSub(endpoint string) webpush.Subscription {
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	rand.Read(auth)
	var s webpush.Subscription
	s.Endpoint = endpoint
	s.Keys.P256dh = base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes())
	s.Keys.Auth = base64.RawURLEncoding.EncodeToString(auth)
	return s
}

func TestValidateSubscriptionRefusesNonPublicEndpointsUnlessAllowPrivate(t *testing.T) {
	for _, endpoint := range []string{
		"https://127.0.0.1/push/x",
		"https://127.8.9.10:8443/push/x",
		"https://10.0.0.5/push/x",
		"https://172.16.0.1/push/x",
		"https://172.31.255.254/push/x",
		"https://192.168.1.10/push/x",
		"https://100.64.0.1/push/x",
		"https://169.254.169.254/latest/meta-data/",
		"https://0.0.0.0/push/x",
		"https://[::1]/push/x",
		"https://[::]/push/x",
		"https://[fe80::1]/push/x",
		"https://[fe80::1%25eth0]/push/x",
		"https://[fd12:3456::1]/push/x",
		"https://[ff02::1]/push/x",
		"https://224.0.0.1/push/x",
		"https://[::ffff:127.0.0.1]/push/x",
		"https://[::ffff:169.254.169.254]/push/x",
		"https://[::ffff:100.64.0.1]/push/x", // mapped CGNAT: netip's own predicates do not cover it
		"https://[64:ff9b::a00:1]/push/x",    // NAT64 of 10.0.0.1
		"https://[2002:c0a8:101::1]/push/x",  // 6to4 of 192.168.1.1
		"https://evil.example/push/x",
		"https://mixed.example/push/x",
		"https://metadata.example/push/x",
		"https://mapped.example/push/x",
	} {
		t.Run(endpoint, func(t *testing.T) {
			err := webpush.ValidateSubscription(context.Background(), validSub(endpoint), false, resolver)
			if services.ErrorCode(err) != services.EInvalid || services.ErrorFields(err)["endpoint"] == "" {
				t.Fatalf("err = %v, want an endpoint problem", err)
			}
			if fields := services.ErrorFields(err); len(fields) != 1 {
				t.Fatalf("fields %v, want only endpoint", fields)
			}
			if err := webpush.ValidateSubscription(context.Background(), validSub(endpoint), true, resolver); err != nil {
				t.Fatalf("allowPrivate: %v", err)
			}
		})
	}
}

func TestValidateSubscriptionAcceptsPublicHTTPSEndpoints(t *testing.T) {
	for _, endpoint := range []string{
		"https://fcm.googleapis.com/fcm/send/abc:APA91b",
		"https://updates.push.services.io/wpush/v2/gAAAA",
		"https://142.250.74.42/push/x",
		"https://[2a00:1450:4001:82b::200a]/push/x",
		"https://[64:ff9b::8efa:4a2a]/push/x", // NAT64 of a public address
	} {
		if err := webpush.ValidateSubscription(context.Background(), validSub(endpoint), false, resolver); err != nil {
			t.Errorf("%s: %v", endpoint, err)
		}
	}
}

func TestValidateSubscriptionRefusesMalformedEndpoints(t *testing.T) {
	for _, endpoint := range []string{
		"",
		"http://fcm.googleapis.com/fcm/send/x",
		"ftp://fcm.googleapis.com/x",
		"fcm.googleapis.com/x",
		"https://user:pw@fcm.googleapis.com/x",
		"https://unknown.example/x",
		"https:///x",
		"https://fcm.googleapis.com/" + strings.Repeat("a", webpush.MaxEndpointLength),
	} {
		err := webpush.ValidateSubscription(context.Background(), validSub(endpoint), false, resolver)
		if services.ErrorFields(err)["endpoint"] == "" {
			t.Errorf("%q: err = %v, want an endpoint problem", endpoint, err)
		}
	}
}

func TestValidateSubscriptionAllowsHTTPOnlyWithAllowPrivate(t *testing.T) {
	sub := validSub("http://127.0.0.1:8080/push/x")
	if err := webpush.ValidateSubscription(context.Background(), sub, true, nil); err != nil {
		t.Fatalf("allowPrivate: %v", err)
	}
	if err := webpush.ValidateSubscription(context.Background(), sub, false, nil); services.ErrorFields(err)["endpoint"] == "" {
		t.Fatalf("err = %v, want an endpoint problem", err)
	}
}

func TestValidateSubscriptionChecksKeys(t *testing.T) {
	good := validSub("https://fcm.googleapis.com/fcm/send/x")
	p, _ := base64.RawURLEncoding.DecodeString(good.Keys.P256dh)
	offCurve := append([]byte(nil), p...)
	offCurve[64] ^= 1
	compressed := append([]byte{2}, p[1:33]...)
	cases := []struct {
		name, p256dh, auth, field string
	}{
		{"padded base64url is fine", base64.URLEncoding.EncodeToString(p), good.Keys.Auth + "==", ""},
		{"p256dh missing", "", good.Keys.Auth, "keys.p256dh"},
		{"p256dh not base64url", "+/+/" + good.Keys.P256dh[4:], good.Keys.Auth, "keys.p256dh"},
		{"p256dh off the curve", base64.RawURLEncoding.EncodeToString(offCurve), good.Keys.Auth, "keys.p256dh"},
		{"p256dh compressed", base64.RawURLEncoding.EncodeToString(compressed), good.Keys.Auth, "keys.p256dh"},
		{"p256dh too short", base64.RawURLEncoding.EncodeToString(p[:64]), good.Keys.Auth, "keys.p256dh"},
		{"auth missing", good.Keys.P256dh, "", "keys.auth"},
		{"auth 15 bytes", good.Keys.P256dh, base64.RawURLEncoding.EncodeToString(make([]byte, 15)), "keys.auth"},
		{"auth 32 bytes", good.Keys.P256dh, base64.RawURLEncoding.EncodeToString(make([]byte, 32)), "keys.auth"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := good
			sub.Keys.P256dh, sub.Keys.Auth = c.p256dh, c.auth
			err := webpush.ValidateSubscription(context.Background(), sub, false, resolver)
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if fields := services.ErrorFields(err); fields[c.field] == "" || len(fields) != 1 {
				t.Fatalf("err = %v fields %v, want only %s", err, fields, c.field)
			}
		})
	}
}

func TestSubscriptionDecodesABrowsersToJSON(t *testing.T) {
	var sub webpush.Subscription
	in := `{"endpoint":"https://fcm.googleapis.com/fcm/send/x","expirationTime":null,"keys":{"p256dh":"BPk","auth":"qQ"}}`
	if err := json.Unmarshal([]byte(in), &sub); err != nil {
		t.Fatal(err)
	}
	if sub.Endpoint == "" || sub.ExpirationTime != nil || sub.Keys.P256dh != "BPk" || sub.Keys.Auth != "qQ" {
		t.Fatalf("decoded %+v", sub)
	}
	out, _ := json.Marshal(sub)
	if string(out) != in {
		t.Fatalf("encoded %s, want %s", out, in)
	}
}
