// Package sqltest is the conformance harness of the SQL stores: it opens the same store on every
// SQL driver — SQLite in a temp dir (with the server's pragmas, foreign keys on) and PostgreSQL
// (TRIVIUM_TEST_POSTGRES) in a schema of its own, dropped at the end — so every store's tests run
// on both. A PostgreSQL that does not answer fails the test: it is never skipped.
package sqltest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services/postgres"
	"github.com/trivium-game/trivium/services/sqlite"
	"github.com/trivium-game/trivium/services/sqlstore"
)

// Drivers names every SQL driver, in the order Run runs them.
var Drivers = []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres}

// Run runs test once per driver, as subtests named "sqlite" and "postgres", each on a fresh
// migrated store whose clock is now (nil: time.Now).
func Run(t *testing.T, now func() time.Time, test func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	Each(t, func(t *testing.T, d sqlstore.Dialect) { test(t, Open(t, d, now)) })
}

// Each runs test once per driver, as subtests named "sqlite" and "postgres", for tests that
// build their own clock and store (with Open) inside.
func Each(t *testing.T, test func(t *testing.T, d sqlstore.Dialect)) {
	t.Helper()
	for _, d := range Drivers {
		t.Run(string(d), func(t *testing.T) { test(t, d) })
	}
}

// Stores returns a migrated store per driver, keyed "sqlite" and "postgres".
func Stores(t testing.TB) map[string]*sqlstore.DB {
	t.Helper()
	out := map[string]*sqlstore.DB{}
	for _, d := range Drivers {
		out[string(d)] = Open(t, d, nil)
	}
	return out
}

// Open returns a fresh migrated store on driver d whose clock is now (nil: time.Now).
func Open(t testing.TB, d sqlstore.Dialect, now func() time.Time) *sqlstore.DB {
	t.Helper()
	db := Empty(t, d, now)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// Empty returns a fresh database on driver d with no migration applied, for upgrade tests that
// first build what an older release left.
func Empty(t testing.TB, d sqlstore.Dialect, now func() time.Time) *sqlstore.DB {
	t.Helper()
	var pool *sql.DB
	var err error
	switch d {
	case sqlstore.SQLite:
		pool, err = sqlite.OpenPool(filepath.Join(t.TempDir(), "t.db"))
	case sqlstore.Postgres:
		pool, err = postgres.OpenPool(context.Background(), Postgres(t))
	default:
		t.Fatalf("no SQL driver %q", d)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return sqlstore.New(pool, d, now)
}

// Postgres returns the DSN of a fresh schema of its own on TRIVIUM_TEST_POSTGRES, dropped when
// the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("TRIVIUM_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := postgres.OpenPool(ctx, dsn)
	if err != nil {
		t.Fatalf("postgres at %s: %v (set TRIVIUM_TEST_POSTGRES)", dsn, err)
	}
	schema := fmt.Sprintf("t_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("postgres at %s: %v (set TRIVIUM_TEST_POSTGRES)", dsn, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}
