package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/outbox"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

// crashyOutbox fails the first delete, as if the process died after publishing and before
// removing the rows.
type crashyOutbox struct {
	services.Outbox
	failed bool
}

func (c *crashyOutbox) DeleteEvents(ctx context.Context, ids []int64) error {
	if !c.failed {
		c.failed = true
		return errors.New("crash before delete")
	}
	return c.Outbox.DeleteEvents(ctx, ids)
}

func TestRelayPublishesEachCommittedEventExactlyOnceAcrossACrash(t *testing.T) {
	sqltest.Run(t, nil, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		bus, err := natsbus.OpenEmbedded(ctx, t.TempDir(), natsbus.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer bus.Close()

		res := services.GameFinished{GameID: "g", QuizID: "q", FinishedAt: time.Now(),
			Entries: []services.ResultEntry{{PlayerID: "a", Score: 1}, {PlayerID: "b", Score: 2}}}
		if err := db.RecordGame(ctx, res); err != nil {
			t.Fatal(err)
		}
		r := outbox.New(&crashyOutbox{Outbox: db}, bus, slog.New(slog.DiscardHandler))
		if err := r.Flush(ctx); err == nil {
			t.Fatal("the simulated crash went unnoticed")
		}
		if err := r.Flush(ctx); err != nil { // the restarted relay publishes the same rows again
			t.Fatal(err)
		}
		if left, _ := db.PendingEvents(ctx, 10); len(left) != 0 {
			t.Fatalf("%d events left in the outbox", len(left))
		}

		var mu sync.Mutex
		seen := map[string]int{}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			_ = bus.Consume(cctx, services.ConsumerConfig{Name: "count", Subjects: []string{"score.recorded"}},
				func(ctx context.Context, m services.Message) error {
					mu.Lock()
					seen[m.ID]++
					mu.Unlock()
					return nil
				})
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(seen)
			mu.Unlock()
			if n == 2 || time.Now().After(deadline) {
				break
			}
			<-time.After(5 * time.Millisecond)
		}
		// A late duplicate would arrive right behind the originals; flush one more time to be sure
		// nothing is pending and check the counts.
		_ = r.Flush(ctx)
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 2 || seen["score:game:g:a"] != 1 || seen["score:game:g:b"] != 1 {
			t.Fatalf("score events seen %v, want each once", seen)
		}
	})
}
