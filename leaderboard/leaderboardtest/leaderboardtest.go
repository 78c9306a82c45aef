// Package leaderboardtest is the conformance suite every leaderboard.Engine must pass. It drives
// the engine through leaderboard.Service, so it checks the behaviour clients see.
package leaderboardtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/services"
)

// Run runs the suite; newEngine must return an empty engine of its own on every call.
func Run(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine)
	}{
		{"TopOrdersByScoreThenWhoReachedItFirst", testTieOrder},
		{"GlobalSumsScoresOnDifferentQuizzes", testGlobalSums},
		{"RepeatingAQuizCountsOnlyItsBestPerPeriod", testRepeatsCountOnce},
		{"PrivateAndOwnQuizzesStayOffGlobalAndWeekly", testUnranked},
		{"SoloRunsCountHalfOnGlobalAndWeekly", testSoloWeight},
		{"SumOfBestsTotalsOverflowIsRefused", testTotalOverflow},
		{"QuizBoardKeepsEachPlayersBestScore", testBestScore},
		{"ArrivalOrderDoesNotChangeStandings", testArrivalOrder},
		{"PagingNeitherSkipsNorRepeatsWhileWritesHappen", testPagingUnderWrites},
		{"MeShowsNeighboursAtTopAndBottomEdges", testAroundEdges},
		{"MeWithoutAScoreIsNotFound", testMeNotFound},
		{"WeeklyRollsOverMondayMidnightUTC", testWeeklyRollover},
		{"RepeatedScoreCountsOnce", testDuplicateDelivery},
		{"ReplayingTheLogChangesNothing", testReplay},
		{"GuestsNeverAppear", testGuests},
		{"BadBoardsLimitsAndCursorsAreInvalid", testValidation},
		{"ApplyReportsRepeatedEventKeys", testEngineRepeats},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEngine) })
	}
}

// base is a Wednesday; weekly boards of events near it are 2026-W48.
var base = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

// fixture is a service over the engine under test, an in-memory log and fake profiles.
type fixture struct {
	t        *testing.T
	svc      *leaderboard.Service
	engine   leaderboard.Engine
	log      *MemLog
	profiles *FakeProfiles
	now      time.Time
	mu       sync.Mutex
}

func newFixture(t *testing.T, e leaderboard.Engine, log *MemLog) *fixture {
	t.Helper()
	if log == nil {
		log = &MemLog{}
	}
	f := &fixture{t: t, engine: e, log: log, profiles: &FakeProfiles{}, now: base}
	svc, err := leaderboard.New(leaderboard.Config{
		Engine: e, Log: log, Profiles: f.profiles,
		Clock: func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) setNow(t time.Time) { f.mu.Lock(); f.now = t; f.mu.Unlock() }

// Author writes every quiz Score names; its own results never count toward global and weekly.
const Author = "author"

// Score builds a score.recorded message for a result on a public quiz written by Author.
func Score(source, sourceID, quizID, playerID string, points int, when time.Time) services.Message {
	return Message(services.ScoreRecorded{Source: source, SourceID: sourceID, QuizID: quizID, QuizPublic: true, QuizOwnerID: Author,
		PlayerID: playerID, Score: points, At: when})
}

// Message wraps sr as a score.recorded delivery.
func Message(sr services.ScoreRecorded) services.Message {
	data, err := json.Marshal(sr)
	if err != nil {
		panic(err)
	}
	return services.Message{Subject: services.SubjectScoreRecorded, ID: sr.Source + "/" + sr.SourceID + "/" + sr.PlayerID, Data: data, Delivered: 1}
}

func (f *fixture) score(source, sourceID, quizID, playerID string, points int, when time.Time) {
	f.t.Helper()
	if err := f.svc.HandleScore(context.Background(), Score(source, sourceID, quizID, playerID, points, when)); err != nil {
		f.t.Fatalf("HandleScore(%s %s %s): %v", sourceID, playerID, quizID, err)
	}
}

func (f *fixture) top(board string, limit int) leaderboard.Page {
	f.t.Helper()
	p, err := f.svc.Top(context.Background(), board, "", limit)
	if err != nil {
		f.t.Fatalf("Top(%s): %v", board, err)
	}
	return p
}

// line renders entries as "rank:player=score" for readable comparisons.
func line(es []leaderboard.Entry) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = fmt.Sprintf("%d:%s=%d", e.Rank, e.PlayerID, e.Score)
	}
	return strings.Join(parts, " ")
}

