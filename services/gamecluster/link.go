package gamecluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/trivium-game/trivium/services/games"
)

// link forwards the commands of this node's connections to the node running a game, and when
// that node goes away it finds (or becomes) the next owner and joins the connections again there.
type link struct {
	c    *Cluster
	code string

	mu       sync.Mutex
	owner    string
	local    bool // this node runs the game now
	replay   bool // joins must be sent again (the owner changed)
	joins    map[string]games.Command
	watching bool
	stopped  bool
}

var _ games.Link = (*link)(nil)

func (c *Cluster) linkTo(code, owner string) *link {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.links[code]
	if l == nil {
		l = &link{c: c, code: code, joins: map[string]games.Command{}}
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
	local := l.local
	l.mu.Unlock()
	if cmd.Type == games.CmdDisconnect {
		defer l.c.forgetConn(id)
	}
	if local {
		if m := l.c.m.Load(); m != nil {
			if room, ok := m.Local(l.code); ok {
				return room.Submit(cmd)
			}
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

// forget drops a connection the owner closed.
func (l *link) forget(connID string) {
	l.mu.Lock()
	delete(l.joins, connID)
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
		l.mu.Unlock()
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
	case err == nil && string(e.Value()) != l.c.cfg.NodeID:
		l.mu.Lock()
		l.owner, l.replay = string(e.Value()), true
		l.mu.Unlock()
		return false, string(e.Value()), true
	case err == nil:
		// Another path on this node took the game over (becameLocal ran).
		return true, owner, true
	case errors.Is(err, jetstream.ErrKeyNotFound):
		took, err := l.c.takeOver(ctx, l.code, nil)
		if err != nil {
			l.c.log.Warn("take game over", "code", l.code, "err", err)
			return false, owner, replay
		}
		if !took {
			return false, owner, replay // another node was quicker; the next check finds it
		}
		m := l.c.m.Load()
		if m == nil {
			return false, owner, replay
		}
		if _, err := m.TakeOver(l.code); err != nil {
			l.c.log.Error("restore game", "code", l.code, "err", err)
			l.c.lost(l.code, "restore failed")
			return false, owner, replay
		}
		return true, owner, true
	default:
		l.c.log.Warn("check game lease", "code", l.code, "err", err)
		return false, owner, replay
	}
}

// rejoin sends every connection's join again, to the local room or to the new owner.
func (l *link) rejoin(local bool, owner string) {
	l.mu.Lock()
	l.replay = false
	joins := make(map[string]games.Command, len(l.joins))
	for id, j := range l.joins {
		joins[id] = j
	}
	l.mu.Unlock()
	var room *games.Room
	if local {
		m := l.c.m.Load()
		if m == nil {
			return
		}
		r, ok := m.Local(l.code)
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
	l.c.log.Info("connections joined the game's new owner", "code", l.code, "local", local, "owner", owner, "conns", len(joins))
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
