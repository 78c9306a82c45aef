package games

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/services"
)

// memJournal is a Journal in memory with the real one's fencing, for engine tests. With hold set,
// appends wait until release is called, so a test can look at what a client got meanwhile.
type memJournal struct {
	mu      sync.Mutex
	pos     uint64
	logs    map[string][]Batch
	snaps   map[string]Batch // Pos and Data: the snapshot
	closed  map[string]bool
	hold    bool
	held    []func()
	appends int
	fail    error // every append fails with it
}

func newMemJournal() *memJournal {
	return &memJournal{logs: map[string][]Batch{}, snaps: map[string]Batch{}, closed: map[string]bool{}}
}

var _ Journal = (*memJournal)(nil)

func (j *memJournal) last(code string) uint64 {
	l := j.logs[code]
	if len(l) == 0 {
		return 0
	}
	return l[len(l)-1].Pos
}

func (j *memJournal) Create(_ context.Context, code string, e []byte) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.logs[code]) > 0 {
		return 0, ErrLogExists
	}
	j.pos++
	j.logs[code] = []Batch{{Pos: j.pos, Data: append(append([]byte(nil), e...), '\n')}}
	return j.pos, nil
}

func (j *memJournal) Append(code string, after uint64, b []byte, done func(uint64, error)) {
	b = append([]byte(nil), b...)
	do := func() {
		j.mu.Lock()
		j.appends++
		if j.fail != nil {
			j.mu.Unlock()
			done(0, j.fail)
			return
		}
		if j.last(code) != after {
			j.mu.Unlock()
			done(0, ErrFenced)
			return
		}
		j.pos++
		pos := j.pos
		j.logs[code] = append(j.logs[code], Batch{Pos: pos, Data: b})
		j.mu.Unlock()
		done(pos, nil)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.hold {
		j.held = append(j.held, do)
		return
	}
	go do()
}

// release lets every held append through and stops holding.
func (j *memJournal) release() {
	j.mu.Lock()
	held := j.held
	j.held, j.hold = nil, false
	j.mu.Unlock()
	for _, do := range held {
		do()
	}
}

func (j *memJournal) Snapshot(code string, pos uint64, state []byte) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.snaps[code] = Batch{Pos: pos, Data: state}
}

func (j *memJournal) Load(_ context.Context, code string) (Recovered, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.logs[code]) == 0 || j.closed[code] {
		return Recovered{}, ErrNoLog
	}
	var rec Recovered
	if s, ok := j.snaps[code]; ok {
		rec.Snapshot, rec.SnapshotPos = s.Data, s.Pos
	}
	for _, b := range j.logs[code] {
		if b.Pos > rec.SnapshotPos {
			rec.Batches = append(rec.Batches, b)
		}
	}
	return rec, nil
}

func (j *memJournal) Open(context.Context) ([]string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var codes []string
	for c := range j.logs {
		if !j.closed[c] {
			codes = append(codes, c)
		}
	}
	return codes, nil
}

func (j *memJournal) Exists(_ context.Context, code string) (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.logs[code]) > 0 && !j.closed[code], nil
}

func (j *memJournal) CloseGame(_ context.Context, code string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed[code] = true
	return nil
}

// fullLog is every batch of a game's log, ignoring snapshots.
func (j *memJournal) fullLog(code string) Recovered {
	j.mu.Lock()
	defer j.mu.Unlock()
	return Recovered{Batches: append([]Batch(nil), j.logs[code]...)}
}

