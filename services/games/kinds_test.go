package games

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
)

func reveal(t *testing.T, evs []Event) Event {
	t.Helper()
	rs := ofType(evs, EventReveal)
	if len(rs) != 1 {
		t.Fatalf("want one reveal in %v", types(evs))
	}
	return rs[0]
}

func you(t *testing.T, ev Event, p string) RevealYou {
	t.Helper()
	y, ok := ev.You[p].(RevealYou)
	if !ok {
		t.Fatalf("no reveal for %s", p)
	}
	return y
}

// Every kind scores by its rule: truefalse by index (true is 0), multi all-or-nothing, poll
// never, number within the tolerance, order only the exact order; stats and accuracy follow.
func TestEveryKindIsScoredByItsRule(t *testing.T) {
	q := quiz(services.ModeCasual, truefalse(true, 20), multi(20, 0, 2), poll(20), number(20, 50, 5, 0, 100), order(20, "a", "b", "c"))
	q.Scoring = services.ScoringFlat
	g := newGame(t, q, 3)
	step := time.Duration(0)
	next := func() time.Time { step += time.Second; return at(step) }
	ask := func() services.PublicQuestion {
		t.Helper()
		var evs []Event
		if g.Phase() == PhaseLobby {
			evs = mustEvents(t)(g.Start(next(), "host"))
		} else {
			evs = mustEvents(t)(g.Next(next(), "host"))
		}
		return evs[0].Data.(services.PublicQuestion)
	}

	// truefalse: p1 right (0 = True), p2 wrong, p3 as a boolean, right.
	pq := ask()
	if pq.Kind != services.KindTrueFalse || !slices.Equal(pq.Choices, []string{"True", "False"}) {
		t.Fatalf("truefalse question = %+v", pq)
	}
	mustAnswer(t, g, next(), "p1", 0, idx(0))
	mustAnswer(t, g, next(), "p2", 0, idx(1))
	rv := reveal(t, mustAnswer(t, g, next(), "p3", 0, services.Answer{Set: true, Bool: true}))
	if !you(t, rv, "p1").Correct || you(t, rv, "p2").Correct || !you(t, rv, "p3").Correct {
		t.Fatalf("truefalse you = %v", rv.You)
	}
	d := rv.Data.(RevealData)
	if mustJSON(t, d.Stats) != `{"counts":[2,1]}` || *d.Accuracy != 0.6667 || d.Kind != services.KindTrueFalse {
		t.Fatalf("truefalse reveal = %s", mustJSON(t, d))
	}

	// multi: exactly {0,2} scores; {0} and {0,1,2} do not.
	ask()
	mustAnswer(t, g, next(), "p1", 1, list(2, 0))
	mustAnswer(t, g, next(), "p2", 1, list(0))
	rv = reveal(t, mustAnswer(t, g, next(), "p3", 1, list(0, 1, 2)))
	if y := you(t, rv, "p1"); !y.Correct || y.Points == 0 || you(t, rv, "p2").Correct || you(t, rv, "p3").Correct {
		t.Fatalf("multi you = %v", rv.You)
	}
	if got := mustJSON(t, rv.Data.(RevealData)); !strings.Contains(got, `"correctAnswer":[0,2]`) || !strings.Contains(got, `"stats":{"counts":[3,1,2,0]}`) {
		t.Fatalf("multi reveal = %s", got)
	}

	// poll: nobody scores, the streak is untouched, accuracy is null.
	before := scores(g)
	ask()
	mustAnswer(t, g, next(), "p1", 2, idx(2))
	mustAnswer(t, g, next(), "p2", 2, idx(2))
	rv = reveal(t, mustAnswer(t, g, next(), "p3", 2, idx(0)))
	if got := mustJSON(t, rv.Data); !strings.Contains(got, `"correctAnswer":null`) || !strings.Contains(got, `"accuracy":null`) ||
		!strings.Contains(got, `"stats":{"counts":[1,0,2]}`) {
		t.Fatalf("poll reveal = %s", got)
	}
	if after := scores(g); after["p1"] != before["p1"] || you(t, rv, "p1").Streak != 2 || you(t, rv, "p1").Correct {
		t.Fatalf("a poll scored or broke the streak: %v → %v, you %v", before, after, rv.You)
	}

	// number: 50 ± 5; 55 is right, 56 is not; the histogram has the answers in their bins.
	pq = ask()
	if pq.Number == nil || pq.Number.Min != 0 || pq.Number.Max != 100 || pq.Number.Step != 1 {
		t.Fatalf("number question = %+v", pq)
	}
	mustAnswer(t, g, next(), "p1", 3, num(55))
	mustAnswer(t, g, next(), "p2", 3, num(56))
	if _, _, err := g.Answer(next(), "p3", 3, num(101)); services.ErrorCode(err) != services.EInvalid {
		t.Fatalf("out of range number: %v", err)
	}
	rv = reveal(t, mustAnswer(t, g, next(), "p3", 3, num(44.5)))
	if !you(t, rv, "p1").Correct || you(t, rv, "p2").Correct || you(t, rv, "p3").Correct {
		t.Fatalf("number you = %v", rv.You)
	}
	ns := rv.Data.(RevealData).Stats.(NumberStats)
	if len(ns.Histogram) != HistogramBins || ns.Histogram[4].Count != 1 || ns.Histogram[5].Count != 2 || ns.Correct != 1 || ns.Wrong != 2 {
		t.Fatalf("number stats = %+v", ns)
	}

	// order: the items are shown shuffled; the right answer is the displayed indexes that put
	// them back in the authored order.
	pq = ask()
	if slices.Equal(pq.Choices, []string{"a", "b", "c"}) {
		t.Fatal("order items shown in the right order")
	}
	right := make([]int, 3)
	for i, c := range pq.Choices {
		right[strings.Index("abc", c)] = i
	}
	mustAnswer(t, g, next(), "p1", 4, list(right...))
	mustAnswer(t, g, next(), "p2", 4, list(right[1], right[0], right[2]))
	if _, _, err := g.Answer(next(), "p3", 4, list(0, 0, 1)); services.ErrorCode(err) != services.EInvalid {
		t.Fatalf("not a permutation: %v", err)
	}
	rv = reveal(t, mustEvents(t)(g.Reveal(next(), "host")))
	if !you(t, rv, "p1").Correct || you(t, rv, "p2").Correct || you(t, rv, "p3").Answered {
		t.Fatalf("order you = %v", rv.You)
	}
	if d := rv.Data.(RevealData); !slices.Equal(d.CorrectAnswer.List, right) || mustJSON(t, d.Stats) != `{"correct":1,"wrong":1,"none":1}` {
		t.Fatalf("order reveal = %s", mustJSON(t, d))
	}
}

