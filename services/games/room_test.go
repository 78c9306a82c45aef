package games

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/services"
)

const waitLimit = 5 * time.Second

// fakeClient records frames. With limit > 0, Send fails once it holds limit frames, like a
// connection whose queue is full.
type fakeClient struct {
	id    string
	limit int

	mu      sync.Mutex
	frames  [][]byte
	code    int
	reason  string
	closes  int
	changed chan struct{}
}

func newClient(id string) *fakeClient { return &fakeClient{id: id, changed: make(chan struct{})} }

func (c *fakeClient) PlayerID() string { return c.id }

func (c *fakeClient) Send(f []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limit < 0 || (c.limit > 0 && len(c.frames) >= c.limit) {
		return false
	}
	c.frames = append(c.frames, f)
	c.notifyLocked()
	return true
}

func (c *fakeClient) Close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.code, c.reason = code, reason
	c.closes++
	c.notifyLocked()
}

func (c *fakeClient) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

type wire struct {
	Type string          `json:"type"`
	Ref  string          `json:"ref"`
	Seq  int64           `json:"seq"`
	Data json.RawMessage `json:"data"`
	raw  []byte
}

func (c *fakeClient) snapshot() ([]wire, int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]wire, len(c.frames))
	for i, f := range c.frames {
		if err := json.Unmarshal(f, &out[i]); err != nil {
			panic(fmt.Sprintf("frame %s is not JSON: %v", f, err))
		}
		out[i].raw = f
	}
	return out, c.code, c.reason
}

// waitUntil blocks until cond holds on the client's frames and close state.
func (c *fakeClient) waitUntil(t *testing.T, what string, cond func(frames []wire, code int) bool) []wire {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		frames, code, _ := c.snapshot()
		if cond(frames, code) {
			return frames
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: timed out waiting for %s; frames: %s", c.id, what, dump(frames))
		}
	}
}

// waitFrame waits for the first frame of type typ (and ref, if given) and returns it.
func (c *fakeClient) waitFrame(t *testing.T, typ, ref string) wire {
	t.Helper()
	var found wire
	c.waitUntil(t, typ+" "+ref, func(fs []wire, _ int) bool {
		for _, f := range fs {
			if f.Type == typ && (ref == "" || f.Ref == ref) {
				found = f
				return true
			}
		}
		return false
	})
	return found
}

func (c *fakeClient) count(typ string) int {
	fs, _, _ := c.snapshot()
	n := 0
	for _, f := range fs {
		if f.Type == typ {
			n++
		}
	}
	return n
}

func dump(fs []wire) string {
	var b strings.Builder
	for _, f := range fs {
		b.Write(f.raw)
		b.WriteByte('\n')
	}
	return b.String()
}

type recordingResults struct {
	mu      sync.Mutex
	calls   int
	failFor int // the first failFor calls fail
	got     []services.GameFinished
	changed chan struct{}
}

func newResults(failFor int) *recordingResults {
	return &recordingResults{failFor: failFor, changed: make(chan struct{})}
}

func (r *recordingResults) GameFinished(_ context.Context, res services.GameFinished) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	close(r.changed)
	r.changed = make(chan struct{})
	if r.calls <= r.failFor {
		return errors.New("database unavailable")
	}
	r.got = append(r.got, res)
	return nil
}

func (r *recordingResults) waitCalls(t *testing.T, n int) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		calls, ch := r.calls, r.changed
		r.mu.Unlock()
		if calls >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %d result calls, got %d", n, calls)
		}
	}
}

type env struct {
	clk     *FakeClock
	m       *Manager
	results *recordingResults
	room    *Room
	host    *fakeClient
}

func newEnv(t *testing.T, q services.Quiz, results *recordingResults) *env {
	t.Helper()
	// Every room test runs with a game log: what they check holds with the log on.
	return newEnvWith(t, q, results, newMemJournal())
}

// newEnvWith is newEnv on the game log j.
func newEnvWith(t *testing.T, q services.Quiz, results *recordingResults, j *memJournal) *env {
	t.Helper()
	if results == nil {
		results = newResults(0)
	}
	clk := NewFakeClock(t0)
	m := NewManager(ManagerConfig{Clock: clk, Results: results, Journal: j})
	t.Cleanup(func() {
		j.release()
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("close manager: %v", err)
		}
	})
	r, err := m.Create(q, info("host"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clk: clk, m: m, results: results, room: r, host: newClient("host")}
	e.join(t, e.host, info("host"))
	return e
}

