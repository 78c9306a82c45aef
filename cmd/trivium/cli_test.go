package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trivium-game/trivium/services/sqlite"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestBareTriviumPrintsUsageInsteadOfStartingAServer(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	_, stderr, err := runCLI(t, map[string]string{"TRIVIUM_DATA": data, "TRIVIUM_ADDR": "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "trivium serve") {
		t.Fatalf("bare trivium: err %v, want one naming 'trivium serve'", err)
	}
	if !strings.Contains(stderr, "usage: trivium <command>") || !strings.Contains(stderr, "users role NAME ROLE") {
		t.Fatalf("bare trivium printed %q, want the usage", stderr)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bare trivium made the data directory (%v)", err)
	}
}

func TestEachSubcommandsHelpShowsItsOwnFlags(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"users", "--help"}, []string{"usage: trivium users [flags] role NAME ROLE", "-data", "-db", "TRIVIUM_DATA"}, []string{"-addr", "-cdn-url", "-moderation"}},
		{[]string{"migrate", "-h"}, []string{"usage: trivium migrate", "-data", "-db"}, []string{"-addr", "-bus"}},
		{[]string{"dlq", "-h"}, []string{"usage: trivium dlq", "-data", "-bus"}, []string{"-addr", "-cdn-url"}},
		{[]string{"vapid", "-h"}, []string{"usage: trivium vapid", "-secrets"}, []string{"-addr", "-db"}},
		{[]string{"healthcheck", "-h"}, []string{"-addr"}, []string{"-data", "-db"}},
		{[]string{"serve", "-h"}, []string{"usage: trivium serve", "-addr", "-cdn-url", "-data"}, nil},
	} {
		_, stderr, err := runCLI(t, nil, tc.args...)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%v: err %v, want flag.ErrHelp", tc.args, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: help lacks %q:\n%s", tc.args, w, stderr)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(stderr, n+" ") {
				t.Errorf("%v: help shows the unrelated flag %q:\n%s", tc.args, n, stderr)
			}
		}
	}
}

func TestOnlyServeAndMigrateCreateADatabase(t *testing.T) {
	root := t.TempDir()
	missing := filepath.Join(root, "missing")
	_, _, err := runCLI(t, map[string]string{"TRIVIUM_DATA": missing}, "users", "role", "bob", "moderator")
	if err == nil || !strings.Contains(err.Error(), "no database at") || !strings.Contains(err.Error(), missing) ||
		!strings.Contains(err.Error(), "TRIVIUM_DATA") {
		t.Fatalf("users role on a missing data dir: %v, want a refusal naming the directory and TRIVIUM_DATA", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("users role made the data directory (%v)", err)
	}

	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, map[string]string{"TRIVIUM_DATA": empty}, "users", "role", "bob", "moderator"); err == nil {
		t.Fatal("users role on an empty data dir succeeded")
	}
	if _, _, err := runCLI(t, map[string]string{"TRIVIUM_DATA": empty}, "dlq", "list"); err == nil || !strings.Contains(err.Error(), empty) {
		t.Fatalf("dlq list on an empty data dir: %v, want a refusal naming it", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("refused commands left %v in the data directory", entries)
	}

	// migrate creates the database; then users works on it and says which data it used.
	env := map[string]string{"TRIVIUM_DATA": empty}
	if out, _, err := runCLI(t, env, "migrate"); err != nil || !strings.Contains(out, "migrations applied") {
		t.Fatalf("migrate: %q %v", out, err)
	}
	_, stderr, err := runCLI(t, env, "users", "role", "nobody", "moderator")
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("users role of an unknown account: %v", err)
	}
	if !strings.Contains(stderr, "data directory "+empty) || !strings.Contains(stderr, "database sqlite:"+filepath.Join(empty, "trivium.db")) {
		t.Fatalf("users role did not say which data it used: %q", stderr)
	}
}

func TestDescribeDataHidesDatabasePasswords(t *testing.T) {
	got := describeData(settings{"data": "/srv/trivium", "db": "postgres://app:s3cret@db:5432/trivium"}, need{db: true})
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "postgres://app@db:5432/trivium") {
		t.Fatalf("describeData = %q", got)
	}
}

// TestMigrateCreatesTheTablesOfEveryStore: migrate and serve run the same migration list, so a
// database prepared by `trivium migrate` lacks nothing serve would have made.
func TestMigrateCreatesTheTablesOfEveryStore(t *testing.T) {
	data := t.TempDir()
	if out, _, err := runCLI(t, map[string]string{"TRIVIUM_DATA": data}, "migrate"); err != nil {
		t.Fatalf("migrate: %q %v", out, err)
	}
	db, err := sqlite.OpenPool(filepath.Join(data, "trivium.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"players", "outbox", "wallet_accounts", "notifications", "push_subscriptions", "push_deliveries", "leaderboard_scores"} {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("after migrate, table %s: %d, %v", table, n, err)
		}
	}
}
