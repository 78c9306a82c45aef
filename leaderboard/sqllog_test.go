package leaderboard_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/services"
)

func sqliteLog(t *testing.T) *leaderboard.SQLLog {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "trivium.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log, err := leaderboard.NewSQLLog(leaderboard.SQLLogConfig{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return log
}

// postgresLog uses a table of its own on TRIVIUM_TEST_POSTGRES and drops it afterwards.
func postgresLog(t *testing.T) *leaderboard.SQLLog {
	t.Helper()
	url := os.Getenv("TRIVIUM_TEST_POSTGRES")
	if url == "" {
		url = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("postgres at %s is unreachable (set TRIVIUM_TEST_POSTGRES): %v", url, err)
	}
	table := fmt.Sprintf("lb_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	log, err := leaderboard.NewSQLLog(leaderboard.SQLLogConfig{DB: db, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP TABLE IF EXISTS " + table); err != nil {
			t.Errorf("drop %s: %v", table, err)
		}
	})
	if err := log.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return log
}

func TestSQLLog(t *testing.T) {
	for name, open := range map[string]func(*testing.T) *leaderboard.SQLLog{"sqlite": sqliteLog, "postgres": postgresLog} {
		t.Run(name, func(t *testing.T) {
			t.Run("AppendIsNewOnlyOncePerSourceAndPlayer", func(t *testing.T) { testAppendOnce(t, open(t)) })
			t.Run("ReplayStreamsEveryRowOldestFirst", func(t *testing.T) { testReplayOrder(t, open(t)) })
		})
	}
}

func testAppendOnce(t *testing.T, log *leaderboard.SQLLog) {
	ctx := context.Background()
	if err := log.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	s := services.ScoreRecorded{Source: "game", SourceID: "g1", QuizID: "q1", PlayerID: "alice", Score: 10, At: time.UnixMilli(1_800_000_000_123)}
	for i, want := range []bool{true, false} {
		if got, err := log.Append(ctx, s); err != nil || got != want {
			t.Fatalf("Append #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
	s.Score = 99
	if got, err := log.Append(ctx, s); err != nil || got {
		t.Fatalf("Append of the same key with another score = %v, %v; want not new", got, err)
	}
	for _, other := range []services.ScoreRecorded{
		{Source: "play", SourceID: "g1", PlayerID: "alice", At: s.At},
		{Source: "game", SourceID: "g2", PlayerID: "alice", At: s.At},
		{Source: "game", SourceID: "g1", PlayerID: "bob", At: s.At},
	} {
		if got, err := log.Append(ctx, other); err != nil || !got {
			t.Fatalf("Append %+v = %v, %v; want new", other, got, err)
		}
	}
}

func testReplayOrder(t *testing.T, log *leaderboard.SQLLog) {
	ctx := context.Background()
	in := []services.ScoreRecorded{
		{Source: "game", SourceID: "g3", QuizID: "q1", QuizPublic: true, QuizOwnerID: "author", PlayerID: "p1", DisplayName: "P One", Score: 3, At: time.UnixMilli(3000).UTC()},
		{Source: "game", SourceID: "g1", QuizID: "q2", PlayerID: "p2", Score: 1, At: time.UnixMilli(1000).UTC()},
		{Source: "play", SourceID: "s1", QuizID: "q1", PlayerID: "p1", Score: 2, At: time.UnixMilli(2000).UTC()},
	}
	for _, s := range in {
		if _, err := log.Append(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var got []services.ScoreRecorded
	if err := log.Replay(ctx, func(s services.ScoreRecorded) error { got = append(got, s); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []services.ScoreRecorded{in[1], in[2], in[0]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Replay = %v\nwant %v", got, want)
	}
	stop := fmt.Errorf("stop")
	n := 0
	if err := log.Replay(ctx, func(services.ScoreRecorded) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Replay with a failing fn = %v after %d rows; want its error after 1", err, n)
	}
}

// TestSQLLogUpgradesALogWithoutQuizVisibility checks a log made before scores carried their
// quiz's visibility gains the columns, keeps its rows, and replays them as not public.
func TestSQLLogUpgradesALogWithoutQuizVisibility(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]func(*testing.T) *leaderboard.SQLLog{"sqlite": sqliteLog, "postgres": postgresLog} {
		t.Run(name, func(t *testing.T) {
			db, table := open(t).DBForTest()
			for _, q := range []string{
				`DROP TABLE ` + table,
				`CREATE TABLE ` + table + ` (source TEXT NOT NULL, source_id TEXT NOT NULL, player_id TEXT NOT NULL,
					quiz_id TEXT NOT NULL, display_name TEXT NOT NULL, score BIGINT NOT NULL, at_ms BIGINT NOT NULL,
					logged_ms BIGINT NOT NULL, PRIMARY KEY (source, source_id, player_id))`,
				`INSERT INTO ` + table + ` VALUES ('game', 'g1', 'alice', 'q1', 'Alice', 7, 1000, 1000)`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			log, err := leaderboard.NewSQLLog(leaderboard.SQLLogConfig{DB: db, Table: table})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := log.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := log.Append(ctx, services.ScoreRecorded{Source: "game", SourceID: "g2", QuizID: "q1", QuizPublic: true, QuizOwnerID: "o", PlayerID: "bob", Score: 5, At: time.UnixMilli(2000)}); err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := log.Replay(ctx, func(s services.ScoreRecorded) error {
				got = append(got, fmt.Sprintf("%s public=%v owner=%q score=%d", s.PlayerID, s.QuizPublic, s.QuizOwnerID, s.Score))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if want := `[alice public=false owner="" score=7 bob public=true owner="o" score=5]`; fmt.Sprint(got) != want {
				t.Errorf("replay after upgrade = %v\nwant %s", got, want)
			}
		})
	}
}

func TestSQLLogRefusesUnsafeTableNames(t *testing.T) {
	for _, name := range []string{"scores; DROP TABLE x", "Scores", "1abc", "a-b"} {
		if _, err := leaderboard.NewSQLLog(leaderboard.SQLLogConfig{DB: &sql.DB{}, Table: name}); err == nil {
			t.Errorf("table %q accepted", name)
		}
	}
}