func (f *fixture) wantTop(board, want string) {
	f.t.Helper()
	if got := line(f.top(board, leaderboard.MaxLimit).Entries); got != want {
		f.t.Errorf("%s:\n got %s\nwant %s", board, got, want)
	}
}

func testTieOrder(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	f.score("game", "g1", "q1", "alice", 10, at(100))
	f.score("game", "g2", "q1", "bob", 20, at(200))
	f.score("game", "g3", "q1", "carol", 10, at(50))
	f.score("game", "g4", "q1", "dave", 10, at(100)) // same score and instant as alice: id order
	f.wantTop("global", "1:bob=20 2:carol=10 3:alice=10 4:dave=10")
	f.wantTop("quiz:q1", "1:bob=20 2:carol=10 3:alice=10 4:dave=10")
	f.wantTop("weekly", "1:bob=20 2:carol=10 3:alice=10 4:dave=10")

	p := f.top("global", 2)
	if got := line(p.Entries); got != "1:bob=20 2:carol=10" || p.Next == "" {
		t.Errorf("top 2 = %s next %q, want bob and carol and a next cursor", got, p.Next)
	}
	if p.Entries[0].DisplayName != "Name of bob" || p.Entries[0].ThumbnailURL != "https://cdn.test/bob.webp" {
		t.Errorf("entry profile = %+v, want bob's name and thumbnail", p.Entries[0])
	}
	if last := f.top("global", 4); last.Next != "" {
		t.Errorf("a page holding the last entry has next %q, want none", last.Next)
	}
}

func testGlobalSums(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	f.score("game", "g1", "q1", "alice", 5, at(100))
	f.score("game", "p1", "q2", "bob", 10, at(200))
	f.score("game", "g2", "q2", "alice", 5, at(300))
	// alice reached 10 only at 300, after bob.
	f.wantTop("global", "1:bob=10 2:alice=10")
	f.score("game", "g3", "q3", "alice", 0, at(400))
	f.wantTop("global", "1:bob=10 2:alice=10")
	f.wantTop("quiz:q2", "1:bob=10 2:alice=5")
}

func testRepeatsCountOnce(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	// The farming run: one quiz, five times, seconds apart.
	for i := range 5 {
		f.score("game", fmt.Sprintf("farm%d", i), "q1", "mallory", 100_000, at(i*500))
	}
	f.score("game", "g1", "q1", "alice", 60_000, at(0))
	f.score("game", "g2", "q2", "alice", 50_000, at(100))
	f.wantTop("global", "1:alice=110000 2:mallory=100000")
	f.wantTop("weekly", "1:alice=110000 2:mallory=100000")
	// A better run replaces the earlier best rather than adding to it.
	f.score("game", "g3", "q1", "alice", 70_000, at(200))
	f.wantTop("global", "1:alice=120000 2:mallory=100000")
	// A new week counts the quiz's best of that week, while the global total keeps the all-time best.
	next := base.Add(7 * 24 * time.Hour)
	f.score("game", "g4", "q1", "alice", 10_000, next)
	f.score("game", "g5", "q1", "alice", 20_000, next.Add(time.Second))
	f.wantTop("weekly:2026-W49", "1:alice=20000")
	f.wantTop("weekly:2026-W48", "1:alice=120000 2:mallory=100000")
	f.wantTop("global", "1:alice=120000 2:mallory=100000")
	m, err := f.svc.Me(context.Background(), "global", "alice", 0)
	if err != nil || m.Rank != 1 || m.Score != 120000 {
		t.Errorf("Me(global, alice) = %+v, %v; want rank 1 with 120000", m, err)
	}
}

