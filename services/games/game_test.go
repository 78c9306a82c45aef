package games

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
)

func TestAnswerTimingAgainstDeadline(t *testing.T) {
	tests := []struct {
		name string
		at   time.Duration
		tick bool // the timer fired before the answer arrived
		code string
	}{
		{"well before", 1 * time.Second, false, ""},
		{"one microsecond before", 20*time.Second - time.Microsecond, false, ""},
		{"exactly at the deadline", 20 * time.Second, false, CodeTooLate},
		{"after the deadline, timer not fired", 21 * time.Second, false, CodeTooLate},
		{"after the timer fired", 21 * time.Second, true, CodeNotOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGame(t, quiz(services.ModeCasual, choice(1, 20, 0)), 2)
			mustEvents(t)(g.Start(t0, "host"))
			now := at(tt.at)
			if tt.tick {
				wantTypes(t, g.Tick(now), EventReveal)
			}
			_, _, err := g.Answer(now, "p1", 0, idx(1))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("answer refused: %v", err)
				}
				return
			}
			wantCode(t, err, tt.code)
		})
	}
}

func TestAnswerIsRefusedWhen(t *testing.T) {
	q := quiz(services.ModeCasual, choice(1, 20, 0), open("Paris", 20))
	tests := []struct {
		name   string
		setup  func(g *Game)
		player string
		index  int
		answer services.Answer
		code   string
	}{
		{"in the lobby", func(g *Game) {}, "p1", 0, idx(1), CodeNotOpen},
		{"for a question not asked", nil, "p1", 1, idx(1), CodeNotOpen},
		{"for a negative index", nil, "p1", -1, idx(1), CodeNotOpen},
		{"choice out of range", nil, "p1", 0, idx(4), services.EInvalid},
		{"negative choice", nil, "p1", 0, idx(-1), services.EInvalid},
		{"text for a choice question", nil, "p1", 0, txt("a"), services.EInvalid},
		{"no answer", nil, "p1", 0, services.Answer{}, services.EInvalid},
		{"by the host", nil, "host", 0, idx(1), services.EForbidden},
		{"by a stranger", nil, "nobody", 0, idx(1), services.EForbidden},
		{"twice", func(g *Game) {
			mustEvents(t)(g.Start(t0, "host"))
			mustAnswer(t, g, at(time.Second), "p1", 0, idx(2))
		}, "p1", 0, idx(1), CodeAlreadyAnswered},
		{"while paused", func(g *Game) {
			mustEvents(t)(g.Start(t0, "host"))
			g.Disconnect(at(time.Second), "host")
		}, "p1", 0, idx(1), CodePaused},
		{"number for an open question", func(g *Game) {
			mustEvents(t)(g.Start(t0, "host"))
			mustEvents(t)(g.Reveal(t0, "host"))
			mustEvents(t)(g.Next(t0, "host"))
		}, "p1", 1, idx(0), services.EInvalid},
		{"after the game finished", func(g *Game) { mustEvents(t)(g.End(t0, "host")) }, "p1", 0, idx(1), CodeFinished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGame(t, q, 3)
			if tt.setup == nil {
				mustEvents(t)(g.Start(t0, "host"))
			} else {
				tt.setup(g)
			}
			_, _, err := g.Answer(at(2*time.Second), tt.player, tt.index, tt.answer)
			wantCode(t, err, tt.code)
		})
	}
}

func TestProgressIsThrottledAndFlushedByTick(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 4)
	mustEvents(t)(g.Start(t0, "host"))

	wantTypes(t, mustAnswer(t, g, at(100*time.Millisecond), "p1", 0, idx(0)), EventProgress)
	wantTypes(t, mustAnswer(t, g, at(200*time.Millisecond), "p2", 0, idx(1)))
	wantTypes(t, mustAnswer(t, g, at(300*time.Millisecond), "p3", 0, idx(1)))

	if w, ok := g.NextWake(); !ok || !w.Equal(at(350*time.Millisecond)) {
		t.Fatalf("NextWake = %v %v, want the pending progress at 350ms", w, ok)
	}
	wantTypes(t, g.Tick(at(349*time.Millisecond)))
	evs := g.Tick(at(350 * time.Millisecond))
	wantTypes(t, evs, EventProgress)
	if got := evs[0].Data.(ProgressData); got != (ProgressData{Index: 0, Answered: 3, Total: 4}) {
		t.Fatalf("progress = %+v", got)
	}
	if w, _ := g.NextWake(); !w.Equal(at(20 * time.Second)) {
		t.Fatalf("NextWake after flush = %v, want the deadline", w)
	}
	// The last answer is within 250 ms of the previous progress but goes out at once, then closes.
	evs = mustAnswer(t, g, at(400*time.Millisecond), "p4", 0, idx(0))
	wantTypes(t, evs, EventProgress, EventReveal)
	if got := evs[0].Data.(ProgressData); got != (ProgressData{Index: 0, Answered: 4, Total: 4}) {
		t.Fatalf("final progress = %+v", got)
	}
}

