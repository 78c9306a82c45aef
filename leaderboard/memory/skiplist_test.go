package memory

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/trivium-game/trivium/leaderboard"
)

// TestSkiplistRanksMatchASortedSlice drives random inserts and deletes and checks every rank,
// every rank lookup and every count against a plainly sorted slice.
func TestSkiplistRanksMatchASortedSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s := newSkiplist()
	var want []leaderboard.Position
	cmp := func(a, b leaderboard.Position) int {
		switch {
		case leaderboard.Less(a, b):
			return -1
		case leaderboard.Less(b, a):
			return 1
		}
		return 0
	}
	for step := 0; step < 3000; step++ {
		if len(want) > 0 && r.IntN(3) == 0 {
			i := r.IntN(len(want))
			if !s.delete(want[i]) {
				t.Fatalf("step %d: delete of present %v failed", step, want[i])
			}
			want = slices.Delete(want, i, i+1)
		} else {
			p := leaderboard.Position{Score: int64(r.IntN(50)), ReachedAt: time.UnixMilli(int64(r.IntN(5))).UTC(), PlayerID: "p" + strconv.Itoa(step)}
			s.insert(p)
			want = append(want, p)
			slices.SortFunc(want, cmp)
		}
		if s.length != len(want) {
			t.Fatalf("step %d: length %d, want %d", step, s.length, len(want))
		}
		if step%50 != 0 {
			continue
		}
		for i, p := range want {
			if got := s.at(i + 1); got == nil || !same(got.pos, p) {
				t.Fatalf("step %d: at(%d) = %v, want %v", step, i+1, got, p)
			}
			n, next := s.countWhile(func(q leaderboard.Position) bool { return leaderboard.Less(q, p) })
			if n != i || next == nil || !same(next.pos, p) {
				t.Fatalf("step %d: count before %v = %d, want %d", step, p, n, i)
			}
		}
	}
	if s.delete(leaderboard.Position{PlayerID: "absent"}) {
		t.Fatal("delete of an absent position reported success")
	}
}
