// Package gamecluster lets several gateway nodes serve the same games over NATS. A game's Room
// runs on the node holding its lease in a JetStream key-value bucket (key = join code, value =
// node ID, the entry's revision is the fencing token); commands from connections on other nodes
// reach it on trivium.game.<code>.in, and its frames go back on trivium.game.<code>.node.<node>,
// one message per node for a broadcast, however many of the node's clients receive it. Every
// change of a game is in its durable log (games.Journal) before its ack leaves; when the owner
// dies its lease expires, the next node that needs the game takes the lease, restores the game
// from the log (the log's fencing refuses the old owner from then on), and the connections it
// holds join again with their scores and every acknowledged answer intact.
//
// It implements games.Cluster; a games.Manager without one keeps every game local. New builds the
// Manager whose rooms the cluster serves, so each has the other from the start.
package gamecluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/games"
)

// Buckets and defaults.
const (
	LeaseBucket       = "trivium_game_leases"
	DefaultLeaseTTL   = 10 * time.Second
	DefaultRenewEvery = 3 * time.Second
	DefaultWatchEvery = time.Second
	DefaultOutQueue   = 4096
	nodeKeyPrefix     = "node_"
	requestTimeout    = 2 * time.Second
	// CloseOwnerLost is the close code for connections of a game whose lease this node lost.
	CloseOwnerLost = 1012 // service restart: reconnect
)

// Config of a Cluster; zero values take the defaults.
type Config struct {
	Conn   *nats.Conn // required; JetStream must be enabled on the server
	NodeID string     // random when empty
	// Prefix namespaces subjects and bucket names so tests can share a server.
	Prefix string
	// LeaseTTL is how long a lease outlives its owner; RenewEvery must be well below it.
	LeaseTTL, RenewEvery time.Duration
	// WatchEvery is how often a node forwarding a game checks that its owner still holds it.
	WatchEvery time.Duration
	OutQueue   int // frames queued per (game, node) before a remote client counts as slow
	Logger     *slog.Logger
	// Journal is the game log the Manager uses: a game exists while its log is open.
	Journal games.Journal
}

// Cluster is a games.Cluster on NATS.
type Cluster struct {
	cfg    Config
	nc     *nats.Conn
	leases jetstream.KeyValue
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	m      *games.Manager
	// closing suppresses the close frames remote clients would get while this node hands its
	// games over: their sockets stay open on their own nodes and join the next owner.
	closing atomic.Bool
	// inc names this process: a node keeps its ID across restarts, so the leases it writes
	// (lease) and its connection IDs carry the incarnation too, telling a restarted node's games
	// and connections from those of the process that died.
	inc, lease string

	mu      sync.Mutex
	owned   map[string]*owned // by code
	links   map[string]*link  // by code: games other nodes run
	conns   map[string]games.Client
	connIDs map[games.Client]string
	nextID  uint64
	nodeSub *nats.Subscription
}

var _ games.Cluster = (*Cluster)(nil)

// owned is a game this node runs.
type owned struct {
	code     string
	leaseRev uint64
	sub      *nats.Subscription
	remotes  map[remoteKey]*remoteClient
	outs     map[string]*nodeOut // by node
}

type remoteKey struct{ node, conn string }

// inMsg is a command from a connection on another node.
type inMsg struct {
	Node   string           `json:"node"`
	Conn   string           `json:"conn"`
	Type   string           `json:"type"`
	Ref    string           `json:"ref,omitempty"`
	Player games.PlayerInfo `json:"player"`
	Data   json.RawMessage  `json:"data,omitempty"`
}

// outMsg is a frame (or a close) for some connections of one node.
type outMsg struct {
	Conns  []string        `json:"conns"`
	Frame  json.RawMessage `json:"frame,omitempty"`
	Close  int             `json:"close,omitempty"`
	Reason string          `json:"reason,omitempty"`
}

const msgInfo = "_info" // an in-message asking for the game's summary

