package webpush_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/webpush"
)

// fuzzAddrs are what the fuzz resolver may answer, each marked by hand (not by webpush.IsPublic)
// whether a push service could really be there.
var fuzzAddrs = []struct {
	addr   netip.Addr
	public bool
}{
	{netip.MustParseAddr("142.250.74.42"), true},
	{netip.MustParseAddr("2a00:1450:4001:82b::200a"), true},
	{netip.MustParseAddr("34.117.59.81"), true},
	{netip.MustParseAddr("127.0.0.1"), false},
	{netip.MustParseAddr("10.1.2.3"), false},
	{netip.MustParseAddr("169.254.169.254"), false},
	{netip.MustParseAddr("::ffff:192.168.1.1"), false},
	{netip.MustParseAddr("::1"), false},
	{netip.MustParseAddr("fd00::1"), false},
	{netip.MustParseAddr("100.64.0.1"), false},
	{netip.MustParseAddr("0.0.0.0"), false},
	{netip.MustParseAddr("64:ff9b::7f00:1"), false}, // NAT64 of 127.0.0.1
}

// pickResolver answers every host with the addresses whose bits are set in pick (none: the host
// does not resolve) and records what it was asked.
type pickResolver struct {
	pick  uint16
	asked []string
}

func (r *pickResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.asked = append(r.asked, host)
	var out []netip.Addr
	for i, a := range fuzzAddrs {
		if r.pick&(1<<i) != 0 {
			out = append(out, a.addr)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no such host")
	}
	return out, nil
}

// obviouslyPrivate is a floor under IsPublic written from netip alone: an endpoint literal in
// any of these ranges must never be accepted.
func obviouslyPrivate(a netip.Addr) bool {
	a = a.Unmap()
	return !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast()
}

// FuzzValidateSubscription decodes arbitrary JSON as a browser's PushSubscription and validates
// it against a resolver the input also controls. Properties: the answer is nil or EInvalid naming
// only endpoint, keys.p256dh and keys.auth; an accepted subscription has an https URL of at most
// MaxEndpointLength bytes without credentials whose host — as net/http will dial it — is a public
// literal or a name every resolved address of which is public; its keys decode to a P-256 point
// and 16 bytes; it stays valid after a JSON round trip; and allowPrivate never resolves anything.
func FuzzValidateSubscription(f *testing.F) {
	good := validSub("https://fcm.googleapis.com/fcm/send/abc")
	for _, s := range []struct {
		endpoint string
		p256dh   string
		auth     string
		pick     uint16
	}{
		{good.Endpoint, good.Keys.P256dh, good.Keys.Auth, 0b11},
		{"https://updates.push.services.io/wpush/v2/x", good.Keys.P256dh + "==", good.Keys.Auth, 0b100},
		{"https://evil.example/x", good.Keys.P256dh, good.Keys.Auth, 0b1001},
		{"https://[::ffff:127.0.0.1]:443/x", good.Keys.P256dh, good.Keys.Auth, 0},
		{"https://0x7f.1/x", good.Keys.P256dh, good.Keys.Auth, 1},
		{"https://user:pw@fcm.googleapis.com/x", good.Keys.P256dh, good.Keys.Auth, 1},
		{"http://fcm.googleapis.com/x", good.Keys.P256dh, good.Keys.Auth, 1},
		{"https://142.250.74.42%25eth0/x", good.Keys.P256dh, good.Keys.Auth, 0},
		{"https://fcm.googleapis.com\\@127.0.0.1/x", good.Keys.P256dh, good.Keys.Auth, 1},
		{"//fcm.googleapis.com/x", good.Keys.P256dh, good.Keys.Auth, 1},
		{"https://fcm.googleapis.com/" + strings.Repeat("a", webpush.MaxEndpointLength), good.Keys.P256dh, good.Keys.Auth, 1},
		{good.Endpoint, "BAAA", "short", 1},
		{good.Endpoint, base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...)), good.Keys.Auth, 1},
	} {
		body, _ := json.Marshal(map[string]any{"endpoint": s.endpoint, "keys": map[string]string{"p256dh": s.p256dh, "auth": s.auth}})
		f.Add(body, s.pick, false)
	}
	f.Add([]byte(`{"endpoint":"http://127.0.0.1:9/x","keys":{"p256dh":"`+good.Keys.P256dh+`","auth":"`+good.Keys.Auth+`"}}`), uint16(0), true)
	f.Fuzz(func(t *testing.T, body []byte, pick uint16, allowPrivate bool) {
		var sub webpush.Subscription
		if json.Unmarshal(body, &sub) != nil {
			return
		}
		res := &pickResolver{pick: pick}
		err := webpush.ValidateSubscription(context.Background(), sub, allowPrivate, res)
		if allowPrivate && len(res.asked) > 0 {
			t.Fatalf("allowPrivate resolved %q", res.asked)
		}
		if err != nil {
			var e *services.Error
			if !errors.As(err, &e) || e.Code != services.EInvalid || len(e.Fields) == 0 {
				t.Fatalf("ValidateSubscription = %#v, want EInvalid with fields", err)
			}
			for k := range e.Fields {
				if k != "endpoint" && k != "keys.p256dh" && k != "keys.auth" {
					t.Fatalf("problem names field %q", k)
				}
			}
			return
		}
		if len(sub.Endpoint) > webpush.MaxEndpointLength {
			t.Fatalf("accepted an endpoint of %d bytes", len(sub.Endpoint))
		}
		req, rerr := http.NewRequest(http.MethodPost, sub.Endpoint, nil)
		if rerr != nil {
			t.Fatalf("accepted endpoint %q that net/http cannot request: %v", sub.Endpoint, rerr)
		}
		if req.URL.User != nil || (req.URL.Scheme != "https" && !(allowPrivate && req.URL.Scheme == "http")) {
			t.Fatalf("accepted endpoint %q (scheme %q, user %v)", sub.Endpoint, req.URL.Scheme, req.URL.User)
		}
		host := req.URL.Hostname()
		if host == "" {
			t.Fatalf("accepted endpoint %q without a host", sub.Endpoint)
		}
		if !allowPrivate {
			if addr, perr := netip.ParseAddr(host); perr == nil {
				if obviouslyPrivate(addr) || len(res.asked) > 0 {
					t.Fatalf("accepted literal %s (resolved %q)", addr, res.asked)
				}
			} else {
				if len(res.asked) != 1 || res.asked[0] != host {
					t.Fatalf("endpoint host %q, but the resolver was asked %q", host, res.asked)
				}
				for i, a := range fuzzAddrs {
					if pick&(1<<i) != 0 && !a.public {
						t.Fatalf("accepted %q, which resolves to %s", sub.Endpoint, a.addr)
					}
				}
			}
		}
		p, perr := base64.RawURLEncoding.DecodeString(strings.TrimRight(sub.Keys.P256dh, "="))
		a, aerr := base64.RawURLEncoding.DecodeString(strings.TrimRight(sub.Keys.Auth, "="))
		if perr != nil || aerr != nil || len(p) != 65 || p[0] != 4 || len(a) != 16 {
			t.Fatalf("accepted keys %q (%d bytes) and %q (%d bytes)", sub.Keys.P256dh, len(p), sub.Keys.Auth, len(a))
		}
		again, _ := json.Marshal(sub)
		var back webpush.Subscription
		if err := json.Unmarshal(again, &back); err != nil {
			t.Fatal(err)
		}
		if err := webpush.ValidateSubscription(context.Background(), back, allowPrivate, &pickResolver{pick: pick}); err != nil {
			t.Fatalf("refused after a JSON round trip: %v", err)
		}
	})
}
