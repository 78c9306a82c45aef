package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

// Before the one migration list, services/notify and leaderboard made their tables with Migrate
// methods of their own, under serve only. These are the statements they ran, frozen.
var (
	oldNotifySchema = []string{
		`CREATE TABLE IF NOT EXISTS notifications (id TEXT PRIMARY KEY, source TEXT NOT NULL UNIQUE, player_id TEXT NOT NULL,
			topic TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, data TEXT NOT NULL, ttl_ms BIGINT NOT NULL,
			urgency TEXT NOT NULL, push_topic TEXT NOT NULL, created_at BIGINT NOT NULL, read_at BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX IF NOT EXISTS notifications_player ON notifications (player_id, created_at, id)`,
		`CREATE TABLE IF NOT EXISTS push_subscriptions (endpoint TEXT PRIMARY KEY, player_id TEXT NOT NULL, session_id TEXT NOT NULL,
			p256dh TEXT NOT NULL, auth TEXT NOT NULL, created_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS push_subscriptions_player ON push_subscriptions (player_id, created_at)`,
		`CREATE INDEX IF NOT EXISTS push_subscriptions_session ON push_subscriptions (session_id)`,
		`CREATE TABLE IF NOT EXISTS push_deliveries (notification_id TEXT NOT NULL, endpoint TEXT NOT NULL, status TEXT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL, claimed_until BIGINT NOT NULL DEFAULT 0,
			last_status INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', updated_at BIGINT NOT NULL,
			PRIMARY KEY (notification_id, endpoint))`,
		`CREATE INDEX IF NOT EXISTS push_deliveries_due ON push_deliveries (status, next_attempt_at)`,
		`INSERT INTO notifications VALUES ('n1', 'src1', 'alice', 'avatar', 'Live', 'It is live.', '{}', 1000, 'normal', 'avatar', 5000, 0)`,
		`INSERT INTO push_subscriptions VALUES ('https://push.example/1', 'alice', 's1', 'key', 'auth', 4000)`,
		`INSERT INTO push_deliveries (notification_id, endpoint, status, next_attempt_at, updated_at) VALUES ('n1', 'https://push.example/1', 'pending', 5000, 5000)`,
	}
	oldScoreLog = []string{
		`CREATE TABLE IF NOT EXISTS leaderboard_scores (source TEXT NOT NULL, source_id TEXT NOT NULL, player_id TEXT NOT NULL,
			quiz_id TEXT NOT NULL, quiz_public INTEGER NOT NULL DEFAULT 0, quiz_owner_id TEXT NOT NULL DEFAULT '',
			display_name TEXT NOT NULL, score BIGINT NOT NULL, at_ms BIGINT NOT NULL, logged_ms BIGINT NOT NULL,
			PRIMARY KEY (source, source_id, player_id))`,
		`CREATE INDEX IF NOT EXISTS leaderboard_scores_replay ON leaderboard_scores (at_ms, source, source_id, player_id)`,
		`INSERT INTO leaderboard_scores VALUES ('game', 'g1', 'alice', 'q1', 1, 'o', 'Alice', 7, 1000, 1000)`,
	}
	// A log made before scores carried their quiz's visibility.
	oldestScoreLog = []string{
		`CREATE TABLE leaderboard_scores (source TEXT NOT NULL, source_id TEXT NOT NULL, player_id TEXT NOT NULL,
			quiz_id TEXT NOT NULL, display_name TEXT NOT NULL, score BIGINT NOT NULL, at_ms BIGINT NOT NULL,
			logged_ms BIGINT NOT NULL, PRIMARY KEY (source, source_id, player_id))`,
		`INSERT INTO leaderboard_scores VALUES ('game', 'g1', 'alice', 'q1', 'Alice', 7, 1000, 1000)`,
	}
)