// New creates the buckets if needed, builds the Manager of this node's rooms from mcfg (its
// Cluster is this cluster and its Journal cfg.Journal), and starts listening for frames
// addressed to this node.
func New(ctx context.Context, cfg Config, mcfg games.ManagerConfig) (*Cluster, *games.Manager, error) {
	if cfg.Conn == nil || cfg.Journal == nil {
		return nil, nil, errors.New("gamecluster: Conn and Journal are required")
	}
	if cfg.NodeID == "" {
		cfg.NodeID = services.NewID()
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.RenewEvery <= 0 {
		cfg.RenewEvery = DefaultRenewEvery
	}
	if cfg.WatchEvery <= 0 {
		cfg.WatchEvery = DefaultWatchEvery
	}
	if cfg.OutQueue <= 0 {
		cfg.OutQueue = DefaultOutQueue
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(cfg.Conn)
	if err != nil {
		return nil, nil, fmt.Errorf("gamecluster: jetstream: %w", err)
	}
	bucket := strings.NewReplacer(".", "_", "*", "_", ">", "_").Replace(cfg.Prefix)
	leases, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket + LeaseBucket, TTL: cfg.LeaseTTL, History: 1})
	if err != nil {
		return nil, nil, fmt.Errorf("gamecluster: lease bucket: %w", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	inc := services.NewID()
	c := &Cluster{cfg: cfg, nc: cfg.Conn, leases: leases, log: cfg.Logger.With("node", cfg.NodeID),
		inc: inc, lease: cfg.NodeID + "@" + inc,
		ctx: cctx, cancel: cancel,
		owned: map[string]*owned{}, links: map[string]*link{}, conns: map[string]games.Client{}, connIDs: map[games.Client]string{}}
	mcfg.Cluster, mcfg.Journal = c, cfg.Journal
	c.m = games.NewManager(mcfg)
	fail := func(err error) (*Cluster, *games.Manager, error) {
		cancel()
		_ = c.m.Close(ctx)
		return nil, nil, err
	}
	c.nodeSub, err = c.nc.Subscribe(c.subject("*", "node", cfg.NodeID), c.onFrames)
	if err != nil {
		return fail(fmt.Errorf("gamecluster: subscribe: %w", err))
	}
	if _, err := c.leases.Put(ctx, nodeKeyPrefix+cfg.NodeID, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
		_ = c.nodeSub.Unsubscribe()
		return fail(fmt.Errorf("gamecluster: announce node: %w", err))
	}
	c.wg.Add(1)
	go c.renewLoop()
	return c, c.m, nil
}

// NodeID is this node's ID.
func (c *Cluster) NodeID() string { return c.cfg.NodeID }

func (c *Cluster) subject(code string, parts ...string) string {
	return c.cfg.Prefix + "trivium.game." + code + "." + strings.Join(parts, ".")
}

// Claim implements games.Cluster.
func (c *Cluster) Claim(code string) (bool, error) {
	ctx, cancel := context.WithTimeout(c.ctx, requestTimeout)
	defer cancel()
	rev, err := c.leases.Create(ctx, code, []byte(c.lease))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := c.own(code, rev); err != nil {
		_ = c.leases.Delete(context.Background(), code, jetstream.LastRevision(rev))
		return false, err
	}
	return true, nil
}

// Locate implements games.Cluster.
func (c *Cluster) Locate(code string) (games.Link, bool, bool, error) {
	ctx, cancel := context.WithTimeout(c.ctx, requestTimeout)
	defer cancel()
	e, err := c.leases.Get(ctx, code)
	if err == nil && string(e.Value()) != c.lease && !c.previousSelf(string(e.Value())) {
		return c.linkTo(code, string(e.Value())), false, true, nil
	}
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, false, err
	}
	took, err := c.takeOver(ctx, code, e)
	if err != nil || took {
		return nil, took, took, err
	}
	// Someone else won the race for the lease: forward to them.
	if e, err = c.leases.Get(ctx, code); err == nil && string(e.Value()) != c.lease {
		return c.linkTo(code, string(e.Value())), false, true, nil
	}
	return nil, false, false, nil
}

// previousSelf reports whether a lease was written by an earlier process of this node (which
// died: this one would otherwise not be running with the same ID). Its games are taken back at
// once instead of waiting for the lease to expire.
func (c *Cluster) previousSelf(lease string) bool {
	node, _, _ := strings.Cut(lease, "@")
	return node == c.cfg.NodeID && lease != c.lease
}

// takeOver takes the lease of a game whose owner is gone; false when there is no such game or
// another node took it first. stale is the lease entry seen (nil when the lease had expired),
// whose revision the takeover must match.
func (c *Cluster) takeOver(ctx context.Context, code string, stale jetstream.KeyValueEntry) (bool, error) {
	open, err := c.cfg.Journal.Exists(ctx, code)
	if err != nil || !open {
		return false, err
	}
	var rev uint64
	if stale != nil {
		rev, err = c.leases.Update(ctx, code, []byte(c.lease), stale.Revision())
	} else {
		rev, err = c.leases.Create(ctx, code, []byte(c.lease))
	}
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
			return false, nil
		}
		return false, err
	}
	if err := c.own(code, rev); err != nil {
		return false, err
	}
	c.log.Info("game lease taken over", "code", code, "lease_rev", rev)
	return true, nil
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// own starts serving a game this node now holds the lease of.
func (c *Cluster) own(code string, leaseRev uint64) error {
	o := &owned{code: code, leaseRev: leaseRev, remotes: map[remoteKey]*remoteClient{}, outs: map[string]*nodeOut{}}
	sub, err := c.nc.Subscribe(c.subject(code, "in"), func(m *nats.Msg) { c.onCommand(o, m) })
	if err != nil {
		return fmt.Errorf("gamecluster: subscribe %s: %w", code, err)
	}
	// Core NATS drops messages nobody is subscribed to yet: make sure the server has the
	// subscription before other nodes can be told (by Claim or Locate returning) that this node
	// runs the game, or the first forwarded join could vanish.
	if err := c.nc.FlushTimeout(requestTimeout); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("gamecluster: subscribe %s: %w", code, err)
	}
	o.sub = sub
	c.mu.Lock()
	if old := c.owned[code]; old != nil {
		c.stopOwnedLocked(old)
	}
	c.owned[code] = o
	if l := c.links[code]; l != nil {
		l.becameLocal()
	}
	c.mu.Unlock()
	return nil
}

