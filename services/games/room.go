package games

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Command types a Room accepts from the gateway.
const (
	CmdJoin       = "join"
	CmdStart      = "start"
	CmdNext       = "next"
	CmdReveal     = "reveal"
	CmdScoreboard = "scoreboard"
	CmdEnd        = "end"
	CmdAnswer     = "answer"
	CmdChat       = "chat"
	CmdLeave      = "leave"
	CmdPing       = "ping"
	CmdDisconnect = "disconnect"
	CmdOptions    = "options"
	CmdTeam       = "team"
	// Commands only the server submits (the gateway refuses them from a socket): a moderator's
	// deletion of a chat message, and the lookup of one for a report. Their Client is the
	// caller's and needs no subscription; the answer is one FrameChatMessage, ack or error.
	CmdDeleteChat  = "delete_chat"
	CmdChatMessage = "chat_message"
)

// Frame types a Room sends besides the game events.
const (
	FrameState = "state"
	FrameAck   = "ack"
	FrameError = "error"
	// FrameChatMessage answers CmdChatMessage with a ChatLookup.
	FrameChatMessage = "chat_message"
)

// ChatLookup answers CmdChatMessage {id}: the kept message, if any, and whether the asking
// player (Command.Player) took part in the game.
type ChatLookup struct {
	Found       bool     `json:"found"`
	Participant bool     `json:"participant"`
	Message     ChatData `json:"message"`
	GameID      string   `json:"gameId"`
}

// WebSocket close codes and reasons a Room uses.
const (
	CloseNormal         = 1000 // the finished game was removed
	CloseGoingAway      = 1001 // the server is shutting down
	CloseTryAgainLater  = 1013 // a slow consumer was dropped
	CloseReplaced       = 4001 // a newer connection of the same player took over
	CloseInternal       = 1011 // the game's log failed: reconnect to have it restored
	CloseServiceRestart = 1012 // another node runs the game now: reconnect
	ReasonSlowConsumer  = "slow consumer"
	ReasonReplaced      = "replaced"
	ReasonShuttingDown  = "server shutting down"
	ReasonGameRemoved   = "game over"
	ReasonLogFailed     = "game log unavailable; reconnect"
	ReasonMoved         = "game moved to another server"
)

// Client is one WebSocket connection as the gateway exposes it. Every method must be safe to
// call from the room goroutine and must not block: the room never waits for a connection.
type Client interface {
	PlayerID() string
	// Send queues a frame; false means the queue is full. The room shares one []byte between
	// all recipients of a broadcast: it must not be modified.
	Send(frame []byte) bool
	// Close closes the socket with a WebSocket close code.
	Close(code int, reason string)
}

// Command is one frame from a client, or a disconnect notice from the gateway.
type Command struct {
	Type   string
	Ref    string // echoed in ack/error
	Client Client
	Player PlayerInfo // identity from the auth token, never from Data
	Data   json.RawMessage
}

// Frame is the wire envelope of every WebSocket message.
type Frame struct {
	Type string `json:"type"`
	Ref  string `json:"ref,omitempty"`
	Seq  int64  `json:"seq,omitempty"`
	Data any    `json:"data"`
}

// ErrorData is the data of an error frame.
type ErrorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// EncodeFrame marshals a frame; a nil Data becomes {}.
func EncodeFrame(f Frame) []byte {
	if f.Data == nil {
		f.Data = struct{}{}
	}
	b, err := json.Marshal(f)
	if err != nil {
		// Only the engine's own payload types are encoded here; failing is a programming error.
		panic("games: encode frame: " + err.Error())
	}
	return b
}

// ErrorFrame is the error frame answering ref with err's domain code and message.
func ErrorFrame(ref string, err error) []byte {
	return EncodeFrame(Frame{Type: FrameError, Ref: ref, Data: ErrorData{Code: services.ErrorCode(err), Message: services.ErrorMessage(err)}})
}

// encodeShared encodes the part of ev every recipient gets.
func encodeShared(ev Event) []byte {
	return EncodeFrame(Frame{Type: ev.Type, Seq: ev.Seq, Data: ev.Data})
}

