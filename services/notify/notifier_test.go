package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/webpush"
	"github.com/trivium-game/trivium/services/webpush/pushtest"
)

func TestAvatarOutcomeIsPushedEncryptedWithTTLUrgencyAndTopic(t *testing.T) {
	r := newRig(t)
	sub := r.subscribe("alice")
	r.deliver(r.n)
	nt := r.publish(r.n, "alice", "u1", "rejected")

	d := r.push.WaitFor(t, 1, 10*time.Second)[0]
	var got map[string]any
	if err := json.Unmarshal(d.Plaintext, &got); err != nil {
		t.Fatalf("decrypted payload %q: %v", d.Plaintext, err)
	}
	want := map[string]any{
		"topic": "avatar", "title": "Your avatar was not accepted", "body": "Please choose another image.",
		"data": map[string]any{"uploadId": "u1", "status": "rejected", "reason": "", "thumbnailUrl": "https://cdn.trivium.example/avatars/u1-64.jpg"},
	}
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Fatalf("push service decrypted\n%s\nwant\n%s", g, w)
	}
	if len(d.Plaintext) > webpush.MaxPayload {
		t.Fatalf("payload of %d bytes", len(d.Plaintext))
	}
	if d.TTL != 24*time.Hour || d.Urgency != "normal" || d.Topic != "avatar" || d.Subscription.Endpoint != sub.Endpoint {
		t.Fatalf("push headers TTL %v Urgency %q Topic %q", d.TTL, d.Urgency, d.Topic)
	}
	st := r.waitState(nt.ID, sub.Endpoint, "delivered", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDelivered })
	if st.Attempts != 1 || st.LastStatus != 201 {
		t.Fatalf("delivery %+v", st)
	}
	// The inbox entry and the in-band frame carry the same notification as the push.
	if nt.Topic != "avatar" || mustJSON(t, json.RawMessage(nt.Data)) != mustJSON(t, want["data"]) || nt.ReadAt != nil {
		t.Fatalf("inbox entry %+v", nt)
	}
	frames := r.mirroredFrames()
	if len(frames) != 1 || frames[0].PlayerID != "alice" {
		t.Fatalf("mirrored %+v, want one frame to alice", frames)
	}
	var f struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(frames[0].Frame, &f); err != nil || f.Type != "notification" || mustJSON(t, f.Data) != mustJSON(t, want) {
		t.Fatalf("in-band frame %s", frames[0].Frame)
	}
	if errs := r.push.ProtocolErrors(); len(errs) != 0 {
		t.Fatalf("protocol errors: %v", errs)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var x any
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &x) // normalise key order
	}
	if err == nil {
		b, err = json.Marshal(x)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEveryAvatarStatusHasItsOwnMessage(t *testing.T) {
	seen := map[string]string{}
	for _, status := range []string{"accepted", "in_review", "rejected", "failed", "something_new"} {
		d, err := notify.AvatarProcessed(testCDN)(avatarEvent("alice", "u", status, ""))
		if err != nil || d == nil {
			t.Fatalf("%s: %v", status, err)
		}
		if d.Title == "" || d.Body == "" || d.TTL != 24*time.Hour || d.Urgency != "normal" || d.PushTopic != "avatar" {
			t.Fatalf("%s: draft %+v", status, d)
		}
		if other, dup := seen[d.Title]; dup {
			t.Fatalf("%s and %s share the title %q", status, other, d.Title)
		}
		seen[d.Title] = status
	}
	d, _ := notify.AvatarProcessed(testCDN)(avatarEvent("alice", "u", "rejected", "nudity"))
	if d.Body != "Reason: nudity. Please choose another image." {
		t.Fatalf("rejection body %q does not give the reason", d.Body)
	}
	if _, err := notify.AvatarProcessed(testCDN)(services.Message{Data: []byte(`{"uploadId":"u"}`)}); err == nil {
		t.Fatal("an event without a player was accepted")
	}
}

func TestHugeEventStillMakesAPushUnderTheSizeCap(t *testing.T) {
	r := newRig(t)
	r.subscribe("alice")
	r.deliver(r.n)
	reason := strings.Repeat("<\x01>", 2000) // control characters are six bytes long in JSON
	if err := r.n.Handle(context.Background(), avatarEvent("alice", "u-big", "rejected", reason)); err != nil {
		t.Fatal(err)
	}
	d := r.push.WaitFor(t, 1, 10*time.Second)[0]
	var p struct{ Topic, Title, Body string }
	if err := json.Unmarshal(d.Plaintext, &p); err != nil || p.Topic != "avatar" || p.Title == "" {
		t.Fatalf("payload %q: %v", d.Plaintext, err)
	}
	if len(d.Plaintext) > webpush.MaxPayload {
		t.Fatalf("payload of %d bytes exceeds %d", len(d.Plaintext), webpush.MaxPayload)
	}
}

func TestGoneSubscriptionIsDeleted(t *testing.T) {
	for _, status := range []int{404, 410} {
		t.Run(http(status), func(t *testing.T) {
			r := newRig(t)
			sub, keep := r.subscribe("alice"), r.subscribe("alice")
			r.push.Respond(sub.Endpoint, pushtest.Response{Status: status})
			r.deliver(r.n)
			nt := r.publish(r.n, "alice", "u1", "accepted")
			st := r.waitState(nt.ID, sub.Endpoint, "gone", func(s notify.DeliveryState) bool { return s.Status == notify.StatusGone })
			if st.LastStatus != status || st.Attempts != 1 {
				t.Fatalf("delivery %+v", st)
			}
			r.waitState(nt.ID, keep.Endpoint, "delivered", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDelivered })
			subs, _ := r.store.Subscriptions(context.Background(), "alice")
			if len(subs) != 1 || subs[0].Endpoint != keep.Endpoint {
				t.Fatalf("subscriptions after %d: %+v, want only the live one", status, subs)
			}
		})
	}
}

