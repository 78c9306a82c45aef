// Package memory is the embedded leaderboard engine: one skiplist with span counts per board,
// giving O(log n) rank and O(log n + k) ranges, the set of applied event keys per board, and on
// SumOfBests boards each player's best per group. It
// keeps nothing on disk; the leaderboard service rebuilds it from the SQL log at start.
package memory

import (
	"context"
	"sync"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/services"
)

// Engine is an in-memory leaderboard.Engine.
type Engine struct {
	mu     sync.RWMutex
	boards map[string]*board
}

var _ leaderboard.Engine = (*Engine)(nil)

type board struct {
	order   *skiplist
	players map[string]leaderboard.Position
	seen    map[string]struct{}
	// bests holds, on SumOfBests boards, player → group → that group's best.
	bests map[string]map[string]leaderboard.Position
}

// New returns an empty engine.
func New() *Engine { return &Engine{boards: map[string]*board{}} }

// Apply implements leaderboard.Engine.
func (e *Engine) Apply(_ context.Context, u leaderboard.Update) (bool, error) {
	if err := leaderboard.CheckUpdate(u); err != nil {
		return false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.boards[u.Board]
	if b == nil {
		b = &board{order: newSkiplist(), players: map[string]leaderboard.Position{}, seen: map[string]struct{}{},
			bests: map[string]map[string]leaderboard.Position{}}
		e.boards[u.Board] = b
	}
	if _, dup := b.seen[u.EventKey]; dup {
		return false, nil
	}
	var cur *leaderboard.Position
	if p, ok := b.players[u.PlayerID]; ok {
		cur = &p
	}
	next := leaderboard.Combine(cur, u)
	if u.Mode == leaderboard.SumOfBests {
		groups := b.bests[u.PlayerID]
		var best *leaderboard.Position
		if g, ok := groups[u.Group]; ok {
			best = &g
		}
		nb := leaderboard.Combine(best, u)
		all := []leaderboard.Position{nb}
		for k, g := range groups {
			if k != u.Group {
				all = append(all, g)
			}
		}
		var err error
		if next, err = leaderboard.Total(u.PlayerID, all); err != nil {
			return false, err
		}
		if groups == nil {
			groups = map[string]leaderboard.Position{}
			b.bests[u.PlayerID] = groups
		}
		groups[u.Group] = nb
	}
	b.seen[u.EventKey] = struct{}{}
	if cur != nil {
		if same(*cur, next) {
			return false, nil
		}
		b.order.delete(*cur)
	}
	b.order.insert(next)
	b.players[u.PlayerID] = next
	return true, nil
}

// After implements leaderboard.Engine.
func (e *Engine) After(_ context.Context, board string, after *leaderboard.Position, limit int) ([]leaderboard.Standing, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	b := e.boards[board]
	if b == nil || limit <= 0 {
		return nil, nil
	}
	var n int
	var x *node
	if after == nil {
		x = b.order.head.next[0].to
	} else {
		n, x = b.order.countWhile(func(p leaderboard.Position) bool { return !leaderboard.Less(*after, p) })
	}
	return collect(x, n+1, limit), nil
}

// Around implements leaderboard.Engine.
func (e *Engine) Around(_ context.Context, board, playerID string, n int) ([]leaderboard.Standing, int, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var p leaderboard.Position
	b := e.boards[board]
	ok := b != nil
	if ok {
		p, ok = b.players[playerID]
	}
	if !ok {
		return nil, 0, services.Errorf(services.ENotFound, "%s has no score on %s", playerID, board)
	}
	before, _ := b.order.countWhile(func(q leaderboard.Position) bool { return leaderboard.Less(q, p) })
	rank := before + 1
	first := max(1, rank-n)
	return collect(b.order.at(first), first, rank+n-first+1), rank - first, nil
}

// collect walks up to limit entries from x, whose rank is rank.
func collect(x *node, rank, limit int) []leaderboard.Standing {
	var out []leaderboard.Standing
	for ; x != nil && len(out) < limit; x = x.next[0].to {
		out = append(out, leaderboard.Standing{Rank: rank, Position: x.pos})
		rank++
	}
	return out
}
