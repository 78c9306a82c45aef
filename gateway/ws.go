package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
	"github.com/trivium-game/trivium/services/games"
)

// Subprotocol is the WebSocket subprotocol of API v1.
const Subprotocol = "trivium.v1"

// WSConfig tunes connections; zero values take the defaults in fill.
type WSConfig struct {
	SendQueue     int           // frames buffered per connection before it counts as slow (1024)
	MaxFrame      int           // bytes; larger frames are refused with an error (4096)
	HardMaxFrame  int64         // bytes; larger frames close the connection with 1009 (16384)
	WriteWait     time.Duration // per write (10s)
	PongWait      time.Duration // read deadline renewed by pongs (60s)
	FrameRate     float64       // frames per second per connection (20)
	FrameBurst    int           // (40)
	ChatRate      float64       // chat messages per second (1)
	ChatBurst     int           // (5)
	MaxViolations int           // refused frames before the connection is closed with 1008 (10)
	PerAccount    int           // open sockets per player; past it the upgrade is 429 (DefaultWSPerAccount)
	PerAddress    int           // open sockets per client address (IPv6: per /64); 429 past it (DefaultWSPerAddress)
	CDNURL        string        // for thumbnails in player identities
}

// Default socket caps: a player has a few tabs and devices; an address may be a school's NAT.
const (
	DefaultWSPerAccount = 10
	DefaultWSPerAddress = 200
)

// CloseSessionRevoked closes the sockets of a session that was logged out.
const CloseSessionRevoked = 4401

func (c *WSConfig) fill() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.SendQueue, 1024)
	def(&c.MaxFrame, 4096)
	def(&c.FrameBurst, 40)
	def(&c.ChatBurst, 5)
	def(&c.MaxViolations, 10)
	def(&c.PerAccount, DefaultWSPerAccount)
	def(&c.PerAddress, DefaultWSPerAddress)
	if c.HardMaxFrame == 0 {
		c.HardMaxFrame = 16384
	}
	if c.WriteWait == 0 {
		c.WriteWait = 10 * time.Second
	}
	if c.PongWait == 0 {
		c.PongWait = 60 * time.Second
	}
	if c.FrameRate == 0 {
		c.FrameRate = 20
	}
	if c.ChatRate == 0 {
		c.ChatRate = 1
	}
}

// hub knows every open connection, for shutdown and for in-band notifications.
type hub struct {
	cfg   WSConfig
	log   *slog.Logger
	m     *Metrics
	mu    sync.Mutex
	conns map[*conn]struct{}
	by    map[string]map[*conn]struct{}
	// Sockets per player and per address, counted from before the upgrade (reserve) to the
	// connection's end, so concurrent upgrades cannot all slip under a cap.
	perAccount map[string]int
	perAddress map[string]int
	fds        *FDGuard // nil: no descriptor reserve
	wg         sync.WaitGroup
	down       bool
	stop       chan struct{}
	// screenChat refuses chat from a muted player and chat the text screen refuses (set once
	// before serving; nil: none).
	screenChat func(playerID, text string) error
}

func newHub(cfg WSConfig, log *slog.Logger, m *Metrics, fds *FDGuard) *hub {
	h := &hub{cfg: cfg, log: log, m: m, conns: map[*conn]struct{}{}, by: map[string]map[*conn]struct{}{}, stop: make(chan struct{}),
		perAccount: map[string]int{}, perAddress: map[string]int{}, fds: fds}
	go h.pinger(cfg.PongWait * 9 / 10)
	return h
}

// pinger pings every connection each interval from a few workers, so idle connections need no
// goroutine of their own for keep-alive; a pong renews the reader's deadline.
func (h *hub) pinger(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		all := make([]*conn, 0, len(h.conns))
		for c := range h.conns {
			all = append(all, c)
		}
		h.mu.Unlock()
		work := make(chan *conn)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range work {
					c.ping()
				}
			}()
		}
		for _, c := range all {
			work <- c
		}
		close(work)
		wg.Wait()
	}
}