func testUnranked(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	ctx := context.Background()
	for _, sr := range []services.ScoreRecorded{
		{Source: "play", SourceID: "p1", QuizID: "private", QuizOwnerID: "mallory", PlayerID: "mallory", Score: 100_000, At: at(0)},
		{Source: "game", SourceID: "g1", QuizID: "private", QuizOwnerID: "mallory", PlayerID: "bob", Score: 900, At: at(10)},
		{Source: "game", SourceID: "g2", QuizID: "own", QuizPublic: true, QuizOwnerID: "mallory", PlayerID: "mallory", Score: 80_000, At: at(20)},
		{Source: "game", SourceID: "g2", QuizID: "own", QuizPublic: true, QuizOwnerID: "mallory", PlayerID: "bob", Score: 700, At: at(20)},
		{Source: "game", SourceID: "g3", PlayerID: "bob", Score: 5_000, At: at(30)}, // no quiz at all
	} {
		if err := f.svc.HandleScore(ctx, Message(sr)); err != nil {
			t.Fatal(err)
		}
	}
	f.wantTop("global", "1:bob=700")
	f.wantTop("weekly", "1:bob=700")
	f.wantTop("quiz:private", "1:mallory=100000 2:bob=900")
	f.wantTop("quiz:own", "1:mallory=80000 2:bob=700")
	if _, err := f.svc.Me(ctx, "global", "mallory", 1); services.ErrorCode(err) != services.ENotFound {
		t.Errorf("mallory on global: %v, want not_found", err)
	}
	// The rule holds on a rebuild from the log too.
	fresh := newFixture(t, newEngine(t), f.log)
	if err := fresh.svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	fresh.wantTop("global", "1:bob=700")
	fresh.wantTop("quiz:private", "1:mallory=100000 2:bob=900")
}

func testSoloWeight(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	f.score("play", "p1", "q1", "alice", 1001, at(0))
	f.score("game", "g1", "q1", "bob", 600, at(10))
	f.wantTop("global", "1:bob=600 2:alice=500")
	f.wantTop("weekly", "1:bob=600 2:alice=500")
	f.wantTop("quiz:q1", "1:alice=1001 2:bob=600")
	// A multiplayer game on the same quiz is the same quiz: its best replaces the solo half.
	f.score("game", "g2", "q1", "alice", 800, at(20))
	f.wantTop("global", "1:alice=800 2:bob=600")
}

func testTotalOverflow(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	e := newEngine(t)
	ctx := context.Background()
	u := leaderboard.Update{Board: "global", EventKey: "k1", PlayerID: "alice", Mode: leaderboard.SumOfBests, Group: "q1", Points: math.MaxInt64, At: at(0)}
	if _, err := e.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.EventKey, u.Points = "k2", math.MaxInt64-1 // the same group: a lower best, no overflow
	if _, err := e.Apply(ctx, u); err != nil {
		t.Fatalf("a lower best on the same group: %v", err)
	}
	u.EventKey, u.Group, u.Points = "k3", "q2", 1
	if _, err := e.Apply(ctx, u); err == nil {
		t.Fatal("a total beyond MaxInt64 was accepted")
	}
	got, err := e.After(ctx, "global", nil, 10)
	if err != nil || len(got) != 1 || got[0].Score != math.MaxInt64 {
		t.Errorf("after a refused overflow: %+v, %v; want alice at MaxInt64", got, err)
	}
	// The refused update left no best behind on q2: retrying it is refused again, not ignored.
	if _, err := e.Apply(ctx, u); err == nil {
		t.Error("the retried overflow was accepted")
	}
}

func testBestScore(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	f.score("game", "g1", "q1", "alice", 30, at(100))
	f.score("game", "g2", "q1", "alice", 10, at(200))
	f.wantTop("quiz:q1", "1:alice=30")
	f.score("game", "g3", "q1", "bob", 30, at(150))
	f.score("game", "g4", "q1", "alice", 30, at(300)) // equalling her best later keeps the earlier time
	f.wantTop("quiz:q1", "1:alice=30 2:bob=30")
	f.score("game", "p1", "q1", "bob", 40, at(400))
	f.wantTop("quiz:q1", "1:bob=40 2:alice=30")
	f.wantTop("global", "1:bob=40 2:alice=30") // each player's best on q1, not the sum of runs
	f.wantTop("quiz:other", "")
}