func TestCasualRevealsAutomaticallyAtDeadline(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(2, 20, 0)), 3)
	mustEvents(t)(g.Start(t0, "host"))
	mustAnswer(t, g, at(4*time.Second), "p1", 0, idx(2))
	mustAnswer(t, g, at(10*time.Second), "p2", 0, idx(0))

	if w, _ := g.NextWake(); !w.Equal(at(20 * time.Second)) {
		t.Fatalf("NextWake = %v, want the deadline", w)
	}
	wantTypes(t, g.Tick(at(20*time.Second-time.Nanosecond)))
	evs := g.Tick(at(20 * time.Second))
	wantTypes(t, evs, EventReveal)
	if g.Phase() != PhaseReveal {
		t.Fatalf("phase = %s", g.Phase())
	}
	rd := evs[0].Data.(RevealData)
	if rd.CorrectAnswer.Index != 2 || mustJSON(t, rd.Counts) != "[1,0,1,0]" {
		t.Fatalf("reveal = %+v", rd)
	}
	want1 := services.Points(services.ScoringSpeed, 4*time.Second, 20*time.Second) // 900
	you := evs[0].You
	if you["p1"] != (RevealYou{Correct: true, Points: want1, Answered: true, Streak: 1}) ||
		you["p2"] != (RevealYou{Answered: true}) || you["p3"] != (RevealYou{}) {
		t.Fatalf("you = %+v", you)
	}
	if _, ok := you["host"]; ok {
		t.Fatal("the host got a personal reveal")
	}
	if s := scores(g); s["p1"] != 900 || s["p2"] != 0 || s["p3"] != 0 {
		t.Fatalf("scores = %v", s)
	}
	if _, ok := g.NextWake(); ok {
		t.Fatal("nothing should be due after the reveal")
	}
}

func TestCasualRevealsWhenAllAwaitedPlayersAnswered(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0), choice(0, 20, 0)), 3)
	mustEvents(t)(g.Start(t0, "host"))
	mustEvents(t)(g.Leave(at(time.Second), "p3")) // p3 left for good: the others suffice
	mustAnswer(t, g, at(2*time.Second), "p1", 0, idx(0))
	evs := mustAnswer(t, g, at(3*time.Second), "p2", 0, idx(1))
	wantTypes(t, evs, EventProgress, EventReveal)
	if evs[0].Data.(ProgressData).Total != 2 {
		t.Fatalf("total counts awaited players: %+v", evs[0].Data)
	}
}

// Issue 21: the last player who has not answered reloading the page must not close the question
// for everyone; it is awaited through its resume window.
func TestDisconnectOfTheLastPlayerToAnswerDoesNotCloseTheQuestion(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 600, 0)), 2)
	mustEvents(t)(g.Start(t0, "host"))
	mustAnswer(t, g, at(time.Second), "p1", 0, idx(0))
	wantTypes(t, g.Disconnect(at(2*time.Second), "p2"), EventPlayerLeft)
	if g.Phase() != PhaseQuestion {
		t.Fatalf("phase after the disconnect: %s, want question", g.Phase())
	}
	if at, ok := g.NextWake(); !ok || !at.Equal(t0.Add(2*time.Second+ResumeWindow)) {
		t.Fatalf("next wake %v %v, want the end of p2's resume window", at, ok)
	}
	// p2 comes back and answers: the round closes because everyone awaited answered.
	tok := g.players["p2"].token
	if _, _, err := g.Resume(at(3*time.Second), tok, PlayerInfo{}); err != nil {
		t.Fatal(err)
	}
	evs := mustAnswer(t, g, at(4*time.Second), "p2", 0, idx(0))
	wantTypes(t, evs, EventProgress, EventReveal)
}

func TestAPlayerWhoseResumeWindowEndsNoLongerHoldsTheRound(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 600, 0)), 2)
	mustEvents(t)(g.Start(t0, "host"))
	mustAnswer(t, g, at(time.Second), "p1", 0, idx(0))
	g.Disconnect(at(2*time.Second), "p2")
	wantTypes(t, g.Tick(at(2*time.Second+ResumeWindow)), EventReveal)
}

func TestOpenQuestionIsScoredAndCounted(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, open("Zürich", 10, "Zurich city")), 4)
	g.quiz.Scoring = services.ScoringFlat
	mustEvents(t)(g.Start(t0, "host"))
	mustAnswer(t, g, at(time.Second), "p1", 0, txt("  zurich "))
	mustAnswer(t, g, at(time.Second), "p2", 0, txt("ZURICH   CITY"))
	mustAnswer(t, g, at(time.Second), "p3", 0, txt("Geneva"))
	evs := g.Tick(at(10 * time.Second))
	wantTypes(t, evs, EventReveal)
	if got := mustJSON(t, evs[0].Data); got != `{"index":0,"kind":"open","correctAnswer":"Zürich","counts":{"correct":2,"wrong":1,"none":1},"stats":{"correct":2,"wrong":1,"none":1},"accuracy":0.6667}` {
		t.Fatalf("reveal = %s", got)
	}
	if s := scores(g); s["p1"] != 1000 || s["p2"] != 1000 || s["p3"] != 0 {
		t.Fatalf("scores = %v", s)
	}
}

