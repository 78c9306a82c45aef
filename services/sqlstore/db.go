// Package sqlstore implements Trivium's stores over database/sql with SQL that runs unchanged on
// SQLite and PostgreSQL ($n placeholders, integer times in Unix ms, TEXT ids, ON CONFLICT).
// The drivers (services/sqlite, services/postgres) only open the connection and name the dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Dialect names the SQL flavour for the few statements that differ.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB wraps a *sql.DB with the dialect and clock.
type DB struct {
	db      *sql.DB
	dialect Dialect
	now     func() time.Time

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // the hot reads, prepared once (see queryRow)

	players *playerCache // nil unless CachePlayers
}

// New wraps an open database. Call Migrate before use.
func New(db *sql.DB, d Dialect, now func() time.Time) *DB {
	if now == nil {
		now = time.Now
	}
	return &DB{db: db, dialect: d, now: now, stmts: map[string]*sql.Stmt{}}
}

// queryRow runs q, one of the reads every authenticated request makes, as a statement prepared
// once: database/sql keeps it prepared on each pooled connection, so SQLite does not parse the
// SQL again per request (a fifth of the server's CPU under presign load). A statement that
// cannot be prepared (before the migration made its table) runs unprepared and is tried again.
func (d *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	d.mu.Lock()
	st, ok := d.stmts[q]
	if !ok {
		var err error
		if st, err = d.db.PrepareContext(ctx, q); err == nil {
			d.stmts[q] = st
		}
	}
	d.mu.Unlock()
	if st == nil {
		return d.db.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// SQL returns the underlying pool, for packages that keep their own tables.
func (d *DB) SQL() *sql.DB { return d.db }

// Dialect returns the SQL flavour.
func (d *DB) Dialect() Dialect { return d.dialect }

// Close closes the pool.
func (d *DB) Close() error {
	d.mu.Lock()
	for q, st := range d.stmts {
		_ = st.Close()
		delete(d.stmts, q)
	}
	d.mu.Unlock()
	return d.db.Close()
}

// Ping checks the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tx runs fn in a transaction and commits it.
func (d *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error { return InTx(ctx, d.db, fn) }

// InTx runs fn in a transaction of db and commits it, rolling back when fn fails. Packages that
// keep their own tables in the same database (moderation, notify) use it too.
func InTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// isUnique reports a unique-constraint violation in either dialect without importing drivers.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505") ||
		strings.Contains(s, "duplicate key value")
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return services.Errorf(services.ENotFound, "%s not found", what)
	}
	return err
}

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// addEvent writes an outbox row inside the caller's transaction.
func addEvent(ctx context.Context, tx execer, subject, msgID string, data []byte, now time.Time) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO outbox (subject, msg_id, data, created_at) VALUES ($1, $2, $3, $4)`,
		subject, msgID, string(data), ms(now))
	if err != nil {
		return fmt.Errorf("outbox insert: %w", err)
	}
	return nil
}

// PendingEvents returns the oldest unrelayed events.
func (d *DB) PendingEvents(ctx context.Context, limit int) ([]services.OutboxEvent, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT id, subject, msg_id, data FROM outbox ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox pending: %w", err)
	}
	defer rows.Close()
	var out []services.OutboxEvent
	for rows.Next() {
		var e services.OutboxEvent
		var data string
		if err := rows.Scan(&e.ID, &e.Subject, &e.MsgID, &data); err != nil {
			return nil, err
		}
		e.Data = []byte(data)
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteEvents removes relayed events.
func (d *DB) DeleteEvents(ctx context.Context, ids []int64) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = $1`, id); err != nil {
				return fmt.Errorf("outbox delete: %w", err)
			}
		}
		return nil
	})
}

// AddEvent writes a single outbox event on its own (for writes that have no row of their own).
func (d *DB) AddEvent(ctx context.Context, subject, msgID string, data []byte) error {
	return addEvent(ctx, d.db, subject, msgID, data, d.now())
}

var _ services.Outbox = (*DB)(nil)
