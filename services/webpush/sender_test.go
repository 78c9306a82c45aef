package webpush_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services/webpush"
	"github.com/trivium-game/trivium/services/webpush/pushtest"
)

func newSender(t *testing.T, push *pushtest.Server, mutate ...func(*webpush.Config)) *webpush.Sender {
	t.Helper()
	keys, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	push.SetVAPIDKey(t, keys.Public)
	cfg := webpush.Config{Keys: keys, Subscriber: "mailto:ops@trivium.example", AllowPrivate: true, Timeout: 5 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := webpush.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendDeliversTheDecryptablePayloadWithHeaders(t *testing.T) {
	push := pushtest.New(t)
	sender := newSender(t, push)
	sub := push.NewSubscription()
	payload := []byte(`{"topic":"avatar","title":"Avatar ready","body":"ok","data":{"uploadId":"u1"}}`)

	r := sender.Send(context.Background(), webpush.Subscription(sub), payload,
		webpush.Options{TTL: 90 * time.Second, Urgency: webpush.UrgencyHigh, Topic: "avatar-u1"})
	if r.Outcome != webpush.Delivered || r.Status != http.StatusCreated || r.Err != nil {
		t.Fatalf("result %+v, want delivered 201", r)
	}
	d := push.WaitFor(t, 1, 5*time.Second)[0]
	if string(d.Plaintext) != string(payload) {
		t.Fatalf("push service decrypted %q, want %q", d.Plaintext, payload)
	}
	if d.TTL != 90*time.Second || d.Urgency != "high" || d.Topic != "avatar-u1" || d.Subscription.Endpoint != sub.Endpoint {
		t.Fatalf("delivery %+v", d)
	}
	if errs := push.ProtocolErrors(); len(errs) != 0 {
		t.Fatalf("protocol errors: %v", errs)
	}
}

func TestSendUsesTheDefaultTTLWhenNoneIsGiven(t *testing.T) {
	push := pushtest.New(t)
	sender := newSender(t, push, func(c *webpush.Config) { c.TTL = time.Hour })
	sub := push.NewSubscription()
	if r := sender.Send(context.Background(), webpush.Subscription(sub), []byte("x"), webpush.Options{}); r.Outcome != webpush.Delivered {
		t.Fatalf("result %+v", r)
	}
	if d := push.WaitFor(t, 1, 5*time.Second)[0]; d.TTL != time.Hour || d.Urgency != "" || d.Topic != "" {
		t.Fatalf("delivery TTL %v urgency %q topic %q, want 1h and no optional headers", d.TTL, d.Urgency, d.Topic)
	}
}

func TestSubscriberFormsAllReachThePushServiceAsValidContacts(t *testing.T) {
	for _, subscriber := range []string{"mailto:ops@trivium.example", "ops@trivium.example", "https://trivium.example/contact"} {
		t.Run(subscriber, func(t *testing.T) {
			push := pushtest.New(t)
			sender := newSender(t, push, func(c *webpush.Config) { c.Subscriber = subscriber })
			r := sender.Send(context.Background(), webpush.Subscription(push.NewSubscription()), []byte("x"), webpush.Options{})
			if r.Outcome != webpush.Delivered {
				t.Fatalf("result %+v; protocol errors %v", r, push.ProtocolErrors())
			}
		})
	}
}

func TestSendClassifiesThePushServiceAnswer(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		resp       pushtest.Response
		want       webpush.Outcome
		retryAfter time.Duration
	}{
		{"404 is gone", pushtest.Response{Status: 404}, webpush.Gone, 0},
		{"410 is gone", pushtest.Response{Status: 410}, webpush.Gone, 0},
		{"413 is dropped", pushtest.Response{Status: 413}, webpush.Drop, 0},
		{"400 is dropped", pushtest.Response{Status: 400}, webpush.Drop, 0},
		{"403 is dropped", pushtest.Response{Status: 403}, webpush.Drop, 0},
		{"429 honours Retry-After seconds", pushtest.Response{Status: 429, RetryAfter: "7"}, webpush.Retry, 7 * time.Second},
		{"429 without Retry-After uses the caller's backoff", pushtest.Response{Status: 429}, webpush.Retry, 0},
		{"503 honours a Retry-After date", pushtest.Response{Status: 503, RetryAfter: now.Add(90 * time.Second).Format(http.TimeFormat)}, webpush.Retry, 90 * time.Second},
		{"429 Retry-After is capped", pushtest.Response{Status: 429, RetryAfter: "999999999"}, webpush.Retry, time.Hour},
		{"500 is retried with the caller's backoff", pushtest.Response{Status: 500}, webpush.Retry, 0},
		{"202 is delivered", pushtest.Response{Status: 202}, webpush.Delivered, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			push := pushtest.New(t)
			sender := newSender(t, push, func(cfg *webpush.Config) { cfg.Now = func() time.Time { return now } })
			sub := push.NewSubscription()
			push.Respond(sub.Endpoint, c.resp)
			r := sender.Send(context.Background(), webpush.Subscription(sub), []byte(`{"title":"hi"}`), webpush.Options{})
			if r.Outcome != c.want || r.Status != c.resp.Status || r.RetryAfter != c.retryAfter {
				t.Fatalf("result %v status %d retryAfter %v (%v), want %v status %d retryAfter %v",
					r.Outcome, r.Status, r.RetryAfter, r.Err, c.want, c.resp.Status, c.retryAfter)
			}
			if errs := push.ProtocolErrors(); len(errs) != 0 {
				t.Fatalf("protocol errors: %v", errs)
			}
		})
	}
}

