package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/services"
)

// ScoreLog is the leaderboard's durable score log (leaderboard.Log) in leaderboard_scores.
type ScoreLog struct{ d *DB }

// ScoreLog returns the score log of d.
func (d *DB) ScoreLog() *ScoreLog { return &ScoreLog{d: d} }

var _ leaderboard.Log = (*ScoreLog)(nil)

// Append records s; false means (Source, SourceID, PlayerID) was already recorded.
func (l *ScoreLog) Append(ctx context.Context, s services.ScoreRecorded) (bool, error) {
	res, err := l.d.db.ExecContext(ctx, `INSERT INTO leaderboard_scores
		(source, source_id, player_id, quiz_id, quiz_public, quiz_owner_id, display_name, score, at_ms, logged_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING`,
		s.Source, s.SourceID, s.PlayerID, s.QuizID, b2i(s.QuizPublic), s.QuizOwnerID, s.DisplayName, int64(s.Score), ms(s.At), ms(l.d.now()))
	if err != nil {
		return false, fmt.Errorf("append score: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("append score: %w", err)
	}
	return n == 1, nil
}

// Replay streams every recorded score to fn, oldest At first (ties in key order, so two replays
// agree); an error from fn stops it.
func (l *ScoreLog) Replay(ctx context.Context, fn func(services.ScoreRecorded) error) error {
	rows, err := l.d.db.QueryContext(ctx, `SELECT source, source_id, player_id, quiz_id, quiz_public, quiz_owner_id, display_name, score, at_ms
		FROM leaderboard_scores ORDER BY at_ms, source, source_id, player_id`)
	if err != nil {
		return fmt.Errorf("replay scores: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s services.ScoreRecorded
		var public, score, at int64
		if err := rows.Scan(&s.Source, &s.SourceID, &s.PlayerID, &s.QuizID, &public, &s.QuizOwnerID, &s.DisplayName, &score, &at); err != nil {
			return fmt.Errorf("replay scores: %w", err)
		}
		s.QuizPublic, s.Score, s.At = public != 0, int(score), time.UnixMilli(at).UTC()
		if err := fn(s); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("replay scores: %w", err)
	}
	return nil
}
