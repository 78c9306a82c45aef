// Package postgres opens PostgreSQL for the scale-out deployment through pgx's database/sql driver.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/trivium-game/trivium/services/sqlstore"
)

// Open connects to dsn (postgres://…), checks it answers and applies migrations.
func Open(ctx context.Context, dsn string, now func() time.Time) (*sqlstore.DB, error) {
	db, err := OpenPool(ctx, dsn)
	if err != nil {
		return nil, err
	}
	s := sqlstore.New(db, sqlstore.Postgres, now)
	if err := s.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// maxConns is the pool's size.
const maxConns = 20

// OpenPool connects to dsn and checks it answers, applying no migrations: Open does, and upgrade
// tests start from what an older release left.
func OpenPool(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// Every open connection may stay idle: with database/sql's default of 2, each burst of
	// WebSocket handshakes closed 18 connections and reopened them (a backend process each).
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	return db, nil
}