// reserve takes a socket slot for player at addr before the upgrade, or says why not: the
// caps (429) or the descriptor reserve (503). release gives the slot back.
func (h *hub) reserve(playerID, addr string) (release func(), err error) {
	if !h.fds.allowLongLived() {
		h.m.wsDropped.WithLabelValues("descriptor reserve").Inc()
		return nil, &services.Error{Code: services.EBusy, Message: "the server is at its connection limit; try again shortly", RetryAfter: 5 * time.Second}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perAccount[playerID] >= h.cfg.PerAccount {
		return nil, &services.Error{Code: services.ERateLimited, RetryAfter: 5 * time.Second,
			Message: fmt.Sprintf("at most %d open sockets per player; close one first", h.cfg.PerAccount)}
	}
	if h.perAddress[addr] >= h.cfg.PerAddress {
		return nil, &services.Error{Code: services.ERateLimited, RetryAfter: 5 * time.Second,
			Message: fmt.Sprintf("at most %d open sockets per address; close one first", h.cfg.PerAddress)}
	}
	h.perAccount[playerID]++
	h.perAddress[addr]++
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			h.unreserveLocked(playerID, addr)
			h.mu.Unlock()
		})
	}, nil
}

func (h *hub) unreserveLocked(playerID, addr string) {
	if h.perAccount[playerID]--; h.perAccount[playerID] <= 0 {
		delete(h.perAccount, playerID)
	}
	if h.perAddress[addr]--; h.perAddress[addr] <= 0 {
		delete(h.perAddress, addr)
	}
}

// logoutHook closes the logged-out session's sockets on this process at once.
func (h *hub) logoutHook(_ *http.Request, id *accounts.Identity) { h.closeSession(id.SessionID) }

// closePlayer closes every socket of a player (suspended by a moderator).
func (h *hub) closePlayer(playerID string) int {
	h.mu.Lock()
	var hit []*conn
	for c := range h.by[playerID] {
		hit = append(hit, c)
	}
	h.mu.Unlock()
	for _, c := range hit {
		c.Close(CloseSessionRevoked, "account suspended")
	}
	return len(hit)
}

// closeSession closes every socket opened with a session's token (it was logged out).
func (h *hub) closeSession(sessionID string) int {
	h.mu.Lock()
	var hit []*conn
	for c := range h.conns {
		if c.session == sessionID {
			hit = append(hit, c)
		}
	}
	h.mu.Unlock()
	for _, c := range hit {
		c.Close(CloseSessionRevoked, "session revoked")
	}
	return len(hit)
}

func (h *hub) add(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return false
	}
	h.conns[c] = struct{}{}
	if h.by[c.player.ID] == nil {
		h.by[c.player.ID] = map[*conn]struct{}{}
	}
	h.by[c.player.ID][c] = struct{}{}
	h.wg.Add(1)
	h.m.wsConns.Inc()
	return true
}

func (h *hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	h.unreserveLocked(c.player.ID, c.addr) // the slot reserve took before the upgrade
	if set := h.by[c.player.ID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.by, c.player.ID)
		}
	}
	h.m.wsConns.Dec()
	h.wg.Done()
}

// SendToPlayer delivers a frame to every open connection of a player; it never blocks.
func (h *hub) SendToPlayer(playerID string, frame []byte) int {
	h.mu.Lock()
	targets := make([]*conn, 0, len(h.by[playerID]))
	for c := range h.by[playerID] {
		targets = append(targets, c)
	}
	h.mu.Unlock()
	n := 0
	for _, c := range targets {
		if c.Send(frame) {
			n++
		}
	}
	return n
}

