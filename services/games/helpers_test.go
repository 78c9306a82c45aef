package games

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
)

var t0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func choice(answer, limitSec, group int) services.Question {
	return services.Question{Text: "Which?", Kind: services.KindChoice, Choices: []string{"a", "b", "c", "d"},
		Answer: services.Answer{Set: true, Index: answer}, TimeLimitSec: limitSec, Group: group}
}

func open(answer string, limitSec int, alts ...string) services.Question {
	return services.Question{Text: "Name it", Kind: services.KindOpen, Answer: services.Answer{Set: true, IsText: true, Text: answer},
		Alternatives: alts, TimeLimitSec: limitSec}
}

func multi(limitSec int, right ...int) services.Question {
	return services.Question{Text: "Which ones?", Kind: services.KindMulti, Choices: []string{"a", "b", "c", "d"},
		Answer: list(right...), TimeLimitSec: limitSec}
}

func order(limitSec int, items ...string) services.Question {
	return services.Question{Text: "Order them", Kind: services.KindOrder, Choices: items, TimeLimitSec: limitSec}
}

func number(limitSec int, answer, tolerance, lo, hi float64) services.Question {
	return services.Question{Text: "How many?", Kind: services.KindNumber, Answer: num(answer), Tolerance: tolerance,
		Min: &lo, Max: &hi, Step: 1, TimeLimitSec: limitSec}
}

func poll(limitSec int) services.Question {
	return services.Question{Text: "Which do you like?", Kind: services.KindPoll, Choices: []string{"x", "y", "z"}, TimeLimitSec: limitSec}
}

func truefalse(right bool, limitSec int) services.Question {
	a := services.Answer{Set: true, Bool: true}
	if !right {
		a.Index = 1
	}
	return services.Question{Text: "True?", Kind: services.KindTrueFalse, Answer: a, TimeLimitSec: limitSec}
}

func list(l ...int) services.Answer { return services.Answer{Set: true, IsList: true, List: l} }
func num(f float64) services.Answer {
	var a services.Answer
	b, _ := json.Marshal(f)
	_ = a.UnmarshalJSON(b)
	return a
}

func idx(i int) services.Answer    { return services.Answer{Set: true, Index: i} }
func txt(s string) services.Answer { return services.Answer{Set: true, IsText: true, Text: s} }
func info(id string) PlayerInfo {
	return PlayerInfo{ID: id, DisplayName: "name-" + id, ThumbnailURL: "https://cdn/" + id}
}
func guest(id string) PlayerInfo { p := info(id); p.Guest = true; return p }
func quiz(mode string, qs ...services.Question) services.Quiz {
	return services.Quiz{ID: "quiz1", Title: "Quiz", Mode: mode, Scoring: services.ScoringSpeed, Questions: qs}
}

// newGame returns a game whose host is connected and with players p1..pn joined, all at t0.
func newGame(t *testing.T, q services.Quiz, n int) *Game {
	t.Helper()
	g := NewGame(GameConfig{ID: "g1", Code: "ABCDEF", HostID: "host", Quiz: q, Now: t0})
	mustEvents(t)(g.Join(t0, info("host")))
	for i := 1; i <= n; i++ {
		mustEvents(t)(g.Join(t0, info(pid(i))))
	}
	return g
}

func pid(i int) string { return fmt.Sprintf("p%d", i) }

func mustEvents(t *testing.T) func([]Event, error) []Event {
	return func(evs []Event, err error) []Event {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return evs
	}
}

func mustAnswer(t *testing.T, g *Game, now time.Time, p string, i int, a services.Answer) []Event {
	t.Helper()
	ack, evs, err := g.Answer(now, p, i, a)
	if err != nil {
		t.Fatalf("answer by %s to %d: %v", p, i, err)
	}
	if !ack.Accepted || ack.Index != i {
		t.Fatalf("ack = %+v", ack)
	}
	return evs
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got none", code)
	}
	if got := services.ErrorCode(err); got != code {
		t.Fatalf("want error %s, got %s (%v)", code, got, err)
	}
}

func types(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func wantTypes(t *testing.T, evs []Event, want ...string) {
	t.Helper()
	got := types(evs)
	if len(got) != len(want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("events = %v, want %v", got, want)
		}
	}
}

func ofType(evs []Event, typ string) []Event {
	var out []Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func scores(g *Game) map[string]int {
	out := map[string]int{}
	for _, p := range g.Snapshot("host").Players {
		out[p.ID] = p.Score
	}
	return out
}
