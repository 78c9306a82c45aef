package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/webpush"
)

// The notifier's durable consumer on a real embedded JetStream bus: an avatar outcome published
// twice (the publisher retried) makes one inbox entry, one in-band frame and one push per
// subscription; the consumer picks up where it left off after a restart.
func TestNotifierConsumesAvatarOutcomesFromTheBus(t *testing.T) {
	r := newRig(t, func(_ *webpush.Config, c *notify.Config) { c.SweepInterval = 20 * time.Millisecond })
	subs := []string{r.subscribe("alice").Endpoint, r.subscribe("alice").Endpoint}
	bus, err := natsbus.OpenEmbedded(context.Background(), t.TempDir(), natsbus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })

	run := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.n.Run(ctx, bus) }()
		return func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v", err)
			}
		}
	}
	publish := func(uploadID, status string) {
		ev := avatarEvent("alice", uploadID, status, "")
		for range 2 {
			if err := bus.Publish(context.Background(), ev.Subject, ev.ID, ev.Data); err != nil {
				t.Fatal(err)
			}
		}
	}

	stop := run()
	publish("u1", "in_review")
	r.push.WaitFor(t, 2, 10*time.Second)
	stop()

	// Published while no notifier runs: the durable consumer delivers it on the next start.
	publish("u1-final", "accepted")
	stop = run()
	defer stop()
	ds := r.push.WaitFor(t, 4, 10*time.Second)

	items, _, err := r.store.Notifications(context.Background(), "alice", "", 10)
	if err != nil || len(items) != 2 {
		t.Fatalf("inbox has %d entries (%v), want 2", len(items), err)
	}
	if n := len(r.mirroredFrames()); n != 2 {
		t.Fatalf("%d in-band frames, want 2", n)
	}
	per := map[string]int{}
	for _, d := range ds {
		per[d.Subscription.Endpoint]++
		var p struct{ Data struct{ Status string } }
		if err := json.Unmarshal(d.Plaintext, &p); err != nil || d.Topic != notify.TopicAvatar {
			t.Fatalf("push %q topic %q", d.Plaintext, d.Topic)
		}
	}
	for _, e := range subs {
		if per[e] != 2 {
			t.Fatalf("subscription got %d pushes, want one per outcome: 2", per[e])
		}
	}
	if got := r.n.Subjects(); len(got) != 2 || got[0] != services.SubjectAvatarProcessed || got[1] != services.SubjectModerationAction {
		t.Fatalf("subjects %v", got)
	}
}
