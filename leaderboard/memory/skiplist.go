package memory

import (
	"math/rand/v2"

	"github.com/trivium-game/trivium/leaderboard"
)

const (
	maxLevel = 32 // enough for 4^32 entries at p = 1/4
)

// skiplist keeps positions in board order. Each link also counts how many entries it jumps
// over (its span, as in Redis's zset), so the rank of a position and the entry at a rank are
// found in O(log n) by summing spans on the way down.
type skiplist struct {
	head   *node
	level  int
	length int
}

type node struct {
	pos  leaderboard.Position
	next []link
}

type link struct {
	to   *node
	span int
}

func newSkiplist() *skiplist {
	return &skiplist{head: &node{next: make([]link, maxLevel)}, level: 1}
}

func randomLevel() int {
	l := 1
	for l < maxLevel && rand.IntN(4) == 0 {
		l++
	}
	return l
}

func (s *skiplist) insert(p leaderboard.Position) {
	var update [maxLevel]*node
	var rank [maxLevel]int
	x := s.head
	for i := s.level - 1; i >= 0; i-- {
		if i < s.level-1 {
			rank[i] = rank[i+1]
		}
		for x.next[i].to != nil && leaderboard.Less(x.next[i].to.pos, p) {
			rank[i] += x.next[i].span
			x = x.next[i].to
		}
		update[i] = x
	}
	lvl := randomLevel()
	if lvl > s.level {
		for i := s.level; i < lvl; i++ {
			rank[i] = 0
			update[i] = s.head
			s.head.next[i].span = s.length
		}
		s.level = lvl
	}
	n := &node{pos: p, next: make([]link, lvl)}
	for i := 0; i < lvl; i++ {
		n.next[i].to = update[i].next[i].to
		update[i].next[i].to = n
		n.next[i].span = update[i].next[i].span - (rank[0] - rank[i])
		update[i].next[i].span = rank[0] - rank[i] + 1
	}
	for i := lvl; i < s.level; i++ {
		update[i].next[i].span++
	}
	s.length++
}

func (s *skiplist) delete(p leaderboard.Position) bool {
	var update [maxLevel]*node
	x := s.head
	for i := s.level - 1; i >= 0; i-- {
		for x.next[i].to != nil && leaderboard.Less(x.next[i].to.pos, p) {
			x = x.next[i].to
		}
		update[i] = x
	}
	x = x.next[0].to
	if x == nil || !same(x.pos, p) {
		return false
	}
	for i := 0; i < s.level; i++ {
		if update[i].next[i].to == x {
			update[i].next[i].span += x.next[i].span - 1
			update[i].next[i].to = x.next[i].to
		} else {
			update[i].next[i].span--
		}
	}
	for s.level > 1 && s.head.next[s.level-1].to == nil {
		s.level--
	}
	s.length--
	return true
}

// countWhile returns how many leading entries satisfy before (which must hold for a prefix of
// the order) and the first entry that does not, or nil.
func (s *skiplist) countWhile(before func(leaderboard.Position) bool) (int, *node) {
	n := 0
	x := s.head
	for i := s.level - 1; i >= 0; i-- {
		for x.next[i].to != nil && before(x.next[i].to.pos) {
			n += x.next[i].span
			x = x.next[i].to
		}
	}
	return n, x.next[0].to
}

// at returns the entry of 1-based rank r, or nil.
func (s *skiplist) at(r int) *node {
	if r < 1 || r > s.length {
		return nil
	}
	n := 0
	x := s.head
	for i := s.level - 1; i >= 0; i-- {
		for x.next[i].to != nil && n+x.next[i].span <= r {
			n += x.next[i].span
			x = x.next[i].to
		}
		if n == r {
			return x
		}
	}
	return nil
}

// same reports whether a and b are the same place in the order (time.Time must not be compared
// with ==: equal instants can differ in location).
func same(a, b leaderboard.Position) bool {
	return !leaderboard.Less(a, b) && !leaderboard.Less(b, a)
}