func testArrivalOrder(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	msgs := []services.Message{
		Score("game", "g1", "q1", "alice", 0, at(500)),
		Score("game", "g2", "q1", "alice", 0, at(100)),
		Score("game", "g3", "q1", "bob", 7, at(300)),
		Score("game", "g4", "q1", "alice", 7, at(300)),
		Score("game", "g5", "q1", "carol", 0, at(200)),
		Score("game", "g6", "q1", "bob", 0, at(900)),
		Score("game", "g7", "q1", "dave", 3, at(50)),
		Score("game", "g8", "q2", "dave", 4, at(20)),
		// erin's best on q3 is first 5 at 600, then 5 again earlier at 40: her total is
		// reached at 40 whichever arrives first.
		Score("game", "g9", "q3", "erin", 5, at(600)),
		Score("game", "g10", "q3", "erin", 2, at(10)),
		Score("game", "g11", "q3", "erin", 5, at(40)),
		Score("game", "g12", "q1", "erin", 2, at(30)),
	}
	var first string
	for i, order := range [][]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, {3, 9, 5, 0, 11, 7, 2, 8, 4, 10, 6, 1}} {
		f := newFixture(t, newEngine(t), nil)
		for _, j := range order {
			if err := f.svc.HandleScore(context.Background(), msgs[j]); err != nil {
				t.Fatal(err)
			}
		}
		var got string
		for _, b := range []string{"global", "weekly", "quiz:q1"} {
			got += b + " " + line(f.top(b, 100).Entries) + "\n"
			for _, p := range []string{"alice", "bob", "carol", "dave", "erin"} {
				m, err := f.svc.Me(context.Background(), b, p, 0)
				if err != nil {
					t.Fatal(err)
				}
				got += fmt.Sprintf("%s=%d@%d ", p, m.Score, m.Rank)
			}
		}
		if i == 0 {
			first = got
			if !strings.Contains(first, "global 1:erin=7 2:dave=7 3:alice=7 4:bob=7 5:carol=0") {
				t.Errorf("standings:\n%s", first)
			}
		} else if got != first {
			t.Errorf("arrival order %v gives\n%s\nwant\n%s", order, got, first)
		}
	}
}

func testPagingUnderWrites(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	const players = 40
	for i := range players {
		// Many ties on score, and some on time too.
		f.score("game", "seed", "q1", fmt.Sprintf("p%02d", i), (i%8)*10, at(i%5))
	}
	ctx := context.Background()
	seen := map[string]bool{}
	moved := map[string]bool{}
	var prev *leaderboard.Entry
	cursor := ""
	for page := 0; ; page++ {
		p, err := f.svc.Top(ctx, "global", cursor, 6)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			if seen[e.PlayerID] {
				t.Fatalf("page %d repeats %s", page, e.PlayerID)
			}
			seen[e.PlayerID] = true
			if prev != nil && e.Score > prev.Score {
				t.Fatalf("page %d: %s=%d follows %s=%d", page, e.PlayerID, e.Score, prev.PlayerID, prev.Score)
			}
			prev = &e
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
		// Writes between pages: someone below jumps above the cursor, someone on the page just
		// read gains points, someone ties with the last entry shown, and newcomers arrive.
		low := fmt.Sprintf("p%02d", (page*8)%players)
		f.score("game", fmt.Sprintf("jump%d", page), fmt.Sprintf("jump%d", page), low, 1000, at(1000+page))
		moved[low] = true
		last := p.Entries[len(p.Entries)-1]
		f.score("game", fmt.Sprintf("gain%d", page), fmt.Sprintf("gain%d", page), last.PlayerID, 5, at(2000+page))
		moved[last.PlayerID] = true
		f.score("game", fmt.Sprintf("new%d", page), "q1", fmt.Sprintf("new%02d", page), int(last.Score), at(-1))
		if page > 20 {
			t.Fatal("paging does not end")
		}
	}
	for i := range players {
		id := fmt.Sprintf("p%02d", i)
		if !seen[id] && !moved[id] {
			t.Errorf("%s never changed yet paging skipped it", id)
		}
	}
}