func http(status int) string {
	return map[int]string{404: "404", 410: "410", 413: "413", 400: "400"}[status]
}

func TestRefusedPushIsDroppedWithoutRetry(t *testing.T) {
	for _, status := range []int{413, 400} {
		t.Run(http(status), func(t *testing.T) {
			r := newRig(t)
			sub := r.subscribe("alice")
			r.push.Respond(sub.Endpoint, pushtest.Response{Status: status})
			r.deliver(r.n)
			nt := r.publish(r.n, "alice", "u1", "accepted")
			st := r.waitState(nt.ID, sub.Endpoint, "dropped", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDropped })
			if st.LastStatus != status || st.Attempts != 1 || st.LastError == "" {
				t.Fatalf("delivery %+v", st)
			}
			if subs, _ := r.store.Subscriptions(context.Background(), "alice"); len(subs) != 1 {
				t.Fatalf("a refused message removed the subscription")
			}
			r.clock.Advance(time.Hour)
			if due, _ := r.store.DueDeliveries(context.Background(), 10); len(due) != 0 {
				t.Fatalf("dropped delivery is due again: %v", due)
			}
		})
	}
}

func TestThrottledPushIsRetriedAfterRetryAfter(t *testing.T) {
	r := newRig(t)
	sub := r.subscribe("alice")
	r.push.Respond(sub.Endpoint, pushtest.Response{Status: 429, RetryAfter: "30"}, pushtest.Response{})
	r.deliver(r.n)
	start := r.clock.Now()
	nt := r.publish(r.n, "alice", "u1", "accepted")
	st := r.waitState(nt.ID, sub.Endpoint, "the throttled attempt", func(s notify.DeliveryState) bool { return s.Attempts == 1 })
	if st.Status != notify.StatusPending || st.LastStatus != 429 || !st.NextAttemptAt.Equal(start.Add(30*time.Second)) {
		t.Fatalf("after 429: %+v, want pending until %v", st, start.Add(30*time.Second))
	}
	r.clock.Advance(29 * time.Second)
	if due, _ := r.store.DueDeliveries(context.Background(), 10); len(due) != 0 {
		t.Fatalf("due before Retry-After elapsed: %v", due)
	}
	if n := r.push.Attempts(sub.Endpoint); n != 1 {
		t.Fatalf("%d attempts before Retry-After elapsed", n)
	}
	r.clock.Advance(time.Second)
	r.n.Kick()
	r.push.WaitFor(t, 1, 10*time.Second)
	st = r.waitState(nt.ID, sub.Endpoint, "delivered", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDelivered })
	if st.Attempts != 2 || r.push.Attempts(sub.Endpoint) != 2 {
		t.Fatalf("delivery %+v after %d attempts", st, r.push.Attempts(sub.Endpoint))
	}
}