func (e *env) submit(t *testing.T, c Client, p PlayerInfo, typ, ref string, data any) {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if !e.room.Submit(Command{Type: typ, Ref: ref, Client: c, Player: p, Data: raw}) {
		t.Fatalf("submit %s refused", typ)
	}
}

func (e *env) join(t *testing.T, c *fakeClient, p PlayerInfo) State {
	t.Helper()
	e.submit(t, c, p, CmdJoin, "join", map[string]any{"code": strings.ToLower(e.room.Code())})
	f := c.waitFrame(t, FrameState, "join")
	var s State
	if err := json.Unmarshal(f.Data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) player(t *testing.T, id string) *fakeClient {
	t.Helper()
	c := newClient(id)
	e.join(t, c, info(id))
	return c
}

func errorCode(t *testing.T, f wire) string {
	t.Helper()
	var d ErrorData
	if err := json.Unmarshal(f.Data, &d); err != nil || d.Message == "" {
		t.Fatalf("error frame %s", f.raw)
	}
	return d.Code
}

func TestRoomJoinRepliesStateAndAnnouncesToOthers(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	p1 := newClient("p1")
	s := e.join(t, p1, info("p1"))
	if s.You.PlayerID != "p1" || s.Phase != PhaseLobby || s.ResumeToken == "" || s.Seq != 1 || s.Code != e.room.Code() {
		t.Fatalf("state = %+v", s)
	}
	f := e.host.waitFrame(t, EventPlayerJoined, "")
	if f.Seq != 1 || !strings.Contains(string(f.Data), `"id":"p1"`) {
		t.Fatalf("player_joined = %s", f.raw)
	}
	e.submit(t, p1, info("p1"), CmdPing, "ping", nil)
	p1.waitFrame(t, FrameAck, "ping")
	if p1.count(EventPlayerJoined) != 0 {
		t.Fatal("the joiner was sent its own player_joined")
	}
	if info := e.room.Info(); len(info.Players) != 1 || !info.Players[0].Connected || info.Title != "Quiz" {
		t.Fatalf("info = %+v", info)
	}
}

func TestRoomEncodesABroadcastOnceForAllClients(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	p1 := e.player(t, "p1")
	e.submit(t, e.host, info("host"), CmdChat, "c", map[string]string{"text": "<script>hi</script>"})
	a := e.host.waitFrame(t, EventChat, "")
	b := p1.waitFrame(t, EventChat, "")
	if &a.raw[0] != &b.raw[0] {
		t.Fatal("each client got its own encoding of the same broadcast")
	}
	if !strings.Contains(string(a.raw), `"text":"\u003cscript\u003ehi\u003c/script\u003e"`) || !strings.Contains(string(a.raw), `"from":{"id":"host"`) {
		t.Fatalf("chat frame = %s", a.raw)
	}
	if ack := e.host.waitFrame(t, FrameAck, "c"); string(ack.Data) != "{}" {
		t.Fatalf("chat ack = %s", ack.raw)
	}
}

func TestRoomRevealCarriesPersonalYouOnSharedData(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(1, 20, 0)), nil)
	p1, p2 := e.player(t, "p1"), e.player(t, "p2")
	e.submit(t, e.host, info("host"), CmdStart, "s", nil)
	p1.waitFrame(t, EventQuestion, "")
	e.submit(t, p1, info("p1"), CmdAnswer, "a1", map[string]any{"index": 0, "answer": 1})
	if ack := p1.waitFrame(t, FrameAck, "a1"); string(ack.Data) != `{"index":0,"accepted":true}` {
		t.Fatalf("ack = %s", ack.raw)
	}
	e.submit(t, e.host, info("host"), CmdReveal, "r", nil)
	hf := e.host.waitFrame(t, EventReveal, "")
	f1 := p1.waitFrame(t, EventReveal, "")
	f2 := p2.waitFrame(t, EventReveal, "")
	var host, d1, d2 map[string]json.RawMessage
	for _, x := range []struct {
		f wire
		m *map[string]json.RawMessage
	}{{hf, &host}, {f1, &d1}, {f2, &d2}} {
		if err := json.Unmarshal(x.f.Data, x.m); err != nil {
			t.Fatalf("%s: %v", x.f.raw, err)
		}
	}
	if _, ok := host["you"]; ok {
		t.Fatalf("host reveal has you: %s", hf.raw)
	}
	if string(d1["you"]) != `{"correct":true,"points":1000,"answered":true,"streak":1,"streakBonus":0}` || string(d2["you"]) != `{"correct":false,"points":0,"answered":false,"streak":0,"streakBonus":0}` {
		t.Fatalf("you: p1 %s p2 %s", d1["you"], d2["you"])
	}
	if !strings.HasPrefix(string(f1.raw), string(hf.raw[:len(hf.raw)-2])) || string(host["correctAnswer"]) != "1" {
		t.Fatalf("personal frame %s does not extend shared %s", f1.raw, hf.raw)
	}
}