// Wrong answer shapes are refused per kind, and an answer after the deadline is too late.
func TestAnswersOfTheWrongShapeOrTooLateAreRefused(t *testing.T) {
	for _, c := range []struct {
		q       services.Question
		bad, ok services.Answer
	}{
		{truefalse(true, 10), idx(2), idx(1)},
		{multi(10, 1), idx(1), list(1)},
		{multi(10, 1), list(1, 1), list(1, 3)},
		{poll(10), txt("x"), idx(2)},
		{number(10, 5, 0, 0, 10), txt("5"), num(5)},
		{number(10, 5, 0, 0, 10), list(5), num(2.5)},
		{order(10, "a", "b"), list(0), list(1, 0)},
		{order(10, "a", "b"), idx(0), list(0, 1)},
	} {
		g := newGame(t, quiz(services.ModeCasual, c.q, c.q), 2)
		mustEvents(t)(g.Start(t0, "host"))
		if _, _, err := g.Answer(at(time.Second), "p1", 0, c.bad); services.ErrorCode(err) != services.EInvalid {
			t.Fatalf("%s: answer %s: %v, want invalid", c.q.Kind, mustJSON(t, c.bad), err)
		}
		mustAnswer(t, g, at(time.Second), "p1", 0, c.ok)
		_, _, err := g.Answer(at(10*time.Second), "p2", 0, c.ok)
		wantCode(t, err, CodeTooLate)
	}
}

