package leaderboard

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// profileCache is a bounded LRU with a TTL in front of Profiles: boards are read far more often
// than names change, and Invalidate covers the changes we hear about (renames, new avatars).
type profileCache struct {
	src  Profiles
	now  func() time.Time
	ttl  time.Duration
	size int

	mu    sync.Mutex
	order *list.List // front = most recently used; values are *cached
	byID  map[string]*list.Element
	// gen counts invalidations, so a lookup that raced one does not cache what it read before it.
	gen uint64
}

type cached struct {
	id      string
	p       Profile
	expires time.Time
}

func newProfileCache(src Profiles, now func() time.Time, size int, ttl time.Duration) *profileCache {
	return &profileCache{src: src, now: now, ttl: ttl, size: size, order: list.New(), byID: map[string]*list.Element{}}
}

// get returns the profiles of ids, asking the source only for those not cached. Players the
// source does not know are cached blank so a deleted account does not cost a lookup per read.
func (c *profileCache) get(ctx context.Context, ids []string) (map[string]Profile, error) {
	out := make(map[string]Profile, len(ids))
	var missing []string
	now := c.now()
	c.mu.Lock()
	gen := c.gen
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		if el, ok := c.byID[id]; ok {
			e := el.Value.(*cached)
			if now.Before(e.expires) {
				c.order.MoveToFront(el)
				out[id] = e.p
				continue
			}
			c.order.Remove(el)
			delete(c.byID, id)
		}
		out[id] = Profile{}
		missing = append(missing, id)
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	got, err := c.src.Profiles(ctx, missing)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range missing {
		p := got[id]
		out[id] = p
		if gen != c.gen {
			continue
		}
		if el, ok := c.byID[id]; ok {
			// Another reader filled it meanwhile; ours is as fresh.
			el.Value.(*cached).p = p
			c.order.MoveToFront(el)
			continue
		}
		c.byID[id] = c.order.PushFront(&cached{id: id, p: p, expires: now.Add(c.ttl)})
		for c.order.Len() > c.size {
			last := c.order.Back()
			c.order.Remove(last)
			delete(c.byID, last.Value.(*cached).id)
		}
	}
	return out, nil
}

func (c *profileCache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if el, ok := c.byID[id]; ok {
		c.order.Remove(el)
		delete(c.byID, id)
	}
}
