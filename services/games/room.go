package games

import (
	"encoding/json"
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
)

// Frame types a Room sends besides the game events.
const (
	FrameState = "state"
	FrameAck   = "ack"
	FrameError = "error"
)

// WebSocket close codes and reasons a Room uses.
const (
	CloseNormal        = 1000 // the finished game was removed
	CloseGoingAway     = 1001 // the server is shutting down
	CloseTryAgainLater = 1013 // a slow consumer was dropped
	CloseReplaced      = 4001 // a newer connection of the same player took over
	ReasonSlowConsumer = "slow consumer"
	ReasonReplaced     = "replaced"
	ReasonShuttingDown = "server shutting down"
	ReasonGameRemoved  = "game over"
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
	onCommit func(code string, snapshot []byte) // set in a cluster
	link     Link                               // set when the game runs on another node: Submit forwards

	// Owned by the room goroutine.
	game      *Game
	subs      map[Client]string // subscribed client → the game identity it acts as
	attached  map[string]Client // game identity → its one attached client
	timer     Timer
	timerAt   time.Time
	infoSeq   int64
	reported  bool
	committed commitKey
}

type roomConfig struct {
	game      *Game
	clock     Clock
	log       *slog.Logger
	inboxSize int
	onFinish  func(*Room, services.GameFinished)
	onCommit  func(code string, snapshot []byte)
}

func newRoom(cfg roomConfig) *Room {
	r := &Room{
		id: cfg.game.ID(), code: cfg.game.Code(), clock: cfg.clock, log: cfg.log,
		inbox: mailbox{max: cfg.inboxSize, ready: make(chan struct{}, 1)}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), onFinish: cfg.onFinish, onCommit: cfg.onCommit,
		game: cfg.game, subs: map[Client]string{}, attached: map[string]Client{},
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
	r.afterChange()
	for {
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
			r.deliver(nil, nil, r.game.Tick(r.clock.Now()), nil)
		}
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
	r.commit()
	if r.game.Finished() && !r.reported {
		r.reported = true
		r.finished.Store(true)
		if r.onFinish != nil {
			r.onFinish(r, r.game.Result())
		}
	}
}

type dropped struct {
	c  Client
	id string
}

// deliver sends replies to c, then broadcasts evs to every subscriber but skip. Clients whose
// queue is full are dropped as disconnected, and the events that causes are broadcast in turn.
func (r *Room) deliver(c Client, replies [][]byte, evs []Event, skip Client) {
	r.afterChange()
	var drops []dropped
	for _, f := range replies {
		if !c.Send(f) {
			id, sub := r.subs[c]
			delete(r.subs, c)
			if sub {
				drops = append(drops, dropped{c, id})
			} else {
				c.Close(CloseTryAgainLater, ReasonSlowConsumer)
			}
			break
		}
	}
	for len(evs) > 0 || len(drops) > 0 {
		for _, ev := range evs {
			drops = r.broadcast(ev, skip, drops)
		}
		evs = nil
		now := r.clock.Now()
		for _, d := range drops {
			d.c.Close(CloseTryAgainLater, ReasonSlowConsumer)
			if r.attached[d.id] == d.c {
				delete(r.attached, d.id)
				evs = append(evs, r.game.Disconnect(now, d.id)...)
			}
		}
		drops = nil
		if len(evs) > 0 {
			r.afterChange()
		}
	}
}

func (r *Room) broadcast(ev Event, skip Client, drops []dropped) []dropped {
	shared := encodeShared(ev)
	host := r.game.HostID()
	for c, id := range r.subs {
		if c == skip || ev.HostOnly && id != host {
			continue
		}
		if !c.Send(encodeFor(ev, shared, id)) {
			delete(r.subs, c)
			drops = append(drops, dropped{c, id})
		}
	}
	return drops
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
	}
	id, ok := r.subs[cmd.Client]
	if !ok {
		if r.game.Finished() {
			r.replyErr(cmd, errf(CodeFinished, "the game is over"))
		} else {
			r.replyErr(cmd, errf(services.ENotFound, "join the game first"))
		}
		return
	}
	var (
		evs []Event
		err error
		ack any
	)
	g := r.game
	switch cmd.Type {
	case CmdStart:
		evs, err = g.Start(now, id)
	case CmdNext:
		evs, err = g.Next(now, id)
	case CmdReveal:
		evs, err = g.Reveal(now, id)
	case CmdScoreboard:
		evs, err = g.Scoreboard(now, id)
	case CmdEnd:
		evs, err = g.End(now, id)
	case CmdAnswer:
		var d struct {
			Index  *int            `json:"index"`
			Answer services.Answer `json:"answer"`
		}
		if err = decodeData(cmd.Data, &d); err == nil {
			if d.Index == nil {
				err = errf(services.EInvalid, "index is required")
			} else {
				var a AnswerAck
				a, evs, err = g.Answer(now, id, *d.Index, d.Answer)
				ack = a
			}
		}
	case CmdChat:
		var d struct {
			Text string `json:"text"`
		}
		if err = decodeData(cmd.Data, &d); err == nil {
			evs, err = g.Chat(now, id, d.Text)
		}
	case CmdLeave:
		delete(r.subs, cmd.Client)
		if r.attached[id] == cmd.Client {
			delete(r.attached, id)
		}
		if evs, err = g.Leave(now, id); services.ErrorCode(err) == CodeFinished {
			err = nil // leaving a finished game just unsubscribes
		}
	default:
		err = errf(services.EInvalid, "unknown message type %q", cmd.Type)
	}
	if err != nil {
		r.replyErr(cmd, err)
		return
	}
	r.deliver(cmd.Client, [][]byte{EncodeFrame(Frame{Type: FrameAck, Ref: cmd.Ref, Data: ack})}, evs, nil)
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
	r.deliver(nil, nil, r.game.Disconnect(now, id), nil)
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
	identity := cmd.Player.ID
	var (
		evs []Event
		err error
	)
	if d.Resume != "" {
		identity, evs, err = g.Resume(now, d.Resume, cmd.Player)
	} else {
		evs, err = g.Join(now, cmd.Player)
	}
	if err != nil {
		r.replyErr(cmd, err)
		return
	}
	// The same socket joining as someone else gives up its previous identity.
	if old, ok := r.subs[cmd.Client]; ok && old != identity {
		delete(r.subs, cmd.Client)
		if r.attached[old] == cmd.Client {
			delete(r.attached, old)
			evs = append(evs, g.Disconnect(now, old)...)
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