// stopOwnedLocked stops serving a game here (c.mu held).
func (c *Cluster) stopOwnedLocked(o *owned) {
	_ = o.sub.Unsubscribe()
	for _, out := range o.outs {
		out.stop()
	}
	delete(c.owned, o.code)
}

// Release implements games.Cluster: the game is over and removed, so are its lease and snapshot.
func (c *Cluster) Release(code string) {
	c.mu.Lock()
	o := c.owned[code]
	if o != nil {
		c.stopOwnedLocked(o)
	}
	c.mu.Unlock()
	if o == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	_ = c.leases.Delete(ctx, code, jetstream.LastRevision(o.leaseRev))
}

// Info implements games.Cluster by asking the owner.
func (c *Cluster) Info(code string) (games.GameInfo, bool) {
	b, _ := json.Marshal(inMsg{Node: c.cfg.NodeID, Type: msgInfo})
	resp, err := c.nc.Request(c.subject(code, "in"), b, requestTimeout)
	if err != nil {
		return games.GameInfo{}, false
	}
	var info games.GameInfo
	if json.Unmarshal(resp.Data, &info) != nil || info.Code == "" {
		return games.GameInfo{}, false
	}
	return info, true
}

// lost stops a game whose lease another node now holds.
func (c *Cluster) lost(code, why string) {
	c.log.Warn("game lease lost", "code", code, "why", why)
	c.mu.Lock()
	if o := c.owned[code]; o != nil {
		c.stopOwnedLocked(o)
	}
	c.mu.Unlock()
	c.m.Drop(code, CloseOwnerLost, "game moved to another server")
}

// renewLoop keeps this node's leases and presence alive.
func (c *Cluster) renewLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.renew()
	}
}

