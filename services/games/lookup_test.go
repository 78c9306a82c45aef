package games

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/services"
)

// gatedCluster answers Locate only once its gate opens, as a NATS server that is slow to answer.
type gatedCluster struct {
	gate    chan struct{}
	locates atomic.Int32
}

type nopLink struct{}

func (nopLink) Forward(Command) bool { return true }

func (c *gatedCluster) Claim(string) (bool, error) { return true, nil }
func (c *gatedCluster) Locate(string) (Link, bool, bool, error) {
	c.locates.Add(1)
	<-c.gate
	return nopLink{}, false, true, nil
}
func (c *gatedCluster) Release(string)               {}
func (c *gatedCluster) Info(string) (GameInfo, bool) { return GameInfo{}, false }

func TestASlowClusterLookupHoldsUpOnlyTheLookupsOfItsCode(t *testing.T) {
	cl := &gatedCluster{gate: make(chan struct{})}
	m := NewManager(ManagerConfig{Clock: NewFakeClock(t0), Results: newResults(0), Cluster: cl})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		_ = m.Close(ctx)
	})
	local, err := m.Create(quiz(services.ModeCasual, choice(0, 30, 0)), info("host"))
	if err != nil {
		t.Fatal(err)
	}

	// Two joins of a game another node runs wait on the cluster's answer.
	var wg sync.WaitGroup
	rooms := make([]*Room, 2)
	for i := range rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rooms[i], _ = m.Lookup("REMOTE")
		}()
	}
	testwait.Until(t, "one join to ask the cluster and the other to wait for it", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		l := m.lookups["REMOTE"]
		return l != nil && l.waiters == 1
	})

	// Meanwhile this node's own games are found, and new ones created.
	found := make(chan bool, 1)
	go func() {
		_, ok := m.Lookup(local.Code())
		_, err := m.Create(quiz(services.ModeCasual, choice(0, 30, 0)), info("host2"))
		found <- ok && err == nil
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatal("the local game was not found, or a new one not created")
		}
	case <-time.After(waitLimit):
		t.Fatal("a lookup of a local game waited for the cluster's answer about another game")
	}

	close(cl.gate)
	wg.Wait()
	if rooms[0] == nil || rooms[0] != rooms[1] || rooms[0].link == nil {
		t.Fatalf("the waiting joins got %p and %p, want the same forwarding room", rooms[0], rooms[1])
	}
	if n := cl.locates.Load(); n != 1 {
		t.Fatalf("the cluster was asked %d times for one code, want once", n)
	}
}

// slowClaims holds the first Claim until its gate opens, as a NATS KV write on a starved server.
type slowClaims struct {
	gatedCluster
	claims atomic.Int32
}

func (c *slowClaims) Claim(string) (bool, error) {
	if c.claims.Add(1) == 1 {
		<-c.gate
	}
	return true, nil
}

func TestCreatingAGameHoldsUpNeitherLookupsNorOtherCreations(t *testing.T) {
	cl := &slowClaims{gatedCluster: gatedCluster{gate: make(chan struct{})}}
	m := NewManager(ManagerConfig{Clock: NewFakeClock(t0), Results: newResults(0), Cluster: cl, MaxGamesPerHost: 2})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		_ = m.Close(ctx)
	})
	q := quiz(services.ModeCasual, choice(0, 30, 0))
	slow := make(chan *Room, 1)
	go func() {
		r, _ := m.Create(q, info("host"))
		slow <- r
	}()
	testwait.Until(t, "the first creation to wait on its claim", func() bool { return cl.claims.Load() == 1 })

	done := make(chan error, 1)
	go func() {
		r, err := m.Create(q, info("host"))
		if err == nil {
			if _, ok := m.Lookup(r.Code()); !ok {
				err = errf(services.ENotFound, "the new game is not found")
			}
		}
		if err == nil {
			// The game still being created counts against the host's cap of 2.
			if _, err3 := m.Create(q, info("host")); services.ErrorCode(err3) != services.ERateLimited {
				err = errf(services.EInternal, "a third game for a host with 2 (one being created): %v", err3)
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("a creation or a lookup waited for another game's code claim")
	}
	close(cl.gate)
	if r := <-slow; r == nil {
		t.Fatal("the slow creation failed")
	}
}