// encodedFrames is every frame each player gets from evs (shared part plus personal part).
func encodedFrames(evs []Event, players ...string) []string {
	var out []string
	for _, ev := range evs {
		if ev.HostOnly {
			continue
		}
		shared := encodeShared(ev)
		for _, p := range players {
			out = append(out, string(encodeFor(ev, shared, p)))
		}
	}
	return out
}

// No frame a player gets before the reveal (questions, progress, acks, state after a rejoin)
// holds the answer, the tolerance or the right order, for any kind.
func TestNoFrameBeforeTheRevealGivesAnyKindsAnswerAway(t *testing.T) {
	nq := number(20, 1234.5, 7.25, 0, 5000)
	oq := order(20, "first-item", "second-item", "third-item", "fourth-item")
	q := quiz(services.ModeCasual, truefalse(false, 20), multi(20, 1, 3), poll(20), nq, oq, open("Quetzalcoatl", 20))
	g := newGame(t, q, 2)
	players := []string{"p1", "p2"}
	var frames []string
	now := t0
	for i := range q.Questions {
		now = now.Add(time.Second)
		var evs []Event
		if i == 0 {
			evs = mustEvents(t)(g.Start(now, "host"))
		} else {
			evs = mustEvents(t)(g.Next(now, "host"))
		}
		frames = append(frames, encodedFrames(evs, players...)...)
		qq := g.round.qs[0].q
		ack, evs, err := g.Answer(now.Add(time.Second), "p1", i, map[string]services.Answer{
			services.KindTrueFalse: idx(0), services.KindMulti: list(0), services.KindPoll: idx(1),
			services.KindNumber: num(1), services.KindOrder: list(0, 1, 2, 3), services.KindOpen: txt("x"),
		}[qq.Kind])
		if err != nil {
			t.Fatal(err)
		}
		if ofType(evs, EventReveal) != nil {
			t.Fatal("revealed before everyone answered")
		}
		frames = append(frames, encodedFrames(evs, players...)...)
		frames = append(frames, string(EncodeFrame(Frame{Type: FrameAck, Data: ack})))
		for _, p := range players {
			b, _ := json.Marshal(g.Snapshot(p))
			frames = append(frames, string(b))
		}
		if qq.Kind == services.KindOrder {
			shown := strings.Join(qq.Choices, ",")
			if shown == strings.Join(oq.Choices, ",") {
				t.Fatal("order shown in the right order")
			}
		}
		mustEvents(t)(g.Reveal(now.Add(2*time.Second), "host"))
	}
	for _, f := range frames {
		for _, leak := range []string{"correctAnswer", "tolerance", "1234.5", "7.25", "Quetzalcoatl", `"answer"`,
			"first-item\",\"second-item\",\"third-item\",\"fourth-item"} {
			if strings.Contains(f, leak) {
				t.Fatalf("frame before the reveal holds %q: %s", leak, f)
			}
		}
	}
	if len(frames) < 30 {
		t.Fatalf("only %d frames inspected", len(frames))
	}
}

// Consecutive correct answers earn +10% per step beyond the first, capped at +50%; a wrong or
// missing answer ends the streak.
func TestStreakBonusGrowsCapsAndResets(t *testing.T) {
	var qs []services.Question
	for range 9 {
		qs = append(qs, choice(0, 20, 0))
	}
	q := quiz(services.ModeCasual, qs...)
	q.Scoring = services.ScoringFlat
	g := newGame(t, q, 1)
	wantBonus := []int{0, 100, 200, 300, 400, 500, 500, -1, 0}
	wantStreak := []int{1, 2, 3, 4, 5, 6, 7, 0, 1}
	now := t0
	total := 0
	for i := range qs {
		now = now.Add(time.Second)
		if i == 0 {
			mustEvents(t)(g.Start(now, "host"))
		} else {
			mustEvents(t)(g.Next(now, "host"))
		}
		a := idx(0)
		if wantBonus[i] < 0 {
			a = idx(1)
		}
		y := you(t, reveal(t, mustAnswer(t, g, now, "p1", i, a)), "p1")
		if y.Streak != wantStreak[i] || (wantBonus[i] >= 0 && (y.StreakBonus != wantBonus[i] || y.Points != 1000+wantBonus[i])) {
			t.Fatalf("question %d: you = %+v, want streak %d bonus %d", i, y, wantStreak[i], wantBonus[i])
		}
		total += y.Points
		if g.Snapshot("p1").You.Streak != wantStreak[i] {
			t.Fatalf("state streak = %d", g.Snapshot("p1").You.Streak)
		}
	}
	if scores(g)["p1"] != total || total != 9000-1000+1500+500 {
		t.Fatalf("score = %d, sum of points %d", scores(g)["p1"], total)
	}
}