func mustSnapshot(t *testing.T, g *Game) string {
	t.Helper()
	b, err := g.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// randomEntry is a random engine call: mostly plausible, sometimes wrong (a player who is not in
// the game, a question that is not open, a non-host driving), so that refused calls are covered.
func randomEntry(rng *rand.Rand, g *Game, players int) entry {
	who := func() string {
		switch rng.IntN(10) {
		case 0:
			return "host"
		case 1:
			return "stranger"
		}
		return pid(1 + rng.IntN(players))
	}
	n := len(g.quiz.Questions)
	switch k := rng.IntN(100); {
	case k < 40:
		a := idx(rng.IntN(4))
		switch rng.IntN(6) {
		case 0, 1:
			a = txt([]string{"zurich", "Geneva", ""}[rng.IntN(3)])
		case 2:
			a = list(rng.Perm(1 + rng.IntN(4))...)
		case 3:
			a = num(float64(rng.IntN(200)) / 2)
		}
		return entry{Op: opAnswer, By: who(), Index: rng.IntN(n + 1), Answer: a}
	case k < 48:
		p := info(who())
		return entry{Op: opJoin, Player: &p}
	case k < 52:
		tok := "bogus"
		if len(g.order) > 0 {
			tok = g.order[rng.IntN(len(g.order))].token
		}
		return entry{Op: opResume, Token: tok}
	case k < 60:
		return entry{Op: opDisconnect, By: who()}
	case k < 62:
		return entry{Op: opLeave, By: who()}
	case k < 70:
		return entry{Op: opTick}
	case k < 71:
		return entry{Op: opChat, By: who(), Text: "hi"}
	case k < 72:
		o := Options{ShuffleQuestions: rng.IntN(2) == 0, ShuffleChoices: rng.IntN(2) == 0, LateJoin: rng.IntN(3) > 0,
			LockLobby: rng.IntN(5) == 0}
		if rng.IntN(2) == 0 {
			o.Teams = &TeamOptions{Mode: []string{TeamsAuto, TeamsChoose}[rng.IntN(2)], Count: 2 + rng.IntN(3)}
		}
		return entry{Op: opOptions, By: who(), Options: &o}
	case k < 73:
		return entry{Op: opTeam, By: who(), Index: rng.IntN(4)}
	case k < 80:
		return entry{Op: opNext, By: "host"}
	case k < 86:
		return entry{Op: opReveal, By: who()}
	case k < 91:
		return entry{Op: opScoreboard, By: "host"}
	case k < 92:
		return entry{Op: opEnd, By: who()}
	case k < 94:
		return entry{Op: opRestore}
	default:
		return entry{Op: opStart, By: who()}
	}
}

// The state of a game is its log replayed: for random command sequences (refused ones included),
// replaying what was logged through the engine gives exactly the live state, from the first entry
// and from any snapshot taken on the way.
func TestReplayOfTheLogEqualsTheLiveStateForRandomCommands(t *testing.T) {
	modes := []string{services.ModeCasual, services.ModeCompetitive, services.ModeLive}
	for run := range 300 {
		rng := rand.New(rand.NewPCG(uint64(run), 7))
		mode := modes[run%len(modes)]
		q := quiz(mode, choice(1, 20, 0), choice(2, 20, 0), open("Zürich", 10, "zurich"), choice(0, 5, 1),
			multi(20, 0, 2), order(20, "a", "b", "c"), number(20, 50, 5, 0, 100), poll(20), truefalse(false, 20))
		if run%2 == 1 {
			q.Scoring = services.ScoringFlat
		}
		now := t0
		g := NewGame(GameConfig{ID: "g1", Code: "ABCDEF", HostID: "host", Quiz: q, Now: now})
		first, err := createEntry(g, now)
		if err != nil {
			t.Fatal(err)
		}
		log := []Batch{{Pos: 1, Data: append(first, '\n')}}
		var snap *Batch
		var batch []byte
		players := 2 + rng.IntN(5)
		for step := range 150 {
			now = now.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
			e := randomEntry(rng, g, players)
			if step == 0 {
				p := info("host")
				e = entry{Op: opJoin, Player: &p}
			}
			e.At = wall(now).UnixNano()
			if _, err := g.apply(e); err == nil {
				b, _ := json.Marshal(e)
				batch = append(append(batch, b...), '\n')
			}
			if rng.IntN(4) == 0 && len(batch) > 0 {
				log = append(log, Batch{Pos: uint64(len(log) + 1), Data: batch})
				batch = nil
				if rng.IntN(5) == 0 {
					s, err := g.MarshalSnapshot()
					if err != nil {
						t.Fatal(err)
					}
					snap = &Batch{Pos: uint64(len(log)), Data: s}
				}
			}
		}
		if len(batch) > 0 {
			log = append(log, Batch{Pos: uint64(len(log) + 1), Data: batch})
		}
		want := mustSnapshot(t, g)
		replayed, err := Replay(Recovered{Batches: log})
		if err != nil {
			t.Fatalf("run %d: replay: %v", run, err)
		}
		if got := mustSnapshot(t, replayed); got != want {
			t.Fatalf("run %d (%s): replay from the first entry differs\nlive   %s\nreplay %s", run, mode, want, got)
		}
		if snap != nil {
			rec := Recovered{Snapshot: snap.Data, SnapshotPos: snap.Pos}
			for _, b := range log {
				if b.Pos > snap.Pos {
					rec.Batches = append(rec.Batches, b)
				}
			}
			fromSnap, err := Replay(rec)
			if err != nil {
				t.Fatalf("run %d: replay from snapshot: %v", run, err)
			}
			if got := mustSnapshot(t, fromSnap); got != want {
				t.Fatalf("run %d (%s): replay from the snapshot at %d differs\nlive   %s\nreplay %s", run, mode, snap.Pos, want, got)
			}
		}
	}
}

func TestReplayRefusesALogItCannotApply(t *testing.T) {
	g := NewGame(GameConfig{ID: "g1", Code: "ABCDEF", HostID: "host", Quiz: quiz(services.ModeCasual, choice(0, 20, 0)), Now: t0})
	first, _ := createEntry(g, t0)
	for name, data := range map[string]string{
		"garbage":          "{not json\n",
		"unknown op":       `{"op":"teleport","t":1}` + "\n",
		"refused by rules": `{"op":"start","t":1,"by":"somebody"}` + "\n",
	} {
		_, err := Replay(Recovered{Batches: []Batch{{Pos: 1, Data: append(first, '\n')}, {Pos: 2, Data: []byte(data)}}})
		if err == nil || !strings.Contains(err.Error(), "batch at 2") {
			t.Errorf("%s: replay error %v, want one naming the batch", name, err)
		}
	}
	if _, err := Replay(Recovered{Batches: []Batch{{Pos: 1, Data: []byte(`{"op":"tick","t":1}` + "\n")}}}); err == nil {
		t.Error("a log without its create entry replayed")
	}
}

// newJournalEnv is newEnv on the game log j.
func newJournalEnv(t *testing.T, q services.Quiz, j *memJournal) *env {
	t.Helper()
	return newEnvWith(t, q, nil, j)
}

func TestRoomSendsNoAckBeforeTheAnswerIsInTheLog(t *testing.T) {
	j := newMemJournal()
	e := newJournalEnv(t, quiz(services.ModeCasual, choice(1, 20, 0)), j)
	p1 := e.player(t, "p1")
	e.player(t, "p2")
	e.submit(t, e.host, info("host"), CmdStart, "s", nil)
	p1.waitFrame(t, EventQuestion, "")

	j.mu.Lock()
	j.hold = true
	j.mu.Unlock()
	e.submit(t, p1, info("p1"), CmdAnswer, "a1", map[string]any{"index": 0, "answer": 1})
	testwait.Until(t, "the answer's append to be held", func() bool {
		j.mu.Lock()
		defer j.mu.Unlock()
		return len(j.held) == 1
	})
	// A ping behind it waits too: frames leave in order.
	e.submit(t, p1, info("p1"), CmdPing, "ping", nil)
	if n := p1.count(FrameAck); n != 0 {
		t.Fatalf("%d acks left before the answer was durable", n)
	}
	j.release()
	p1.waitFrame(t, FrameAck, "a1")
	p1.waitFrame(t, FrameAck, "ping")
	frames, _, _ := p1.snapshot()
	var refs []string
	for _, f := range frames {
		if f.Type == FrameAck {
			refs = append(refs, f.Ref)
		}
	}
	if fmt.Sprint(refs) != "[a1 ping]" {
		t.Fatalf("acks in order %v, want [a1 ping]", refs)
	}
}

func TestLiveRoomStateEqualsItsLogReplayed(t *testing.T) {
	j := newMemJournal()
	e := newJournalEnv(t, quiz(services.ModeCompetitive, choice(1, 20, 0), choice(2, 20, 0), choice(0, 20, 1)), j)
	ps := []*fakeClient{e.player(t, "p1"), e.player(t, "p2"), e.player(t, "p3")}
	e.submit(t, e.host, info("host"), CmdStart, "s", nil)
	ps[0].waitFrame(t, EventQuestion, "")
	for i, p := range ps {
		e.submit(t, p, info(p.id), CmdAnswer, "a", map[string]any{"index": i % 2, "answer": 1})
		p.waitFrame(t, FrameAck, "a")
	}
	e.submit(t, e.host, info("host"), CmdChat, "c", map[string]any{"text": "well done"})
	e.host.waitFrame(t, FrameAck, "c")
	e.clk.Advance(40 * time.Second) // the group's deadline: a logged tick reveals
	ps[0].waitFrame(t, EventReveal, "")
	e.submit(t, ps[2], info("p3"), CmdLeave, "l", nil)
	ps[2].waitFrame(t, FrameAck, "l")

	live := roomSnapshot(t, e.room)
	replayed, err := Replay(j.fullLog(e.room.Code()))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSnapshot(t, replayed); got != live {
		t.Fatalf("replayed log differs from the live room\nlive   %s\nreplay %s", live, got)
	}
}

// roomSnapshot reads the room's game on its own goroutine (a ping round trip orders it after
// everything submitted before).
func roomSnapshot(t *testing.T, r *Room) string {
	t.Helper()
	c := newClient("reader")
	got := make(chan string, 1)
	r.Submit(Command{Type: "_probe", Client: &probeClient{c, func() { got <- mustSnapshot(t, r.game) }}})
	select {
	case s := <-got:
		return s
	case <-time.After(waitLimit):
		t.Fatal("room did not answer the probe")
		return ""
	}
}

// probeClient runs f on the room goroutine when the room replies to it.
type probeClient struct {
	*fakeClient
	f func()
}

func (p *probeClient) Send(b []byte) bool {
	p.f()
	return true
}

func TestARestartedManagerServesTheGameFromItsLog(t *testing.T) {
	j := newMemJournal()
	q := quiz(services.ModeCasual, choice(1, 30, 0), choice(0, 30, 0))
	q.Scoring = services.ScoringFlat
	e := newJournalEnv(t, q, j)
	p1 := newClient("p1")
	st := e.join(t, p1, info("p1"))
	e.player(t, "p2")
	e.submit(t, e.host, info("host"), CmdStart, "s", nil)
	p1.waitFrame(t, EventQuestion, "")
	e.submit(t, p1, info("p1"), CmdAnswer, "a", map[string]any{"index": 0, "answer": 1})
	p1.waitFrame(t, FrameAck, "a")
	code := e.room.Code()

	j.mu.Lock()
	oldPos := j.last(code) // where the first manager would append next
	j.mu.Unlock()
	// A second manager on the same log, as after kill -9: the first one is simply abandoned.
	clk := NewFakeClock(t0.Add(10 * time.Second))
	m2 := NewManager(ManagerConfig{Clock: clk, Results: newResults(0), Journal: j})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		_ = m2.Close(ctx)
	})
	n, err := m2.Recover(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("recover: %d games, %v", n, err)
	}
	r2, ok := m2.Lookup(code)
	if !ok || r2.Info().Phase != PhaseQuestion {
		t.Fatalf("restored game: %v %+v", ok, r2.Info())
	}
	e2 := &env{clk: clk, m: m2, room: r2}
	c1 := newClient("p1")
	e2.submit(t, c1, info("p1"), CmdJoin, "j", map[string]any{"code": code, "resume": st.ResumeToken})
	var s State
	if err := json.Unmarshal(c1.waitFrame(t, FrameState, "j").Data, &s); err != nil {
		t.Fatal(err)
	}
	if s.You.PlayerID != "p1" || !s.You.Answered || s.Question == nil || s.Question.Deadline != t0.Add(30*time.Second).UnixMilli() {
		t.Fatalf("resumed state: %+v", s)
	}
	e2.submit(t, c1, info("p1"), CmdAnswer, "again", map[string]any{"index": 0, "answer": 1})
	if code := errorCode(t, c1.waitFrame(t, FrameError, "again")); code != CodeAlreadyAnswered {
		t.Fatalf("answering again: %s", code)
	}
	// The old writer wakes up and appends: the restore entry fenced it out.
	done := make(chan error, 1)
	j.Append(code, oldPos, []byte(`{"op":"tick","t":1}`+"\n"), func(_ uint64, err error) { done <- err })
	if err := <-done; err != ErrFenced {
		t.Fatalf("append by the previous owner: %v, want ErrFenced", err)
	}
	clk.Advance(20 * time.Second) // the deadline passes: revealed and scored
	rv := c1.waitFrame(t, EventReveal, "")
	if !strings.Contains(string(rv.raw), `"correct":true`) {
		t.Fatalf("reveal after restart: %s", rv.raw)
	}
}

