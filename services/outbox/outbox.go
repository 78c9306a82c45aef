// Package outbox relays events that were committed with their writes to the bus, so a crash
// between commit and publish loses nothing: the row stays until the bus has it.
package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Relay moves outbox rows to the bus. Publishing carries the row's message id, so a row
// published twice (crash after publish, before delete) is deduplicated by the bus.
type Relay struct {
	Store    services.Outbox
	Bus      services.Bus
	Logger   *slog.Logger
	Interval time.Duration // poll period when not kicked; DefaultInterval
	kick     chan struct{}
}

// DefaultInterval is how often the relay polls when nobody kicks it.
const DefaultInterval = 250 * time.Millisecond

// New returns a relay.
func New(store services.Outbox, bus services.Bus, log *slog.Logger) *Relay {
	return &Relay{Store: store, Bus: bus, Logger: log, Interval: DefaultInterval, kick: make(chan struct{}, 1)}
}

// Kick asks the relay to look now (after a write that added events).
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends, then makes one last pass so a graceful stop flushes everything.
func (r *Relay) Run(ctx context.Context) {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = r.Flush(flush)
			cancel()
			return
		case <-t.C:
		case <-r.kick:
		}
		if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
			r.Logger.Warn("outbox relay", "err", err)
		}
	}
}

// Flush relays every pending event.
func (r *Relay) Flush(ctx context.Context) error {
	for {
		evs, err := r.Store.PendingEvents(ctx, 100)
		if err != nil || len(evs) == 0 {
			return err
		}
		done := make([]int64, 0, len(evs))
		var perr error
		for _, e := range evs {
			if perr = r.Bus.Publish(ctx, e.Subject, e.MsgID, e.Data); perr != nil {
				break
			}
			done = append(done, e.ID)
		}
		if len(done) > 0 {
			if err := r.Store.DeleteEvents(ctx, done); err != nil {
				return err
			}
		}
		if perr != nil {
			return perr
		}
	}
}
