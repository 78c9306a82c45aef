package games

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
)

func TestManagerCreatesRoomsWithUnambiguousUniqueCodes(t *testing.T) {
	m := NewManager(ManagerConfig{Clock: NewFakeClock(t0)})
	defer m.Close(context.Background())
	seen := map[string]bool{}
	for i := range 50 {
		r, err := m.Create(quiz(services.ModeCasual, choice(0, 20, 0)), info(fmt.Sprint("host", i)))
		if err != nil {
			t.Fatal(err)
		}
		code := r.Code()
		if len(code) != CodeLength || strings.Trim(code, CodeAlphabet) != "" || strings.ContainsAny(code, "0O1IL") {
			t.Fatalf("code %q", code)
		}
		if seen[code] {
			t.Fatalf("duplicate code %q", code)
		}
		seen[code] = true
		got, ok := m.Lookup(strings.ToLower(code))
		if !ok || got != r || got.ID() == "" {
			t.Fatalf("lookup %q failed", code)
		}
	}
	if m.Active() != 50 {
		t.Fatalf("active = %d", m.Active())
	}
	if _, ok := m.Lookup("ABCDE"); ok {
		t.Fatal("found a room by a bad code")
	}
	if _, ok := m.Info("nope"); ok {
		t.Fatal("info for a bad code")
	}
}

func TestManagerRefusesQuizzesItCannotHost(t *testing.T) {
	m := NewManager(ManagerConfig{})
	defer m.Close(context.Background())
	for name, q := range map[string]services.Quiz{
		"single":       quiz(services.ModeSingle, choice(0, 20, 0)),
		"unknown mode": quiz("party", choice(0, 20, 0)),
		"no questions": quiz(services.ModeCasual),
	} {
		if _, err := m.Create(q, info("host")); services.ErrorCode(err) != services.EInvalid {
			t.Fatalf("%s: err = %v", name, err)
		}
	}
	if m.Active() != 0 {
		t.Fatal("a refused room was registered")
	}
}

