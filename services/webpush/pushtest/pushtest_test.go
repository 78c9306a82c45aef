package pushtest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services/webpush"
	"github.com/trivium-game/trivium/services/webpush/pushtest"
)

// tamper is a transport that alters each request before it leaves, standing in for a broken
// or malicious sender.
type tamper func(*http.Request)

func (f tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	f(r)
	return http.DefaultTransport.RoundTrip(r)
}

// signJWT signs claims with ES256 the way RFC 8292 senders do.
func signJWT(t *testing.T, private string, claims map[string]any) string {
	t.Helper()
	d, _ := base64.RawURLEncoding.DecodeString(private)
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(map[string]string{"typ": "JWT", "alg": "ES256"}) + "." + enc(claims)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestPushServiceRefusesWhatARealOneWould(t *testing.T) {
	serverKeys, _ := webpush.GenerateVAPIDKeys()
	otherKeys, _ := webpush.GenerateVAPIDKeys()
	cases := []struct {
		name    string
		keys    webpush.VAPIDKeys
		tamper  func(t *testing.T, r *http.Request, aud string)
		wantErr string
	}{
		{
			name:    "a VAPID key other than the subscription's",
			keys:    otherKeys,
			wantErr: "k is not the application server key",
		},
		{
			name: "an expired JWT",
			keys: serverKeys,
			tamper: func(t *testing.T, r *http.Request, aud string) {
				jwt := signJWT(t, serverKeys.Private, map[string]any{"aud": aud, "exp": time.Now().Add(-time.Minute).Unix(), "sub": "mailto:ops@trivium.example"})
				r.Header.Set("Authorization", "vapid t="+jwt+", k="+serverKeys.Public)
			},
			wantErr: "expired",
		},
		{
			name: "a JWT valid for more than 24 hours",
			keys: serverKeys,
			tamper: func(t *testing.T, r *http.Request, aud string) {
				jwt := signJWT(t, serverKeys.Private, map[string]any{"aud": aud, "exp": time.Now().Add(25 * time.Hour).Unix(), "sub": "mailto:ops@trivium.example"})
				r.Header.Set("Authorization", "vapid t="+jwt+", k="+serverKeys.Public)
			},
			wantErr: "24 hours",
		},
		{
			name: "a JWT for another audience",
			keys: serverKeys,
			tamper: func(t *testing.T, r *http.Request, aud string) {
				jwt := signJWT(t, serverKeys.Private, map[string]any{"aud": "https://fcm.googleapis.com", "exp": time.Now().Add(time.Hour).Unix(), "sub": "mailto:ops@trivium.example"})
				r.Header.Set("Authorization", "vapid t="+jwt+", k="+serverKeys.Public)
			},
			wantErr: "aud",
		},
		{
			name: "a JWT without a contact",
			keys: serverKeys,
			tamper: func(t *testing.T, r *http.Request, aud string) {
				jwt := signJWT(t, serverKeys.Private, map[string]any{"aud": aud, "exp": time.Now().Add(time.Hour).Unix(), "sub": "mailto:mailto:ops@trivium.example"})
				r.Header.Set("Authorization", "vapid t="+jwt+", k="+serverKeys.Public)
			},
			wantErr: "sub",
		},
		{
			name: "a JWT signed by another key",
			keys: serverKeys,
			tamper: func(t *testing.T, r *http.Request, aud string) {
				jwt := signJWT(t, otherKeys.Private, map[string]any{"aud": aud, "exp": time.Now().Add(time.Hour).Unix(), "sub": "mailto:ops@trivium.example"})
				r.Header.Set("Authorization", "vapid t="+jwt+", k="+serverKeys.Public)
			},
			wantErr: "signature does not verify",
		},
		{
			name: "a tampered ciphertext",
			keys: serverKeys,
			tamper: func(t *testing.T, r *http.Request, _ string) {
				body, _ := io.ReadAll(r.Body)
				body[len(body)-100] ^= 0x01
				r.Body = io.NopCloser(bytes.NewReader(body))
			},
			wantErr: "decrypt",
		},
		{
			name: "a missing TTL",
			keys: serverKeys,
			tamper: func(t *testing.T, r *http.Request, _ string) {
				r.Header.Del("TTL")
			},
			wantErr: "TTL",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			push := pushtest.New(t)
			push.SetVAPIDKey(t, serverKeys.Public)
			cfg := webpush.Config{Keys: c.keys, Subscriber: "mailto:ops@trivium.example", AllowPrivate: true}
			if c.tamper != nil {
				cfg.Transport = tamper(func(r *http.Request) { c.tamper(t, r, push.URL) })
			}
			sender, err := webpush.NewSender(cfg)
			if err != nil {
				t.Fatal(err)
			}
			sub := push.NewSubscription()
			r := sender.Send(context.Background(), webpush.Subscription(sub), []byte(`{"title":"hi"}`), webpush.Options{})
			if r.Status != http.StatusBadRequest {
				t.Fatalf("result %+v, want 400", r)
			}
			errs := push.ProtocolErrors()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.wantErr) {
				t.Fatalf("protocol errors %v, want one mentioning %q", errs, c.wantErr)
			}
			if d := push.Deliveries(); len(d) != 0 {
				t.Fatalf("refused push was recorded as delivered: %+v", d)
			}
		})
	}
}

func TestPushServiceAcceptsAnUntamperedPushThroughTheSameTransport(t *testing.T) {
	keys, _ := webpush.GenerateVAPIDKeys()
	push := pushtest.New(t)
	push.SetVAPIDKey(t, keys.Public)
	sender, err := webpush.NewSender(webpush.Config{Keys: keys, Subscriber: "mailto:ops@trivium.example", AllowPrivate: true,
		Transport: tamper(func(*http.Request) {})})
	if err != nil {
		t.Fatal(err)
	}
	sub := push.NewSubscription()
	if r := sender.Send(context.Background(), webpush.Subscription(sub), []byte("hello"), webpush.Options{}); r.Outcome != webpush.Delivered {
		t.Fatalf("result %+v; protocol errors %v", r, push.ProtocolErrors())
	}
	if d := push.WaitFor(t, 1, 5*time.Second); string(d[0].Plaintext) != "hello" {
		t.Fatalf("plaintext %q", d[0].Plaintext)
	}
}

func TestUnknownEndpointIsNotFound(t *testing.T) {
	push := pushtest.New(t)
	resp, err := http.Post(push.URL+"/push/nope", "application/octet-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
}

func TestWaitForReturnsOnceDeliveriesArriveConcurrently(t *testing.T) {
	keys, _ := webpush.GenerateVAPIDKeys()
	push := pushtest.New(t)
	push.SetVAPIDKey(t, keys.Public)
	sender, err := webpush.NewSender(webpush.Config{Keys: keys, Subscriber: "ops@trivium.example", AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		go sender.Send(context.Background(), webpush.Subscription(push.NewSubscription()), []byte("x"), webpush.Options{})
	}
	if d := push.WaitFor(t, 3, 5*time.Second); len(d) != 3 {
		t.Fatalf("%d deliveries", len(d))
	}
}