func TestAGameWhoseDeadlinePassedDuringTheOutageIsRevealedAtOnce(t *testing.T) {
	j := newMemJournal()
	e := newJournalEnv(t, quiz(services.ModeCasual, choice(1, 10, 0), choice(0, 10, 0)), j)
	p1 := e.player(t, "p1")
	e.submit(t, e.host, info("host"), CmdStart, "s", nil)
	p1.waitFrame(t, EventQuestion, "")
	code := e.room.Code()
	clk := NewFakeClock(t0.Add(time.Minute))
	m2 := NewManager(ManagerConfig{Clock: clk, Results: newResults(0), Journal: j})
	t.Cleanup(func() { _ = m2.Close(context.Background()) })
	if _, err := m2.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	r2, _ := m2.Lookup(code)
	if !clk.WaitForTimer(clk.Now(), waitLimit) {
		t.Fatal("no timer armed for the passed deadline")
	}
	clk.Advance(0)
	testwait.Until(t, "the reveal", func() bool { return r2.Info().Phase == PhaseReveal })
}

func TestAGameWithAnUnreadableLogIsMarkedFailedAndOthersGoOn(t *testing.T) {
	j := newMemJournal()
	e := newJournalEnv(t, quiz(services.ModeCasual, choice(1, 10, 0)), j)
	good := newJournalEnvOn(t, e.m, j)
	bad := e.room.Code()
	j.mu.Lock()
	j.logs[bad] = append(j.logs[bad], Batch{Pos: 999, Data: []byte("\x00garbage\n")})
	j.mu.Unlock()

	m2 := NewManager(ManagerConfig{Clock: NewFakeClock(t0), Results: newResults(0), Journal: j})
	t.Cleanup(func() { _ = m2.Close(context.Background()) })
	if _, err := m2.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r, ok := m2.Lookup(good); !ok || r.Info().Phase != PhaseLobby {
		t.Fatalf("the good game after restart: %v", ok)
	}
	r, ok := m2.Lookup(bad)
	if !ok || r.Info().Phase != PhaseFailed {
		t.Fatalf("the bad game: %v %+v", ok, r.Info())
	}
	c := newClient("p1")
	r.Submit(Command{Type: CmdJoin, Ref: "j", Client: c, Player: info("p1"), Data: json.RawMessage(`{"code":"` + bad + `"}`)})
	if code := errorCode(t, c.waitFrame(t, FrameError, "j")); code != CodeGameFailed {
		t.Fatalf("joining the failed game: %s", code)
	}
}