// withYou adds "you" to the data object of an encoded event: shared ends with "}}" (end of data,
// end of frame) because Data is the frame's last field.
func withYou(shared []byte, you any) []byte {
	yb, err := json.Marshal(you)
	if err != nil {
		panic("games: encode you: " + err.Error())
	}
	n := len(shared)
	out := make([]byte, 0, n+len(yb)+8)
	out = append(out, shared[:n-2]...)
	if shared[n-3] != '{' {
		out = append(out, ',')
	}
	out = append(out, `"you":`...)
	out = append(out, yb...)
	return append(out, '}', '}')
}

// encodeFor is the frame of ev as playerID receives it.
func encodeFor(ev Event, shared []byte, playerID string) []byte {
	if you, ok := ev.You[playerID]; ok {
		return withYou(shared, you)
	}
	return shared
}

// Room owns one Game in one goroutine. Every command, timer tick and fan-out happens there, so
// the game needs no locks and a slow client can never stall it.
type Room struct {
	id, code string
	host     string // the hosting account
	clock    Clock
	log      *slog.Logger
	inbox    mailbox
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	stopCode int
	stopWhy  string
	done     chan struct{}
	info     atomic.Pointer[GameInfo]
	finished atomic.Bool
	onFinish func(*Room, services.GameFinished)
	onFail   func(*Room) // the log refused a batch: the room stopped
	link     Link        // set when the game runs on another node: Submit forwards
	broken   error       // set when the game's log could not be read back: Submit says so
	journal  Journal     // nil: the game lives in memory only
	appended chan appendResult

	// Owned by the room goroutine.
	game      *Game
	subs      map[Client]string // subscribed client → the game identity it acts as
	attached  map[string]Client // game identity → its one attached client
	timer     Timer
	timerAt   time.Time
	infoSeq   int64
	reported  bool
	committed commitKey
	logPos    uint64 // position of the last durable batch
	sinceSnap int    // entries logged since the last snapshot
	restore   bool   // log a restore entry first: the game was read back from its log
	pend      batch  // what happened since the last batch left, held until it is durable
	flight    *batch // the batch being appended
	failed    bool
}

// batch is the engine calls of one turn of the room (or more, while the previous batch is
// being appended) with the frames they produced. The frames leave only once the calls are
// durable in the log: an ack is a promise that the answer counts whatever happens next.
type batch struct {
	entries  []byte // newline-separated entries
	n        int
	outs     []out
	snapshot []byte // compaction point: the game after this batch, written once it is durable
	finished bool   // the game finished in this batch: report it once durable
}

// out is one frame for one client. The recipients of a broadcast are resolved when the event
// happens, so a client joining later never receives an event its state frame already holds.
type out struct {
	c     Client
	frame []byte
}

type appendResult struct {
	pos uint64
	err error
}

// brokenRoom stands for a game whose log cannot be replayed: every command is answered with an
// error that says so, and nothing else runs.
func brokenRoom(code string, cause error) *Room {
	r := &Room{code: code, stop: make(chan struct{}), done: make(chan struct{}),
		broken: services.Errorf(CodeGameFailed, "this game could not be restored after a server restart and cannot go on (%v)", cause)}
	info := GameInfo{Code: code, Phase: PhaseFailed}
	r.info.Store(&info)
	r.finished.Store(true)
	close(r.done)
	return r
}

// snapshotEvery bounds the entries replayed at a restore between phase changes (answers).
const snapshotEvery = 2000

type roomConfig struct {
	game      *Game
	clock     Clock
	log       *slog.Logger
	inboxSize int
	onFinish  func(*Room, services.GameFinished)
	onFail    func(*Room)
	journal   Journal
	logPos    uint64 // the log's last position (a new game: its create entry)
	restore   bool   // the game was read back from its log
}

func newRoom(cfg roomConfig) *Room {
	r := &Room{
		id: cfg.game.ID(), code: cfg.game.Code(), host: cfg.game.HostID(), clock: cfg.clock, log: cfg.log,
		inbox: mailbox{max: cfg.inboxSize, ready: make(chan struct{}, 1)}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), onFinish: cfg.onFinish, onFail: cfg.onFail,
		journal: cfg.journal, appended: make(chan appendResult, 1), logPos: cfg.logPos, restore: cfg.restore,
		game: cfg.game, subs: map[Client]string{}, attached: map[string]Client{},
	}
	if cfg.journal != nil {
		// The log so far is the compaction point of this state, written or replayed.
		r.committed = r.game.commitKey()
	}
	info := r.game.Info()
	r.info.Store(&info)
	return r
}