func TestManagerCloseShutsRoomsAndClients(t *testing.T) {
	clk := NewFakeClock(t0)
	m := NewManager(ManagerConfig{Clock: clk})
	r, err := m.Create(quiz(services.ModeCasual, choice(0, 20, 0)), info("host"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clk: clk, m: m, room: r}
	p1 := e.player(t, "p1")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, code, reason := p1.snapshot(); code != CloseGoingAway || reason != ReasonShuttingDown {
		t.Fatalf("client closed with %d %q", code, reason)
	}
	select {
	case <-r.Done():
	default:
		t.Fatal("the room goroutine is still running")
	}
	if r.Submit(Command{Type: CmdPing, Client: p1}) {
		t.Fatal("a stopped room accepted a command")
	}
	if _, err := m.Create(quiz(services.ModeCasual, choice(0, 20, 0)), info("host")); services.ErrorCode(err) != services.EUnavailable {
		t.Fatalf("create after close: %v", err)
	}
}

func TestManagerCloseMakesOneLastAttemptForFailingResults(t *testing.T) {
	res := newResults(1000)
	clk := NewFakeClock(t0)
	m := NewManager(ManagerConfig{Clock: clk, Results: res})
	r, err := m.Create(quiz(services.ModeCasual, choice(0, 20, 0)), info("host"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clk: clk, m: m, room: r, host: newClient("host")}
	e.join(t, e.host, info("host"))
	e.submit(t, e.host, info("host"), CmdEnd, "end", nil)
	res.waitCalls(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	start := time.Now()
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > waitLimit/2 {
		t.Fatal("Close waited for the retry backoff")
	}
	res.mu.Lock()
	defer res.mu.Unlock()
	if res.calls != 2 {
		t.Fatalf("%d attempts, want the first and one last on close", res.calls)
	}
}

func TestHostThatNeverJoinsEndsTheRoom(t *testing.T) {
	clk := NewFakeClock(t0)
	res := newResults(0)
	m := NewManager(ManagerConfig{Clock: clk, Results: res})
	defer m.Close(context.Background())
	r, err := m.Create(quiz(services.ModeCasual, choice(0, 20, 0)), info("host"))
	if err != nil {
		t.Fatal(err)
	}
	if !clk.WaitForTimer(t0.Add(HostTimeout), waitLimit) {
		t.Fatal("no host timeout armed")
	}
	clk.Advance(HostTimeout)
	res.waitCalls(t, 1)
	if !r.Finished() || m.Active() != 0 {
		t.Fatal("the abandoned room is still active")
	}
}

func TestFakeClockRunsTimersInOrder(t *testing.T) {
	clk := NewFakeClock(t0)
	var got []time.Duration
	clk.AfterFunc(2*time.Second, func() { got = append(got, clk.Now().Sub(t0)) })
	clk.AfterFunc(time.Second, func() {
		got = append(got, clk.Now().Sub(t0))
		clk.AfterFunc(500*time.Millisecond, func() { got = append(got, clk.Now().Sub(t0)) })
	})
	stopped := clk.AfterFunc(1500*time.Millisecond, func() { t.Error("a stopped timer ran") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should succeed once")
	}
	clk.Advance(3 * time.Second)
	want := []time.Duration{time.Second, 1500 * time.Millisecond, 2 * time.Second}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("ran at %v, want %v", got, want)
	}
	if !clk.Now().Equal(t0.Add(3*time.Second)) || clk.Pending() != 0 {
		t.Fatalf("now %v pending %d", clk.Now(), clk.Pending())
	}
}

// Issue 14: one account cannot fill the server with games.
func TestAHostCannotOpenMoreGamesThanTheCap(t *testing.T) {
	m := NewManager(ManagerConfig{Clock: NewFakeClock(t0), MaxGamesPerHost: 3, MaxGames: 5})
	defer m.Close(context.Background())
	for range 3 {
		if _, err := m.Create(quiz(services.ModeCasual, choice(0, 20, 0)), info("host")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := m.Create(quiz(services.ModeCasual, choice(0, 20, 0)), info("host"))
	wantCode(t, err, services.ERateLimited)
	for i := range 2 {
		if _, err := m.Create(quiz(services.ModeCasual, choice(0, 20, 0)), info(fmt.Sprint("other", i))); err != nil {
			t.Fatal(err)
		}
	}
	_, err = m.Create(quiz(services.ModeCasual, choice(0, 20, 0)), info("stranger"))
	wantCode(t, err, services.EUnavailable)
}

// Issue 14: a lobby nobody came to ends after EmptyLobbyTimeout (not the host's 5 minutes), and
// is removed after a minute instead of lingering ten.
func TestAnEmptyLobbyEndsSoonAndIsRemovedAtOnce(t *testing.T) {
	clk := NewFakeClock(t0)
	m := NewManager(ManagerConfig{Clock: clk})
	defer m.Close(context.Background())
	r, err := m.Create(quiz(services.ModeCasual, choice(0, 20, 0)), info("host"))
	if err != nil {
		t.Fatal(err)
	}
	if !clk.WaitForTimer(t0.Add(EmptyLobbyTimeout), waitLimit) {
		t.Fatal("no timer for the empty lobby")
	}
	clk.Advance(EmptyLobbyTimeout)
	// The finished empty game is removed after EmptyLinger, not the 10-minute linger.
	if !clk.WaitForTimer(clk.Now().Add(EmptyLinger), waitLimit) {
		t.Fatal("the empty game was not scheduled for removal after EmptyLinger")
	}
	clk.Advance(EmptyLinger)
	<-r.Done()
	if _, ok := m.Local(r.Code()); ok {
		t.Fatal("the empty game is still registered")
	}
}

// Issue 14: an idle lobby is cheap (it was ~101 KiB).
func BenchmarkIdleLobbyMemory(b *testing.B) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := NewManager(ManagerConfig{Clock: NewFakeClock(t0), MaxGamesPerHost: 1 << 20, MaxGames: 1 << 20})
	q := quiz(services.ModeCasual, choice(0, 20, 0), choice(1, 20, 0), choice(2, 20, 0), choice(3, 20, 0), choice(0, 20, 0))
	const n = 2000
	for range n {
		if _, err := m.Create(q, info("host")); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse+after.StackInuse-before.HeapInuse-before.StackInuse)/n, "B/lobby")
	_ = m.Close(context.Background())
}
