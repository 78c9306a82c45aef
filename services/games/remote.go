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
	// Locate finds a game that has no Room here: link forwards to its owner, or takeover says
	// this node has just taken the lease of a game whose owner is gone and must restore it from
	// the game log. ok is false when no node has the game.
	Locate(code string) (link Link, takeover bool, ok bool, err error)
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
// reveal, buzz and finish), a new question, or a new player.
type commitKey struct {
	phase   string
	asked   int
	players int
	paused  bool
}

func (g *Game) commitKey() commitKey {
	return commitKey{phase: g.phase, asked: g.asked, players: len(g.order), paused: g.paused}
}

// TakeOver restores, from its log, a game whose lease this node has just taken from a node that
// is gone, and starts its Room.
func (m *Manager) TakeOver(code string) (*Room, error) {
	m.mu.Lock()
	closed, r := m.closed, m.rooms[code]
	m.mu.Unlock()
	if closed {
		return nil, errf(services.EUnavailable, "the game server is shutting down")
	}
	if r != nil {
		return r, nil
	}
	return m.restore(code)
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

// proxy is the Room handed to the gateway for a game another node runs: Submit forwards (m.mu held).
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

// locate asks the cluster for a game that has no Room here (without m.mu).
func (m *Manager) locate(code string) (*Room, bool) {
	link, takeover, ok, err := m.cfg.Cluster.Locate(code)
	if err != nil {
		m.cfg.Logger.Warn("locate game", "code", code, "err", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	if takeover {
		r, err := m.restore(code)
		if err != nil {
			m.cfg.Logger.Error("take over game", "code", code, "err", err)
			return nil, false
		}
		return r, true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rooms[code]; r != nil {
		return r, true // taken over here meanwhile
	}
	return m.proxy(code, link), true
}

// claimCode picks a join code free on this node and, in a cluster, on every node; call it
// without m.mu. The code stays claimed here until the game's Room is registered or unclaimCode.
func (m *Manager) claimCode() (string, error) {
	for range maxCodeAttempts {
		c := NewCode()
		m.mu.Lock()
		taken := m.rooms[c] != nil || m.claimed[c] || m.lookups[c] != nil
		if !taken {
			m.claimed[c] = true
		}
		m.mu.Unlock()
		if taken {
			continue
		}
		if m.cfg.Cluster == nil {
			return c, nil
		}
		ok, err := m.cfg.Cluster.Claim(c)
		if err != nil || !ok {
			m.mu.Lock()
			delete(m.claimed, c)
			m.mu.Unlock()
		}
		if err != nil {
			return "", fmt.Errorf("create game: claim code: %w", err)
		}
		if ok {
			return c, nil
		}
	}
	return "", fmt.Errorf("create game: no free join code after %d attempts", maxCodeAttempts)
}

// unclaimCode gives back a code claimed for a game that was not created.
func (m *Manager) unclaimCode(code string) {
	m.mu.Lock()
	delete(m.claimed, code)
	m.mu.Unlock()
	if m.cfg.Cluster != nil {
		m.cfg.Cluster.Release(code)
	}
}

// newRoomLocked registers and starts a Room for g (m.mu held). logPos is the position of its
// log so far; restore says it was read back from there.
func (m *Manager) newRoomLocked(g *Game, logPos uint64, restore bool) *Room {
	cfg := roomConfig{game: g, clock: m.cfg.Clock, inboxSize: m.cfg.InboxSize, onFinish: m.finished, onFail: m.failed,
		log: m.cfg.Logger.With("game", g.ID(), "code", g.Code()), journal: m.cfg.Journal, logPos: logPos, restore: restore}
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