// ID returns the game ID.
func (r *Room) ID() string { return r.id }

// Code returns the join code.
func (r *Room) Code() string { return r.code }

// Info returns the latest published summary; safe from any goroutine.
func (r *Room) Info() GameInfo { return *r.info.Load() }

// Finished reports whether the game is over; safe from any goroutine.
func (r *Room) Finished() bool { return r.finished.Load() }

// Done is closed when the room goroutine has stopped.
func (r *Room) Done() <-chan struct{} { return r.done }

// Submit queues a command without blocking. False means the inbox is full or the room stopped:
// answer the client with error code "busy".
func (r *Room) Submit(cmd Command) bool {
	if r.link != nil {
		return r.link.Forward(cmd)
	}
	if r.broken != nil {
		if cmd.Client != nil && cmd.Type != CmdDisconnect {
			cmd.Client.Send(ErrorFrame(cmd.Ref, r.broken))
		}
		return true
	}
	select {
	case <-r.stop:
		return false
	default:
	}
	return r.inbox.push(cmd)
}

// shutdown asks the room goroutine to close every subscribed client with code and stop.
func (r *Room) shutdown(code int, reason string) {
	r.stopOnce.Do(func() {
		r.stopCode, r.stopWhy = code, reason
		close(r.stop)
	})
}

func (r *Room) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Room) run() {
	defer close(r.done)
	if r.restore {
		// Logged first, so that a writer that still thinks it owns the game is fenced out.
		r.deliver(nil, nil, r.exec(entry{Op: opRestore}).events, nil)
	}
	r.afterChange()
	r.flush()
	for !r.failed {
		select {
		case <-r.stop:
			r.closeAll()
			return
		case <-r.inbox.ready:
			for _, cmd := range r.inbox.take() {
				r.handle(cmd)
			}
		case <-r.wake:
			// The armed timer is spent: forget it so afterChange arms the next one even if the
			// wake time did not change (a timer may fire a hair early on a real clock).
			r.timer, r.timerAt = nil, time.Time{}
			r.deliver(nil, nil, r.exec(entry{Op: opTick}).events, nil)
		case res := <-r.appended:
			r.appendDone(res)
		}
		r.flush()
	}
	r.closeAll()
}

// exec runs one engine call at the room's clock and logs it when it succeeded.
func (r *Room) exec(e entry) appliedCall {
	res, _ := r.execErr(e)
	return res
}

func (r *Room) execErr(e entry) (appliedCall, error) {
	e.At = wall(r.clock.Now()).UnixNano()
	res, err := r.game.apply(e)
	if err == nil && r.journal != nil {
		b, merr := json.Marshal(e)
		if merr != nil {
			// Only the engine's own types are encoded; failing is a programming error.
			panic("games: encode log entry: " + merr.Error())
		}
		r.pend.entries = append(append(r.pend.entries, b...), '\n')
		r.pend.n++
	}
	return res, err
}

// flush lets out what is held: at once when nothing needs the log, else as the next batch once
// the one in flight is durable.
func (r *Room) flush() {
	for !r.failed && r.flight == nil && (len(r.pend.outs) > 0 || r.pend.n > 0 || r.pend.finished) {
		b := r.pend
		r.pend = batch{}
		if b.n == 0 {
			r.complete(&b)
			continue
		}
		r.sinceSnap += b.n
		if k := r.game.commitKey(); k != r.committed || r.sinceSnap >= snapshotEvery {
			if snap, err := r.game.MarshalSnapshot(); err == nil {
				b.snapshot, r.committed, r.sinceSnap = snap, k, 0
			} else {
				r.log.Error("game snapshot", "err", err)
			}
		}
		r.flight = &b
		r.journal.Append(r.code, r.logPos, b.entries, func(pos uint64, err error) {
			r.appended <- appendResult{pos, err}
		})
	}
}

