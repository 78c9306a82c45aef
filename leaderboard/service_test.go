package leaderboard_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/leaderboard/leaderboardtest"
	"github.com/trivium-game/trivium/leaderboard/memory"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// flakyEngine fails the next fails Apply calls on board, like a Redis outage or a crash mid-way.
type flakyEngine struct {
	leaderboard.Engine
	board string
	fails int
}

func (f *flakyEngine) Apply(ctx context.Context, u leaderboard.Update) (bool, error) {
	if u.Board == f.board && f.fails > 0 {
		f.fails--
		return false, errors.New("engine down")
	}
	return f.Engine.Apply(ctx, u)
}

func newService(t *testing.T, e leaderboard.Engine, log leaderboard.Log, now func() time.Time) *leaderboard.Service {
	t.Helper()
	svc, err := leaderboard.New(leaderboard.Config{Engine: e, Log: log, Profiles: &leaderboardtest.FakeProfiles{}, Clock: now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func scoreOf(t *testing.T, svc *leaderboard.Service, board, player string) int64 {
	t.Helper()
	m, err := svc.Me(context.Background(), board, player, 0)
	if err != nil {
		t.Fatalf("Me(%s, %s): %v", board, player, err)
	}
	return m.Score
}

func TestScoreFailingHalfwayCountsOnceWhenRedelivered(t *testing.T) {
	ctx := context.Background()
	log := sqltest.Open(t, sqlstore.SQLite, nil).ScoreLog()
	e := &flakyEngine{Engine: memory.New(), board: leaderboard.QuizBoard("q1"), fails: 1}
	svc := newService(t, e, log, fixed(t0))
	m := leaderboardtest.Score("game", "g1", "q1", "alice", 10, t0)
	if err := svc.HandleScore(ctx, m); err == nil || services.IsPermanent(err) {
		t.Fatalf("HandleScore with the engine failing = %v, want a retryable error", err)
	}
	m.Delivered = 2
	if err := svc.HandleScore(ctx, m); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	for _, b := range []string{"global", "weekly", "quiz:q1"} {
		if got := scoreOf(t, svc, b, "alice"); got != 10 {
			t.Errorf("%s score %d, want 10", b, got)
		}
	}
}

func TestCrashAfterLoggingIsRecoveredByRebuild(t *testing.T) {
	ctx := context.Background()
	log := sqltest.Open(t, sqlstore.SQLite, nil).ScoreLog()
	before := newService(t, &flakyEngine{Engine: memory.New(), board: "global", fails: 1}, log, fixed(t0))
	m := leaderboardtest.Score("game", "g1", "q1", "alice", 10, t0)
	if err := before.HandleScore(ctx, m); err == nil {
		t.Fatal("want the engine failure reported")
	}
	// The process dies; a new one rebuilds from the log, then the bus redelivers.
	after := newService(t, memory.New(), log, fixed(t0))
	if err := after.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	m.Delivered = 2
	if err := after.HandleScore(ctx, m); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"global", "weekly", "quiz:q1"} {
		if got := scoreOf(t, after, b, "alice"); got != 10 {
			t.Errorf("%s score %d, want 10", b, got)
		}
	}
}

func TestWeeklyCursorFinishesTheWeekItStarted(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC) // Sunday of 2026-W48
	svc := newService(t, memory.New(), &leaderboardtest.MemLog{}, func() time.Time { return now })
	for _, p := range []string{"a", "b", "c"} {
		if err := svc.HandleScore(ctx, leaderboardtest.Score("game", "g1", "q1", p, 5, now)); err != nil {
			t.Fatal(err)
		}
	}
	first, err := svc.Top(ctx, "weekly", "", 2)
	if err != nil || first.Board != "weekly:2026-W48" || first.Next == "" {
		t.Fatalf("first page = %+v, %v", first, err)
	}
	now = now.Add(2 * time.Hour) // Monday: "weekly" is now W49
	second, err := svc.Top(ctx, "weekly", first.Next, 2)
	if err != nil || second.Board != "weekly:2026-W48" || len(second.Entries) != 1 || second.Entries[0].PlayerID != "c" {
		t.Fatalf("second page = %+v, %v; want c on weekly:2026-W48", second, err)
	}
}

func TestProfilesAreCachedUntilInvalidatedOrExpired(t *testing.T) {
	ctx := context.Background()
	now := t0
	profiles := &leaderboardtest.FakeProfiles{}
	svc, err := leaderboard.New(leaderboard.Config{
		Engine: memory.New(), Log: &leaderboardtest.MemLog{}, Profiles: profiles,
		Clock: func() time.Time { return now }, ProfileCacheTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.HandleScore(ctx, leaderboardtest.Score("game", "g1", "q1", "alice", 5, t0)); err != nil {
		t.Fatal(err)
	}
	name := func() string {
		t.Helper()
		p, err := svc.Top(ctx, "global", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		return p.Entries[0].DisplayName
	}
	name()
	name()
	if n := profiles.CountLookups(); n != 1 {
		t.Errorf("two reads made %d profile lookups, want 1", n)
	}
	profiles.Rename("alice", "Alice II")
	if got := name(); got != "Name of alice" {
		t.Errorf("before Invalidate: %q, want the cached name", got)
	}
	svc.Invalidate("alice")
	if got := name(); got != "Alice II" {
		t.Errorf("after Invalidate: %q, want the new name", got)
	}
	profiles.Rename("alice", "Alice III")
	now = now.Add(2 * time.Minute)
	if got := name(); got != "Alice III" {
		t.Errorf("after the TTL: %q, want the new name", got)
	}
	profiles.Err = errors.New("players db down")
	svc.Invalidate("alice")
	if _, err := svc.Top(ctx, "global", "", 10); err == nil {
		t.Error("a failed profile lookup was hidden")
	}
}

func TestProfileCacheStaysBounded(t *testing.T) {
	ctx := context.Background()
	profiles := &leaderboardtest.FakeProfiles{}
	svc, err := leaderboard.New(leaderboard.Config{
		Engine: memory.New(), Log: &leaderboardtest.MemLog{}, Profiles: profiles, Clock: fixed(t0), ProfileCacheSize: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "b", "c"} {
		if err := svc.HandleScore(ctx, leaderboardtest.Score("game", "g1", "q1", p, 5, t0)); err != nil {
			t.Fatal(err)
		}
	}
	me := func(p string) {
		if _, err := svc.Me(ctx, "global", p, 0); err != nil {
			t.Fatal(err)
		}
	}
	me("a")
	me("b")
	me("a") // b is now least recently used
	me("c") // evicts b
	start := profiles.CountLookups()
	me("a")
	me("c")
	if n := profiles.CountLookups() - start; n != 0 {
		t.Errorf("recently used profiles were looked up again (%d)", n)
	}
	me("b")
	if n := profiles.CountLookups() - start; n != 1 {
		t.Errorf("the evicted profile took %d lookups, want 1", n)
	}
}

func TestResolveBoard(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) // a Friday in ISO week 2026-W53
	for _, tc := range []struct{ in, want string }{
		{"global", "global"},
		{"weekly", "weekly:2026-W53"},
		{"weekly:2026-W01", "weekly:2026-W01"},
		{"weekly:2026-W53", "weekly:2026-W53"},
		{"quiz:abc-123", "quiz:abc-123"},
		{"weekly:2025-W53", ""},
		{"weekly:2026-W00", ""},
		{"weekly:1969-W10", ""},
		{"weekly:26-W01", ""},
		{"quiz:", ""},
		{"quiz:has space", ""},
		{"quiz:" + strings.Repeat("x", 129), ""},
		{"GLOBAL", ""},
	} {
		got, err := leaderboard.ResolveBoard(tc.in, now)
		if tc.want == "" {
			if services.ErrorCode(err) != services.EInvalid {
				t.Errorf("ResolveBoard(%q) = %q, %v; want invalid", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ResolveBoard(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