// Shuffles come from the game's secret: the live game, its log replayed and a snapshot restored
// ask the same questions in the same order with the same choice order; another secret shuffles
// differently.
func TestShufflesAreStableAcrossReplayAndRestore(t *testing.T) {
	var qs []services.Question
	for i := range 8 {
		c := choice(i%4, 20, 0)
		c.Text = "Q" + string(rune('A'+i))
		qs = append(qs, c)
	}
	qs = append(qs, order(20, "w", "x", "y", "z"))
	run := func(secret string) (asked []string, log []Batch, snapMid []byte) {
		g := NewGame(GameConfig{ID: "g1", Code: "ABCDEF", HostID: "host", Quiz: quiz(services.ModeCasual, qs...), Now: t0, Secret: []byte(secret)})
		first, _ := createEntry(g, t0)
		log = []Batch{{Pos: 1, Data: append(first, '\n')}}
		now := t0
		do := func(e entry) []Event {
			t.Helper()
			now = now.Add(time.Second)
			e.At = now.UnixNano()
			res, err := g.apply(e)
			if err != nil {
				t.Fatalf("%s: %v", e.Op, err)
			}
			b, _ := json.Marshal(e)
			log = append(log, Batch{Pos: uint64(len(log) + 1), Data: append(b, '\n')})
			return res.events
		}
		host, p1 := info("host"), info("p1")
		do(entry{Op: opJoin, Player: &host})
		do(entry{Op: opJoin, Player: &p1})
		o := Options{ShuffleQuestions: true, ShuffleChoices: true, LateJoin: true}
		do(entry{Op: opOptions, By: "host", Options: &o})
		for i := range qs {
			op := opNext
			if i == 0 {
				op = opStart
			}
			pq := do(entry{Op: op, By: "host"})[0].Data.(services.PublicQuestion)
			asked = append(asked, pq.Text+":"+strings.Join(pq.Choices, ""))
			if i == 3 {
				snapMid, _ = g.MarshalSnapshot()
			}
			do(entry{Op: opReveal, By: "host"})
		}
		return asked, log, snapMid
	}
	asked, log, snapMid := run("secret-one")
	if strings.HasPrefix(strings.Join(asked, " "), "QA:abcd QB:abcd QC:abcd") {
		t.Fatalf("not shuffled: %v", asked)
	}
	other, _, _ := run("secret-two")
	if slices.Equal(asked, other) {
		t.Fatal("two secrets gave the same shuffle")
	}
	again, _, _ := run("secret-one")
	if !slices.Equal(asked, again) {
		t.Fatalf("same secret, different order: %v vs %v", asked, again)
	}
	// Replay the log up to the snapshot point, then continue from a restored snapshot: the
	// questions still to come are the ones the live game asked.
	for _, from := range []string{"log", "snapshot"} {
		var g *Game
		var err error
		if from == "log" {
			g, err = Replay(Recovered{Batches: log[:4]}) // create, 2 joins, options: still in the lobby
		} else {
			g, err = RestoreGame(snapMid)
		}
		if err != nil {
			t.Fatal(err)
		}
		start := 0
		if from == "snapshot" {
			start = 4
			mustEvents(t)(g.Reveal(at(time.Hour), "host"))
		}
		for i := start; i < len(qs); i++ {
			var evs []Event
			if i == 0 {
				evs = mustEvents(t)(g.Start(at(time.Hour), "host"))
			} else {
				evs = mustEvents(t)(g.Next(at(time.Hour), "host"))
			}
			pq := evs[0].Data.(services.PublicQuestion)
			if got := pq.Text + ":" + strings.Join(pq.Choices, ""); got != asked[i] {
				t.Fatalf("%s: question %d = %s, live asked %s", from, i, got, asked[i])
			}
			mustEvents(t)(g.Reveal(at(time.Hour), "host"))
		}
	}
}