func TestCompetitiveAsksRevealsAndScoresWholeGroups(t *testing.T) {
	q := quiz(services.ModeCompetitive,
		choice(0, 10, 1), choice(1, 20, 1),
		choice(0, 10, 2), choice(1, 10, 2), choice(2, 10, 2),
		choice(3, 5, 3))
	g := newGame(t, q, 2)

	// Group 1: two questions open together with one shared deadline.
	evs := mustEvents(t)(g.Start(t0, "host"))
	wantTypes(t, evs, EventQuestion, EventQuestion)
	for i, ev := range evs {
		pq := ev.Data.(services.PublicQuestion)
		if pq.Index != i || pq.Group != 1 || pq.Deadline != at(30*time.Second).UnixMilli() || pq.TimeLimitMs != 30000 {
			t.Fatalf("question %d = %+v", i, pq)
		}
	}
	snap := g.Snapshot("p1")
	if len(snap.Questions) != 2 || snap.Question.Index != 0 {
		t.Fatalf("snapshot lists the group: %+v", snap)
	}
	mustAnswer(t, g, at(3*time.Second), "p1", 0, idx(0))
	mustAnswer(t, g, at(6*time.Second), "p1", 1, idx(1))
	// Every player answered question 0, but the group stays open until question 1 is too.
	evs = mustAnswer(t, g, at(9*time.Second), "p2", 0, idx(0))
	wantTypes(t, evs, EventProgress)
	if g.Phase() != PhaseQuestion {
		t.Fatal("group closed before every question was answered")
	}
	if got := g.Snapshot("p2"); got.You.Answered || len(got.You.AnsweredIndexes) != 1 {
		t.Fatalf("p2 answered state = %+v", got.You)
	}
	evs = mustAnswer(t, g, at(12*time.Second), "p2", 1, idx(0))
	wantTypes(t, evs, EventProgress, EventReveal, EventReveal)
	if evs[1].Data.(RevealData).Index != 0 || evs[2].Data.(RevealData).Index != 1 {
		t.Fatal("one reveal per question, in order")
	}
	total := 30 * time.Second // speed is measured against the group's total
	// p1's second right answer in a row earns the streak bonus.
	second := services.Points(services.ScoringSpeed, 6*time.Second, total)
	want := services.Points(services.ScoringSpeed, 3*time.Second, total) + second + services.StreakBonus(second, 2)
	if s := scores(g); s["p1"] != want || s["p2"] != services.Points(services.ScoringSpeed, 9*time.Second, total) {
		t.Fatalf("scores = %v, want p1=%d", s, want)
	}
	wantTypes(t, mustEvents(t)(g.Scoreboard(at(13*time.Second), "host")), EventScoreboard)

	// Group 2: three questions, closed by the deadline.
	evs = mustEvents(t)(g.Next(at(20*time.Second), "host"))
	wantTypes(t, evs, EventQuestion, EventQuestion, EventQuestion)
	mustAnswer(t, g, at(21*time.Second), "p1", 4, idx(2))
	wantTypes(t, g.Tick(at(50*time.Second)), EventReveal, EventReveal, EventReveal)
	wantTypes(t, mustEvents(t)(g.Scoreboard(at(51*time.Second), "host")), EventScoreboard)

	// Group 3: a single question; then next ends the game.
	wantTypes(t, mustEvents(t)(g.Next(at(60*time.Second), "host")), EventQuestion)
	mustEvents(t)(g.Reveal(at(61*time.Second), "host"))
	wantTypes(t, mustEvents(t)(g.Next(at(62*time.Second), "host")), EventFinished)
	if !g.Finished() {
		t.Fatal("game not finished after the last group")
	}
}

func TestLiveFirstCorrectAnswerWins(t *testing.T) {
	g := newGame(t, quiz(services.ModeLive, choice(1, 20, 0), choice(0, 20, 0)), 4)
	mustEvents(t)(g.Start(t0, "host"))

	ack, evs, err := g.Answer(at(time.Second), "p1", 0, idx(3))
	if err != nil || ack.Correct == nil || *ack.Correct {
		t.Fatalf("wrong live answer ack = %+v, %v", ack, err)
	}
	wantTypes(t, evs, EventProgress)
	_, _, err = g.Answer(at(2*time.Second), "p1", 0, idx(1))
	wantCode(t, err, CodeAlreadyAnswered) // locked out

	ack, evs, err = g.Answer(at(4*time.Second), "p2", 0, idx(1))
	if err != nil || ack.Correct == nil || !*ack.Correct {
		t.Fatalf("winning ack = %+v, %v", ack, err)
	}
	wantTypes(t, evs, EventBuzz, EventScoreboard)
	bz := evs[0].Data.(BuzzData)
	if bz.Winner.ID != "p2" || bz.Winner.DisplayName != "name-p2" || bz.CorrectAnswer.Index != 1 {
		t.Fatalf("buzz = %+v", bz)
	}
	if g.Phase() != PhaseScoreboard {
		t.Fatalf("phase = %s", g.Phase())
	}
	// A later correct answer is too late to count.
	_, _, err = g.Answer(at(5*time.Second), "p3", 0, idx(1))
	wantCode(t, err, CodeNotOpen)
	want := services.Points(services.ScoringSpeed, 4*time.Second, 20*time.Second)
	if s := scores(g); s["p2"] != want || s["p1"]+s["p3"]+s["p4"] != 0 {
		t.Fatalf("only the winner scores: %v", s)
	}
	if e := evs[1].Data.(StandingsData).Entries[0]; e.PlayerID != "p2" || e.Delta != want || e.Rank != 1 {
		t.Fatalf("scoreboard head = %+v", e)
	}
}