func testAroundEdges(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	for i := 1; i <= 10; i++ {
		f.score("game", "g", "q1", fmt.Sprintf("p%02d", i), 100-i, at(0)) // p01 first … p10 last
	}
	ctx := context.Background()
	for _, tc := range []struct {
		player string
		around int
		rank   int
		want   string
	}{
		{"p01", 3, 1, "1:p01=99 2:p02=98 3:p03=97 4:p04=96"},
		{"p10", 3, 10, "7:p07=93 8:p08=92 9:p09=91 10:p10=90"},
		{"p05", 2, 5, "3:p03=97 4:p04=96 5:p05=95 6:p06=94 7:p07=93"},
		{"p02", 0, 2, "2:p02=98"},
		{"p03", 50, 3, "1:p01=99 2:p02=98 3:p03=97 4:p04=96 5:p05=95 6:p06=94 7:p07=93 8:p08=92 9:p09=91 10:p10=90"},
	} {
		for _, b := range []string{"global", "quiz:q1"} {
			m, err := f.svc.Me(ctx, b, tc.player, tc.around)
			if err != nil {
				t.Fatalf("Me(%s, %s, %d): %v", b, tc.player, tc.around, err)
			}
			if m.Rank != tc.rank || m.Score != int64(100-tc.rank) || line(m.Entries) != tc.want {
				t.Errorf("Me(%s, %s, %d) = rank %d score %d %s\nwant rank %d %s", b, tc.player, tc.around, m.Rank, m.Score, line(m.Entries), tc.rank, tc.want)
			}
		}
	}
	m, err := f.svc.Me(ctx, "global", "p04", 1)
	if err != nil || m.Entries[1].DisplayName != "Name of p04" {
		t.Errorf("Me entries carry profiles: %+v, %v", m.Entries, err)
	}
}

func testMeNotFound(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	ctx := context.Background()
	if _, err := f.svc.Me(ctx, "global", "nobody", 3); services.ErrorCode(err) != services.ENotFound {
		t.Errorf("Me on an empty board: %v, want not_found", err)
	}
	f.score("game", "g1", "q1", "alice", 10, at(0))
	if _, err := f.svc.Me(ctx, "global", "nobody", 3); services.ErrorCode(err) != services.ENotFound {
		t.Errorf("Me of a player without a score: %v, want not_found", err)
	}
	if _, err := f.svc.Me(ctx, "quiz:q2", "alice", 3); services.ErrorCode(err) != services.ENotFound {
		t.Errorf("Me on a quiz the player never played: %v, want not_found", err)
	}
}

func testWeeklyRollover(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	sunday := time.Date(2026, 11, 29, 23, 59, 59, 999e6, time.UTC) // last instant of 2026-W48
	monday := sunday.Add(time.Millisecond)
	f.setNow(sunday)
	f.score("game", "g1", "q1", "alice", 10, sunday)
	f.score("game", "g2", "q1", "bob", 5, sunday.Add(-72*time.Hour))
	f.wantTop("weekly", "1:alice=10 2:bob=5")
	f.wantTop("weekly:2026-W48", "1:alice=10 2:bob=5")

	f.setNow(monday)
	p := f.top("weekly", 10)
	if p.Board != "weekly:2026-W49" || len(p.Entries) != 0 {
		t.Errorf("weekly after Monday 00:00 UTC = %s %q, want an empty weekly:2026-W49", p.Board, line(p.Entries))
	}
	f.score("game", "g3", "q2", "bob", 1, monday)
	// A late delivery of last week's game still lands in last week.
	f.score("game", "g4", "q1", "carol", 7, sunday.Add(-time.Hour))
	f.wantTop("weekly", "1:bob=1")
	f.wantTop("weekly:2026-W48", "1:alice=10 2:carol=7 3:bob=5")
	f.wantTop("global", "1:alice=10 2:carol=7 3:bob=6")
	if _, err := f.svc.Me(context.Background(), "weekly", "alice", 1); services.ErrorCode(err) != services.ENotFound {
		t.Errorf("alice on the new week: %v, want not_found", err)
	}
}