// Options: a locked lobby and lateJoin false refuse new players (code locked) but not a player
// coming back; options are host-only and lobby-only.
func TestLockLobbyAndLateJoin(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(0, 20, 0), choice(0, 20, 0)), 1)
	_, err := g.SetOptions(t0, "p1", Options{LockLobby: true})
	wantCode(t, err, services.EForbidden)
	evs := mustEvents(t)(g.SetOptions(t0, "host", Options{LockLobby: true, LateJoin: true}))
	wantTypes(t, evs, EventOptions)
	_, err = g.Join(t0, info("p2"))
	wantCode(t, err, CodeLocked)
	mustEvents(t)(g.Join(t0, info("p1"))) // a rejoin is always allowed
	mustEvents(t)(g.SetOptions(t0, "host", Options{LateJoin: false}))
	if o := g.Snapshot("p1").Options; o.LockLobby || o.LateJoin {
		t.Fatal("state does not carry the options")
	}
	mustEvents(t)(g.Join(t0, info("p2"))) // unlocked lobby
	mustEvents(t)(g.Start(at(time.Second), "host"))
	_, err = g.Join(at(2*time.Second), info("p3"))
	wantCode(t, err, CodeLocked)
	mustEvents(t)(g.Disconnect(at(2*time.Second), "p2"), nil)
	mustEvents(t)(g.Join(at(3*time.Second), info("p2")))
	_, err = g.SetOptions(at(3*time.Second), "host", DefaultOptions())
	wantCode(t, err, services.EInvalid)
}

// Teams: auto-balanced on join, chosen in choose mode, scored as the mean of members (so size
// does not decide), shown ranked in scoreboard and finished, kept on rejoin and in snapshots.
func TestTeamsBalanceChooseAndScoreByMean(t *testing.T) {
	q := quiz(services.ModeCasual, choice(0, 20, 0))
	q.Scoring = services.ScoringFlat
	g := newGame(t, q, 3) // p1 p2 p3
	evs := mustEvents(t)(g.SetOptions(t0, "host", Options{LateJoin: true, Teams: &TeamOptions{Mode: TeamsChoose, Count: 2}}))
	wantTypes(t, evs, EventOptions, EventTeams)
	tv := evs[1].Data.(TeamsData).Teams
	if !slices.Equal(tv[0].Members, []string{"p1", "p3"}) || !slices.Equal(tv[1].Members, []string{"p2"}) || tv[0].Name != "Red" {
		t.Fatalf("teams = %+v", tv)
	}
	mustEvents(t)(g.Join(t0, info("p4"))) // auto-assigned to the smaller team
	if g.Snapshot("p4").You.Team != 2 {
		t.Fatalf("p4 team = %d", g.Snapshot("p4").You.Team)
	}
	wantTypes(t, mustEvents(t)(g.ChooseTeam(t0, "p3", 2)), EventTeams) // Red: p1; Blue: p2 p3 p4
	_, err := g.ChooseTeam(t0, "p3", 3)
	wantCode(t, err, services.EInvalid)
	mustEvents(t)(g.Disconnect(t0, "p3"), nil)
	mustEvents(t)(g.Join(t0, info("p3")))
	if g.Snapshot("p3").You.Team != 2 {
		t.Fatal("rejoin lost the team")
	}
	mustEvents(t)(g.Start(at(time.Second), "host"))
	_, err = g.ChooseTeam(at(time.Second), "p3", 1)
	wantCode(t, err, services.EInvalid)
	mustAnswer(t, g, at(2*time.Second), "p1", 0, idx(1)) // Red: 0
	mustAnswer(t, g, at(2*time.Second), "p2", 0, idx(0)) // Blue: 1000, 1000, 0 → 667
	mustAnswer(t, g, at(2*time.Second), "p3", 0, idx(0))
	mustAnswer(t, g, at(2*time.Second), "p4", 0, idx(1))
	sb := mustEvents(t)(g.Scoreboard(at(3*time.Second), "host"))[0].Data.(StandingsData)
	if len(sb.Teams) != 2 || sb.Teams[0].ID != 2 || sb.Teams[0].Score != 667 || sb.Teams[0].Rank != 1 || sb.Teams[1].Score != 0 {
		t.Fatalf("scoreboard teams = %+v", sb.Teams)
	}
	if sb.Entries[0].Team == 0 {
		t.Fatalf("entries lack the team: %+v", sb.Entries)
	}
	snap, _ := g.MarshalSnapshot()
	r, err := RestoreGame(snap)
	if err != nil {
		t.Fatal(err)
	}
	fin := mustEvents(t)(r.End(at(4*time.Second), "host"))[0].Data.(StandingsData)
	if mustJSON(t, fin.Teams) != mustJSON(t, sb.Teams) || r.Snapshot("p4").You.Team != 2 {
		t.Fatalf("after restore, finished teams = %+v", fin.Teams)
	}
}

