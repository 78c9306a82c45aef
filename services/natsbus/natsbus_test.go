package natsbus_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
)

// buses runs the same checks on the embedded server and on the machine's NATS (TRIVIUM_TEST_NATS).
func buses(t *testing.T) map[string]func(t *testing.T) *natsbus.Bus {
	return map[string]func(t *testing.T) *natsbus.Bus{
		"embedded": func(t *testing.T) *natsbus.Bus {
			b, err := natsbus.OpenEmbedded(context.Background(), t.TempDir(), natsbus.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		},
		"external": func(t *testing.T) *natsbus.Bus {
			url := os.Getenv("TRIVIUM_TEST_NATS")
			if url == "" {
				url = "nats://127.0.0.1:4222"
			}
			b, err := natsbus.Open(context.Background(), url, natsbus.Config{Prefix: fmt.Sprintf("t%d.", time.Now().UnixNano())})
			if err != nil {
				t.Fatalf("NATS at %s: %v (set TRIVIUM_TEST_NATS)", url, err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		},
	}
}

func consume(t *testing.T, b *natsbus.Bus, cfg services.ConsumerConfig, h services.Handler) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Consume(ctx, cfg, h) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestPublishDeduplicatesByMessageID(t *testing.T) {
	for name, open := range buses(t) {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			ctx := context.Background()
			for i := 0; i < 3; i++ {
				if err := b.Publish(ctx, services.SubjectScoreRecorded, "same-id", []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Publish(ctx, services.SubjectScoreRecorded, "other-id", []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			got := map[string]int{}
			consume(t, b, services.ConsumerConfig{Name: "dedupe", Subjects: []string{services.SubjectScoreRecorded}}, func(ctx context.Context, m services.Message) error {
				mu.Lock()
				got[m.ID]++
				mu.Unlock()
				return nil
			})
			testwait.Until(t, "two messages", func() bool { mu.Lock(); defer mu.Unlock(); return got["same-id"] == 1 && got["other-id"] == 1 })
		})
	}
}

func TestFailingHandlerIsRetriedThenDeadLetteredAndRedriven(t *testing.T) {
	for name, open := range buses(t) {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			ctx := context.Background()
			var attempts, healed atomic.Int32
			var fixed atomic.Bool
			consume(t, b, services.ConsumerConfig{Name: "flaky", Subjects: []string{services.SubjectAvatarUploaded}, MaxDeliver: 3,
				Backoff: []time.Duration{10 * time.Millisecond}}, func(ctx context.Context, m services.Message) error {
				if fixed.Load() {
					healed.Add(1)
					return nil
				}
				attempts.Add(1)
				return errors.New("downstream is down")
			})
			if err := b.Publish(ctx, services.SubjectAvatarUploaded, "u1", []byte(`{"uploadId":"u1"}`)); err != nil {
				t.Fatal(err)
			}
			var dls []services.DeadLetter
			testwait.Until(t, "dead letter", func() bool {
				dls, _ = b.DeadLetters(ctx, 10)
				return len(dls) == 1
			})
			if attempts.Load() != 3 || dls[0].Attempts != 3 || dls[0].MsgID != "u1" || dls[0].Consumer != "flaky" || dls[0].Error == "" {
				t.Fatalf("attempts %d, dead letter %+v", attempts.Load(), dls[0])
			}
			fixed.Store(true)
			if err := b.Redrive(ctx, dls[0].Seq); err != nil {
				t.Fatal(err)
			}
			testwait.Until(t, "redriven message handled", func() bool { return healed.Load() == 1 })
			if dls, _ := b.DeadLetters(ctx, 10); len(dls) != 0 {
				t.Fatalf("dead letter still parked: %+v", dls)
			}
		})
	}
}

func TestPermanentErrorsAreDeadLetteredAtOnce(t *testing.T) {
	b := buses(t)["embedded"](t)
	var attempts atomic.Int32
	consume(t, b, services.ConsumerConfig{Name: "perm", Subjects: []string{services.SubjectGameFinished}}, func(ctx context.Context, m services.Message) error {
		attempts.Add(1)
		return services.Permanent(errors.New("bad payload"))
	})
	_ = b.Publish(context.Background(), services.SubjectGameFinished, "g", []byte(`x`))
	testwait.Until(t, "dead letter", func() bool { d, _ := b.DeadLetters(context.Background(), 10); return len(d) == 1 })
	if attempts.Load() != 1 {
		t.Fatalf("permanent error retried %d times", attempts.Load())
	}
}

func TestEmbeddedBusKeepsUnackedMessagesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	b, err := natsbus.OpenEmbedded(ctx, dir, natsbus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, services.SubjectScoreRecorded, "keep", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b2, err := natsbus.OpenEmbedded(ctx, dir, natsbus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b2.Close() })
	var got atomic.Int32
	consume(t, b2, services.ConsumerConfig{Name: "late", Subjects: []string{services.SubjectScoreRecorded}}, func(ctx context.Context, m services.Message) error {
		if m.ID == "keep" {
			got.Add(1)
		}
		return nil
	})
	testwait.Until(t, "message from before the restart", func() bool { return got.Load() == 1 })
}

// A consumer of several subjects works on every server: NATS 2.10+ takes several filters on
// one consumer, the machine's 2.9 does not (there each subject gets its own durable consumer).
// Stopping and starting it again resumes where it was: nothing acknowledged comes back.
func TestOneConsumerTakesSeveralSubjects(t *testing.T) {
	for name, open := range buses(t) {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			ctx := context.Background()
			var mu sync.Mutex
			got := map[string]int{}
			cfg := services.ConsumerConfig{Name: "several", Subjects: []string{services.SubjectGameFinished, services.SubjectAvatarProcessed}}
			run := func() (stop func() error) {
				cctx, cancel := context.WithCancel(ctx)
				errc := make(chan error, 1)
				go func() {
					errc <- b.Consume(cctx, cfg, func(_ context.Context, m services.Message) error {
						mu.Lock()
						got[m.Subject+"/"+m.ID]++
						mu.Unlock()
						return nil
					})
				}()
				return func() error { cancel(); return <-errc }
			}
			count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
			stop := run()
			for _, p := range []struct{ subject, id string }{
				{services.SubjectGameFinished, "g1"}, {services.SubjectAvatarProcessed, "a1"}, {services.SubjectScoreRecorded, "s1"},
			} {
				if err := b.Publish(ctx, p.subject, p.id, []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
			}
			testwait.Until(t, "both subjects", func() bool { return count() == 2 })
			if err := stop(); err != nil {
				t.Fatalf("consume: %v", err)
			}
			if err := b.Publish(ctx, services.SubjectAvatarProcessed, "a2", []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			stop = run()
			testwait.Until(t, "the message published while stopped", func() bool { return count() == 3 })
			if err := stop(); err != nil {
				t.Fatalf("consume again: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for k, n := range got {
				if n != 1 {
					t.Fatalf("%s delivered %d times: %v", k, n, got)
				}
			}
			if got[services.SubjectScoreRecorded+"/s1"] != 0 {
				t.Fatalf("a subject outside the consumer was delivered: %v", got)
			}
		})
	}
}