func TestServerErrorIsRetriedWithExponentialBackoff(t *testing.T) {
	r := newRig(t)
	sub := r.subscribe("alice")
	r.push.Respond(sub.Endpoint, pushtest.Response{Status: 500}, pushtest.Response{Status: 502}, pushtest.Response{})
	r.deliver(r.n)
	nt := r.publish(r.n, "alice", "u1", "accepted")
	for attempt, wait := range []time.Duration{time.Second, 2 * time.Second} {
		before := r.clock.Now()
		st := r.waitState(nt.ID, sub.Endpoint, "a failed attempt", func(s notify.DeliveryState) bool { return s.Attempts == attempt+1 })
		if st.Status != notify.StatusPending || !st.NextAttemptAt.Equal(before.Add(wait)) {
			t.Fatalf("after attempt %d: %+v, want a retry at +%v", attempt+1, st, wait)
		}
		r.clock.Advance(wait)
		r.n.Kick()
	}
	r.push.WaitFor(t, 1, 10*time.Second)
	r.waitState(nt.ID, sub.Endpoint, "delivered", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDelivered && s.Attempts == 3 })
}

func TestBackoffHasJitterAndACap(t *testing.T) {
	var draws []float64
	next := []float64{0, 0.999, 0.5}
	r := newRig(t, func(_ *webpush.Config, c *notify.Config) {
		c.BackoffBase, c.BackoffMax, c.MaxAttempts = 10*time.Second, 40*time.Second, 10
		c.Jitter = func() float64 { v := next[len(draws)%len(next)]; draws = append(draws, v); return v }
		c.Workers = 1
	})
	sub := r.subscribe("alice")
	r.push.Respond(sub.Endpoint, pushtest.Response{Status: 500})
	r.deliver(r.n)
	nt := r.publish(r.n, "alice", "u1", "accepted")
	// Nominal waits 10s, 20s, 40s, 40s (capped); jitter ×0.8, ×~1.2, ×1.0, ×0.8.
	for i, want := range []time.Duration{8 * time.Second, 23992 * time.Millisecond, 40 * time.Second, 32 * time.Second} {
		before := r.clock.Now()
		st := r.waitState(nt.ID, sub.Endpoint, "a failed attempt", func(s notify.DeliveryState) bool { return s.Attempts == i+1 })
		if got := st.NextAttemptAt.Sub(before); got != want {
			t.Fatalf("wait after attempt %d = %v, want %v", i+1, got, want)
		}
		r.clock.Advance(st.NextAttemptAt.Sub(before))
		r.n.Kick()
	}
}

func TestHangingPushServiceTimesOutAndIsRetried(t *testing.T) {
	r := newRig(t, func(w *webpush.Config, _ *notify.Config) { w.Timeout = 300 * time.Millisecond })
	sub := r.subscribe("alice")
	r.push.Respond(sub.Endpoint, pushtest.Response{Hang: true}, pushtest.Response{})
	r.deliver(r.n)
	nt := r.publish(r.n, "alice", "u1", "accepted")
	st := r.waitState(nt.ID, sub.Endpoint, "the timed-out attempt", func(s notify.DeliveryState) bool { return s.Attempts == 1 })
	if st.Status != notify.StatusPending || st.LastStatus != 0 || st.LastError == "" {
		t.Fatalf("after a hang: %+v, want a pending retry", st)
	}
	r.clock.Advance(time.Second)
	r.n.Kick()
	r.push.WaitFor(t, 1, 10*time.Second)
	r.waitState(nt.ID, sub.Endpoint, "delivered", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDelivered })
}

func TestDeliveryIsDroppedAfterTheLastAttempt(t *testing.T) {
	r := newRig(t, func(_ *webpush.Config, c *notify.Config) { c.MaxAttempts = 3 })
	sub := r.subscribe("alice")
	r.push.Respond(sub.Endpoint, pushtest.Response{Status: 503})
	r.deliver(r.n)
	nt := r.publish(r.n, "alice", "u1", "accepted")
	for attempt := 1; attempt < 3; attempt++ {
		r.waitState(nt.ID, sub.Endpoint, "a failed attempt", func(s notify.DeliveryState) bool { return s.Attempts == attempt })
		r.clock.Advance(time.Minute)
		r.n.Kick()
	}
	st := r.waitState(nt.ID, sub.Endpoint, "dropped", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDropped })
	if st.Attempts != 3 || r.push.Attempts(sub.Endpoint) != 3 {
		t.Fatalf("dropped after %d attempts (%d at the push service), want 3", st.Attempts, r.push.Attempts(sub.Endpoint))
	}
}