func TestRoomDeadlineFiresOnTheInjectedClock(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	p1, _ := e.player(t, "p1"), e.player(t, "p2")
	e.submit(t, e.host, info("host"), CmdStart, "s", nil)
	p1.waitFrame(t, EventQuestion, "")
	e.clk.Advance(20*time.Second - time.Millisecond)
	e.submit(t, p1, info("p1"), CmdAnswer, "a", map[string]any{"index": 0, "answer": 0})
	p1.waitFrame(t, FrameAck, "a")
	if p1.count(EventReveal) != 0 {
		t.Fatal("revealed before the deadline")
	}
	e.clk.Advance(time.Millisecond)
	p1.waitFrame(t, EventReveal, "")
	if ph := e.room.Info().Phase; ph != PhaseReveal {
		t.Fatalf("info phase = %s", ph)
	}
}

func TestRoomDropsASlowConsumerWithoutStalling(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	p1 := e.player(t, "p1")
	slow := newClient("p2")
	slow.limit = 1 // room for the state frame only
	e.join(t, slow, info("p2"))
	e.submit(t, p1, info("p1"), CmdChat, "c", map[string]string{"text": "hello"})
	slow.waitUntil(t, "close", func(_ []wire, code int) bool { return code != 0 })
	if _, code, reason := slow.snapshot(); code != CloseTryAgainLater || reason != ReasonSlowConsumer {
		t.Fatalf("closed with %d %q", code, reason)
	}
	f := e.host.waitFrame(t, EventPlayerLeft, "")
	if !strings.Contains(string(f.Data), `"id":"p2"`) || !strings.Contains(string(f.Data), `"reason":"disconnected"`) {
		t.Fatalf("player_left = %s", f.raw)
	}
	e.submit(t, p1, info("p1"), CmdChat, "c2", map[string]string{"text": "still here"})
	p1.waitFrame(t, FrameAck, "c2")
	if fs, _, _ := slow.snapshot(); len(fs) != 1 {
		t.Fatalf("the dropped client got %d frames", len(fs))
	}
}

func TestRoomErrorsEchoTheRef(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	p1 := e.player(t, "p1")
	stranger := newClient("x")
	tests := []struct {
		name string
		c    *fakeClient
		typ  string
		data any
		code string
	}{
		{"non-host driving", p1, CmdNext, nil, services.EForbidden},
		{"answer in the lobby", p1, CmdAnswer, map[string]any{"index": 0, "answer": 0}, CodeNotOpen},
		{"answer without index", p1, CmdAnswer, map[string]any{"answer": 0}, services.EInvalid},
		{"malformed data", p1, CmdChat, []int{1}, services.EInvalid},
		{"unknown type", p1, "dance", nil, services.EInvalid},
		{"empty chat", p1, CmdChat, map[string]string{"text": " "}, services.EInvalid},
		{"command before join", stranger, CmdChat, map[string]string{"text": "hi"}, CodeNotJoined},
		{"join with a wrong code", stranger, CmdJoin, map[string]string{"code": "ZZZZZZ"}, services.ENotFound},
		{"resume with a bogus token", stranger, CmdJoin, map[string]string{"code": e.room.Code(), "resume": "bogus"}, CodeResumeExpired},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := fmt.Sprintf("r%d", i)
			e.submit(t, tt.c, info(tt.c.id), tt.typ, ref, tt.data)
			if got := errorCode(t, tt.c.waitFrame(t, FrameError, ref)); got != tt.code {
				t.Fatalf("code = %s, want %s", got, tt.code)
			}
		})
	}
}