func testDuplicateDelivery(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	ctx := context.Background()
	m := Score("game", "g1", "q1", "alice", 10, at(0))
	for i := 1; i <= 3; i++ {
		m.Delivered = i
		if err := f.svc.HandleScore(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// Republished under another message id, and with different content: still the same score.
	again := Score("game", "g1", "q1", "alice", 99, at(5))
	again.ID = "other-id"
	if err := f.svc.HandleScore(ctx, again); err != nil {
		t.Fatal(err)
	}
	f.score("play", "g1", "q1", "alice", 12, at(1)) // same id from another source is another score
	f.wantTop("global", "1:alice=10")               // 12 from a solo run counts 6, below her 10
	f.wantTop("weekly", "1:alice=10")
	f.wantTop("quiz:q1", "1:alice=12")
	if n := f.log.Len(); n != 2 {
		t.Errorf("log holds %d rows, want 2", n)
	}
}

func testReplay(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	for i := range 12 {
		f.score("game", fmt.Sprintf("g%d", i%4), fmt.Sprintf("q%d", i%3), fmt.Sprintf("p%d", i%5), i*3, at(i*1000))
	}
	f.score("game", "late", "q1", "p1", 4, base.Add(8*24*time.Hour))
	snapshot := func(f *fixture) string {
		var s string
		for _, b := range []string{"global", "weekly:2026-W48", "weekly:2026-W49", "quiz:q0", "quiz:q1", "quiz:q2"} {
			s += b + " " + line(f.top(b, 100).Entries) + "\n"
		}
		return s
	}
	want := snapshot(f)
	ctx := context.Background()
	if err := f.svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(f); got != want {
		t.Errorf("replay onto the live engine changed it:\n%s\nwant\n%s", got, want)
	}
	fresh := newFixture(t, newEngine(t), f.log)
	if err := fresh.svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(fresh); got != want {
		t.Errorf("rebuild into an empty engine:\n%s\nwant\n%s", got, want)
	}
}

func testGuests(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	ctx := context.Background()
	data, _ := json.Marshal(services.ScoreRecorded{Source: "game", SourceID: "g1", QuizID: "q1", PlayerID: "guest-1", Guest: true, Score: 50, At: at(0)})
	if err := f.svc.HandleScore(ctx, services.Message{Subject: services.SubjectScoreRecorded, ID: "x", Data: data, Delivered: 1}); err != nil {
		t.Fatal(err)
	}
	f.score("game", "g1", "q1", "alice", 10, at(0))
	for _, b := range []string{"global", "weekly", "quiz:q1"} {
		f.wantTop(b, "1:alice=10")
		if _, err := f.svc.Me(ctx, b, "guest-1", 5); services.ErrorCode(err) != services.ENotFound {
			t.Errorf("guest on %s: %v, want not_found", b, err)
		}
	}
	if n := f.log.Len(); n != 1 {
		t.Errorf("log holds %d rows, want only alice's", n)
	}
}

func testValidation(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	f := newFixture(t, newEngine(t), nil)
	ctx := context.Background()
	f.score("game", "g1", "q1", "alice", 10, at(0))
	f.score("game", "g1", "q1", "bob", 5, at(0))
	for _, b := range []string{"", "Global", "weekly:", "weekly:2026-W54", "weekly:2026-48", "weekly:2025-W53", "quiz:", "quiz:a b", "daily", "global:x"} {
		if _, err := f.svc.Top(ctx, b, "", 10); services.ErrorCode(err) != services.EInvalid {
			t.Errorf("Top(%q): %v, want invalid", b, err)
		}
		if _, err := f.svc.Me(ctx, b, "alice", 1); services.ErrorCode(err) != services.EInvalid {
			t.Errorf("Me(%q): %v, want invalid", b, err)
		}
	}
	for _, b := range []string{"weekly:2026-W53", "weekly:2020-W53", "weekly:2027-W01", "quiz:q-1_x.y"} {
		if _, err := f.svc.Top(ctx, b, "", 10); err != nil {
			t.Errorf("Top(%q): %v, want a (maybe empty) page", b, err)
		}
	}
	for _, limit := range []int{0, -1, 101} {
		if _, err := f.svc.Top(ctx, "global", "", limit); services.ErrorCode(err) != services.EInvalid {
			t.Errorf("Top limit %d: %v, want invalid", limit, err)
		}
	}
	for _, around := range []int{-1, 51} {
		if _, err := f.svc.Me(ctx, "global", "alice", around); services.ErrorCode(err) != services.EInvalid {
			t.Errorf("Me around %d: %v, want invalid", around, err)
		}
	}
	if _, err := f.svc.Top(ctx, "global", "not a cursor", 10); services.ErrorCode(err) != services.EInvalid {
		t.Errorf("garbage cursor: %v, want invalid", err)
	}
	p := f.top("quiz:q1", 1)
	if _, err := f.svc.Top(ctx, "global", p.Next, 10); services.ErrorCode(err) != services.EInvalid {
		t.Errorf("cursor of another board: %v, want invalid", err)
	}
	bad := Score("game", "g2", "q1", "alice", -5, at(0))
	if err := f.svc.HandleScore(ctx, bad); services.ErrorCode(err) != services.EInvalid || !services.IsPermanent(err) {
		t.Errorf("negative score: %v, want a permanent invalid error", err)
	}
	if err := f.svc.HandleScore(ctx, services.Message{Data: []byte("{")}); !services.IsPermanent(err) {
		t.Errorf("undecodable message: %v, want a permanent error", err)
	}
}

func testEngineRepeats(t *testing.T, newEngine func(t *testing.T) leaderboard.Engine) {
	e := newEngine(t)
	ctx := context.Background()
	u := leaderboard.Update{Board: "global", EventKey: "k1", PlayerID: "alice", Mode: leaderboard.SumOfBests, Group: "q1", Points: 3, At: at(0)}
	for i, want := range []bool{true, false} {
		got, err := e.Apply(ctx, u)
		if err != nil || got != want {
			t.Errorf("Apply #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
	u.Board = "quiz:q1"
	if got, err := e.Apply(ctx, u); err != nil || !got {
		t.Errorf("the same key on another board = %v, %v; want applied", got, err)
	}
	u.EventKey, u.Points = "k2", -1
	if _, err := e.Apply(ctx, u); services.ErrorCode(err) != services.EInvalid {
		t.Errorf("negative points: %v, want invalid", err)
	}
	got, err := e.After(ctx, "global", nil, 10)
	if err != nil || len(got) != 1 || got[0].Score != 3 || got[0].Rank != 1 {
		t.Errorf("After = %+v, %v; want alice with 3", got, err)
	}
}

// MemLog is an in-memory leaderboard.Log for tests.
type MemLog struct {
	mu   sync.Mutex
	rows map[string]services.ScoreRecorded
}

// Append implements leaderboard.Log.
func (l *MemLog) Append(_ context.Context, s services.ScoreRecorded) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rows == nil {
		l.rows = map[string]services.ScoreRecorded{}
	}
	k := leaderboard.EventKey(s)
	if _, ok := l.rows[k]; ok {
		return false, nil
	}
	l.rows[k] = s
	return true, nil
}

// Replay implements leaderboard.Log.
func (l *MemLog) Replay(_ context.Context, fn func(services.ScoreRecorded) error) error {
	l.mu.Lock()
	rows := make([]services.ScoreRecorded, 0, len(l.rows))
	for _, r := range l.rows {
		rows = append(rows, r)
	}
	l.mu.Unlock()
	slices.SortFunc(rows, func(a, b services.ScoreRecorded) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(leaderboard.EventKey(a), leaderboard.EventKey(b))
	})
	for _, r := range rows {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Len is the number of rows.
func (l *MemLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.rows)
}

// FakeProfiles names player "x" "Name of x" with thumbnail https://cdn.test/x.webp and counts
// lookups. Err, when set, fails every lookup.
type FakeProfiles struct {
	mu      sync.Mutex
	Err     error
	Lookups int
	Renamed map[string]string
}

// Profiles implements leaderboard.Profiles.
func (p *FakeProfiles) Profiles(_ context.Context, ids []string) (map[string]leaderboard.Profile, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Err != nil {
		return nil, p.Err
	}
	p.Lookups++
	out := map[string]leaderboard.Profile{}
	for _, id := range ids {
		name := "Name of " + id
		if n, ok := p.Renamed[id]; ok {
			name = n
		}
		out[id] = leaderboard.Profile{DisplayName: name, ThumbnailURL: "https://cdn.test/" + id + ".webp"}
	}
	return out, nil
}

// Rename changes the name the fake answers for id.
func (p *FakeProfiles) Rename(id, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Renamed == nil {
		p.Renamed = map[string]string{}
	}
	p.Renamed[id] = name
}

// CountLookups returns how many lookups reached the fake.
func (p *FakeProfiles) CountLookups() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Lookups
}