func (c *Cluster) renew() {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.RenewEvery)
	defer cancel()
	if _, err := c.leases.Put(ctx, nodeKeyPrefix+c.cfg.NodeID, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
		c.log.Warn("renew node presence", "err", err)
	}
	c.mu.Lock()
	revs := make(map[string]uint64, len(c.owned))
	nodes := map[string]bool{}
	for code, o := range c.owned {
		revs[code] = o.leaseRev
		for k := range o.remotes {
			nodes[k.node] = true
		}
	}
	c.mu.Unlock()
	// Renewed concurrently: one at a time, a node with hundreds of games on a starved NATS server
	// took longer than RenewEvery to reach the last of them, and those leases expired.
	sem := make(chan struct{}, renewParallel)
	var wg sync.WaitGroup
	for code, rev := range revs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.renewGame(ctx, code, rev)
		}()
	}
	wg.Wait()
	// Clients on a node that died will never say goodbye: disconnect them so the game does not
	// wait for their answers.
	for node := range nodes {
		if _, err := c.leases.Get(ctx, nodeKeyPrefix+node); errors.Is(err, jetstream.ErrKeyNotFound) {
			c.nodeGone(node)
		}
	}
}

// renewParallel bounds the lease updates one renewal round has in flight.
const renewParallel = 32

// renewGame renews one game's lease from revision rev.
func (c *Cluster) renewGame(ctx context.Context, code string, rev uint64) {
	nrev, err := c.leases.Update(ctx, code, []byte(c.lease), rev)
	if isWrongSequence(err) {
		// An update that timed out here may still have landed: the lease is then ours at a newer
		// revision, not lost (only this process writes its lease value). Treating it as lost
		// closed every socket of the game on a loaded machine.
		if e, gerr := c.leases.Get(ctx, code); gerr == nil && string(e.Value()) == c.lease {
			nrev, err = e.Revision(), nil
		}
	}
	if err != nil {
		if isWrongSequence(err) || errors.Is(err, jetstream.ErrKeyNotFound) {
			c.lost(code, "lease renewal refused")
		} else {
			c.log.Warn("renew game lease", "code", code, "err", err)
		}
		return
	}
	c.mu.Lock()
	if o := c.owned[code]; o != nil && o.leaseRev == rev {
		o.leaseRev = nrev
	}
	c.mu.Unlock()
}

func (c *Cluster) nodeGone(node string) {
	c.mu.Lock()
	var drops []*remoteClient
	for _, o := range c.owned {
		for k, rc := range o.remotes {
			if k.node == node {
				drops = append(drops, rc)
				delete(o.remotes, k)
			}
		}
		if out := o.outs[node]; out != nil {
			out.stop()
			delete(o.outs, node)
		}
	}
	c.mu.Unlock()
	for _, rc := range drops {
		rc.dead.Store(true)
		if room, ok := c.m.Local(rc.code); ok {
			room.Submit(games.Command{Type: games.CmdDisconnect, Client: rc})
		}
	}
	if len(drops) > 0 {
		c.log.Warn("node gone: its clients are disconnected", "gone", node, "clients", len(drops))
	}
}

// onCommand runs an in-message from another node against the local room.
func (c *Cluster) onCommand(o *owned, msg *nats.Msg) {
	var in inMsg
	if err := json.Unmarshal(msg.Data, &in); err != nil || in.Node == "" {
		return
	}
	room, ok := c.m.Local(o.code)
	if in.Type == msgInfo {
		if ok && msg.Reply != "" {
			b, _ := json.Marshal(room.Info())
			_ = msg.Respond(b)
		}
		return
	}
	if !ok {
		return
	}
	key := remoteKey{in.Node, in.Conn}
	c.mu.Lock()
	if c.owned[o.code] != o {
		c.mu.Unlock()
		return
	}
	rc := o.remotes[key]
	if rc == nil {
		if in.Type == games.CmdDisconnect {
			c.mu.Unlock()
			return
		}
		out := o.outs[in.Node]
		if out == nil {
			out = c.newNodeOut(o.code, in.Node)
			o.outs[in.Node] = out
		}
		rc = &remoteClient{c: c, code: o.code, node: in.Node, conn: in.Conn, player: in.Player.ID, out: out}
		o.remotes[key] = rc
	}
	if in.Type == games.CmdDisconnect {
		delete(o.remotes, key)
	}
	c.mu.Unlock()
	if !room.Submit(games.Command{Type: in.Type, Ref: in.Ref, Client: rc, Player: in.Player, Data: in.Data}) {
		rc.Send(games.ErrorFrame(in.Ref, services.Errorf(games.CodeBusy, "the game is busy; try again")))
	}
}

