package sqlstore

import (
	"sync"
	"time"

	"github.com/trivium-game/trivium/services"
)

// maxCachedPlayers bounds the player cache; entries live seconds, so a full cache starts over.
const maxCachedPlayers = 100_000

// playerCache keeps players read by id for a short time, so that authenticating a request
// (which reads its player to refuse a suspended one) costs no query in the common case. Every
// write to players through this DB clears it, so this process reads its own writes at once;
// another process's writes show after the TTL at most (ForgetPlayer, driven by the suspension
// event, makes that immediate for suspensions).
//
// gen guards the race between a read and a write: a read that began before a write finished
// must not put what it read back into the cache after the write cleared it.
type playerCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	gen     uint64
	entries map[string]cachedPlayer
}

type cachedPlayer struct {
	p     services.Player
	until time.Time
}

// CachePlayers turns on the player cache with entries kept for ttl (ttl ≤ 0 turns it off). Call
// it before the DB is shared.
func (d *DB) CachePlayers(ttl time.Duration) {
	if ttl <= 0 {
		d.players = nil
		return
	}
	d.players = &playerCache{ttl: ttl, now: d.now, entries: map[string]cachedPlayer{}}
}

// ForgetPlayer drops a cached player, for a change another process made (a suspension).
func (d *DB) ForgetPlayer(id string) { d.players.forget(id) }

// get returns a copy of a fresh cached player, and the generation to pass to put after a miss.
func (c *playerCache) get(id string) (*services.Player, uint64, bool) {
	if c == nil {
		return nil, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || !c.now().Before(e.until) {
		return nil, c.gen, false
	}
	p := e.p
	return &p, c.gen, true
}

// put caches p unless a write to players finished since gen was read.
func (c *playerCache) put(p *services.Player, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= maxCachedPlayers {
		clear(c.entries)
	}
	c.entries[p.ID] = cachedPlayer{*p, c.now().Add(c.ttl)}
}

// forget drops one player ("" drops all) after a write to players.
func (c *playerCache) forget(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if id == "" {
		clear(c.entries)
		return
	}
	delete(c.entries, id)
}