func TestLiveWithNobodyRightReveals(t *testing.T) {
	t.Run("at the deadline", func(t *testing.T) {
		g := newGame(t, quiz(services.ModeLive, choice(1, 20, 0)), 2)
		mustEvents(t)(g.Start(t0, "host"))
		mustAnswer(t, g, at(time.Second), "p1", 0, idx(0))
		evs := g.Tick(at(20 * time.Second))
		wantTypes(t, evs, EventReveal)
		if evs[0].You["p1"] != (RevealYou{Answered: true}) || g.Phase() != PhaseReveal {
			t.Fatalf("reveal you = %+v phase %s", evs[0].You, g.Phase())
		}
	})
	t.Run("when every connected player answered wrong", func(t *testing.T) {
		g := newGame(t, quiz(services.ModeLive, choice(1, 20, 0)), 2)
		mustEvents(t)(g.Start(t0, "host"))
		mustAnswer(t, g, at(time.Second), "p1", 0, idx(0))
		wantTypes(t, mustAnswer(t, g, at(2*time.Second), "p2", 0, idx(2)), EventProgress, EventReveal)
		if s := scores(g); s["p1"]+s["p2"] != 0 {
			t.Fatalf("scores = %v", s)
		}
	})
}

func TestOnlyTheHostDrivesTheGame(t *testing.T) {
	cmds := map[string]func(g *Game, now time.Time, by string) ([]Event, error){
		"start": (*Game).Start, "next": (*Game).Next, "reveal": (*Game).Reveal,
		"scoreboard": (*Game).Scoreboard, "end": (*Game).End,
	}
	for name, cmd := range cmds {
		for _, by := range []string{"p1", "stranger"} {
			t.Run(name+" by "+by, func(t *testing.T) {
				g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 1)
				_, err := cmd(g, t0, by)
				wantCode(t, err, services.EForbidden)
				if g.Phase() != PhaseLobby {
					t.Fatal("a refused command changed the phase")
				}
			})
		}
	}
}

func TestHostCommandsInTheWrongPhaseAreRefused(t *testing.T) {
	q := quiz(services.ModeCasual, choice(0, 20, 0), choice(0, 20, 0))
	tests := []struct {
		name  string
		setup func(g *Game)
		cmd   func(g *Game) ([]Event, error)
		code  string
	}{
		{"reveal in the lobby", func(*Game) {}, func(g *Game) ([]Event, error) { return g.Reveal(t0, "host") }, services.EInvalid},
		{"scoreboard in the lobby", func(*Game) {}, func(g *Game) ([]Event, error) { return g.Scoreboard(t0, "host") }, services.EInvalid},
		{"start twice", func(g *Game) { g.Start(t0, "host") }, func(g *Game) ([]Event, error) { return g.Start(t0, "host") }, services.EInvalid},
		{"next while a question is open", func(g *Game) { g.Start(t0, "host") }, func(g *Game) ([]Event, error) { return g.Next(t0, "host") }, services.EInvalid},
		{"scoreboard while a question is open", func(g *Game) { g.Start(t0, "host") }, func(g *Game) ([]Event, error) { return g.Scoreboard(t0, "host") }, services.EInvalid},
		{"scoreboard twice", func(g *Game) { g.Start(t0, "host"); g.Reveal(t0, "host"); g.Scoreboard(t0, "host") },
			func(g *Game) ([]Event, error) { return g.Scoreboard(t0, "host") }, services.EInvalid},
		{"next after the end", func(g *Game) { g.End(t0, "host") }, func(g *Game) ([]Event, error) { return g.Next(t0, "host") }, CodeFinished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGame(t, q, 1)
			tt.setup(g)
			_, err := tt.cmd(g)
			wantCode(t, err, tt.code)
		})
	}
}

func TestCasualFlowAndNextAfterLastQuestionFinishes(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0), choice(0, 20, 0)), 1)
	wantTypes(t, mustEvents(t)(g.Next(t0, "host")), EventQuestion) // next from the lobby starts
	wantTypes(t, mustEvents(t)(g.Reveal(at(time.Second), "host")), EventReveal)
	wantTypes(t, mustEvents(t)(g.Next(at(2*time.Second), "host")), EventQuestion) // next from reveal
	wantTypes(t, mustEvents(t)(g.Reveal(at(3*time.Second), "host")), EventReveal)
	wantTypes(t, mustEvents(t)(g.Scoreboard(at(4*time.Second), "host")), EventScoreboard)
	wantTypes(t, mustEvents(t)(g.Next(at(5*time.Second), "host")), EventFinished)
	if !g.Finished() || g.Result().FinishedAt != at(5*time.Second) {
		t.Fatalf("finished=%v result=%+v", g.Finished(), g.Result())
	}
}