func (r *Room) appendDone(res appendResult) {
	b := r.flight
	r.flight = nil
	if res.err != nil {
		r.failed = true
		code, why := CloseInternal, ReasonLogFailed
		if errors.Is(res.err, ErrFenced) {
			code, why = CloseServiceRestart, ReasonMoved
			r.log.Warn("game log fenced: another node owns the game", "err", res.err)
		} else {
			r.log.Error("game log append failed: the game stops here until it is restored", "err", res.err)
		}
		r.stopCode, r.stopWhy = code, why
		if r.onFail != nil {
			r.onFail(r)
		}
		return
	}
	r.logPos = res.pos
	if b.snapshot != nil {
		r.journal.Snapshot(r.code, res.pos, b.snapshot)
	}
	r.complete(b)
}

// complete sends a durable batch's frames and reports a game it finished. Clients whose queue
// is full are dropped as disconnected; the events that causes go into the next batch.
func (r *Room) complete(b *batch) {
	var full map[Client]bool
	for _, o := range b.outs {
		if full[o.c] {
			continue
		}
		if o.c.Send(o.frame) {
			continue
		}
		if full == nil {
			full = map[Client]bool{}
		}
		full[o.c] = true
		o.c.Close(CloseTryAgainLater, ReasonSlowConsumer)
		id, sub := r.subs[o.c]
		if !sub {
			continue
		}
		delete(r.subs, o.c)
		if r.attached[id] == o.c {
			delete(r.attached, id)
			r.deliver(nil, nil, r.exec(entry{Op: opDisconnect, By: id}).events, nil)
		}
	}
	if b.finished && r.onFinish != nil {
		r.onFinish(r, r.game.Result())
	}
}

func (r *Room) closeAll() {
	if r.timer != nil {
		r.timer.Stop()
	}
	for c := range r.subs {
		c.Close(r.stopCode, r.stopWhy)
	}
	clear(r.subs)
	clear(r.attached)
}

// afterChange re-arms the timer for the game's next wake, republishes the info snapshot and
// reports a finished game. It runs before frames go out so that whoever sees a frame can rely on
// the timer behind it being armed.
func (r *Room) afterChange() {
	if at, ok := r.game.NextWake(); ok {
		if r.timer == nil || !at.Equal(r.timerAt) {
			if r.timer != nil {
				r.timer.Stop()
			}
			r.timer, r.timerAt = r.clock.AfterFunc(max(at.Sub(r.clock.Now()), 0), r.poke), at
		}
	} else if r.timer != nil {
		r.timer.Stop()
		r.timer, r.timerAt = nil, time.Time{}
	}
	if s := r.game.Seq(); s != r.infoSeq {
		info := r.game.Info()
		r.info.Store(&info)
		r.infoSeq = s
	}
	if r.game.Finished() && !r.reported {
		r.reported = true
		r.finished.Store(true)
		r.pend.finished = true
	}
}

// deliver queues replies to c, then the events for every subscriber but skip; flush sends them.
func (r *Room) deliver(c Client, replies [][]byte, evs []Event, skip Client) {
	r.afterChange()
	for _, f := range replies {
		r.pend.outs = append(r.pend.outs, out{c, f})
	}
	for _, ev := range evs {
		r.broadcast(ev, skip)
	}
}

func (r *Room) broadcast(ev Event, skip Client) {
	shared := encodeShared(ev)
	host := r.game.HostID()
	for c, id := range r.subs {
		if c == skip || ev.HostOnly && id != host {
			continue
		}
		r.pend.outs = append(r.pend.outs, out{c, encodeFor(ev, shared, id)})
	}
}

func (r *Room) replyErr(cmd Command, err error) {
	r.deliver(cmd.Client, [][]byte{ErrorFrame(cmd.Ref, err)}, nil, nil)
}

func decodeData(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return errf(services.EInvalid, "malformed data: %v", err)
	}
	return nil
}

