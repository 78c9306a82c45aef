package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// component is one part of a running server. serve starts its components in order and stops
// them in reverse, so each stops while what it depends on still runs.
type component struct {
	name  string
	start func(ctx context.Context) error // returns once the part runs; an error fails start-up
	stop  func(ctx context.Context) error // within the shutdown deadline
}

// runComponents starts parts in order and calls ready; then, when ctx ends or a part reports on
// failed, it stops every started part in reverse with a fresh deadline (ctx is cancelled by then).
func runComponents(ctx context.Context, log *slog.Logger, shutdown time.Duration, failed <-chan error, ready func(), parts ...component) (err error) {
	started := 0
	defer func() {
		// A fresh context: the one that told us to stop is already cancelled.
		sctx, cancel := context.WithTimeout(context.Background(), shutdown)
		defer cancel()
		if started == len(parts) {
			log.Info("shutting down")
		}
		for i := started - 1; i >= 0; i-- {
			if parts[i].stop == nil {
				continue
			}
			if serr := parts[i].stop(sctx); serr != nil {
				log.Warn("stop", "component", parts[i].name, "err", serr)
			}
		}
	}()
	for _, p := range parts {
		if p.start != nil {
			if err := p.start(ctx); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
		}
		started++
	}
	ready()
	select {
	case err = <-failed:
	case <-ctx.Done():
	}
	return err
}

// worker runs fn in the background from start until stop; an error it returns before stop is
// logged (the worker has stopped) without stopping the server.
func worker(log *slog.Logger, name string, fn func(ctx context.Context) error) component {
	var cancel context.CancelFunc
	done := make(chan struct{})
	return component{name: name,
		start: func(ctx context.Context) error {
			wctx, c := context.WithCancel(context.WithoutCancel(ctx))
			cancel = c
			go func() {
				defer close(done)
				if err := fn(wctx); err != nil && wctx.Err() == nil {
					log.Error("worker stopped", "worker", name, "err", err)
				}
			}()
			return nil
		},
		stop: func(ctx context.Context) error {
			cancel()
			select {
			case <-done:
				return nil
			case <-ctx.Done():
				return fmt.Errorf("worker %s: %w", name, ctx.Err())
			}
		},
	}
}

// subscription holds a PubSub subscription from start until stop.
func subscription(name string, subscribe func() (unsubscribe func(), err error)) component {
	var unsubscribe func()
	return component{name: name,
		start: func(context.Context) (err error) {
			unsubscribe, err = subscribe()
			return err
		},
		stop: func(context.Context) error { unsubscribe(); return nil },
	}
}

// httpServer serves ln until stop; a serving error is reported on failed and ends the server.
func httpServer(hs *http.Server, ln net.Listener, failed chan<- error) component {
	return component{name: "http",
		start: func(context.Context) error {
			go func() {
				if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					failed <- err
				}
			}()
			return nil
		},
		stop: hs.Shutdown,
	}
}