func TestHostDisconnectPausesAndReconnectResumesWithTimeLeft(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 2)
	mustEvents(t)(g.Start(t0, "host"))
	mustAnswer(t, g, at(2*time.Second), "p1", 0, idx(0))

	wantTypes(t, g.Disconnect(at(5*time.Second), "host"), EventPaused)
	_, _, err := g.Answer(at(6*time.Second), "p2", 0, idx(0))
	wantCode(t, err, CodePaused)
	if w, _ := g.NextWake(); !w.Equal(at(5*time.Second + HostTimeout)) {
		t.Fatalf("while paused only the host timeout is due, got %v", w)
	}
	wantTypes(t, g.Tick(at(40*time.Second))) // the old deadline passes: nothing closes
	if s := g.Snapshot("p2"); !s.Paused || s.RemainingMs != 15000 {
		t.Fatalf("snapshot while paused = paused %v remaining %d", s.Paused, s.RemainingMs)
	}

	evs := mustEvents(t)(g.Join(at(60*time.Second), info("host")))
	wantTypes(t, evs, EventResumed)
	if d := evs[0].Data.(ResumedData).Deadline; d != at(75*time.Second).UnixMilli() {
		t.Fatalf("resumed deadline = %d, want now + 15s", d)
	}
	// 5 s before the pause + 5 s after it: speed scoring ignores the pause.
	mustAnswer(t, g, at(65*time.Second), "p2", 0, idx(0))
	want := services.Points(services.ScoringSpeed, 10*time.Second, 20*time.Second)
	if s := scores(g); s["p2"] != want {
		t.Fatalf("p2 scored %d, want %d", s["p2"], want)
	}
	g2 := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 2)
	mustEvents(t)(g2.Start(t0, "host"))
	g2.Disconnect(at(5*time.Second), "host")
	g2.Join(at(60*time.Second), info("host"))
	_, _, err = g2.Answer(at(75*time.Second), "p1", 0, idx(0))
	wantCode(t, err, CodeTooLate)
	wantTypes(t, g2.Tick(at(75*time.Second)), EventReveal)
}

func TestHostDisconnectAfterDeadlineRevealsFirst(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 1)
	mustEvents(t)(g.Start(t0, "host"))
	wantTypes(t, g.Disconnect(at(25*time.Second), "host"), EventReveal, EventPaused)
}

func TestHostGoneFiveMinutesFinishesTheGame(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 2)
	mustEvents(t)(g.Start(t0, "host"))
	mustAnswer(t, g, at(time.Second), "p1", 0, idx(0))
	g.Disconnect(at(10*time.Second), "host")
	wantTypes(t, g.Tick(at(10*time.Second+HostTimeout-time.Millisecond)))
	evs := g.Tick(at(10*time.Second + HostTimeout))
	wantTypes(t, evs, EventFinished)
	if got := len(evs[0].Data.(StandingsData).Entries); got != 2 || !g.Finished() {
		t.Fatalf("final standings have %d entries", got)
	}
}

func TestHostThatNeverConnectsTimesOut(t *testing.T) {
	g := NewGame(GameConfig{ID: "g", Code: "ABCDEF", HostID: "host", Quiz: quiz(services.ModeCasual, choice(0, 20, 0)), Now: t0})
	mustEvents(t)(g.Join(at(time.Minute), info("p1")))
	if w, ok := g.NextWake(); !ok || !w.Equal(at(HostTimeout)) {
		t.Fatalf("NextWake = %v", w)
	}
	wantTypes(t, g.Tick(at(HostTimeout)), EventFinished)
}

func TestResumeWithinWindowRestoresIdentityScoreAndAnswers(t *testing.T) {
	q := quiz(services.ModeCompetitive, choice(0, 20, 1), choice(1, 120, 2), choice(1, 120, 2))
	g := newGame(t, q, 2)
	mustEvents(t)(g.Start(t0, "host"))
	mustAnswer(t, g, at(time.Second), "p1", 0, idx(0))
	mustEvents(t)(g.Reveal(at(2*time.Second), "host"))
	mustEvents(t)(g.Next(at(3*time.Second), "host"))
	mustAnswer(t, g, at(4*time.Second), "p1", 1, idx(1))
	before := g.Snapshot("p1")
	token := before.ResumeToken
	if len(token) != 22 || strings.ContainsAny(token, "+/=") {
		t.Fatalf("token %q is not 128-bit base64url", token)
	}

	wantTypes(t, g.Disconnect(at(5*time.Second), "p1"), EventPlayerLeft)
	// Presented by another account: the token is a bearer secret.
	id, evs, err := g.Resume(at(5*time.Second+ResumeWindow-time.Millisecond), token, info("other-account"))
	if err != nil || id != "p1" {
		t.Fatalf("resume = %q, %v", id, err)
	}
	wantTypes(t, evs, EventPlayerJoined)
	after := g.Snapshot(id)
	if after.You.Score != before.You.Score || after.You.Score == 0 || len(after.You.AnsweredIndexes) != 1 || after.You.AnsweredIndexes[0] != 1 {
		t.Fatalf("restored you = %+v, before %+v", after.You, before.You)
	}
	_, _, err = g.Answer(at(5*time.Second+ResumeWindow), "p1", 1, idx(1))
	wantCode(t, err, CodeAlreadyAnswered)
	if after.ResumeToken == token {
		t.Fatal("the token was not rotated")
	}
	if _, _, err := g.Resume(at(6*time.Second), token, info("p1")); services.ErrorCode(err) != CodeResumeExpired {
		t.Fatalf("the old token still works: %v", err)
	}
}

func TestResumeAfterWindowIsRefused(t *testing.T) {
	for _, tick := range []bool{false, true} {
		g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 1)
		token := g.Snapshot("p1").ResumeToken
		g.Disconnect(at(time.Second), "p1")
		if w, _ := g.NextWake(); !w.Equal(at(time.Second + ResumeWindow)) {
			t.Fatalf("NextWake = %v, want the resume expiry", w)
		}
		now := at(time.Second + ResumeWindow)
		if tick {
			g.Tick(now)
		}
		_, _, err := g.Resume(now, token, info("p1"))
		wantCode(t, err, CodeResumeExpired)
		// The account itself may still come back as itself.
		wantTypes(t, mustEvents(t)(g.Join(now, info("p1"))), EventPlayerJoined)
	}
}