func (h *hub) shutdown(ctx context.Context) {
	h.mu.Lock()
	if !h.down {
		close(h.stop)
	}
	h.down = true
	all := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		all = append(all, c)
	}
	h.mu.Unlock()
	for _, c := range all {
		c.Close(websocket.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func handleWS(cfg Config, acc *accounts.Service, gm *games.Manager, h *hub) http.Handler {
	proxies := cfg.Proxies
	allowed := originSet(cfg.AllowedOrigins)
	up := websocket.Upgrader{
		Subprotocols:    []string{Subprotocol},
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		// Browsers always send Origin: it must be on the allowlist. Clients without one (bots,
		// load generators) are not browsers and cannot be driven cross-site.
		CheckOrigin: func(r *http.Request) bool {
			o := r.Header.Get("Origin")
			return o == "" || allowed[o]
		},
		WriteBufferPool: &sync.Pool{},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && !allowed[o] {
			writeProblem(w, http.StatusForbidden, services.EForbidden, "origin not allowed", nil)
			return
		}
		var id *accounts.Identity
		var err error
		if t := r.URL.Query().Get("ticket"); t != "" {
			id, err = acc.RedeemTicket(r.Context(), t)
		} else if tok := bearer(r); tok != "" {
			id, err = acc.Authenticate(r.Context(), tok)
		} else {
			err = services.Errorf(services.EUnauthenticated, "a ticket or bearer token is required")
		}
		if err != nil {
			fail(h.log, w, r, err)
			return
		}
		addr := addressKey(clientIP(r, proxies))
		release, err := h.reserve(id.Player.ID, addr)
		if err != nil {
			fail(h.log, w, r, err)
			return
		}
		bw := &batchingWriter{ResponseWriter: w}
		ws, err := up.Upgrade(bw, r, nil)
		if err != nil {
			release()
			return // the upgrader has answered
		}
		c := &conn{ws: ws, out: bw.conn, hub: h, games: gm, player: id.Player, session: id.SessionID, addr: addr, cfg: h.cfg, done: make(chan struct{}),
			frames: rate.NewLimiter(rate.Limit(h.cfg.FrameRate), h.cfg.FrameBurst),
			chat:   rate.NewLimiter(rate.Limit(h.cfg.ChatRate), h.cfg.ChatBurst)}
		if !h.add(c) {
			release()
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
			ws.Close()
			return
		}
		// Read on a fresh goroutine and let the handler's (deep, grown) stack go: an idle
		// connection then costs one small goroutine and no writer at all.
		go c.reader()
	})
}

type closeReq struct {
	code   int
	reason string
}

// conn is one WebSocket: one reader goroutine, a bounded queue, and a writer goroutine that
// exists only while there is something to write. Pings come from the hub's pinger.
type conn struct {
	ws     *websocket.Conn
	out    *batchConn // ws writes through it; the writer batches
	hub    *hub
	games  *games.Manager
	player *services.Player
	// session is the token's session (logout closes its sockets); addr the client address key.
	session string
	addr    string
	cfg     WSConfig
	frames  *rate.Limiter
	chat    *rate.Limiter

	mu      sync.Mutex
	queue   [][]byte  // frames waiting for the writer; at most cfg.SendQueue
	spare   [][]byte  // the writer's previous batch, reused to avoid allocating
	writing bool      // a writer goroutine is running
	closeRq *closeReq // set once by Close
	dead    bool      // the writer hit an error or sent the close frame
	done    chan struct{}
	closed  atomic.Bool // a close was requested; the reader only drains

	// Frames waiting for the handler goroutine; it owns room while it runs, and the reader
	// waits for it (proc) before its own last use of room.
	inMu       sync.Mutex
	inQ        []inbound
	handling   bool
	proc       sync.WaitGroup
	room       *games.Room
	violations atomic.Int32
}

var _ games.Client = (*conn)(nil)

func (c *conn) PlayerID() string { return c.player.ID }

// Send queues a frame without blocking; a full queue means the client is too slow.
func (c *conn) Send(frame []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closeRq != nil || len(c.queue) >= c.cfg.SendQueue {
		return false
	}
	c.queue = append(c.queue, frame)
	c.startWriterLocked()
	return true
}

func (c *conn) startWriterLocked() {
	if !c.writing && !c.dead {
		c.writing = true
		go c.writer()
	}
}

// Close asks the writer to flush what is queued, send a close frame and end the connection.
func (c *conn) Close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeRq != nil {
		return
	}
	c.closed.Store(true)
	c.closeRq = &closeReq{code, reason}
	c.hub.m.wsDropped.WithLabelValues(reason).Inc()
	if c.dead {
		return
	}
	c.startWriterLocked()
}

// writer drains the queue and exits when it is empty; after a close request it sends the close
// frame and marks the connection dead.
func (c *conn) writer() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue, c.spare = c.spare[:0], nil
		cr := c.closeRq
		if len(batch) == 0 {
			if cr == nil {
				c.writing = false
				c.mu.Unlock()
				return
			}
			c.dead, c.writing = true, false
			c.mu.Unlock()
			graceful := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(cr.code, cr.reason), time.Now().Add(c.cfg.WriteWait)) == nil
			c.finish(graceful)
			return
		}
		c.mu.Unlock()
		_ = c.ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteWait))
		c.out.begin()
		var err error
		for i, f := range batch {
			if err == nil {
				err = c.ws.WriteMessage(websocket.TextMessage, f)
			}
			batch[i] = nil
		}
		if eerr := c.out.end(); err == nil {
			err = eerr
		}
		if err != nil {
			c.mu.Lock()
			c.dead, c.writing, c.queue = true, false, nil
			c.mu.Unlock()
			c.finish(false)
			return
		}
		c.hub.m.framesOut.Add(float64(len(batch)))
		c.mu.Lock()
		if c.spare == nil && cap(batch) <= 2*c.cfg.SendQueue {
			c.spare = batch[:0]
		}
		c.mu.Unlock()
	}
}