func TestRoomNewerJoinReplacesTheOlderClient(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	old := e.player(t, "p1")
	fresh := newClient("p1")
	e.join(t, fresh, info("p1"))
	old.waitUntil(t, "replaced", func(_ []wire, code int) bool { return code == CloseReplaced })
	// The replaced socket closing must not mark the player disconnected.
	e.submit(t, old, info("p1"), CmdDisconnect, "", nil)
	e.submit(t, e.host, info("host"), CmdChat, "c", map[string]string{"text": "hi"})
	fresh.waitFrame(t, EventChat, "")
	e.host.waitFrame(t, FrameAck, "c")
	if e.host.count(EventPlayerLeft) != 0 || old.count(EventChat) != 0 {
		t.Fatal("the replaced client still counted")
	}
	if p := e.room.Info().Players; len(p) != 1 || !p[0].Connected {
		t.Fatalf("players = %+v", p)
	}
	e.submit(t, fresh, info("p1"), CmdDisconnect, "", nil)
	e.host.waitFrame(t, EventPlayerLeft, "")
}

func TestRoomResumeRestoresIdentityAndReplaysMissedEvents(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	p1 := newClient("p1")
	s := e.join(t, p1, info("p1"))
	e.submit(t, p1, info("p1"), CmdDisconnect, "", nil)
	e.host.waitFrame(t, EventPlayerLeft, "")
	for i := range 3 {
		e.submit(t, e.host, info("host"), CmdChat, fmt.Sprint("c", i), map[string]string{"text": fmt.Sprint("missed ", i)})
		e.host.waitFrame(t, FrameAck, fmt.Sprint("c", i))
	}
	back := newClient("someone-else")
	e.submit(t, back, info("someone-else"), CmdJoin, "j", map[string]any{"code": e.room.Code(), "resume": s.ResumeToken, "lastSeq": s.Seq})
	frames := back.waitUntil(t, "state and replay", func(fs []wire, _ int) bool { return len(fs) >= 6 })
	var st State
	if err := json.Unmarshal(frames[0].Data, &st); err != nil || frames[0].Type != FrameState || frames[0].Ref != "j" || st.You.PlayerID != "p1" {
		t.Fatalf("first frame = %s", frames[0].raw)
	}
	want := []string{EventPlayerLeft, EventChat, EventChat, EventChat, EventPlayerJoined}
	for i, typ := range want {
		f := frames[1+i]
		if f.Type != typ || f.Seq != s.Seq+1+int64(i) {
			t.Fatalf("replay %d = %s, want %s seq %d", i, f.raw, typ, s.Seq+1+int64(i))
		}
	}
	// Acting as p1 now: its chat comes from p1.
	e.submit(t, back, info("someone-else"), CmdChat, "c", map[string]string{"text": "back"})
	e.host.waitUntil(t, "chat from p1", func(fs []wire, _ int) bool {
		return strings.Contains(string(fs[len(fs)-1].raw), `"from":{"id":"p1"`)
	})

	// After the resume window, the newest token is refused.
	e.submit(t, back, info("someone-else"), CmdDisconnect, "", nil)
	e.host.waitUntil(t, "second player_left", func([]wire, int) bool { return e.host.count(EventPlayerLeft) == 2 })
	e.clk.Advance(ResumeWindow)
	late := newClient("p1")
	e.submit(t, late, info("p1"), CmdJoin, "j", map[string]any{"code": e.room.Code(), "resume": st.ResumeToken})
	if got := errorCode(t, late.waitFrame(t, FrameError, "j")); got != CodeResumeExpired {
		t.Fatalf("late resume: %s", got)
	}
}

