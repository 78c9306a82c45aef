package accounts

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

func TestPasswordHashingPastItsQueueIsRefusedAsBusyWithRetryAfter(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		db := sqltest.Open(t, d, nil)
		s, err := New(Config{Store: db, TokenKey: []byte(strings.Repeat("k", 32)), HashConcurrency: 1, HashQueue: -1})
		if err != nil {
			t.Fatal(err)
		}
		s.hashes.slots <- struct{}{} // every slot is taken
		_, err = s.Register(context.Background(), "newbie", "long enough pw")
		if services.ErrorCode(err) != services.EBusy || services.ErrorRetryAfter(err) < time.Second {
			t.Fatalf("register with a full queue: %v (retry after %s)", err, services.ErrorRetryAfter(err))
		}
		if _, err := s.Login(context.Background(), "newbie", "long enough pw", "192.0.2.1"); services.ErrorCode(err) != services.EBusy {
			t.Fatalf("login with a full queue: %v", err)
		}
	})
}

func TestPasswordHashingWaitsInItsQueueOnlyUntilTheDeadline(t *testing.T) {
	s, err := New(Config{TokenKey: []byte(strings.Repeat("k", 32)), HashConcurrency: 1, HashQueue: 1, HashWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.hashes.slots <- struct{}{}
	_, err = s.Register(context.Background(), "newbie", "long enough pw")
	if services.ErrorCode(err) != services.EBusy {
		t.Fatalf("register past the deadline: %v", err)
	}
	// A slot that frees up while a caller waits is taken.
	done := make(chan error, 1)
	go func() {
		done <- s.hashes.do(context.Background(), func() {})
	}()
	for s.hashes.waiting.Load() == 0 {
		select {
		case err := <-done:
			t.Fatalf("ran without a free slot: %v", err)
		default:
			runtime.Gosched()
		}
	}
	<-s.hashes.slots
	if err := <-done; err != nil {
		t.Fatalf("waiting caller: %v", err)
	}
}