func (r *Room) handle(cmd Command) {
	if cmd.Client == nil {
		return
	}
	now := r.clock.Now()
	switch cmd.Type {
	case CmdJoin:
		r.handleJoin(now, cmd)
		return
	case CmdDisconnect:
		r.handleDisconnect(now, cmd.Client)
		return
	case CmdPing:
		r.deliver(cmd.Client, [][]byte{EncodeFrame(Frame{Type: FrameAck, Ref: cmd.Ref})}, nil, nil)
		return
	case CmdChatMessage, CmdDeleteChat:
		r.handleChatModeration(cmd)
		return
	}
	id, ok := r.subs[cmd.Client]
	if !ok {
		if r.game.Finished() {
			r.replyErr(cmd, errf(CodeFinished, "the game is over"))
		} else {
			r.replyErr(cmd, errf(CodeNotJoined, "join the game first"))
		}
		return
	}
	var (
		e   = entry{By: id}
		ack any
		err error
	)
	switch cmd.Type {
	case CmdStart:
		e.Op = opStart
	case CmdNext:
		e.Op = opNext
	case CmdReveal:
		e.Op = opReveal
	case CmdScoreboard:
		e.Op = opScoreboard
	case CmdEnd:
		e.Op = opEnd
	case CmdAnswer:
		var d struct {
			Index  *int            `json:"index"`
			Answer services.Answer `json:"answer"`
		}
		if err = decodeData(cmd.Data, &d); err == nil && d.Index == nil {
			err = errf(services.EInvalid, "index is required")
		}
		if err == nil {
			e.Op, e.Index, e.Answer = opAnswer, *d.Index, d.Answer
		}
	case CmdOptions:
		e.Options, err = r.game.patchOptions(cmd.Data)
		e.Op = opOptions
	case CmdTeam:
		var d struct {
			Team *int `json:"team"`
		}
		if err = decodeData(cmd.Data, &d); err == nil && d.Team == nil {
			err = errf(services.EInvalid, "team is required")
		}
		if err == nil {
			e.Op, e.Index = opTeam, *d.Team
		}
	case CmdChat:
		var d struct {
			Text string `json:"text"`
		}
		if err = decodeData(cmd.Data, &d); err == nil {
			e.Op, e.Text = opChat, d.Text
		}
	case CmdLeave:
		delete(r.subs, cmd.Client)
		if r.attached[id] == cmd.Client {
			delete(r.attached, id)
		}
		if r.game.Finished() {
			// Leaving a finished game just unsubscribes.
			r.deliver(cmd.Client, [][]byte{EncodeFrame(Frame{Type: FrameAck, Ref: cmd.Ref})}, nil, nil)
			return
		}
		e.Op = opLeave
	default:
		err = errf(services.EInvalid, "unknown message type %q", cmd.Type)
	}
	var res appliedCall
	if err == nil {
		res, err = r.execErr(e)
		if e.Op == opAnswer {
			ack = res.ack
		}
	}
	if err != nil {
		r.replyErr(cmd, err)
		return
	}
	r.deliver(cmd.Client, [][]byte{EncodeFrame(Frame{Type: FrameAck, Ref: cmd.Ref, Data: ack})}, res.events, nil)
}

func (r *Room) handleDisconnect(now time.Time, c Client) {
	id, ok := r.subs[c]
	if !ok {
		return
	}
	delete(r.subs, c)
	if r.attached[id] != c {
		return
	}
	delete(r.attached, id)
	r.deliver(nil, nil, r.exec(entry{Op: opDisconnect, By: id}).events, nil)
}