// The report's numbers are the game's: the players' scores are the finished standings, the
// points per answer add up to them, and every question has its stats.
func TestReportAddsUpToTheFinishedStandings(t *testing.T) {
	q := quiz(services.ModeCasual, choice(1, 20, 0), number(20, 10, 1, 0, 20), multi(20, 0, 1), poll(20))
	g := newGame(t, q, 3)
	mustEvents(t)(g.SetOptions(t0, "host", Options{LateJoin: true, Teams: &TeamOptions{Mode: TeamsAuto, Count: 2}}))
	now := t0
	answers := [][]services.Answer{
		{idx(1), idx(1), idx(0)}, {num(10.5), num(12), num(9)}, {list(0, 1), list(1, 0), list(0)}, {idx(0), idx(1), idx(1)},
	}
	for i := range q.Questions {
		now = now.Add(time.Second)
		if i == 0 {
			mustEvents(t)(g.Start(now, "host"))
		} else {
			mustEvents(t)(g.Next(now, "host"))
		}
		for p, a := range answers[i] {
			now = now.Add(time.Second)
			mustAnswer(t, g, now, pid(p+1), i, a)
		}
	}
	fin := mustEvents(t)(g.End(now, "host"))[0].Data.(StandingsData)
	rep := g.Result().Report
	if rep == nil || len(rep.Players) != 3 || len(rep.Questions) != 4 || len(rep.Answers) != 12 {
		t.Fatalf("report = %+v", rep)
	}
	sum := map[string]int{}
	for _, a := range rep.Answers {
		sum[a.PlayerID] += a.Points
	}
	for i, e := range fin.Entries {
		p := rep.Players[i]
		if p.PlayerID != e.PlayerID || p.Score != e.Score || p.Rank != e.Rank || sum[p.PlayerID] != e.Score || p.Team != e.Team {
			t.Fatalf("report player %+v, standings %+v, points sum %d", p, e, sum[p.PlayerID])
		}
	}
	if len(rep.Teams) != 2 || rep.Teams[0].Score != fin.Teams[0].Score {
		t.Fatalf("report teams %+v, finished %+v", rep.Teams, fin.Teams)
	}
	if a := rep.Answers[4]; a.QuestionIndex != 1 || a.Answer != "12" || a.Correct || a.TimeMs != 2000 {
		t.Fatalf("p2's number answer = %+v", a)
	}
	if string(rep.Questions[3].Stats) != `{"counts":[1,2,0]}` || rep.Questions[3].Accuracy != nil || *rep.Questions[0].Accuracy != 0.6667 {
		t.Fatalf("questions = %+v", rep.Questions)
	}
}
