//go:build cluster

package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/games"
)

// chaosPlayer is one participant of the chaos game: an account and its current socket, which it
// opens again on a live gateway whenever the one it had died with its gateway.
type chaosPlayer struct {
	acct *account
	c    *wsClient
}

// Issue 13: the gateway that owns a running game is killed (SIGKILL of the real process) at
// random points, at least 20 times, and restarted. Players reconnect by themselves and send
// again what got no reply. No acknowledged answer is lost, none is counted twice, and the final
// scores equal those of an uncrashed reference game (the pure engine) fed the answers that
// counted.
func TestClusterChaosKillingTheOwnerLosesNoAcknowledgedAnswer(t *testing.T) {
	const questions, kills = 22, 20
	top := startTopology(t, map[string]string{"TRIVIUM_GAME_LEASE": "2s"})
	s := &server{URL: top.url}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 13))
	gws := []string{"gateway1", "gateway2"}

	host := register(t, s, "host")
	players := []*chaosPlayer{{acct: register(t, s, "ann")}, {acct: register(t, s, "ben")}, {acct: register(t, s, "cyd")}}
	var qs []map[string]any
	for range questions {
		qs = append(qs, map[string]any{"text": "Pick", "kind": "choice", "choices": []string{"a", "b", "c"}, "answer": 1, "timeLimitSec": 120})
	}
	quizID := createQuiz(t, s, host, "casual", qs) // flat scoring: the score counts correct answers
	code := createGame(t, s, host, quizID)

	owner := func() string {
		var found string
		testwait.For(t, "one gateway to run the game", 60*time.Second, func() bool {
			for _, g := range gws {
				if top.procs[g].alive() && top.activeGames(t, g) == 1 {
					found = g
					return true
				}
			}
			return false
		})
		return found
	}
	live := func() string {
		for {
			g := gws[rng.IntN(2)]
			if top.procs[g].alive() {
				return g
			}
		}
	}
	hp := &chaosPlayer{acct: host}
	everyone := append([]*chaosPlayer{hp}, players...)
	// connect opens p's socket on a live gateway and joins (accounts rejoin by identity).
	connect := func(p *chaosPlayer) {
		for attempt := 0; ; attempt++ {
			gw := live()
			p.c = dialAt(t, s, p.acct, "http://"+top.procs[gw].addr)
			ref, err := p.c.trySend("join", map[string]string{"code": code})
			sent := time.Now()
			f, ok := p.c.replyOrClosed(ref, 30*time.Second)
			if !ok {
				t.Logf("%s join on %s: no reply in %s", p.acct.Name, gw, time.Since(sent).Round(time.Millisecond))
			}
			if err == nil && ok && f.Type == "state" {
				return
			}
			if attempt > 20 {
				t.Fatalf("%s cannot rejoin: %s %s", p.acct.Name, f.Type, f.Data)
			}
		}
	}
	// do sends a command until it gets a reply, reconnecting when the socket dies.
	do := func(p *chaosPlayer, typ string, data any) frame {
		for attempt := 0; ; attempt++ {
			if p.c == nil || p.c.closeErr() != nil {
				connect(p)
			}
			ref, err := p.c.trySend(typ, data)
			if err != nil {
				connect(p)
				continue
			}
			sent := time.Now()
			f, ok := p.c.replyOrClosed(ref, 45*time.Second)
			if !ok && p.c.closeErr() == nil {
				t.Logf("%s %s: no reply in %s", p.acct.Name, typ, time.Since(sent).Round(time.Millisecond))
			}
			// A next that may or may not have been applied is the caller's to judge: sending it
			// again blindly could skip a question.
			if ok && (typ == "next" || !(f.Type == "error" && (errCode(f) == services.EUnavailable || errCode(f) == games.CodeBusy))) {
				return f
			}
			if attempt > 20 {
				t.Fatalf("%s %s never answered: %s %s", p.acct.Name, typ, f.Type, f.Data)
			}
		}
	}
	phase := func() (string, int) {
		var info struct{ Phase string }
		r := call(t, "GET", fmt.Sprintf("%s/api/v1/games/%s?n=%d", top.url, code, time.Now().UnixNano()), "", nil)
		if r.Status != 200 {
			return "", 0
		}
		r.decode(t, &info)
		return info.Phase, 0
	}
	for _, p := range everyone {
		connect(p)
	}
	killed := 0
	kill := func() {
		g := owner()
		top.procs[g].kill(t)
		top.procs[g].restart(t)
		waitReady(t, top.procs[g], "http://"+top.procs[g].addr+"/readyz")
		killed++
	}

	// The reference: the same engine, uncrashed, fed what counted.
	quiz := services.Quiz{ID: quizID, Mode: services.ModeCasual, Scoring: services.ScoringFlat}
	for range questions {
		quiz.Questions = append(quiz.Questions, services.Question{Text: "Pick", Kind: services.KindChoice,
			Choices: []string{"a", "b", "c"}, Answer: services.Answer{Set: true, Index: 1}, TimeLimitSec: 120})
	}
	t0 := time.Now()
	ref := games.NewGame(games.GameConfig{ID: "ref", Code: "REFREF", HostID: host.ID, Quiz: quiz, Now: t0})
	ref.Join(t0, games.PlayerInfo{ID: host.ID})
	for _, p := range players {
		ref.Join(t0, games.PlayerInfo{ID: p.acct.ID, DisplayName: p.acct.Name})
	}

	asked := 0
	for q := range questions {
		// The host asks question q: "next" is not sent again blindly after a crash (it could skip
		// a question), so the host looks at the game before repeating it.
		for {
			want := "start"
			if q > 0 {
				want = "next"
			}
			f := do(hp, want, struct{}{})
			if f.Type == "ack" {
				break
			}
			if ph, _ := phase(); ph == "question" && asked == q+1 {
				break
			}
			// A next the old owner applied but could not acknowledge: the game moved on.
			var st struct {
				Phase    string
				Question *struct{ Index int }
			}
			if hp.c.lastState(&st) && st.Phase == "question" && st.Question != nil && st.Question.Index == q {
				break
			}
		}
		asked = q + 1
		if _, err := ref.Next(t0, host.ID); err != nil {
			t.Fatalf("reference next: %v", err)
		}
		killAt := -1
		if killed < kills {
			killAt = rng.IntN(len(players) + 1) // before answer k, or after all of them
		}
		for i, p := range players {
			if i == killAt {
				kill()
			}
			choice := 1
			if rng.IntN(3) == 0 {
				choice = rng.IntN(3)
			}
			f := do(p, "answer", map[string]any{"index": q, "answer": choice})
			counted := f.Type == "ack" || errCode(f) == games.CodeAlreadyAnswered
			if !counted {
				t.Fatalf("question %d: %s's answer was refused: %s", q, p.acct.Name, f.Data)
			}
			if _, _, err := ref.Answer(t0, p.acct.ID, q, services.Answer{Set: true, Index: choice}); err != nil {
				t.Fatalf("reference answer: %v", err)
			}
		}
		if killAt == len(players) {
			kill()
		}
		t.Logf("question %d answered (%d kills so far, %s)", q, killed, time.Since(t0).Round(time.Millisecond))
		// Everyone answered: the round closes by itself; a reveal is refused or closes it.
		testwait.For(t, "the reveal of question "+fmt.Sprint(q), 60*time.Second, func() bool {
			ph, _ := phase()
			if ph == "question" {
				do(hp, "reveal", struct{}{})
			}
			ph, _ = phase()
			return ph == "reveal"
		})
		ref.Reveal(t0, host.ID)
	}
	do(hp, "next", struct{}{})
	ref.Next(t0, host.ID)
	if killed < kills {
		t.Fatalf("only %d kills", killed)
	}
	// The final standings, read by a late joiner.
	var final struct {
		Entries []struct {
			PlayerID string
			Score    int
		}
	}
	testwait.For(t, "the game to finish", 60*time.Second, func() bool {
		ph, _ := phase()
		return ph == "finished"
	})
	late := &chaosPlayer{acct: register(t, s, "late")}
	connect(late)
	late.c.lastState(&final)
	want := map[string]int{}
	for _, e := range ref.Result().Entries {
		want[e.PlayerID] = e.Score
	}
	got := map[string]int{}
	for _, e := range final.Entries {
		got[e.PlayerID] = e.Score
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(players) {
		t.Fatalf("after %d kills of the owner: final scores %v, the uncrashed reference %v", killed, got, want)
	}
	t.Logf("%d kills of the owning gateway; final scores %v equal the reference", killed, got)
}

func errCode(f frame) string {
	var d struct{ Code string }
	_ = json.Unmarshal(f.Data, &d)
	return d.Code
}