func TestLateJoinerStartsAtZeroAndMayAnswer(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0), choice(0, 20, 0)), 2)
	mustEvents(t)(g.Start(t0, "host"))
	mustAnswer(t, g, at(time.Second), "p1", 0, idx(0))
	mustEvents(t)(g.Reveal(at(2*time.Second), "host"))
	mustEvents(t)(g.Next(at(3*time.Second), "host"))

	evs := mustEvents(t)(g.Join(at(4*time.Second), info("late")))
	wantTypes(t, evs, EventPlayerJoined)
	if got := mustJSON(t, evs[0].Data); got != `{"player":{"id":"late","displayName":"name-late","thumbnailUrl":"https://cdn/late"}}` {
		t.Fatalf("player_joined = %s", got)
	}
	s := g.Snapshot("late")
	if s.You.Score != 0 || s.Question == nil || s.Question.Index != 1 || s.ResumeToken == "" {
		t.Fatalf("late snapshot = %+v", s)
	}
	mustAnswer(t, g, at(5*time.Second), "late", 1, idx(0))
}

func TestJoinAfterFinishIsRefused(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 1)
	mustEvents(t)(g.End(t0, "host"))
	_, err := g.Join(t0, info("p9"))
	wantCode(t, err, CodeFinished)
}

func TestReconnectWithSameAccountIsNotANewPlayer(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 1)
	g.Disconnect(at(time.Second), "p1")
	mustEvents(t)(g.Join(at(2*time.Second), info("p1")))
	if n := len(g.Snapshot("host").Players); n != 1 {
		t.Fatalf("%d players after a reconnect", n)
	}
	if evs := mustEvents(t)(g.Join(at(3*time.Second), info("p1"))); len(evs) != 0 {
		t.Fatalf("joining while connected announced %v", types(evs))
	}
}

func TestLeaveInvalidatesTokenAndKeepsStanding(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 2)
	token := g.Snapshot("p1").ResumeToken
	evs := mustEvents(t)(g.Leave(at(time.Second), "p1"))
	wantTypes(t, evs, EventPlayerLeft)
	if d := evs[0].Data.(PlayerLeftData); d.Reason != ReasonLeft || d.Player.ID != "p1" {
		t.Fatalf("player_left = %+v", d)
	}
	_, _, err := g.Resume(at(2*time.Second), token, info("p1"))
	wantCode(t, err, CodeResumeExpired)
	mustEvents(t)(g.End(at(3*time.Second), "host"))
	if n := len(g.Result().Entries); n != 2 {
		t.Fatalf("%d result entries, want the leaver kept", n)
	}
}

func TestDisconnectIsAnnounced(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 1)
	evs := g.Disconnect(at(time.Second), "p1")
	if got := mustJSON(t, evs[0].Data); got != `{"player":{"id":"p1","displayName":"name-p1","thumbnailUrl":"https://cdn/p1"},"reason":"disconnected"}` {
		t.Fatalf("player_left = %s", got)
	}
	if len(g.Disconnect(at(2*time.Second), "p1")) != 0 {
		t.Fatal("a second disconnect was announced")
	}
	if g.Snapshot("host").Players[0].Connected {
		t.Fatal("still connected")
	}
}

func TestChatValidation(t *testing.T) {
	long := strings.Repeat("é", MaxChatRunes)
	tests := []struct {
		name, from, text, want, code string
	}{
		{"plain", "p1", "hello", "hello", ""},
		{"trimmed", "p1", "  hi \n", "hi", ""},
		{"markup kept as text", "p1", "<b>hi</b> & {{x}}", "<b>hi</b> & {{x}}", ""},
		{"280 multibyte runes", "p1", long, long, ""},
		{"from the host", "host", "welcome", "welcome", ""},
		{"empty", "p1", "", "", services.EInvalid},
		{"only spaces", "p1", "   \t ", "", services.EInvalid},
		{"281 runes", "p1", long + "x", "", services.EInvalid},
		{"invalid utf-8", "p1", "a\xffb", "", services.EInvalid},
		{"from a stranger", "nobody", "hi", "", services.EForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 1)
			now := time.Date(2030, 1, 2, 12, 0, 1, 500_000_000, time.FixedZone("x", 3600))
			evs, err := g.Chat(now, tt.from, tt.text)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			mustEvents(t)(evs, err)
			d := evs[0].Data.(ChatData)
			if d.Text != tt.want || d.From.ID != tt.from || d.From.DisplayName != "name-"+tt.from || d.At != "2030-01-02T11:00:01.500Z" {
				t.Fatalf("chat = %+v", d)
			}
		})
	}
}