func TestExpiredDeliveryIsNotSent(t *testing.T) {
	r := newRig(t)
	sub := r.subscribe("alice")
	nt := r.publish(r.n, "alice", "u1", "accepted")
	r.clock.Advance(24 * time.Hour) // the notifier was down for the whole TTL
	r.deliver(r.n)
	st := r.waitState(nt.ID, sub.Endpoint, "dropped", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDropped })
	if st.Attempts != 0 || r.push.Attempts(sub.Endpoint) != 0 {
		t.Fatalf("expired delivery was sent: %+v", st)
	}
}

func TestRedeliveredEventWritesOneEntryAndOnePushPerSubscription(t *testing.T) {
	r := newRig(t)
	subs := []pushtest.Subscription{r.subscribe("alice"), r.subscribe("alice"), r.subscribe("alice")}
	ev := avatarEvent("alice", "u1", "accepted", "")
	for range 2 {
		if err := r.n.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	r.deliver(r.n)
	r.push.WaitFor(t, 3, 10*time.Second)
	ev.Delivered = 3 // the bus redelivers after the pushes went out
	if err := r.n.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	items, _, _ := r.store.Notifications(context.Background(), "alice", "", 10)
	if len(items) != 1 {
		t.Fatalf("inbox has %d entries, want 1", len(items))
	}
	for _, s := range subs {
		r.waitState(items[0].ID, s.Endpoint, "delivered", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDelivered })
	}
	if due, _ := r.store.DueDeliveries(context.Background(), 10); len(due) != 0 {
		t.Fatalf("redelivery left work: %v", due)
	}
	for _, s := range subs {
		if n := r.push.Attempts(s.Endpoint); n != 1 {
			t.Fatalf("%d pushes to one subscription, want 1", n)
		}
	}
	if n := len(r.mirroredFrames()); n != 1 {
		t.Fatalf("%d in-band frames, want 1", n)
	}
}

func TestEventsOfOtherSubjectsAndMalformedEventsAreNotRetried(t *testing.T) {
	r := newRig(t)
	if err := r.n.Handle(context.Background(), services.Message{Subject: "score.recorded", ID: "x", Data: []byte(`{}`)}); err != nil {
		t.Fatalf("unknown subject: %v", err)
	}
	err := r.n.Handle(context.Background(), services.Message{Subject: services.SubjectAvatarProcessed, ID: "y", Data: []byte(`{`)})
	if !services.IsPermanent(err) {
		t.Fatalf("malformed event: %v, want a permanent error", err)
	}
	if got := r.n.Subjects(); len(got) != 2 || got[0] != services.SubjectAvatarProcessed || got[1] != services.SubjectModerationAction {
		t.Fatalf("subjects %v", got)
	}
}

func TestEndpointMovedToAnotherPlayerDoesNotGetTheFirstPlayersPush(t *testing.T) {
	r := newRig(t)
	sub := r.subscribe("alice")
	nt := r.publish(r.n, "alice", "u1", "accepted")
	if err := r.store.SaveSubscription(context.Background(), "bob", "sb", webpush.Subscription(sub), 10); err != nil {
		t.Fatal(err)
	}
	r.deliver(r.n)
	r.waitState(nt.ID, sub.Endpoint, "dropped", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDropped })
	if n := r.push.Attempts(sub.Endpoint); n != 0 {
		t.Fatalf("alice's notification reached bob's device")
	}
}

var errCrash = errors.New("simulated crash")

