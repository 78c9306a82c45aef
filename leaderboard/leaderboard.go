// Package leaderboard ranks registered players on boards fed by score.recorded events: global
// (all time), weekly (the ISO week in UTC) and quiz:{id} (each player's best score on one quiz).
//
// What counts (see Ranked and Service.apply): global and weekly add up each player's best result
// per quiz in the period — playing one quiz again only counts when it beats the earlier best —
// and only results on public quizzes the player did not write count there; single-player runs
// count SoloDivisor times less than multiplayer games. Quiz boards keep every registered
// player's best raw score.
//
// Rankings live in an Engine (memory, or Redis sorted sets); the SQL log is the source of truth
// an engine can be rebuilt from. Every write is idempotent per (Source, SourceID, PlayerID), so
// the at-least-once bus may deliver a score any number of times.
package leaderboard

import (
	"context"
	"math"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Mode says how a new score combines with the player's current one on a board.
type Mode int

const (
	// SumOfBests keeps the player's best score per Group and ranks the sum of those bests
	// (global and weekly, grouped by quiz), so repeating a quiz cannot add up.
	SumOfBests Mode = iota
	// Best keeps the player's highest score (quiz boards).
	Best
)

// Update is one score event applied to one board.
type Update struct {
	Board    string // a resolved board name: "global", "weekly:2026-W48", "quiz:abc"
	EventKey string // identifies the event; a key already applied to Board is a no-op
	PlayerID string
	Mode     Mode
	Group    string    // SumOfBests: what a best is kept per (the quiz id)
	Points   int64     // ≥ 0
	At       time.Time // when the points were scored; not before 1970
}

// Position is a place in a board's order: higher Score first, then earlier ReachedAt, then
// PlayerID, so every player holds a distinct, stable position.
type Position struct {
	Score int64
	// ReachedAt is when the player reached Score (millisecond precision, UTC). For Best boards
	// (and each group of a SumOfBests board) it is the earliest event that scored the best; for
	// SumOfBests boards the latest of those times among the groups that scored.
	ReachedAt time.Time
	PlayerID  string
}

// Standing is a player's position on a board with its 1-based rank (ties are broken by
// ReachedAt, so ranks are distinct).
type Standing struct {
	Rank int
	Position
}

// Engine keeps the rankings. Implementations must be safe for concurrent use, and every method
// must see a consistent snapshot of one board.
type Engine interface {
	// Apply applies u to its board and reports whether it changed anything; an EventKey seen
	// before on that board is ignored (false).
	Apply(ctx context.Context, u Update) (bool, error)
	// After returns up to limit standings that follow after in the board's order, or from the top
	// when after is nil. An unknown board is empty.
	After(ctx context.Context, board string, after *Position, limit int) ([]Standing, error)
	// Around returns the player's standing with up to n neighbours on each side, in order, and
	// the index of the player's own standing in that slice. ENotFound if the player has none.
	Around(ctx context.Context, board, playerID string, n int) ([]Standing, int, error)
}

// Log is the durable record of every counted score, the source of truth engines are rebuilt from.
type Log interface {
	// Append records s and reports whether it was new; a repeat of (Source, SourceID, PlayerID)
	// returns false and changes nothing.
	Append(ctx context.Context, s services.ScoreRecorded) (bool, error)
	// Replay calls fn for every recorded score in order of At.
	Replay(ctx context.Context, fn func(services.ScoreRecorded) error) error
}

// Profile is what a board shows next to a player's score.
type Profile struct {
	DisplayName  string
	ThumbnailURL string
}

// Profiles looks up the public profiles of players; ids missing from the answer are shown blank.
type Profiles interface {
	Profiles(ctx context.Context, ids []string) (map[string]Profile, error)
}

// Entry is one line of a board as served to clients.
type Entry struct {
	Rank         int    `json:"rank"`
	PlayerID     string `json:"playerId"`
	DisplayName  string `json:"displayName"`
	ThumbnailURL string `json:"thumbnailUrl"`
	Score        int64  `json:"score"`
}

// Page is one page of a board. Board is the resolved name ("weekly" becomes "weekly:2026-W48");
// Next is empty on the last page.
type Page struct {
	Board   string  `json:"board"`
	Entries []Entry `json:"entries"`
	Next    string  `json:"next"`
}

// MeResult is a player's standing with neighbours on each side.
type MeResult struct {
	Rank    int     `json:"rank"`
	Score   int64   `json:"score"`
	Entries []Entry `json:"entries"`
}

// Less reports whether a ranks before b.
func Less(a, b Position) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	am, bm := a.ReachedAt.UnixMilli(), b.ReachedAt.UnixMilli()
	if am != bm {
		return am < bm
	}
	return a.PlayerID < b.PlayerID
}

// Combine returns the player's best after u on a Best board, or on u's group of a SumOfBests
// board, given the current one (nil when there is none yet). The result does not depend on the
// order events arrive in, so a rebuild from the log always reproduces the live board. Engines
// that cannot call Go (Lua) mirror it.
func Combine(cur *Position, u Update) Position {
	at := time.UnixMilli(u.At.UnixMilli()).UTC()
	if cur == nil {
		return Position{Score: u.Points, ReachedAt: at, PlayerID: u.PlayerID}
	}
	next := *cur
	switch {
	case u.Points > cur.Score:
		next.Score, next.ReachedAt = u.Points, at
	case u.Points == cur.Score && at.Before(cur.ReachedAt):
		next.ReachedAt = at
	}
	return next
}

// Total is a player's position on a SumOfBests board given the best of each group (at least
// one): the sum of the bests, reached when the last scoring group reached its best — or, while
// every best is 0, when the first group was played. It is a function of the bests alone, so it
// is as order-independent as Combine. Engines that cannot call Go (Lua) mirror it.
func Total(playerID string, bests []Position) (Position, error) {
	out := Position{PlayerID: playerID}
	var first time.Time
	for i, b := range bests {
		if i == 0 || b.ReachedAt.Before(first) {
			first = b.ReachedAt
		}
		if b.Score == 0 {
			continue
		}
		if out.Score > math.MaxInt64-b.Score {
			return Position{}, services.Errorf(services.EInvalid, "leaderboard total of %s would overflow", playerID)
		}
		out.Score += b.Score
		if b.ReachedAt.After(out.ReachedAt) {
			out.ReachedAt = b.ReachedAt
		}
	}
	if out.Score == 0 {
		out.ReachedAt = first
	}
	return out, nil
}

// CheckUpdate refuses updates an engine cannot order exactly.
func CheckUpdate(u Update) error {
	switch {
	case u.Board == "" || u.EventKey == "" || u.PlayerID == "":
		return services.Errorf(services.EInvalid, "leaderboard update needs a board, an event key and a player")
	case u.Points < 0:
		return services.Errorf(services.EInvalid, "leaderboard points must not be negative")
	case u.At.UnixMilli() < 0:
		return services.Errorf(services.EInvalid, "leaderboard time must not be before 1970")
	}
	return nil
}