// newJournalEnvOn creates one more game on m and returns its code.
func newJournalEnvOn(t *testing.T, m *Manager, _ *memJournal) string {
	t.Helper()
	r, err := m.Create(quiz(services.ModeCasual, choice(1, 10, 0)), info("host2"))
	if err != nil {
		t.Fatal(err)
	}
	return r.Code()
}

func TestAFencedRoomClosesItsClientsSoTheyReconnect(t *testing.T) {
	j := newMemJournal()
	e := newJournalEnv(t, quiz(services.ModeCasual, choice(1, 10, 0)), j)
	p1 := e.player(t, "p1")
	// Someone else appends to the game's log (a node that took it over).
	j.mu.Lock()
	j.pos++
	j.logs[e.room.Code()] = append(j.logs[e.room.Code()], Batch{Pos: j.pos, Data: []byte(`{"op":"tick","t":1}` + "\n")})
	j.mu.Unlock()
	e.submit(t, p1, info("p1"), CmdChat, "c", map[string]any{"text": "hello"})
	p1.waitUntil(t, "the close", func(_ []wire, code int) bool { return code == CloseServiceRestart })
	if n := p1.count(FrameAck); n != 0 {
		t.Fatalf("an ack left for a chat the log refused")
	}
	if _, ok := e.m.Local(e.room.Code()); ok {
		t.Fatal("the fenced room is still registered")
	}
}
