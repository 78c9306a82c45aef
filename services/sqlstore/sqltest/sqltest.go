// Package sqltest opens the same store on every SQL driver for tests in other packages: SQLite
// in a temp dir and PostgreSQL (TRIVIUM_TEST_POSTGRES) in a schema of its own, dropped at the end.
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

	_ "github.com/jackc/pgx/v5/stdlib" // the admin connection that creates the schema

	"github.com/trivium-game/trivium/services/postgres"
	"github.com/trivium-game/trivium/services/sqlite"
	"github.com/trivium-game/trivium/services/sqlstore"
)

// Stores returns a migrated store per driver, keyed "sqlite" and "postgres".
func Stores(t testing.TB) map[string]*sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	lite, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	dsn := os.Getenv("TRIVIUM_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("t_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("postgres at %s: %v (set TRIVIUM_TEST_POSTGRES)", dsn, err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() })
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	pg, err := postgres.Open(ctx, dsn+sep+"search_path="+schema, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	return map[string]*sqlstore.DB{"sqlite": lite, "postgres": pg}
}