func TestScoreboardRanksDeltasAndTies(t *testing.T) {
	q := quiz(services.ModeCasual, choice(0, 20, 0), choice(0, 20, 0))
	q.Scoring = services.ScoringFlat
	g := newGame(t, q, 4)
	mustEvents(t)(g.Start(t0, "host"))
	// p3 answers before p1: with equal scores p3 reached it first and ranks first.
	mustAnswer(t, g, at(1*time.Second), "p3", 0, idx(0))
	mustAnswer(t, g, at(2*time.Second), "p1", 0, idx(0))
	mustAnswer(t, g, at(3*time.Second), "p2", 0, idx(1))
	mustEvents(t)(g.Reveal(at(4*time.Second), "host"))
	evs := mustEvents(t)(g.Scoreboard(at(5*time.Second), "host"))
	got := evs[0].Data.(StandingsData).Entries
	want := []Entry{
		{PlayerID: "p3", Score: 1000, Rank: 1, Delta: 1000},
		{PlayerID: "p1", Score: 1000, Rank: 2, Delta: 1000},
		{PlayerID: "p2", Score: 0, Rank: 3, Delta: 0}, // joined before p4
		{PlayerID: "p4", Score: 0, Rank: 4, Delta: 0},
	}
	checkEntries(t, got, want)
	if got[0].DisplayName != "name-p3" || got[0].ThumbnailURL != "https://cdn/p3" {
		t.Fatalf("entry = %+v", got[0])
	}

	mustEvents(t)(g.Next(at(6*time.Second), "host"))
	mustAnswer(t, g, at(7*time.Second), "p4", 0+1, idx(0))
	mustAnswer(t, g, at(8*time.Second), "p1", 1, idx(0))
	mustEvents(t)(g.Reveal(at(9*time.Second), "host"))
	evs = mustEvents(t)(g.Scoreboard(at(10*time.Second), "host"))
	checkEntries(t, evs[0].Data.(StandingsData).Entries, []Entry{
		{PlayerID: "p1", Score: 2100, Rank: 1, Delta: 1100}, // a streak of 2: +10%
		{PlayerID: "p3", Score: 1000, Rank: 2, Delta: 0},
		{PlayerID: "p4", Score: 1000, Rank: 3, Delta: 1000},
		{PlayerID: "p2", Score: 0, Rank: 4, Delta: 0},
	})
	evs = mustEvents(t)(g.End(at(11*time.Second), "host"))
	checkEntries(t, evs[0].Data.(StandingsData).Entries, []Entry{
		{PlayerID: "p1", Score: 2100, Rank: 1}, {PlayerID: "p3", Score: 1000, Rank: 2},
		{PlayerID: "p4", Score: 1000, Rank: 3}, {PlayerID: "p2", Score: 0, Rank: 4},
	})
}

func checkEntries(t *testing.T, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("entries = %+v", got)
	}
	for i := range want {
		g := got[i]
		if g.PlayerID != want[i].PlayerID || g.Score != want[i].Score || g.Rank != want[i].Rank || g.Delta != want[i].Delta {
			t.Fatalf("entry %d = %+v, want %+v (all %+v)", i, g, want[i], got)
		}
	}
}

func TestResultCarriesGuestFlags(t *testing.T) {
	g := NewGame(GameConfig{ID: "g9", Code: "ABCDEF", HostID: "host", Quiz: quiz(services.ModeLive, choice(0, 20, 0)), Now: t0})
	g.Join(t0, info("host"))
	g.Join(t0, guest("g1"))
	g.Join(t0, info("r1"))
	mustEvents(t)(g.Start(t0, "host"))
	mustAnswer(t, g, at(time.Second), "g1", 0, idx(0))
	mustEvents(t)(g.End(at(2*time.Second), "host"))
	res := g.Result()
	if res.GameID != "g9" || res.QuizID != "quiz1" || res.Mode != services.ModeLive || len(res.Entries) != 2 {
		t.Fatalf("result = %+v", res)
	}
	if e := res.Entries[0]; e.PlayerID != "g1" || !e.Guest || e.Rank != 1 || e.Score == 0 || e.DisplayName != "name-g1" {
		t.Fatalf("first entry = %+v", e)
	}
	if res.Entries[1].Guest {
		t.Fatal("a registered player marked guest")
	}
}

// TestAnswerNeverLeaksBeforeReveal plays every mode and checks every event and snapshot produced
// while a question is open for any trace of its answer.
func TestAnswerNeverLeaksBeforeReveal(t *testing.T) {
	secret := "Quetzalcoatl"
	alt := "Feathered Serpent"
	for _, mode := range []string{services.ModeCasual, services.ModeCompetitive, services.ModeLive} {
		t.Run(mode, func(t *testing.T) {
			oq := open(secret, 20, alt)
			cq := choice(3, 20, 0)
			if mode == services.ModeCompetitive {
				oq.Group, cq.Group = 1, 1
			}
			g := newGame(t, quiz(mode, oq, cq), 3)
			var before []any
			collect := func(evs []Event) bool {
				for _, ev := range evs {
					if ev.Type == EventReveal || ev.Type == EventBuzz {
						return true
					}
					before = append(before, ev.Data, ev.You)
				}
				for _, p := range []string{"host", "p1", "p2", "p3", "spectator"} {
					before = append(before, g.Snapshot(p))
				}
				return false
			}
			collect(mustEvents(t)(g.Start(t0, "host")))
			collect(mustEvents(t)(g.Chat(at(time.Second), "p3", "hmm")))
			_, evs, err := g.Answer(at(time.Second), "p1", 0, txt("wrong guess"))
			mustEvents(t)(evs, err)
			collect(evs)
			ack, evs, _ := g.Answer(at(2*time.Second), "p2", 0, txt(strings.ToUpper(secret)))
			if mode != services.ModeLive {
				// In live mode the ack may tell: a right answer is buzzed to everyone at once.
				if ack.Correct != nil {
					t.Fatal("the ack told correctness before reveal")
				}
				before = append(before, ack)
			}
			collect(evs)
			collect(g.Tick(at(2*time.Second + ProgressInterval)))
			for i, v := range before {
				b := mustJSON(t, v)
				lower := strings.ToLower(b)
				for _, leak := range []string{strings.ToLower(secret), strings.ToLower(alt), `"answer"`, `"correctanswer"`, `"alternatives"`, `"correct"`} {
					if strings.Contains(lower, leak) {
						t.Fatalf("item %d leaks %s before reveal: %s", i, leak, b)
					}
				}
			}
			if len(before) < 10 {
				t.Fatalf("only %d items checked", len(before))
			}
		})
	}
}

