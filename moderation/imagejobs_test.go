package moderation_test

import (
	"context"
	"image"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/moderation/corpus"
	"github.com/trivium-game/trivium/services"
)

// jobCounter counts the image jobs a workflow runs, by kind.
type jobCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *jobCounter) done(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[kind]++
}

func (c *jobCounter) get(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[kind]
}

func TestAWorkflowRunDecodesTheUploadOnce(t *testing.T) {
	ctx := context.Background()
	t.Run("local detector: validation, screening and thumbnails share one decode", func(t *testing.T) {
		var jobs jobCounter
		f := newFixture(t, func(c *moderation.Config) { c.AfterImageJob = jobs.done })
		m := f.upload(f.player, corpus.JPEG(corpus.Quadrants(320, 240)), "image/jpeg")
		if err := f.wf.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
		if st := f.status(uploadID(m)).Status; st != "accepted" {
			t.Fatalf("status %s", st)
		}
		if jobs.get("decode") != 1 || jobs.get("screen") != 1 || jobs.get("thumbnail") != 1 {
			t.Fatalf("image jobs %v, want one decode, one screen, one thumbnail", jobs.n)
		}
	})
	t.Run("a run resumed by a moderator decodes once more", func(t *testing.T) {
		var jobs jobCounter
		stub := classifier(t, `[{"name":"Suggestive","confidence":70}]`)
		f := newFixture(t, func(c *moderation.Config) {
			c.AfterImageJob = jobs.done
			c.Detector = moderation.HTTPDetector{URL: stub.URL}
		})
		m := f.upload(f.player, corpus.JPEG(corpus.Quadrants(320, 240)), "image/jpeg")
		if err := f.wf.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
		if st := f.status(uploadID(m)).Status; st != "in_review" || jobs.get("decode") != 1 {
			t.Fatalf("status %s, image jobs %v; want in_review after one decode", st, jobs.n)
		}
		mod := f.newPlayer("mod")
		if _, err := f.wf.Decide(ctx, f.caseFor(uploadID(m)), mod.ID, moderation.Approve, ""); err != nil {
			t.Fatal(err)
		}
		if st := f.status(uploadID(m)).Status; st != "accepted" || jobs.get("decode") != 2 || jobs.get("thumbnail") != 1 {
			t.Fatalf("status %s, image jobs %v; want accepted after a second decode for the thumbnails", st, jobs.n)
		}
	})
}

// stuckDetector is the local detector, except that on a poisoned image it blocks, ignoring its
// context as a decoder would, until released: a stand-in for an image that is slow to process.
type stuckDetector struct {
	moderation.LocalDetector
	poisoned        func(image.Image) bool
	release         chan struct{}
	entered, exited atomic.Int32
}

func newStuckDetector(t *testing.T, poisoned func(image.Image) bool) *stuckDetector {
	d := &stuckDetector{poisoned: poisoned, release: make(chan struct{})}
	t.Cleanup(func() { close(d.release) })
	return d
}

func (d *stuckDetector) DetectImage(ctx context.Context, img image.Image) ([]moderation.Label, error) {
	if d.poisoned(img) {
		d.entered.Add(1)
		<-d.release
		d.exited.Add(1)
	}
	return d.LocalDetector.DetectImage(ctx, img)
}

func TestAnImageJobPastItsBudgetRejectsTheUploadWithAReason(t *testing.T) {
	ctx := context.Background()
	stuck := newStuckDetector(t, func(image.Image) bool { return true })
	f := newFixture(t, func(c *moderation.Config) {
		c.Detector = stuck
		c.StepBudget = 500 * time.Millisecond
	})
	m := f.upload(f.player, corpus.JPEG(corpus.Quadrants(64, 64)), "image/jpeg")
	id := uploadID(m)
	if err := f.wf.Handle(ctx, m); err != nil {
		t.Fatalf("Handle = %v; an upload over its budget is an outcome, not an error to retry", err)
	}
	u := f.status(id)
	if u.Status != "rejected" || u.Reason != "processing the image took longer than the 500ms limit; upload a smaller or simpler image" {
		t.Fatalf("status %q reason %q", u.Status, u.Reason)
	}
	if evs := f.processedFor(id); len(evs) != 1 || evs[0].Status != "rejected" || evs[0].Reason != u.Reason {
		t.Fatalf("avatar.processed %+v", evs)
	}
	if f.exists(u.Key) {
		t.Fatal("the original was kept")
	}
	if p, _ := f.db.PlayerByID(ctx, f.player.ID); p.Avatar.Key != "" {
		t.Fatalf("avatar set to %+v", p.Avatar)
	}
	if stuck.entered.Load() != 1 || stuck.exited.Load() != 0 {
		t.Fatalf("the stuck job entered %d, exited %d", stuck.entered.Load(), stuck.exited.Load())
	}
}

// One delivery at a time and two image workers: a poisoned upload ahead of a good one is cut
// off at its budget (a real-time deadline: waitFor allows 10 s), its job keeps one worker while it runs on, and the good upload completes
// on the other — without the budget it would wait behind the poisoned one for ever.
func TestAPoisonedUploadDoesNotStarveTheOthers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const poisonedWidth = 301
	stuck := newStuckDetector(t, func(img image.Image) bool { return img.Bounds().Dx() == poisonedWidth })
	f := newFixture(t, func(c *moderation.Config) {
		c.Detector = stuck
		c.Workers, c.ImageWorkers = 1, 2
		// Long enough that the good upload never runs out of it on a loaded machine (or under
		// -race); the poisoned one never finishes, so it always does.
		c.StepBudget = 2 * time.Second
	})
	done := make(chan error, 1)
	go func() { done <- f.wf.Run(ctx) }()
	bad := f.upload(f.newPlayer("mallory"), corpus.JPEG(corpus.Quadrants(poisonedWidth, 200)), "image/jpeg")
	good := f.upload(f.player, corpus.JPEG(corpus.Quadrants(200, 200)), "image/jpeg")
	for _, m := range []services.Message{bad, good} {
		if err := f.bus.Publish(ctx, m.Subject, m.ID, m.Data); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the good upload's outcome", func() bool { st := f.status(uploadID(good)).Status; return st != "processing" })
	if st := f.status(uploadID(good)); st.Status != "accepted" {
		t.Fatalf("good upload %s %q", st.Status, st.Reason)
	}
	if st := f.status(uploadID(bad)); st.Status != "rejected" || !strings.Contains(st.Reason, "took longer than the 2s limit") {
		t.Fatalf("poisoned upload %s %q", st.Status, st.Reason)
	}
	if stuck.entered.Load() != 1 || stuck.exited.Load() != 0 {
		t.Fatalf("the poisoned job entered %d, exited %d; want it still running", stuck.entered.Load(), stuck.exited.Load())
	}
	if dls, _ := f.bus.DeadLetters(ctx, 10); len(dls) != 0 {
		t.Fatalf("dead letters %+v", dls)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
