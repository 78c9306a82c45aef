package gamecluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/games"
)

// link forwards the commands of this node's connections to the node running a game, and when
// that node goes away it finds (or becomes) the next owner and joins the connections again there.
type link struct {
	c    *Cluster
	code string

	mu     sync.Mutex
	owner  string
	local  bool // this node runs the game now
	replay bool // joins must be sent again (the owner changed)
	joins  map[string]games.Command
	// unacked are the forwarded commands no reply has come back for yet, by connection and ref:
	// sent again to the next owner when the owner changes, so a command to a node that died is
	// not silently lost.
	unacked  map[string]map[string]pendingCmd
	order    uint64
	watching bool
	stopped  bool
}

type pendingCmd struct {
	cmd    games.Command
	n      uint64 // forwarding order
	since  time.Time
	redone bool // joined and sent again after a not_joined reply
}

// unackedLimit is how long a forwarded command may wait for its reply (across owner changes)
// before the connection is told it failed.
const unackedLimit = 20 * time.Second

var _ games.Link = (*link)(nil)

func (c *Cluster) linkTo(code, owner string) *link {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.links[code]
	if l == nil {
		l = &link{c: c, code: code, joins: map[string]games.Command{}, unacked: map[string]map[string]pendingCmd{}}
		c.links[code] = l
	}
	l.mu.Lock()
	if !l.local && l.owner != owner {
		l.replay = l.owner != ""
		l.owner = owner
	}
	l.mu.Unlock()
	return l
}

// becameLocal is called (c.mu held) when this node takes the game's lease.
func (l *link) becameLocal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.local, l.replay = true, true
}

func (l *link) stopWatch() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}

// Forward implements games.Link.
func (l *link) Forward(cmd games.Command) bool {
	id := l.c.connID(cmd.Client)
	l.mu.Lock()
	switch cmd.Type {
	case games.CmdJoin:
		// Replayed at an owner change: the same account joins again and keeps its score. Its resume
		// token may have rotated since the snapshot, so the replay joins by identity only.
		l.joins[id] = games.Command{Type: games.CmdJoin, Client: cmd.Client, Player: cmd.Player,
			Data: json.RawMessage(`{"code":"` + l.code + `"}`)}
		if !l.watching && !l.stopped {
			l.watching = true
			go l.watch()
		}
	case games.CmdLeave, games.CmdDisconnect:
		delete(l.joins, id)
	}
	if cmd.Type == games.CmdDisconnect {
		delete(l.unacked, id)
	} else if cmd.Ref != "" && !l.local {
		if l.unacked[id] == nil {
			l.unacked[id] = map[string]pendingCmd{}
		}
		l.order++
		l.unacked[id][cmd.Ref] = pendingCmd{cmd: cmd, n: l.order, since: time.Now()}
	}
	local, replay := l.local, l.replay
	l.mu.Unlock()
	if cmd.Type == games.CmdDisconnect {
		defer l.c.forgetConn(id)
	}
	if local && replay && cmd.Type != games.CmdJoin {
		// This node has just taken the game over: the connections join the restored room before
		// anything they send, or it would answer "join the game first".
		l.rejoin(true, "")
	}
	if local {
		if room, ok := l.c.m.Local(l.code); ok {
			return room.Submit(cmd)
		}
		return false
	}
	return l.publish(id, cmd) == nil
}

func (l *link) publish(connID string, cmd games.Command) error {
	b, err := json.Marshal(inMsg{Node: l.c.cfg.NodeID, Conn: connID, Type: cmd.Type, Ref: cmd.Ref, Player: cmd.Player, Data: cmd.Data})
	if err != nil {
		return err
	}
	return l.c.nc.Publish(l.c.subject(l.code, "in"), b)
}

// replied notes that the reply to ref reached connection connID: it is not sent again.
func (l *link) replied(connID, ref string) {
	l.mu.Lock()
	delete(l.unacked[connID], ref)
	l.mu.Unlock()
}

// rejoinConn joins connection connID again and resends its command ref, once, when the owner
// answered that it does not know the connection although this link joined it; false when there
// is nothing to redo (never joined here, or already redone), and the error goes to the client.
func (l *link) rejoinConn(connID, ref string) bool {
	l.mu.Lock()
	j, joined := l.joins[connID]
	p, pending := l.unacked[connID][ref]
	if !joined || !pending || p.redone {
		l.mu.Unlock()
		return false
	}
	p.redone = true
	l.unacked[connID][ref] = p
	l.mu.Unlock()
	if l.publish(connID, j) != nil || l.publish(connID, p.cmd) != nil {
		return false
	}
	return true
}