func (r *Room) handleJoin(now time.Time, cmd Command) {
	var d struct {
		Code    string `json:"code"`
		Resume  string `json:"resume"`
		LastSeq *int64 `json:"lastSeq"`
	}
	if err := decodeData(cmd.Data, &d); err != nil {
		r.replyErr(cmd, err)
		return
	}
	if !strings.EqualFold(strings.TrimSpace(d.Code), r.code) {
		r.replyErr(cmd, errf(services.ENotFound, "no game with code %q here", d.Code))
		return
	}
	g := r.game
	if g.Finished() {
		// Late readers still get the final standings.
		r.deliver(cmd.Client, [][]byte{EncodeFrame(Frame{Type: FrameState, Ref: cmd.Ref, Data: g.Snapshot(cmd.Player.ID)})}, nil, nil)
		return
	}
	player := cmd.Player
	e := entry{Op: opJoin, Player: &player}
	if d.Resume != "" {
		e = entry{Op: opResume, Token: d.Resume}
	}
	res, err := r.execErr(e)
	if err != nil {
		r.replyErr(cmd, err)
		return
	}
	identity, evs := res.identity, res.events
	// The same socket joining as someone else gives up its previous identity.
	if old, ok := r.subs[cmd.Client]; ok && old != identity {
		delete(r.subs, cmd.Client)
		if r.attached[old] == cmd.Client {
			delete(r.attached, old)
			evs = append(evs, r.exec(entry{Op: opDisconnect, By: old}).events...)
		}
	}
	if prev, ok := r.attached[identity]; ok && prev != cmd.Client {
		delete(r.subs, prev)
		prev.Close(CloseReplaced, ReasonReplaced)
	}
	r.subs[cmd.Client] = identity
	r.attached[identity] = cmd.Client
	replies := [][]byte{EncodeFrame(Frame{Type: FrameState, Ref: cmd.Ref, Data: g.Snapshot(identity)})}
	if d.LastSeq != nil {
		if missed, ok := g.EventsSince(*d.LastSeq); ok {
			for _, ev := range missed {
				if !ev.HostOnly || identity == g.HostID() {
					replies = append(replies, encodeFor(ev, encodeShared(ev), identity))
				}
			}
		}
	}
	// The joiner's state already reflects its own join.
	r.deliver(cmd.Client, replies, evs, cmd.Client)
}

// mailbox is the room's bounded inbox. Unlike a buffered channel of the same bound it holds
// memory only for what is queued: thousands of quiet rooms cost nothing, a busy one grows to
// its bound and is then refused (the caller answers "busy").
type mailbox struct {
	mu    sync.Mutex
	q     []Command
	spare []Command
	max   int
	ready chan struct{} // signalled when q goes from empty to non-empty
}

func (m *mailbox) push(cmd Command) bool {
	m.mu.Lock()
	if len(m.q) >= m.max {
		m.mu.Unlock()
		return false
	}
	m.q = append(m.q, cmd)
	first := len(m.q) == 1
	m.mu.Unlock()
	if first {
		select {
		case m.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// take returns everything queued. The slice stays valid until the next take.
func (m *mailbox) take() []Command {
	m.mu.Lock()
	defer m.mu.Unlock()
	batch := m.q
	m.q = m.spare[:0]
	clear(m.spare[:cap(m.spare)])
	if cap(batch) > 1024 {
		// A burst grew the queue: let it go rather than keep it for a quiet room.
		m.spare = nil
	} else {
		m.spare = batch
	}
	return batch
}

// handleChatModeration serves the server's own chat commands: a lookup answers at once, a
// deletion is logged and leaves, with its chat_deleted event, once durable.
func (r *Room) handleChatModeration(cmd Command) {
	var d struct {
		ID string `json:"id"`
	}
	if err := decodeData(cmd.Data, &d); err != nil || d.ID == "" {
		r.replyErr(cmd, errf(services.EInvalid, "id is required"))
		return
	}
	if cmd.Type == CmdChatMessage {
		msg, found, participant := r.game.ChatMessage(d.ID, cmd.Player.ID)
		r.deliver(cmd.Client, [][]byte{EncodeFrame(Frame{Type: FrameChatMessage, Ref: cmd.Ref,
			Data: ChatLookup{Found: found, Participant: participant, Message: msg, GameID: r.id}})}, nil, nil)
		return
	}
	var res appliedCall
	var err error
	if r.game.Finished() {
		// A finished game's log is closed: the history is edited in memory for as long as the
		// game lingers, which is as long as anyone can read it.
		res.events, err = r.game.DeleteChat(d.ID)
	} else {
		res, err = r.execErr(entry{Op: opDeleteChat, Text: d.ID})
	}
	if err != nil {
		r.replyErr(cmd, err)
		return
	}
	r.deliver(cmd.Client, [][]byte{EncodeFrame(Frame{Type: FrameAck, Ref: cmd.Ref})}, res.events, nil)
}