func TestRoomLiveConcurrentCorrectAnswersHaveExactlyOneWinner(t *testing.T) {
	e := newEnv(t, quiz(services.ModeLive, choice(2, 20, 0)), nil)
	const n = 40
	clients := make([]*fakeClient, n)
	for i := range clients {
		clients[i] = e.player(t, pid(i))
	}
	e.submit(t, e.host, info("host"), CmdStart, "s", nil)
	for _, c := range clients {
		c.waitFrame(t, EventQuestion, "")
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			<-start
			e.submit(t, c, info(pid(i)), CmdAnswer, "a", map[string]any{"index": 0, "answer": 2})
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	winner := ""
	for _, c := range clients {
		var reply wire
		c.waitUntil(t, "answer reply", func(fs []wire, _ int) bool {
			for _, f := range fs {
				if f.Ref == "a" {
					reply = f
					return true
				}
			}
			return false
		})
		switch reply.Type {
		case FrameAck:
			if string(reply.Data) != `{"index":0,"accepted":true,"correct":true}` {
				t.Fatalf("ack = %s", reply.raw)
			}
			winners++
			winner = c.id
		case FrameError:
			if code := errorCode(t, reply); code != CodeNotOpen {
				t.Fatalf("loser got %s", code)
			}
		}
	}
	if winners != 1 {
		t.Fatalf("%d winners", winners)
	}
	bz := e.host.waitFrame(t, EventBuzz, "")
	sb := e.host.waitFrame(t, EventScoreboard, "")
	if e.host.count(EventBuzz) != 1 || !strings.Contains(string(bz.Data), `"winner":{"id":"`+winner+`"`) {
		t.Fatalf("buzz = %s, winner %s", bz.raw, winner)
	}
	var d StandingsData
	if err := json.Unmarshal(sb.Data, &d); err != nil {
		t.Fatal(err)
	}
	for i, en := range d.Entries {
		if (i == 0) != (en.Score > 0) || (i == 0 && en.PlayerID != winner) {
			t.Fatalf("scoreboard = %s", sb.raw)
		}
	}
}

func TestRoomRecordsResultExactlyOnceRetryingWithBackoff(t *testing.T) {
	res := newResults(2)
	j := newMemJournal()
	e := newEnvWith(t, quiz(services.ModeCasual, choice(0, 20, 0)), res, j)
	p1 := e.player(t, "p1")
	e.submit(t, e.host, info("host"), CmdStart, "s", nil)
	p1.waitFrame(t, EventQuestion, "")
	e.submit(t, p1, info("p1"), CmdAnswer, "a", map[string]any{"index": 0, "answer": 0})
	e.host.waitFrame(t, EventReveal, "")
	e.submit(t, e.host, info("host"), CmdEnd, "end", nil)
	e.host.waitFrame(t, EventFinished, "")
	if e.m.Active() != 0 {
		t.Fatal("a finished room still counts as active")
	}
	for calls := 1; calls <= 3; calls++ {
		res.waitCalls(t, calls)
		if calls < 3 {
			if !e.clk.WaitForTimer(e.clk.Now().Add(DefaultRetryMax), waitLimit) {
				t.Fatal("no retry armed")
			}
			e.clk.Advance((DefaultRetryMin << (calls - 1)) * 6 / 5) // the nominal wait and its jitter
		}
	}
	// Nothing more happens: no further retry, and ending again is refused.
	e.submit(t, e.host, info("host"), CmdEnd, "end2", nil)
	if got := errorCode(t, e.host.waitFrame(t, FrameError, "end2")); got != CodeFinished {
		t.Fatalf("second end: %s", got)
	}
	e.clk.Advance(time.Minute)
	res.mu.Lock()
	calls, got := res.calls, res.got
	res.mu.Unlock()
	if calls != 3 || len(got) != 1 {
		t.Fatalf("%d calls, %d recorded", calls, len(got))
	}
	if r := got[0]; r.GameID != e.room.ID() || r.QuizID != "quiz1" || len(r.Entries) != 1 || r.Entries[0].Score != 1000 || r.FinishedAt != t0 {
		t.Fatalf("result = %+v", r)
	}

	// The writer closes the game log after the result is recorded; until then a lookup of a
	// removed room would rightly read it back from the log.
	testwait.Until(t, "game log closed", func() bool {
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.closed[e.room.Code()]
	})

	// The finished room lingers for late readers, then goes.
	late := newClient("late")
	s := e.join(t, late, info("late"))
	if s.Phase != PhaseFinished || len(s.Entries) != 1 {
		t.Fatalf("late state = %+v", s)
	}
	e.clk.Advance(DefaultLinger)
	e.host.waitUntil(t, "removal close", func(_ []wire, code int) bool { return code == CloseNormal })
	if _, ok := e.m.Lookup(e.room.Code()); ok {
		t.Fatal("the room outlived its linger")
	}
}

func TestRoomSubmitRefusesWhenInboxIsFull(t *testing.T) {
	g := NewGame(GameConfig{ID: "g", Code: "ABCDEF", HostID: "host", Quiz: quiz(services.ModeCasual, choice(0, 20, 0)), Now: t0})
	r := newRoom(roomConfig{game: g, clock: NewFakeClock(t0), inboxSize: 2})
	c := newClient("p")
	for i := range 2 {
		if !r.Submit(Command{Type: CmdPing, Client: c}) {
			t.Fatalf("submit %d refused", i)
		}
	}
	if r.Submit(Command{Type: CmdPing, Client: c}) {
		t.Fatal("a full inbox accepted a command")
	}
}

func TestRoomLeaveUnsubscribes(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	p1 := e.player(t, "p1")
	e.submit(t, p1, info("p1"), CmdLeave, "l", nil)
	p1.waitFrame(t, FrameAck, "l")
	f := e.host.waitFrame(t, EventPlayerLeft, "")
	if !strings.Contains(string(f.Data), `"reason":"left"`) {
		t.Fatalf("player_left = %s", f.raw)
	}
	e.submit(t, e.host, info("host"), CmdChat, "c", map[string]string{"text": "bye"})
	e.host.waitFrame(t, FrameAck, "c")
	if p1.count(EventChat) != 0 {
		t.Fatal("a leaver still receives events")
	}
}

func TestRoomHostDisconnectPausesForPlayers(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	p1 := e.player(t, "p1")
	e.submit(t, e.host, info("host"), CmdStart, "s", nil)
	p1.waitFrame(t, EventQuestion, "")
	e.submit(t, e.host, info("host"), CmdDisconnect, "", nil)
	p1.waitFrame(t, EventPaused, "")
	e.clk.Advance(time.Minute) // the deadline passes while paused: no reveal
	host2 := newClient("host")
	e.join(t, host2, info("host"))
	f := p1.waitFrame(t, EventResumed, "")
	if want := fmt.Sprintf(`{"deadline":%d}`, t0.Add(80*time.Second).UnixMilli()); string(f.Data) != want {
		t.Fatalf("resumed = %s, want %s", f.Data, want)
	}
	if p1.count(EventReveal) != 0 {
		t.Fatal("revealed while paused")
	}
	e.clk.Advance(20 * time.Second)
	p1.waitFrame(t, EventReveal, "")
}

func TestRoomInfoIsSafeFromOtherGoroutines(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if info, ok := e.m.Info(e.room.Code()); ok {
					_ = len(info.Players)
				}
			}
		})
	}
	for i := range 10 {
		e.player(t, pid(i))
	}
	stop.Store(true)
	wg.Wait()
	if info, _ := e.m.Info(strings.ToLower(e.room.Code())); len(info.Players) != 10 || info.Phase != PhaseLobby {
		t.Fatalf("info = %+v", info)
	}
}