// forget drops a connection the owner closed.
func (l *link) forget(connID string) {
	l.mu.Lock()
	delete(l.joins, connID)
	delete(l.unacked, connID)
	l.mu.Unlock()
	l.c.forgetConn(connID)
}

// watch checks the game's lease while this node has connections in it: when the owner changes it
// joins them again at the new owner; when the lease has expired (the owner died) it takes the
// game over from its log.
func (l *link) watch() {
	t := time.NewTicker(l.c.cfg.WatchEvery)
	defer t.Stop()
	for {
		select {
		case <-l.c.ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		if len(l.joins) == 0 || l.stopped {
			l.watching = false
			l.mu.Unlock()
			return
		}
		local, owner, replay := l.local, l.owner, l.replay
		expired := l.expireLocked(time.Now())
		l.mu.Unlock()
		for _, p := range expired {
			p.cmd.Client.Send(games.ErrorFrame(p.cmd.Ref, services.Errorf(services.EUnavailable,
				"the game's server did not answer in %s; the command was not applied", unackedLimit)))
		}
		if !local {
			local, owner, replay = l.check(owner, replay)
		}
		if replay {
			l.rejoin(local, owner)
		}
	}
}

// check looks the lease up; it reports where the game is now and whether joins must be replayed.
func (l *link) check(owner string, replay bool) (bool, string, bool) {
	ctx, cancel := context.WithTimeout(l.c.ctx, requestTimeout)
	defer cancel()
	e, err := l.c.leases.Get(ctx, l.code)
	switch {
	case err == nil && string(e.Value()) == owner:
		return false, owner, replay
	case err == nil && l.c.previousSelf(string(e.Value())):
		// The owner was this node's previous process: take the game back now.
		return l.takeBack(ctx, owner, replay, e)
	case err == nil && string(e.Value()) != l.c.lease:
		l.mu.Lock()
		l.owner, l.replay = string(e.Value()), true
		l.mu.Unlock()
		return false, string(e.Value()), true
	case err == nil:
		// Another path on this node took the game over (becameLocal ran).
		return true, owner, true
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return l.takeBack(ctx, owner, replay, nil)
	default:
		l.c.log.Warn("check game lease", "code", l.code, "err", err)
		return false, owner, replay
	}
}

// resendable commands are safe to send again whether or not the old owner applied them: a repeat
// is refused (already_answered, "no question is open", "already started"…), never applied twice.
// next and chat are not: a repeated next would skip a question, a repeated chat post twice.
func resendable(typ string) bool {
	return typ != games.CmdNext && typ != games.CmdChat
}

// expireLocked removes and returns the forwarded commands that waited too long (l.mu held).
func (l *link) expireLocked(now time.Time) []pendingCmd {
	var out []pendingCmd
	for id, m := range l.unacked {
		for ref, p := range m {
			if now.Sub(p.since) > unackedLimit {
				out = append(out, p)
				delete(m, ref)
			}
		}
		if len(m) == 0 {
			delete(l.unacked, id)
		}
	}
	return out
}

// takeBack takes over a game whose owner is gone (stale is its lease, nil once expired).
func (l *link) takeBack(ctx context.Context, owner string, replay bool, stale jetstream.KeyValueEntry) (bool, string, bool) {
	took, err := l.c.takeOver(ctx, l.code, stale)
	if err != nil {
		l.c.log.Warn("take game over", "code", l.code, "err", err)
		return false, owner, replay
	}
	if !took {
		return false, owner, replay // another node was quicker; the next check finds it
	}
	if _, err := l.c.m.TakeOver(l.code); err != nil {
		l.c.log.Error("restore game", "code", l.code, "err", err)
		l.c.lost(l.code, "restore failed")
		return false, owner, replay
	}
	return true, owner, true
}

// rejoin sends every connection's join again, to the local room or to the new owner, then the
// commands still waiting for a reply, in the order they were first sent. A command the old owner
// applied (but whose reply was lost with it) is refused by the new owner as a repeat, e.g. with
// already_answered: it is never counted twice.
func (l *link) rejoin(local bool, owner string) {
	l.mu.Lock()
	l.replay = false
	joins := make(map[string]games.Command, len(l.joins))
	for id, j := range l.joins {
		joins[id] = j
	}
	var again []pendingCmd
	for _, m := range l.unacked {
		for _, p := range m {
			if p.cmd.Type != games.CmdJoin {
				again = append(again, p)
			}
		}
	}
	if local {
		// From now on the local room answers directly.
		clear(l.unacked)
	}
	l.mu.Unlock()
	sort.Slice(again, func(i, j int) bool { return again[i].n < again[j].n })
	var room *games.Room
	if local {
		r, ok := l.c.m.Local(l.code)
		if !ok {
			l.mu.Lock()
			l.replay = true
			l.mu.Unlock()
			return
		}
		room = r
	}
	for id, j := range joins {
		if room != nil {
			room.Submit(j)
		} else if err := l.publish(id, j); err != nil {
			l.c.log.Warn("rejoin", "code", l.code, "err", err)
		}
	}
	for _, p := range again {
		if !resendable(p.cmd.Type) {
			p.cmd.Client.Send(games.ErrorFrame(p.cmd.Ref, services.Errorf(services.EUnavailable,
				"the game's server went away before answering; the state frame shows whether %q was applied", p.cmd.Type)))
			continue
		}
		if room != nil {
			room.Submit(p.cmd)
		} else if err := l.publish(l.c.connID(p.cmd.Client), p.cmd); err != nil {
			l.c.log.Warn("resend", "code", l.code, "err", err)
		}
	}
	l.c.log.Info("connections joined the game's new owner", "code", l.code, "local", local, "owner", owner,
		"conns", len(joins), "resent", len(again))
}

// remoteClient stands, on the owner, for one connection on another node.
type remoteClient struct {
	c                *Cluster
	code, node, conn string
	player           string
	out              *nodeOut
	dead, closed     atomic.Bool
}

var _ games.Client = (*remoteClient)(nil)

func (r *remoteClient) PlayerID() string { return r.player }

// Send queues the frame for the node's publisher; the room's shared broadcast bytes are merged
// there into one message per node.
func (r *remoteClient) Send(frame []byte) bool {
	if r.dead.Load() || r.closed.Load() {
		return false
	}
	return r.out.enqueue(outItem{conn: r.conn, frame: frame})
}

// Close closes the connection on its node, except while this node hands its games over: then the
// connection stays and joins the next owner.
func (r *remoteClient) Close(code int, reason string) {
	if r.c.closing.Load() || r.dead.Load() || !r.closed.CompareAndSwap(false, true) {
		return
	}
	r.out.enqueue(outItem{conn: r.conn, close: code, reason: reason})
	r.c.mu.Lock()
	if o := r.c.owned[r.code]; o != nil && o.remotes[remoteKey{r.node, r.conn}] == r {
		delete(o.remotes, remoteKey{r.node, r.conn})
	}
	r.c.mu.Unlock()
}

type outItem struct {
	conn   string
	frame  []byte
	close  int
	reason string
}

// nodeOut publishes one game's frames for one node, in order.
type nodeOut struct {
	c       *Cluster
	subject string
	ch      chan outItem
	done    chan struct{}
	once    sync.Once
}

func (c *Cluster) newNodeOut(code, node string) *nodeOut {
	o := &nodeOut{c: c, subject: c.subject(code, "node", node), ch: make(chan outItem, c.cfg.OutQueue), done: make(chan struct{})}
	go o.run()
	return o
}

func (o *nodeOut) enqueue(it outItem) bool {
	select {
	case <-o.done:
		return false
	default:
	}
	select {
	case o.ch <- it:
		return true
	default:
		return false
	}
}

func (o *nodeOut) stop() { o.once.Do(func() { close(o.done) }) }

func (o *nodeOut) run() {
	for {
		select {
		case <-o.done:
			return
		case it := <-o.ch:
			batch := []outItem{it}
		drain:
			for {
				select {
				case it := <-o.ch:
					batch = append(batch, it)
				default:
					break drain
				}
			}
			o.publish(batch)
		}
	}
}

// publish sends a batch, merging consecutive items that carry the same frame (a broadcast) or
// the same close into one message naming all their connections.
func (o *nodeOut) publish(batch []outItem) {
	for i := 0; i < len(batch); {
		first := batch[i]
		msg := outMsg{Conns: []string{first.conn}, Close: first.close, Reason: first.reason}
		if first.close == 0 {
			msg.Frame = first.frame
		}
		j := i + 1
		for ; j < len(batch); j++ {
			b := batch[j]
			if b.close != first.close || b.reason != first.reason || (first.close == 0 && !bytes.Equal(b.frame, first.frame)) {
				break
			}
			msg.Conns = append(msg.Conns, b.conn)
		}
		if data, err := json.Marshal(msg); err == nil {
			if err := o.c.nc.Publish(o.subject, data); err != nil {
				o.c.log.Warn("publish frames", "subject", o.subject, "err", err)
			}
		}
		i = j
	}
}