// onFrames delivers frames the owner of a game sent to connections on this node.
func (c *Cluster) onFrames(msg *nats.Msg) {
	var out outMsg
	if err := json.Unmarshal(msg.Data, &out); err != nil {
		return
	}
	code := strings.TrimPrefix(msg.Subject, c.cfg.Prefix+"trivium.game.")
	code, _, _ = strings.Cut(code, ".")
	for _, id := range out.Conns {
		c.mu.Lock()
		cl := c.conns[id]
		l := c.links[code]
		c.mu.Unlock()
		if cl == nil {
			continue
		}
		if out.Close != 0 {
			if l != nil {
				l.forget(id)
			}
			cl.Close(out.Close, out.Reason)
			continue
		}
		if l != nil && len(out.Conns) == 1 {
			if ref, notJoined, ok := replyRef(out.Frame); ok {
				if notJoined && l.rejoinConn(id, ref) {
					// The owner restarted and lost this connection's join before the link saw
					// it: joined again and resent, the reply to come is the real one.
					continue
				}
				l.replied(id, ref)
			}
		}
		if !cl.Send([]byte(out.Frame)) {
			cl.Close(games.CloseTryAgainLater, games.ReasonSlowConsumer)
			if l != nil {
				l.Forward(games.Command{Type: games.CmdDisconnect, Client: cl})
			}
		}
	}
}

// replyRef is the ref of a frame that answers a command (ack, error or state); notJoined when
// it is the error for a connection the game does not know.
func replyRef(frame []byte) (ref string, notJoined, ok bool) {
	if !bytes.Contains(frame, []byte(`"ref":`)) {
		return "", false, false
	}
	var f struct {
		Type, Ref string
		Data      struct{ Code string }
	}
	if json.Unmarshal(frame, &f) != nil || f.Ref == "" {
		return "", false, false
	}
	return f.Ref, f.Type == games.FrameError && f.Data.Code == games.CodeNotJoined,
		f.Type == games.FrameAck || f.Type == games.FrameError || f.Type == games.FrameState
}

// connID names a local connection on the wire.
func (c *Cluster) connID(cl games.Client) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id, ok := c.connIDs[cl]; ok {
		return id
	}
	c.nextID++
	id := fmt.Sprintf("%s.%x", c.inc, c.nextID)
	c.connIDs[cl] = id
	c.conns[id] = cl
	return id
}

func (c *Cluster) forgetConn(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.conns[id]; ok {
		delete(c.conns, id)
		delete(c.connIDs, cl)
	}
}

// Close hands this node's games over: it gives up their leases so the next node that needs one
// takes it (from the game's log) at once instead of waiting for the lease to expire. Call it
// before the Manager's Close, whose room shutdown then closes no remote connection.
func (c *Cluster) Close(ctx context.Context) error {
	c.closing.Store(true)
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	type lease struct {
		code string
		rev  uint64
	}
	var leases []lease
	for code, o := range c.owned {
		leases = append(leases, lease{code, o.leaseRev})
		c.stopOwnedLocked(o)
	}
	for _, l := range c.links {
		l.stopWatch()
	}
	c.mu.Unlock()
	_ = c.nodeSub.Unsubscribe()
	var errs []error
	for _, l := range leases {
		if err := c.leases.Delete(ctx, l.code, jetstream.LastRevision(l.rev)); err != nil {
			errs = append(errs, fmt.Errorf("release %s: %w", l.code, err))
		}
	}
	_ = c.leases.Delete(ctx, nodeKeyPrefix+c.cfg.NodeID)
	return errors.Join(errs...)
}
