// Package progression turns finished games and single-player runs into XP and coins: a durable
// consumer of game.finished and score.recorded that credits each (result, player) exactly once,
// however often the bus delivers the event. Guests earn nothing.
package progression

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/trivium-game/trivium/services"
)

// ConsumerName is the durable consumer of the result events.
const ConsumerName = "progression"

// Subjects the consumer reads: multiplayer results come whole in game.finished (ranks and the
// number of players are needed for placing); single-player runs only as score.recorded.
var Subjects = []string{services.SubjectGameFinished, services.SubjectScoreRecorded}

// Service credits awards.
type Service struct {
	Store  services.ProgressStore
	Logger *slog.Logger
}

// Handle processes one result event; a repeat credits nothing because every award is keyed.
func (s *Service) Handle(ctx context.Context, m services.Message) error {
	switch m.Subject {
	case services.SubjectGameFinished:
		var ev services.GameFinished
		if err := json.Unmarshal(m.Data, &ev); err != nil || ev.GameID == "" {
			return services.Permanent(fmt.Errorf("game.finished %s: not a game result (%v)", m.ID, err))
		}
		return s.game(ctx, ev)
	case services.SubjectScoreRecorded:
		var ev services.ScoreRecorded
		if err := json.Unmarshal(m.Data, &ev); err != nil || ev.SourceID == "" || ev.PlayerID == "" {
			return services.Permanent(fmt.Errorf("score.recorded %s: not a score (%v)", m.ID, err))
		}
		if ev.Source != "play" || ev.Guest {
			return nil // game scores are credited from game.finished
		}
		xp, coins := services.PlayAward(ev.Score)
		return s.award(ctx, services.Award{Source: "play", SourceID: ev.SourceID, PlayerID: ev.PlayerID, XP: xp, Coins: coins, Played: true})
	}
	return nil
}

func (s *Service) game(ctx context.Context, ev services.GameFinished) error {
	registered := 0
	for _, e := range ev.Entries {
		if e.Guest || e.PlayerID == "" {
			continue
		}
		registered++
		xp, coins := services.GameAward(e.Score, e.Rank, len(ev.Entries))
		if err := s.award(ctx, services.Award{Source: "game", SourceID: ev.GameID, PlayerID: e.PlayerID, XP: xp, Coins: coins, Played: true}); err != nil {
			return err
		}
	}
	host, err := s.Store.HostOf(ctx, ev.GameID)
	if services.ErrorCode(err) == services.ENotFound {
		return nil // created before hosts were recorded
	}
	if err != nil {
		return err
	}
	xp, coins := services.HostAward(registered, len(ev.Entries))
	for _, e := range ev.Entries {
		if e.PlayerID == host {
			return nil // a host who also played is rewarded as a player only
		}
	}
	if xp == 0 {
		return nil
	}
	return s.award(ctx, services.Award{Source: "host", SourceID: ev.GameID, PlayerID: host, XP: xp, Coins: coins})
}

func (s *Service) award(ctx context.Context, a services.Award) error {
	fresh, err := s.Store.Award(ctx, a)
	if err != nil {
		return fmt.Errorf("award %s %s to %s: %w", a.Source, a.SourceID, a.PlayerID, err)
	}
	if !fresh && s.Logger != nil {
		s.Logger.DebugContext(ctx, "award already credited", "source", a.Source, "sourceId", a.SourceID, "player", a.PlayerID)
	}
	return nil
}
