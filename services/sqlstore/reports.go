package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/trivium-game/trivium/services"
)

// recordReport stores a finished game's host report in the transaction that records its result.
func recordReport(ctx context.Context, tx *sql.Tx, r *services.GameReport) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO game_reports (game_id, code, host_id, players, report, finished_at)
		VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (game_id) DO NOTHING`,
		r.Game.GameID, r.Game.Code, r.Game.HostID, len(r.Players), string(data), ms(r.Game.FinishedAt))
	if err != nil {
		return fmt.Errorf("record report: %w", err)
	}
	return nil
}

// GameReport returns the report of a finished game by its id or by its join code (the newest
// game of that code).
func (d *DB) GameReport(ctx context.Context, idOrCode string) (*services.GameReport, error) {
	var data string
	err := d.db.QueryRowContext(ctx, `SELECT report FROM game_reports WHERE game_id = $1
		UNION ALL SELECT report FROM (SELECT report FROM game_reports WHERE code = $1 ORDER BY finished_at DESC LIMIT 1) newest
		LIMIT 1`, idOrCode).Scan(&data)
	if err != nil {
		return nil, notFound(err, "game report")
	}
	var r services.GameReport
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return nil, fmt.Errorf("game report %s: %w", idOrCode, err)
	}
	return &r, nil
}

// HostedGames pages the games hostID hosted, newest first; a game with no report yet is
// "unfinished" (in progress, or ended without being recorded).
func (d *DB) HostedGames(ctx context.Context, hostID, cursor string, limit int) ([]services.HostedGame, string, error) {
	q := `SELECT h.game_id, h.quiz_id, h.created_at, COALESCE(z.title, ''), COALESCE(z.mode, ''),
			COALESCE(r.code, ''), COALESCE(r.players, 0), COALESCE(r.finished_at, 0)
		FROM hosted_games h LEFT JOIN quizzes z ON z.id = h.quiz_id LEFT JOIN game_reports r ON r.game_id = h.game_id
		WHERE h.host_id = $1`
	args := []any{hostID}
	if cursor != "" {
		at, id, err := DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		q += ` AND (h.created_at < $2 OR (h.created_at = $2 AND h.game_id < $3))`
		args = append(args, at, id)
	}
	q += fmt.Sprintf(` ORDER BY h.created_at DESC, h.game_id DESC LIMIT %d`, limit+1)
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("hosted games: %w", err)
	}
	defer rows.Close()
	var out []services.HostedGame
	var created []int64
	for rows.Next() {
		var g services.HostedGame
		var createdAt, finishedAt int64
		if err := rows.Scan(&g.GameID, &g.QuizID, &createdAt, &g.Title, &g.Mode, &g.Code, &g.Players, &finishedAt); err != nil {
			return nil, "", err
		}
		g.CreatedAt, g.Phase = fromMS(createdAt), "unfinished"
		if finishedAt != 0 {
			f := fromMS(finishedAt)
			g.FinishedAt, g.Phase = &f, "finished"
		}
		out = append(out, g)
		created = append(created, createdAt)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = EncodeCursor(created[limit-1], out[limit-1].GameID)
	}
	return out, next, nil
}