// finish ends the write side. After a close frame the reader keeps reading briefly so the
// peer's close reply (and frames still in flight) are consumed: closing with unread data would
// reset the TCP connection and lose the close frame. Otherwise the reader is unblocked at once.
func (c *conn) finish(graceful bool) {
	wait := time.Duration(0)
	if graceful {
		wait = closeDrain
	}
	_ = c.ws.UnderlyingConn().SetReadDeadline(time.Now().Add(wait))
	close(c.done)
}

// ping is called by the hub's pinger; control frames may be written concurrently with data.
func (c *conn) ping() {
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.WriteWait)); err != nil {
		c.Close(websocket.CloseGoingAway, "ping failed")
	}
}

type inFrame struct {
	Type string          `json:"type"`
	Ref  string          `json:"ref"`
	Data json.RawMessage `json:"data"`
}

type outFrame struct {
	Type string `json:"type"`
	Ref  string `json:"ref,omitempty"`
	Data any    `json:"data,omitempty"`
}

func (c *conn) reply(typ, ref string, data any) {
	b, err := json.Marshal(outFrame{Type: typ, Ref: ref, Data: data})
	if err == nil && !c.Send(b) {
		c.Close(websocket.CloseTryAgainLater, "slow consumer")
	}
}

func (c *conn) refuse(ref, code, msg string) {
	c.reply("error", ref, map[string]string{"code": code, "message": msg})
}

// violation counts abuse; past the limit the connection is closed with 1008.
func (c *conn) violation() {
	if int(c.violations.Add(1)) > c.cfg.MaxViolations {
		c.Close(websocket.ClosePolicyViolation, "too many invalid or excess frames")
	}
}

func (c *conn) reader() {
	defer func() {
		c.proc.Wait() // the frame handler is done with c.room
		if c.room != nil {
			c.room.Submit(games.Command{Type: "disconnect", Client: c, Player: c.info()})
		}
		c.Close(websocket.CloseNormalClosure, "")
		<-c.done // the writer has sent the close frame or failed
		c.ws.Close()
		c.hub.remove(c)
	}()
	c.ws.SetReadLimit(c.cfg.HardMaxFrame)
	_ = c.ws.SetReadDeadline(time.Now().Add(c.cfg.PongWait))
	// Control frames share the data frames' budget: gorilla answers pings inside ReadMessage,
	// so without this a ping flood never reaches the limiter (255k pings/s kept a core busy).
	c.ws.SetPongHandler(func(string) error {
		if !c.frames.Allow() {
			c.violation()
			return nil
		}
		c.renewReadDeadline()
		return nil
	})
	c.ws.SetPingHandler(func(msg string) error {
		if !c.frames.Allow() {
			c.violation()
			return nil
		}
		c.renewReadDeadline()
		if c.closed.Load() {
			return nil
		}
		if err := c.ws.WriteControl(websocket.PongMessage, []byte(msg), time.Now().Add(c.cfg.WriteWait)); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			c.Close(websocket.CloseGoingAway, "pong failed")
		}
		return nil
	})
	// The reader only reads, counts and queues: decoding and dispatch run on a handler goroutine
	// that exists while frames wait (like the writer), so this long-lived goroutine's stack stays
	// small — on an idle connection it is most of what the server pays.
	for {
		typ, b, err := c.ws.ReadMessage()
		if c.closed.Load() {
			if err != nil {
				return
			}
			continue // closing: drain until the peer's close reply
		}
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.Close(websocket.CloseMessageTooBig, "frame too large")
			}
			return
		}
		c.renewReadDeadline()
		c.hub.m.framesIn.Inc()
		if !c.frames.Allow() {
			if !c.Send(rateLimitedFrame) {
				c.Close(websocket.CloseTryAgainLater, "slow consumer")
			}
			c.violation() // past the limit this closes; the loop then only drains
			continue
		}
		c.enqueue(inbound{typ, b})
	}
}

// renewReadDeadline gives a live peer another PongWait; once a close is under way it must not
// undo the short drain deadline the writer set, so it checks again after renewing (Close sets
// closed before the writer shortens the deadline).
func (c *conn) renewReadDeadline() {
	_ = c.ws.SetReadDeadline(time.Now().Add(c.cfg.PongWait))
	if c.closed.Load() {
		_ = c.ws.SetReadDeadline(time.Now().Add(closeDrain))
	}
}