func TestRoomDropsAClientWhoseReplyCannotBeQueued(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	full := newClient("p1")
	full.limit = 1
	e.join(t, full, info("p1"))
	e.submit(t, full, info("p1"), CmdChat, "c", map[string]string{"text": "hi"})
	full.waitUntil(t, "close", func(_ []wire, code int) bool { return code == CloseTryAgainLater })
	e.host.waitFrame(t, EventChat, "")
	e.host.waitFrame(t, EventPlayerLeft, "")

	stranger := newClient("x")
	stranger.limit = -1 // never accepts a frame
	e.submit(t, stranger, info("x"), CmdChat, "c", map[string]string{"text": "hi"})
	stranger.waitUntil(t, "close", func(_ []wire, code int) bool { return code == CloseTryAgainLater })
}

func TestRoomLeaveAfterFinishJustUnsubscribes(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(0, 20, 0)), nil)
	p1 := e.player(t, "p1")
	e.submit(t, e.host, info("host"), CmdEnd, "end", nil)
	p1.waitFrame(t, EventFinished, "")
	e.submit(t, p1, info("p1"), CmdLeave, "l", nil)
	p1.waitFrame(t, FrameAck, "l")
}

func TestRoomSendsAnswerProgressToTheHostOnly(t *testing.T) {
	e := newEnv(t, quiz(services.ModeCasual, choice(1, 20, 0)), nil)
	p1, p2 := e.player(t, "p1"), e.player(t, "p2")
	e.submit(t, e.host, info("host"), CmdStart, "s", nil)
	p1.waitFrame(t, EventQuestion, "")
	e.submit(t, p1, info("p1"), CmdAnswer, "a1", map[string]any{"index": 0, "answer": 1})
	p1.waitFrame(t, FrameAck, "a1")
	if f := e.host.waitFrame(t, EventProgress, ""); !strings.Contains(string(f.Data), `"answered":1`) {
		t.Fatalf("host progress %s", f.raw)
	}
	e.submit(t, p2, info("p2"), CmdAnswer, "a2", map[string]any{"index": 0, "answer": 0})
	p2.waitFrame(t, EventReveal, "") // everyone answered: revealed, after any progress
	if n1, n2 := p1.count(EventProgress), p2.count(EventProgress); n1 != 0 || n2 != 0 {
		t.Fatalf("players got %d and %d progress frames, want none", n1, n2)
	}
}
