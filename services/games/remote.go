package games

import (
	"fmt"

	"github.com/trivium-game/trivium/services"
)

// Cluster lets several nodes serve the same games. Each game's Room runs on the one node that
// holds its lease; the other nodes hand their connections' commands to a Link that forwards them
// there. A Manager without a Cluster (the embedded default) keeps every game in this process and
// never pays for any of this.
type Cluster interface {
	// Claim takes the lease of a new game's code for this node; false when another node holds it.
	Claim(code string) (bool, error)
	// Locate finds a game that has no Room here. A non-nil snapshot means this node has just taken
	// the game over (its owner is gone) and must restore it; otherwise link forwards to the owner.
	// ok is false when no node has the game.
	Locate(code string) (snapshot []byte, link Link, ok bool, err error)
	// Commit records a game's latest snapshot; it runs on the room goroutine and must not block.
	Commit(code string, snapshot []byte)
	// Release gives up the lease of a game whose Room was removed here.
	Release(code string)
	// Info is the summary of a game another node runs.
	Info(code string) (GameInfo, bool)
}

// Link carries one game's commands from this node's connections to the node running the game;
// the frames the game sends back reach the connections through the Cluster.
type Link interface {
	// Forward sends cmd (cmd.Client is a connection on this node) without blocking; false means
	// it could not be sent.
	Forward(cmd Command) bool
}

// commitKey is what makes a new snapshot worth writing: a phase change (scores move only at
// reveal, buzz and finish), a new question, or a new player (whose resume token must survive).
type commitKey struct {
	phase   string
	asked   int
	players int
	paused  bool
}

func (g *Game) commitKey() commitKey {
	return commitKey{phase: g.phase, asked: g.asked, players: len(g.order), paused: g.paused}
}

// commit hands the cluster a snapshot when the game moved on since the last one.
func (r *Room) commit() {
	if r.onCommit == nil {
		return
	}
	k := r.game.commitKey()
	if k == r.committed {
		return
	}
	b, err := r.game.MarshalSnapshot()
	if err != nil {
		r.log.Error("game snapshot", "err", err)
		return
	}
	r.committed = k
	r.onCommit(r.code, b)
}

// Adopt restores a game this node has just taken over from another and starts its Room. The
// participants the snapshot counts as connected are disconnected at once: their sockets were on
// the node that is gone, and they come back with join (same account) or their resume token.
func (m *Manager) Adopt(snapshot []byte) (*Room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errf(services.EUnavailable, "the game server is shutting down")
	}
	return m.adoptLocked(snapshot)
}

func (m *Manager) adoptLocked(snapshot []byte) (*Room, error) {
	g, err := RestoreGame(snapshot)
	if err != nil {
		return nil, err
	}
	if r := m.rooms[g.Code()]; r != nil {
		return r, nil
	}
	now := m.cfg.Clock.Now()
	for _, id := range g.Connected() {
		g.Disconnect(now, id)
	}
	// committed stays zero: the takeover writes its own snapshot at once, which also fences the
	// previous owner out of the snapshot store.
	r := m.newRoomLocked(g)
	m.cfg.Logger.Info("took game over", "code", g.Code(), "seq", g.Seq())
	return r, nil
}

// Drop stops a game's Room here without recording anything, because another node now holds its
// lease: the connections are closed with code and reason so that they reconnect.
func (m *Manager) Drop(code string, closeCode int, reason string) {
	m.mu.Lock()
	r := m.rooms[code]
	if r != nil {
		delete(m.rooms, code)
		if t := m.lingers[code]; t != nil {
			t.Stop()
			delete(m.lingers, code)
		}
	}
	m.mu.Unlock()
	if r != nil {
		r.shutdown(closeCode, reason)
	}
}

// proxy is the Room handed to the gateway for a game another node runs: Submit forwards.
func (m *Manager) proxy(code string, l Link) *Room {
	if p := m.proxies[code]; p != nil && p.link == l {
		return p
	}
	info := GameInfo{Code: code}
	p := &Room{code: code, link: l, stop: make(chan struct{}), done: make(chan struct{})}
	p.info.Store(&info)
	close(p.done)
	m.proxies[code] = p
	return p
}

// locateLocked asks the cluster for a game that has no Room here (m.mu held).
func (m *Manager) locateLocked(code string) (*Room, bool) {
	snap, link, ok, err := m.cfg.Cluster.Locate(code)
	if err != nil {
		m.cfg.Logger.Warn("locate game", "code", code, "err", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	if snap != nil {
		r, err := m.adoptLocked(snap)
		if err != nil {
			m.cfg.Logger.Error("take over game", "code", code, "err", err)
			return nil, false
		}
		return r, true
	}
	return m.proxy(code, link), true
}

// claimCodeLocked picks a join code free on this node and, in a cluster, on every node (m.mu held).
func (m *Manager) claimCodeLocked() (string, error) {
	for range maxCodeAttempts {
		c := NewCode()
		if m.rooms[c] != nil {
			continue
		}
		if m.cfg.Cluster == nil {
			return c, nil
		}
		ok, err := m.cfg.Cluster.Claim(c)
		if err != nil {
			return "", fmt.Errorf("create game: claim code: %w", err)
		}
		if ok {
			return c, nil
		}
	}
	return "", fmt.Errorf("create game: no free join code after %d attempts", maxCodeAttempts)
}

// newRoomLocked registers and starts a Room for g (m.mu held).
func (m *Manager) newRoomLocked(g *Game) *Room {
	cfg := roomConfig{game: g, clock: m.cfg.Clock, inboxSize: m.cfg.InboxSize, onFinish: m.finished,
		log: m.cfg.Logger.With("game", g.ID(), "code", g.Code())}
	if m.cfg.Cluster != nil {
		cfg.onCommit = m.cfg.Cluster.Commit
	}
	r := newRoom(cfg)
	delete(m.proxies, g.Code())
	m.rooms[g.Code()] = r
	go r.run()
	return r
}

// Local returns the Room of a game running in this process, never a forwarding one.
func (m *Manager) Local(code string) (*Room, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[code]
	return r, ok
}
