package leaderboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Defaults for Config.
const (
	DefaultProfileCacheSize = 10_000
	DefaultProfileCacheTTL  = 5 * time.Minute
	MaxLimit                = 100
	MaxAround               = 50
)

// Config configures a Service. Engine, Log and Profiles are required.
type Config struct {
	Engine   Engine
	Log      Log
	Profiles Profiles
	Clock    func() time.Time // default time.Now; resolves "weekly" and ages cached profiles
	Logger   *slog.Logger     // default discards

	ProfileCacheSize int           // default DefaultProfileCacheSize
	ProfileCacheTTL  time.Duration // default DefaultProfileCacheTTL
}

// Service consumes score.recorded and serves boards.
type Service struct {
	engine   Engine
	log      Log
	clock    func() time.Time
	logger   *slog.Logger
	profiles *profileCache
}

// New returns a Service; call Rebuild before serving when the engine does not persist (memory).
func New(cfg Config) (*Service, error) {
	if cfg.Engine == nil || cfg.Log == nil || cfg.Profiles == nil {
		return nil, errors.New("leaderboard: Engine, Log and Profiles are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ProfileCacheSize <= 0 {
		cfg.ProfileCacheSize = DefaultProfileCacheSize
	}
	if cfg.ProfileCacheTTL <= 0 {
		cfg.ProfileCacheTTL = DefaultProfileCacheTTL
	}
	return &Service{
		engine:   cfg.Engine,
		log:      cfg.Log,
		clock:    cfg.Clock,
		logger:   cfg.Logger,
		profiles: newProfileCache(cfg.Profiles, cfg.Clock, cfg.ProfileCacheSize, cfg.ProfileCacheTTL),
	}, nil
}

// HandleScore is the bus handler for score.recorded. It appends to the log first and then applies
// to the engine whether or not the row was new: if we crashed (or the engine failed) after the
// append, the redelivery finds the row logged and still completes the engine side, and the
// engine's own idempotency keeps a score that already landed from counting twice. An engine that
// lost the write in a crash (memory) gets it back from the log by Rebuild.
func (s *Service) HandleScore(ctx context.Context, m services.Message) error {
	var sr services.ScoreRecorded
	if err := json.Unmarshal(m.Data, &sr); err != nil {
		return services.Permanent(fmt.Errorf("decode %s %s: %w", m.Subject, m.ID, err))
	}
	if sr.Guest {
		return nil
	}
	if err := checkScore(sr); err != nil {
		return services.Permanent(fmt.Errorf("%s %s: %w", m.Subject, m.ID, err))
	}
	fresh, err := s.log.Append(ctx, sr)
	if err != nil {
		return fmt.Errorf("log score %s: %w", EventKey(sr), err)
	}
	if !fresh {
		s.logger.DebugContext(ctx, "score already logged", "source", sr.Source, "sourceId", sr.SourceID, "player", sr.PlayerID, "delivered", m.Delivered)
	}
	return s.apply(ctx, sr)
}

// Rebuild replays the whole log into the engine. Replaying onto an engine that already holds the
// scores changes nothing.
func (s *Service) Rebuild(ctx context.Context) error {
	start := s.clock()
	n := 0
	err := s.log.Replay(ctx, func(sr services.ScoreRecorded) error {
		if sr.Guest || checkScore(sr) != nil {
			return nil
		}
		n++
		return s.apply(ctx, sr)
	})
	if err != nil {
		return fmt.Errorf("rebuild leaderboards: %w", err)
	}
	s.logger.InfoContext(ctx, "leaderboards rebuilt", "scores", n, "took", s.clock().Sub(start))
	return nil
}

// Invalidate drops a player's cached name and thumbnail, for when either changes.
func (s *Service) Invalidate(playerID string) { s.profiles.invalidate(playerID) }

// Top returns a page of board from its top, or after cursor (the Next of a previous page).
func (s *Service) Top(ctx context.Context, board, cursor string, limit int) (Page, error) {
	if limit < 1 || limit > MaxLimit {
		return Page{}, services.Errorf(services.EInvalid, "limit must be between 1 and %d", MaxLimit)
	}
	resolved, err := ResolveBoard(board, s.clock())
	if err != nil {
		return Page{}, err
	}
	var after *Position
	if cursor != "" {
		c, err := decodeCursor(cursor)
		if err != nil {
			return Page{}, err
		}
		// A cursor pins the board it was made on: a "weekly" listing paged across Monday
		// midnight finishes the week it started instead of jumping into an empty one.
		if c.Board != resolved && !(board == BoardWeekly && strings.HasPrefix(c.Board, weeklyPrefix)) {
			return Page{}, services.Errorf(services.EInvalid, "cursor belongs to another board")
		}
		resolved = c.Board
		p := c.position()
		after = &p
	}
	got, err := s.engine.After(ctx, resolved, after, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("read board %s: %w", resolved, err)
	}
	page := Page{Board: resolved}
	if len(got) > limit {
		got = got[:limit]
		page.Next = encodeCursor(resolved, got[limit-1].Position)
	}
	page.Entries, err = s.entries(ctx, got)
	return page, err
}

// Me returns playerID's standing on board with around neighbours on each side.
func (s *Service) Me(ctx context.Context, board, playerID string, around int) (MeResult, error) {
	if around < 0 || around > MaxAround {
		return MeResult{}, services.Errorf(services.EInvalid, "around must be between 0 and %d", MaxAround)
	}
	resolved, err := ResolveBoard(board, s.clock())
	if err != nil {
		return MeResult{}, err
	}
	got, i, err := s.engine.Around(ctx, resolved, playerID, around)
	if err != nil {
		if services.ErrorCode(err) == services.ENotFound {
			return MeResult{}, err
		}
		return MeResult{}, fmt.Errorf("read board %s around %s: %w", resolved, playerID, err)
	}
	entries, err := s.entries(ctx, got)
	if err != nil {
		return MeResult{}, err
	}
	return MeResult{Rank: got[i].Rank, Score: got[i].Score, Entries: entries}, nil
}

// SoloDivisor divides a single-player run's score before it counts toward the global and weekly
// boards: a run has no opponents and can be repeated at will, a multiplayer game needs others.
const SoloDivisor = 2

// Ranked reports whether sr counts toward the global and weekly boards: a result on a public
// quiz the player did not write (its author knows the answers). Every registered player's result
// still goes on the quiz's own board.
func Ranked(sr services.ScoreRecorded) bool {
	return sr.QuizID != "" && sr.QuizPublic && sr.PlayerID != sr.QuizOwnerID
}

// apply files one score. Global and weekly keep each player's best per quiz (SumOfBests grouped
// by quiz id), so farming one quiz adds nothing after the first good run, and a week's board
// counts each quiz's best of that week.
func (s *Service) apply(ctx context.Context, sr services.ScoreRecorded) error {
	key := EventKey(sr)
	var boards []Update
	if sr.QuizID != "" {
		boards = append(boards, Update{Board: QuizBoard(sr.QuizID), Mode: Best, Points: int64(sr.Score)})
	}
	if Ranked(sr) {
		points := int64(sr.Score)
		if sr.Source == services.SourcePlay {
			points /= SoloDivisor
		}
		boards = append(boards,
			Update{Board: BoardGlobal, Mode: SumOfBests, Group: sr.QuizID, Points: points},
			Update{Board: WeekBoard(sr.At), Mode: SumOfBests, Group: sr.QuizID, Points: points})
	}
	for _, u := range boards {
		u.EventKey, u.PlayerID, u.At = key, sr.PlayerID, sr.At
		if _, err := s.engine.Apply(ctx, u); err != nil {
			return fmt.Errorf("apply %s to %s: %w", key, u.Board, err)
		}
	}
	return nil
}

func (s *Service) entries(ctx context.Context, got []Standing) ([]Entry, error) {
	ids := make([]string, len(got))
	for i, g := range got {
		ids[i] = g.PlayerID
	}
	profiles, err := s.profiles.get(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("player profiles: %w", err)
	}
	out := make([]Entry, len(got))
	for i, g := range got {
		p := profiles[g.PlayerID]
		out[i] = Entry{Rank: g.Rank, PlayerID: g.PlayerID, DisplayName: p.DisplayName, ThumbnailURL: p.ThumbnailURL, Score: g.Score}
	}
	return out, nil
}

// EventKey identifies a score event: (Source, SourceID, PlayerID), quoted so no id can collide
// with another by containing the separator.
func EventKey(sr services.ScoreRecorded) string {
	return strconv.Quote(sr.Source) + strconv.Quote(sr.SourceID) + strconv.Quote(sr.PlayerID)
}

func checkScore(sr services.ScoreRecorded) error {
	switch {
	case sr.Source == "" || sr.SourceID == "" || sr.PlayerID == "":
		return services.Errorf(services.EInvalid, "score needs source, sourceId and playerId")
	case sr.Score < 0:
		return services.Errorf(services.EInvalid, "score must not be negative")
	case sr.At.UnixMilli() < 0:
		return services.Errorf(services.EInvalid, "score time must not be before 1970")
	case sr.QuizID != "" && !validQuizID(sr.QuizID):
		return services.Errorf(services.EInvalid, "bad quiz id %q", sr.QuizID)
	}
	return nil
}
