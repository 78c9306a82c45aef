package leaderboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/trivium-game/trivium/services"
)

// DefaultLogTable is the SQLLog table unless configured otherwise.
const DefaultLogTable = "leaderboard_scores"

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// SQLLogConfig configures an SQLLog.
type SQLLogConfig struct {
	DB    *sql.DB
	Table string           // default DefaultLogTable; lower-case letters, digits and _
	Now   func() time.Time // stamps logged_ms; default time.Now
}

// SQLLog is the leaderboard Log in a SQL table. Its SQL is portable between SQLite (modernc) and
// PostgreSQL (pgx stdlib): $n placeholders, BIGINT Unix-millisecond times, TEXT ids, and
// ON CONFLICT DO NOTHING for idempotent appends.
type SQLLog struct {
	db    *sql.DB
	table string
	now   func() time.Time
}

var _ Log = (*SQLLog)(nil)

// NewSQLLog returns an SQLLog; call Migrate before use.
func NewSQLLog(cfg SQLLogConfig) (*SQLLog, error) {
	if cfg.DB == nil {
		return nil, errors.New("leaderboard log: DB is required")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultLogTable
	}
	if !identifier.MatchString(cfg.Table) {
		return nil, fmt.Errorf("leaderboard log: table name %q: want lower-case letters, digits and _", cfg.Table)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &SQLLog{db: cfg.DB, table: cfg.Table, now: cfg.Now}, nil
}

// Migrate creates the log's table and index if they do not exist.
func (l *SQLLog) Migrate(ctx context.Context) error {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + l.table + ` (
			source        TEXT    NOT NULL,
			source_id     TEXT    NOT NULL,
			player_id     TEXT    NOT NULL,
			quiz_id       TEXT    NOT NULL,
			quiz_public   INTEGER NOT NULL DEFAULT 0,
			quiz_owner_id TEXT    NOT NULL DEFAULT '',
			display_name  TEXT    NOT NULL,
			score         BIGINT  NOT NULL,
			at_ms         BIGINT  NOT NULL,
			logged_ms     BIGINT  NOT NULL,
			PRIMARY KEY (source, source_id, player_id)
		)`,
		// Replay reads in this order; the key columns make it total, so two replays agree.
		`CREATE INDEX IF NOT EXISTS ` + l.table + `_replay ON ` + l.table + ` (at_ms, source, source_id, player_id)`,
	}
	for _, q := range stmts {
		if _, err := l.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrate %s: %w", l.table, err)
		}
	}
	// Logs made before scores carried their quiz's visibility lack these columns. Their rows
	// default to private, so after an upgrade they stay on quiz boards but leave global and
	// weekly: no record says whether they were earned on a public quiz. SQLite has no ADD
	// COLUMN IF NOT EXISTS, hence the probe.
	if _, err := l.db.ExecContext(ctx, `SELECT quiz_public FROM `+l.table+` WHERE 1=0`); err != nil {
		for _, q := range []string{
			`ALTER TABLE ` + l.table + ` ADD COLUMN quiz_public INTEGER NOT NULL DEFAULT 0`,
			`ALTER TABLE ` + l.table + ` ADD COLUMN quiz_owner_id TEXT NOT NULL DEFAULT ''`,
		} {
			if _, err := l.db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("migrate %s: %w", l.table, err)
			}
		}
	}
	return nil
}

// Append records s; false means (Source, SourceID, PlayerID) was already recorded.
func (l *SQLLog) Append(ctx context.Context, s services.ScoreRecorded) (bool, error) {
	res, err := l.db.ExecContext(ctx, `INSERT INTO `+l.table+`
		(source, source_id, player_id, quiz_id, quiz_public, quiz_owner_id, display_name, score, at_ms, logged_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING`,
		s.Source, s.SourceID, s.PlayerID, s.QuizID, b2i(s.QuizPublic), s.QuizOwnerID, s.DisplayName, int64(s.Score), s.At.UnixMilli(), l.now().UnixMilli())
	if err != nil {
		return false, fmt.Errorf("append score: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("append score: %w", err)
	}
	return n == 1, nil
}

// Replay streams every recorded score to fn, oldest At first; an error from fn stops it.
func (l *SQLLog) Replay(ctx context.Context, fn func(services.ScoreRecorded) error) error {
	rows, err := l.db.QueryContext(ctx, `SELECT source, source_id, player_id, quiz_id, quiz_public, quiz_owner_id, display_name, score, at_ms
		FROM `+l.table+` ORDER BY at_ms, source, source_id, player_id`)
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

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
