package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/trivium-game/trivium/services"
)

var _ services.ProgressStore = (*DB)(nil)

// awardKinds names the wallet entry of each award source.
var awardKinds = map[string]string{"game": services.KindGameReward, "play": services.KindPlayReward, "host": services.KindHostReward}

// Award credits XP and coins once per (source, sourceId, player): the award row, the XP and the
// coin movement commit together, so a redelivered result can neither double nor half-apply.
func (d *DB) Award(ctx context.Context, a services.Award) (bool, error) {
	kind, ok := awardKinds[a.Source]
	if !ok || a.SourceID == "" || a.PlayerID == "" || a.XP < 0 || a.Coins < 0 {
		return false, fmt.Errorf("bad award %+v", a)
	}
	fresh := false
	err := d.tx(ctx, func(tx *sql.Tx) error {
		now := d.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO progress_awards (source, source_id, player_id, xp, coins, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, a.Source, a.SourceID, a.PlayerID, a.XP, a.Coins, ms(now))
		if err != nil {
			return fmt.Errorf("record award: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		fresh = true
		played := int64(b2i(a.Played))
		if _, err := tx.ExecContext(ctx, `INSERT INTO progress (player_id, xp, games_played, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (player_id) DO UPDATE SET xp = progress.xp + excluded.xp,
			games_played = progress.games_played + excluded.games_played, updated_at = excluded.updated_at`,
			a.PlayerID, a.XP, played, ms(now)); err != nil {
			return fmt.Errorf("add xp: %w", err)
		}
		if a.Coins == 0 {
			return nil
		}
		ref := a.Source + ":" + a.SourceID
		_, _, err = move(ctx, tx, services.Movement{Key: "award:" + ref + ":" + a.PlayerID, Kind: kind, From: services.AccountRewards,
			To: services.PlayerAccount(a.PlayerID), Amount: a.Coins, Reason: rewardReason[a.Source], Ref: ref}, now)
		return err
	})
	return fresh, err
}

var rewardReason = map[string]string{"game": "finished a game", "play": "finished a single-player run", "host": "hosted a game"}

// Progress returns a player's XP, level and games played; a player who never finished a game is
// at level 1 with 0 XP.
func (d *DB) Progress(ctx context.Context, playerID string) (services.Progress, error) {
	var xp, played int64
	err := d.db.QueryRowContext(ctx, `SELECT xp, games_played FROM progress WHERE player_id = $1`, playerID).Scan(&xp, &played)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return services.Progress{}, fmt.Errorf("progress: %w", err)
	}
	return services.LevelOf(xp, played), nil
}

// Levels returns the levels of the players in ids that have XP.
func (d *DB) Levels(ctx context.Context, ids []string) (map[string]int, error) {
	out := make(map[string]int, len(ids))
	for _, id := range ids {
		var xp int64
		err := d.db.QueryRowContext(ctx, `SELECT xp FROM progress WHERE player_id = $1`, id).Scan(&xp)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("levels: %w", err)
		}
		out[id] = services.LevelOf(xp, 0).Level
	}
	return out, nil
}

// RecordHost remembers who hosted a game; recording a game again keeps the first record.
func (d *DB) RecordHost(ctx context.Context, gameID, hostID, quizID, licenceID string) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO hosted_games (game_id, host_id, quiz_id, licence_id, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (game_id) DO NOTHING`, gameID, hostID, quizID, licenceID, ms(d.now()))
	if err != nil {
		return fmt.Errorf("record host: %w", err)
	}
	return nil
}

// HostOf returns the host of a game this deployment created.
func (d *DB) HostOf(ctx context.Context, gameID string) (string, error) {
	var host string
	err := d.db.QueryRowContext(ctx, `SELECT host_id FROM hosted_games WHERE game_id = $1`, gameID).Scan(&host)
	if err != nil {
		return "", notFound(err, "hosted game")
	}
	return host, nil
}