func TestSeqIsMonotonicAndRingReplaysRecentEvents(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 1)
	var all []Event
	for i := range 300 {
		all = append(all, mustEvents(t)(g.Chat(at(time.Duration(i)*time.Millisecond), "p1", "m"))...)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq != all[i-1].Seq+1 {
			t.Fatalf("seq %d follows %d", all[i].Seq, all[i-1].Seq)
		}
	}
	last := g.Seq()
	if last != all[len(all)-1].Seq || all[0].Seq != 2 { // seq 1 was p1's join
		t.Fatalf("seq = %d, first chat %d", last, all[0].Seq)
	}
	tests := []struct {
		name  string
		since int64
		n     int
		ok    bool
	}{
		{"up to date", last, 0, true},
		{"missed ten", last - 10, 10, true},
		{"oldest in the ring", last - RingSize, RingSize, true},
		{"older than the ring", last - RingSize - 1, 0, false},
		{"from the future", last + 1, 0, false},
		{"negative", -1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, ok := g.EventsSince(tt.since)
			if ok != tt.ok || len(evs) != tt.n {
				t.Fatalf("EventsSince(%d) = %d events, %v", tt.since, len(evs), ok)
			}
			for i, ev := range evs {
				if ev.Seq != tt.since+1+int64(i) {
					t.Fatalf("event %d has seq %d", i, ev.Seq)
				}
			}
		})
	}
	if s := g.Snapshot("p1"); s.Seq != last {
		t.Fatalf("snapshot seq = %d", s.Seq)
	}
}

func TestSnapshotShape(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 1)
	mustEvents(t)(g.Start(t0, "host"))
	var m map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, g.Snapshot("p1"))), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"gameId", "code", "mode", "phase", "players", "question", "you", "resumeToken", "seq"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("state lacks %q: %v", k, m)
		}
	}
	you := m["you"].(map[string]any)
	if you["playerId"] != "p1" || you["host"] != false || you["answered"] != false {
		t.Fatalf("you = %v", you)
	}
	if hs := g.Snapshot("host"); !hs.You.Host || hs.ResumeToken != "" {
		t.Fatalf("host snapshot you = %+v", hs.You)
	}
	for _, p := range g.Snapshot("host").Players {
		if p.ID == "host" {
			t.Fatal("the host is listed as a player")
		}
	}
}

// Issue 20: two guests called Bob in one game can be told apart (case and accents ignored).
func TestDuplicateNicknamesAreMadeUnique(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0)), 0)
	for _, p := range []PlayerInfo{{ID: "a", DisplayName: "Bob"}, {ID: "b", DisplayName: "bob"}, {ID: "c", DisplayName: "Böb "}, {ID: "d", DisplayName: "Alice"}} {
		mustEvents(t)(g.Join(t0, p))
	}
	var names []string
	for _, p := range g.Snapshot("host").Players {
		names = append(names, p.DisplayName)
	}
	if got := strings.Join(names, "|"); got != "Bob|bob (2)|Böb (3)|Alice" {
		t.Fatalf("names %q", got)
	}
	// Reconnecting with the same name keeps the suffix.
	mustEvents(t)(g.Join(t0, PlayerInfo{ID: "b", DisplayName: "bob"}))
	if n := g.players["b"].info.DisplayName; n != "bob (2)" {
		t.Fatalf("after reconnect %q", n)
	}
}

// Issue 21: coming back during a reveal shows the reveal with its question; on the scoreboard
// the standings; always the last chat messages.
func TestStateCarriesWhatEachPhaseShows(t *testing.T) {
	g := newGame(t, quiz(services.ModeCompetitive, choice(1, 20, 0)), 2)
	for i := range ChatHistory + 3 {
		mustEvents(t)(g.Chat(t0, "p1", fmt.Sprint("msg", i)))
	}
	mustEvents(t)(g.Start(t0, "host"))
	mustAnswer(t, g, at(time.Second), "p1", 0, idx(1))
	mustEvents(t)(g.Reveal(at(2*time.Second), "host"))
	st := g.Snapshot("p1")
	if len(st.Reveals) != 1 || st.Reveals[0].Question.Text == "" || st.Reveals[0].You == nil ||
		!st.Reveals[0].You.Correct || st.Reveals[0].You.Points == 0 || st.Reveals[0].CorrectAnswer.Index != 1 {
		t.Fatalf("reveal state %+v", st.Reveals)
	}
	if len(st.Chat) != ChatHistory || st.Chat[0].Text != "msg3" || st.Chat[ChatHistory-1].Text != fmt.Sprint("msg", ChatHistory+2) {
		t.Fatalf("chat history %+v", st.Chat)
	}
	mustEvents(t)(g.Scoreboard(at(3*time.Second), "host"))
	if st := g.Snapshot("p2"); len(st.Entries) != 2 || st.Entries[0].PlayerID != "p1" || len(st.Reveals) != 0 {
		t.Fatalf("scoreboard state %+v", st)
	}
}
