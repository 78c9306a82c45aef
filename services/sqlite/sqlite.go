// Package sqlite opens the embedded default database: a pure-Go SQLite file in WAL mode.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	"github.com/trivium-game/trivium/services/sqlstore"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Open opens (creating if needed) the SQLite file at path, applies pragmas and migrations.
func Open(ctx context.Context, path string, now func() time.Time) (*sqlstore.DB, error) {
	db, err := OpenPool(path)
	if err != nil {
		return nil, err
	}
	s := sqlstore.New(db, sqlstore.SQLite, now)
	if err := s.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// maxConns is the pool's size.
const maxConns = 8

// OpenPool opens the file at path with the server's pragmas (WAL, foreign keys on) and applies
// no migrations: Open does, and upgrade tests start from what an older release left.
func OpenPool(path string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One writer at a time is SQLite's model; a small pool keeps readers concurrent under WAL.
	// Every open connection may stay idle: with database/sql's default of 2, a burst closed the
	// rest and the next one reopened them (7.5% of the server's CPU under presign load, issue 19).
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	return db, nil
}