// oldDatabase builds what the release before the one migration list left: its two sqlstore
// migrations plus the tables notify's and leaderboard's Migrate methods made, with rows in them.
func oldDatabase(t *testing.T, d sqlstore.Dialect, stmts ...[]string) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db := sqltest.Empty(t, d, nil)
	if err := db.MigrateTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, list := range stmts {
		for _, q := range list {
			if _, err := db.SQL().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	return db
}

func migrateTwice(t *testing.T, db *sqlstore.DB) {
	t.Helper()
	for range 2 { // Migrate runs on every start
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != sqlstore.Migrations {
		t.Fatalf("schema_migrations holds %d versions (%v), want %d", n, err, sqlstore.Migrations)
	}
}

func replay(t *testing.T, db *sqlstore.DB) string {
	t.Helper()
	var got []string
	if err := db.ScoreLog().Replay(context.Background(), func(s services.ScoreRecorded) error {
		got = append(got, fmt.Sprintf("%s public=%v owner=%q score=%d", s.PlayerID, s.QuizPublic, s.QuizOwnerID, s.Score))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(got)
}

func TestDatabaseOfPerPackageMigrateUpgradesKeepingItsRows(t *testing.T) {
	ctx := context.Background()
	for _, d := range sqltest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			db := oldDatabase(t, d, oldNotifySchema, oldScoreLog)
			migrateTwice(t, db)
			ns := db.NotifyStore()
			items, _, err := ns.Notifications(ctx, "alice", "", 10)
			if err != nil || len(items) != 1 || items[0].ID != "n1" || items[0].Title != "Live" {
				t.Fatalf("inbox after upgrade = %+v, %v", items, err)
			}
			subs, err := ns.Subscriptions(ctx, "alice")
			if err != nil || len(subs) != 1 || subs[0].Endpoint != "https://push.example/1" {
				t.Fatalf("subscriptions after upgrade = %+v, %v", subs, err)
			}
			due, err := ns.DueDeliveries(ctx, 10)
			if err != nil || len(due) != 1 || due[0].NotificationID != "n1" {
				t.Fatalf("due deliveries after upgrade = %+v, %v", due, err)
			}
			// The redelivered source stays one entry: the UNIQUE of the old table still holds.
			if _, created, err := ns.AddNotification(ctx, "src1", &notify.Notification{PlayerID: "alice", Topic: "avatar", Title: "again"}); err != nil || created {
				t.Fatalf("re-adding an upgraded source: created %v, %v", created, err)
			}
			if _, err := db.ScoreLog().Append(ctx, services.ScoreRecorded{Source: "game", SourceID: "g2", QuizID: "q1", PlayerID: "bob", Score: 5, At: time.UnixMilli(2000)}); err != nil {
				t.Fatal(err)
			}
			if got, want := replay(t, db), `[alice public=true owner="o" score=7 bob public=false owner="" score=5]`; got != want {
				t.Errorf("replay after upgrade = %v\nwant %s", got, want)
			}
		})
	}
}

// TestScoreLogWithoutQuizVisibilityGainsTheColumns checks a log made before scores carried their
// quiz's visibility gains the columns, keeps its rows, and replays them as not public.
func TestScoreLogWithoutQuizVisibilityGainsTheColumns(t *testing.T) {
	ctx := context.Background()
	for _, d := range sqltest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			db := oldDatabase(t, d, oldestScoreLog)
			migrateTwice(t, db)
			if _, err := db.ScoreLog().Append(ctx, services.ScoreRecorded{Source: "game", SourceID: "g2", QuizID: "q1", QuizPublic: true, QuizOwnerID: "o", PlayerID: "bob", Score: 5, At: time.UnixMilli(2000)}); err != nil {
				t.Fatal(err)
			}
			if got, want := replay(t, db), `[alice public=false owner="" score=7 bob public=true owner="o" score=5]`; got != want {
				t.Errorf("replay after upgrade = %v\nwant %s", got, want)
			}
		})
	}
}