// A notifier stopped in the middle of a fan-out leaves the rest pending; the next one sends
// each of them once, and none of those already sent again.
func TestCrashMidFanOutResumesWithExactlyOneDeliveryPerSubscription(t *testing.T) {
	r := newRig(t)
	var subs []pushtest.Subscription
	for range 12 {
		subs = append(subs, r.subscribe("alice"))
	}
	var sends atomic.Int32
	crashing := r.cfg
	crashing.Workers = 2
	crashing.BeforeSend = func(notify.DeliveryKey) error {
		if sends.Add(1) > 5 {
			return errCrash
		}
		return nil
	}
	first := r.notifier(crashing)
	nt := r.publish(first, "alice", "u1", "accepted")
	if err := first.Deliver(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("crashed Deliver returned %v", err)
	}
	sent := len(r.push.Deliveries())
	if sent < 5 || sent >= len(subs) {
		t.Fatalf("%d of %d sent before the crash: not mid fan-out", sent, len(subs))
	}
	// Another sender died holding a claim: its delivery waits for the lease, then goes out once.
	due, _ := r.store.DueDeliveries(context.Background(), 100)
	held := due[0]
	if _, ok, err := r.store.ClaimDelivery(context.Background(), held, notify.DefaultLease); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}

	r.deliver(r.notifier(r.cfg))
	r.push.WaitFor(t, len(subs)-1, 10*time.Second)
	if n := r.push.Attempts(held.Endpoint); n != 0 {
		t.Fatalf("a delivery held by a live claim was sent")
	}
	r.clock.Advance(notify.DefaultLease)
	r.push.WaitFor(t, len(subs), 10*time.Second)
	for _, s := range subs {
		r.waitState(nt.ID, s.Endpoint, "delivered", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDelivered })
	}
	perEndpoint := map[string]int{}
	for _, d := range r.push.Deliveries() {
		perEndpoint[d.Subscription.Endpoint]++
	}
	for _, s := range subs {
		if perEndpoint[s.Endpoint] != 1 || r.push.Attempts(s.Endpoint) != 1 {
			t.Fatalf("subscription got %d pushes (%d attempts), want exactly 1", perEndpoint[s.Endpoint], r.push.Attempts(s.Endpoint))
		}
	}
}

// A graceful stop lets pushes in flight finish and records them, so none is sent twice.
func TestStopLetsInFlightPushesFinishAndRecordsThem(t *testing.T) {
	r := newRig(t, func(w *webpush.Config, c *notify.Config) { c.ShutdownGrace = 5 * time.Second })
	var subs []pushtest.Subscription
	for range 8 {
		subs = append(subs, r.subscribe("alice"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := r.cfg
	var calls atomic.Int32
	cfg.BeforeSend = func(notify.DeliveryKey) error {
		if calls.Add(1) == 3 {
			cancel()
		}
		return nil
	}
	n := r.notifier(cfg)
	nt := r.publish(n, "alice", "u1", "accepted")
	if err := n.Deliver(ctx); err != nil {
		t.Fatalf("stopped Deliver returned %v", err)
	}
	sent := map[string]bool{}
	for _, d := range r.push.Deliveries() {
		sent[d.Subscription.Endpoint] = true
	}
	for _, s := range subs {
		st := r.state(nt.ID, s.Endpoint)
		if sent[s.Endpoint] != (st.Status == notify.StatusDelivered) {
			t.Fatalf("push sent %v but recorded %+v", sent[s.Endpoint], st)
		}
	}
	r.deliver(r.notifier(r.cfg))
	r.push.WaitFor(t, len(subs), 10*time.Second)
	for _, s := range subs {
		r.waitState(nt.ID, s.Endpoint, "delivered", func(s notify.DeliveryState) bool { return s.Status == notify.StatusDelivered })
		if n := r.push.Attempts(s.Endpoint); n != 1 {
			t.Fatalf("%d pushes to one subscription", n)
		}
	}
}

// A question image's outcome is told as such, under its own topic, with the reason of a
// rejection; the event's key is resolved under the CDN here, at the edge.
func TestQuestionImageOutcomesAreToldToTheAuthor(t *testing.T) {
	data, _ := json.Marshal(services.AvatarProcessed{UploadID: "q1", PlayerID: "alice", Purpose: services.PurposeQuestionImage,
		Status: services.UploadRejected, Reason: "violence"})
	d, err := notify.AvatarProcessed(testCDN)(services.Message{Subject: services.SubjectAvatarProcessed, ID: "m", Data: data})
	if err != nil || d.PlayerID != "alice" || d.Topic != notify.TopicQuestionImage || d.PushTopic != notify.TopicQuestionImage ||
		d.Title != "Your question image was not accepted" || !strings.Contains(d.Body, "Reason: violence") {
		t.Fatalf("draft %+v %v", d, err)
	}
	data, _ = json.Marshal(services.AvatarProcessed{UploadID: "q2", PlayerID: "alice", Purpose: services.PurposeQuestionImage,
		Status: services.UploadAccepted, ImageKey: "public/questions/a.jpg", ThumbKey: "public/questions/b.jpg"})
	d, err = notify.AvatarProcessed(testCDN)(services.Message{Subject: services.SubjectAvatarProcessed, ID: "m2", Data: data})
	if err != nil || d.Title != "Your question image is ready" || d.Data.(map[string]string)["thumbnailUrl"] != testCDN+"/questions/b.jpg" {
		t.Fatalf("accepted draft %+v %v", d, err)
	}
}
