package games

import (
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
)

// roundTrip is what a node taking a game over does: restore the last snapshot.
func roundTrip(t *testing.T, g *Game) *Game {
	t.Helper()
	b, err := g.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	r, err := RestoreGame(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sameGame fails unless a and b look identical to every participant.
func sameGame(t *testing.T, a, b *Game, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if x, y := mustJSON(t, a.Snapshot(id)), mustJSON(t, b.Snapshot(id)); x != y {
			t.Fatalf("state for %s differs after restore:\n orig %s\n rest %s", id, x, y)
		}
	}
	if x, y := mustJSON(t, a.Info()), mustJSON(t, b.Info()); x != y {
		t.Fatalf("info differs:\n orig %s\n rest %s", x, y)
	}
	wa, oka := a.NextWake()
	wb, okb := b.NextWake()
	if oka != okb || !wa.Equal(wb) {
		t.Fatalf("next wake %v/%v, restored %v/%v", wa, oka, wb, okb)
	}
}

func TestRestoredGameContinuesExactlyLikeTheOriginal(t *testing.T) {
	q := quiz(services.ModeCasual, choice(1, 10, 0), open("paris", 10), choice(2, 10, 0))
	g := newGame(t, q, 3)
	mustEvents(t)(g.Start(at(0), "host"))
	mustAnswer(t, g, at(2*time.Second), "p1", 0, idx(1))
	mustAnswer(t, g, at(3*time.Second), "p2", 0, idx(0))
	mustEvents(t)(g.Reveal(at(4*time.Second), "host"))
	mustEvents(t)(g.Scoreboard(at(5*time.Second), "host"))
	mustEvents(t)(g.Next(at(6*time.Second), "host"))
	mustAnswer(t, g, at(7*time.Second), "p3", 1, txt("Paris"))
	g.Disconnect(at(7500*time.Millisecond), "p2")
	mustEvents(t)(g.Chat(at(8*time.Second), "p1", "hi"))

	r := roundTrip(t, g)
	sameGame(t, g, r, "host", "p1", "p2", "p3", "spectator")
	if scores(r)["p1"] == 0 || scores(r)["p1"] != scores(g)["p1"] {
		t.Fatalf("scores after restore %v, before %v", scores(r), scores(g))
	}

	// The same commands from here on give the same events on both.
	steps := []func(g *Game) ([]Event, error){
		func(g *Game) ([]Event, error) {
			_, evs, err := g.Answer(at(9*time.Second), "p3", 1, txt("x"))
			return evs, err
		},
		func(g *Game) ([]Event, error) {
			_, evs, err := g.Answer(at(9*time.Second), "p1", 1, txt("paris"))
			return evs, err
		},
		func(g *Game) ([]Event, error) { return g.Tick(at(17 * time.Second)), nil },
		func(g *Game) ([]Event, error) { return g.Next(at(18*time.Second), "host") },
		func(g *Game) ([]Event, error) { return g.End(at(19*time.Second), "host") },
	}
	for i, step := range steps {
		ea, erra := step(g)
		eb, errb := step(r)
		if services.ErrorCode(erra) != services.ErrorCode(errb) {
			t.Fatalf("step %d: errors %v vs %v", i, erra, errb)
		}
		if x, y := mustJSON(t, ea), mustJSON(t, eb); x != y {
			t.Fatalf("step %d: events differ:\n orig %s\n rest %s", i, x, y)
		}
	}
	if mustJSON(t, g.Result()) != mustJSON(t, r.Result()) {
		t.Fatalf("results differ: %+v vs %+v", g.Result(), r.Result())
	}
}

func TestResumeTokensSurviveASnapshot(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(1, 10, 0)), 2)
	mustEvents(t)(g.Start(at(0), "host"))
	mustAnswer(t, g, at(time.Second), "p1", 0, idx(1))
	token := g.Snapshot("p1").ResumeToken
	if token == "" {
		t.Fatal("no resume token")
	}
	r := roundTrip(t, g)
	// The node that took over drops everyone whose socket was on the dead node…
	for _, id := range r.Connected() {
		r.Disconnect(at(2*time.Second), id)
	}
	if len(r.Connected()) != 0 || !r.Paused() {
		t.Fatalf("connected %v paused %v after dropping everyone", r.Connected(), r.Paused())
	}
	// …and they come back with their tokens, answers and scores intact.
	id, evs, err := r.Resume(at(3*time.Second), token, info("someone"))
	if err != nil || id != "p1" {
		t.Fatalf("resume: id %q err %v", id, err)
	}
	wantTypes(t, evs, EventPlayerJoined)
	if s := r.Snapshot("p1"); !s.You.Answered || s.ResumeToken == token || s.ResumeToken == "" {
		t.Fatalf("resumed state %+v: want the answer kept and a fresh token", s.You)
	}
	mustEvents(t)(r.Join(at(4*time.Second), info("host")))
	_, _, err = r.Answer(at(5*time.Second), "p1", 0, idx(0))
	wantCode(t, err, CodeAlreadyAnswered)
}

func TestRestoredGameKeepsItsDeadlineAndSequence(t *testing.T) {
	g := newGame(t, quiz(services.ModeCompetitive, choice(0, 10, 1), choice(1, 10, 1)), 1)
	mustEvents(t)(g.Start(at(0), "host"))
	r := roundTrip(t, g)
	if r.Seq() != g.Seq() || r.Phase() != PhaseQuestion {
		t.Fatalf("seq %d phase %s, want %d question", r.Seq(), r.Phase(), g.Seq())
	}
	wantTypes(t, r.Tick(at(20*time.Second)), EventReveal, EventReveal)
	if evs, ok := r.EventsSince(g.Seq()); !ok || len(evs) != 2 {
		t.Fatalf("events since the restored seq: %d ok=%v", len(evs), ok)
	}
	// Events from before the snapshot are not replayable: the client gets a state frame.
	if _, ok := r.EventsSince(0); ok {
		t.Fatal("a restored game claims to replay events it never kept")
	}
}

func TestRestoreRefusesForeignSnapshots(t *testing.T) {
	for name, b := range map[string]string{
		"not json":        "{",
		"unknown version": `{"v":99,"id":"g","code":"C","hostId":"h"}`,
		"no identity":     `{"v":1}`,
		"bad question":    `{"v":1,"id":"g","code":"C","hostId":"h","round":{"questions":[{"index":3}]}}`,
	} {
		if _, err := RestoreGame([]byte(b)); err == nil {
			t.Errorf("%s: restored", name)
		}
	}
}