func TestSendRetriesWhenThePushServiceHangsPastTheTimeout(t *testing.T) {
	push := pushtest.New(t)
	sender := newSender(t, push, func(c *webpush.Config) { c.Timeout = 200 * time.Millisecond })
	sub := push.NewSubscription()
	push.Respond(sub.Endpoint, pushtest.Response{Hang: true})
	start := time.Now()
	r := sender.Send(context.Background(), webpush.Subscription(sub), []byte("x"), webpush.Options{})
	if r.Outcome != webpush.Retry || r.Status != 0 || r.RetryAfter != 0 {
		t.Fatalf("result %+v, want retry with the caller's backoff", r)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("Send took %v despite a 200ms timeout", elapsed)
	}
	if strings.Contains(r.Err.Error(), "/push/") {
		t.Fatalf("error %q leaks the endpoint path", r.Err)
	}
}

func TestThrottledPushIsDeliveredOnTheNextAttempt(t *testing.T) {
	push := pushtest.New(t)
	sender := newSender(t, push)
	sub := push.NewSubscription()
	push.Respond(sub.Endpoint, pushtest.Response{Status: 429, RetryAfter: "1"}, pushtest.Response{})
	ctx := context.Background()
	if r := sender.Send(ctx, webpush.Subscription(sub), []byte("x"), webpush.Options{}); r.Outcome != webpush.Retry || r.RetryAfter != time.Second {
		t.Fatalf("first %+v, want retry after 1s", r)
	}
	if r := sender.Send(ctx, webpush.Subscription(sub), []byte("x"), webpush.Options{}); r.Outcome != webpush.Delivered {
		t.Fatalf("second %+v, want delivered", r)
	}
	if n := push.Attempts(sub.Endpoint); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

func TestPayloadOverTheCapIsDroppedWithoutSending(t *testing.T) {
	push := pushtest.New(t)
	sender := newSender(t, push)
	sub := push.NewSubscription()
	r := sender.Send(context.Background(), webpush.Subscription(sub), make([]byte, webpush.MaxPayload+1), webpush.Options{})
	if r.Outcome != webpush.Drop {
		t.Fatalf("result %+v, want drop", r)
	}
	if n := push.Attempts(sub.Endpoint); n != 0 {
		t.Fatalf("%d attempts reached the push service, want 0", n)
	}
	if r := sender.Send(context.Background(), webpush.Subscription(sub), make([]byte, webpush.MaxPayload), webpush.Options{}); r.Outcome != webpush.Delivered {
		t.Fatalf("payload at the cap: %+v, want delivered", r)
	}
}

func TestInvalidOptionsAreDroppedWithoutSending(t *testing.T) {
	push := pushtest.New(t)
	sender := newSender(t, push)
	sub := push.NewSubscription()
	for _, o := range []webpush.Options{{Urgency: "urgent"}, {Topic: "has space"}, {Topic: strings.Repeat("a", 33)}} {
		if r := sender.Send(context.Background(), webpush.Subscription(sub), []byte("x"), o); r.Outcome != webpush.Drop {
			t.Errorf("options %+v: result %+v, want drop", o, r)
		}
	}
	if n := push.Attempts(sub.Endpoint); n != 0 {
		t.Fatalf("%d attempts reached the push service, want 0", n)
	}
}

func TestSendRefusesToDialAHostnameThatNowResolvesToLoopback(t *testing.T) {
	push := pushtest.New(t)
	sender := newSender(t, push, func(c *webpush.Config) { c.AllowPrivate = false })
	orig := push.NewSubscription()
	sub := webpush.Subscription(orig)
	// The stored endpoint names a host, which Send does not resolve itself; at dial time it
	// turns out to be 127.0.0.1, as after a DNS rebinding.
	sub.Endpoint = strings.Replace(sub.Endpoint, "http://127.0.0.1", "https://localhost", 1)
	r := sender.Send(context.Background(), sub, []byte("x"), webpush.Options{})
	var blocked *webpush.BlockedAddressError
	if r.Outcome != webpush.Drop || !errors.As(r.Err, &blocked) {
		t.Fatalf("result %+v, want drop with a BlockedAddressError", r)
	}
	if n := push.Attempts(orig.Endpoint); n != 0 {
		t.Fatalf("push service was reached %d times", n)
	}
}

func TestGuardedTransportRefusesPrivateAddressesUnlessAllowed(t *testing.T) {
	push := pushtest.New(t)
	req := func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, push.URL+"/push/unknown", nil)
		return r
	}
	_, err := (&http.Client{Transport: webpush.NewTransport(false)}).Do(req())
	var blocked *webpush.BlockedAddressError
	if !errors.As(err, &blocked) || blocked.Addr.String() != "127.0.0.1" {
		t.Fatalf("err = %v, want BlockedAddressError for 127.0.0.1", err)
	}
	resp, err := (&http.Client{Transport: webpush.NewTransport(true)}).Do(req())
	if err != nil {
		t.Fatalf("allowPrivate transport: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404 from the push service", resp.StatusCode)
	}
}

func TestNewSenderRefusesMismatchedKeysAndMissingContact(t *testing.T) {
	a, _ := webpush.GenerateVAPIDKeys()
	b, _ := webpush.GenerateVAPIDKeys()
	if _, err := webpush.NewSender(webpush.Config{Keys: webpush.VAPIDKeys{Public: a.Public, Private: b.Private}, Subscriber: "mailto:a@b.c"}); err == nil {
		t.Error("mismatched key pair accepted")
	}
	for _, sub := range []string{"", "ops", "http://trivium.example", "mailto:"} {
		if _, err := webpush.NewSender(webpush.Config{Keys: a, Subscriber: sub}); err == nil {
			t.Errorf("subscriber %q accepted", sub)
		}
	}
}