// closeDrain is how long the reader keeps reading after a close frame for the peer's reply.
const closeDrain = 2 * time.Second

// rateLimitedFrame answers frames over the connection's rate; built once.
var rateLimitedFrame = []byte(`{"type":"error","data":{"code":"rate_limited","message":"slow down"}}`)

type inbound struct {
	typ  int
	data []byte
}

// enqueue hands a frame to the handler goroutine, starting one if none runs. The rate limit
// bounds the queue; the bound here only guards against a handler that cannot keep up.
func (c *conn) enqueue(f inbound) {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	if len(c.inQ) >= c.cfg.FrameBurst {
		c.Close(websocket.CloseTryAgainLater, "too many frames waiting")
		return
	}
	c.inQ = append(c.inQ, f)
	if !c.handling {
		c.handling = true
		c.proc.Add(1)
		go c.handleFrames()
	}
}

func (c *conn) handleFrames() {
	defer c.proc.Done()
	for {
		c.inMu.Lock()
		if len(c.inQ) == 0 {
			c.handling, c.inQ = false, nil
			c.inMu.Unlock()
			return
		}
		f := c.inQ[0]
		c.inQ = c.inQ[1:]
		c.inMu.Unlock()
		if !c.closed.Load() {
			c.handleFrame(f)
		}
	}
}

func (c *conn) handleFrame(in inbound) {
	if in.typ != websocket.TextMessage {
		c.refuse("", "invalid", "frames must be JSON text")
		c.violation()
		return
	}
	if len(in.data) > c.cfg.MaxFrame {
		c.refuse("", "too_large", "frames are limited to 4 KiB")
		c.violation()
		return
	}
	var f inFrame
	if err := json.Unmarshal(in.data, &f); err != nil || f.Type == "" {
		c.refuse("", "invalid", "a frame is a JSON object {type, ref, data}")
		c.violation()
		return
	}
	if len(f.Ref) > 64 {
		f.Ref = f.Ref[:64]
	}
	c.dispatch(f)
}

func (c *conn) info() games.PlayerInfo { return playerInfo(c.player, c.cfg.CDNURL) }

// dispatch handles one well-formed frame.
func (c *conn) dispatch(f inFrame) {
	switch f.Type {
	case "ping":
		c.reply("pong", f.Ref, map[string]int64{"at": time.Now().UnixMilli()})
		return
	case "join":
		var d struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(f.Data, &d) != nil || d.Code == "" {
			c.refuse(f.Ref, "invalid", "join needs {code}")
			c.violation()
			return
		}
		room, ok := c.games.Lookup(d.Code)
		if !ok {
			c.refuse(f.Ref, "not_found", "no game with that code")
			return
		}
		if c.room != nil && c.room != room {
			c.room.Submit(games.Command{Type: "leave", Client: c, Player: c.info()})
		}
		c.room = room
	case "chat":
		if !c.chat.Allow() {
			c.refuse(f.Ref, "rate_limited", "chat is limited to one message a second")
			c.violation()
			return
		}
		if c.hub.screenChat != nil {
			var d struct {
				Text string `json:"text"`
			}
			if json.Unmarshal(f.Data, &d) == nil {
				if err := c.hub.screenChat(c.player.ID, d.Text); services.ErrorCode(err) == services.EMuted {
					c.refuse(f.Ref, services.EMuted, services.ErrorMessage(err))
					return
				} else if err != nil {
					c.refuse(f.Ref, "invalid", "this message contains language that is not allowed here")
					return
				}
			}
		}
	case "start", "next", "reveal", "scoreboard", "end", "answer", "leave", "options", "team":
	default:
		// The type is not echoed: escaped into JSON, a 4 KiB type came back as a 24 KiB frame.
		c.refuse(f.Ref, "invalid", "unknown frame type (the types are listed in docs/API.md)")
		c.violation()
		return
	}
	if c.room == nil {
		c.refuse(f.Ref, "not_joined", "join a game first")
		return
	}
	if !c.room.Submit(games.Command{Type: f.Type, Ref: f.Ref, Client: c, Player: c.info(), Data: f.Data}) {
		c.refuse(f.Ref, "busy", "the game is busy; try again")
	}
	if f.Type == "leave" {
		c.room = nil
	}
}
