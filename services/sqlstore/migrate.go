package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migrations are applied in order, once each, by every start of serve and by `trivium migrate`;
// statements are separated by semicolons and {{pk}} differs by dialect. Append, never edit: a
// database records the versions (index + 1) it has applied. Every table of every store is here.
var migrations = []string{
	`CREATE TABLE players (
		id TEXT PRIMARY KEY,
		username TEXT UNIQUE,
		display_name TEXT NOT NULL,
		guest INTEGER NOT NULL DEFAULT 0,
		role TEXT NOT NULL DEFAULT 'player',
		password_hash TEXT NOT NULL DEFAULT '',
		avatar_key TEXT NOT NULL DEFAULT '',
		avatar_thumb_key TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL
	);
	CREATE TABLE sessions (
		id TEXT PRIMARY KEY,
		player_id TEXT NOT NULL REFERENCES players(id),
		expires_at BIGINT NOT NULL,
		revoked INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX sessions_player ON sessions(player_id);
	CREATE TABLE ws_tickets (
		id TEXT PRIMARY KEY,
		player_id TEXT NOT NULL,
		session_id TEXT NOT NULL,
		expires_at BIGINT NOT NULL
	);
	CREATE TABLE quizzes (
		id TEXT PRIMARY KEY,
		owner_id TEXT NOT NULL REFERENCES players(id),
		title TEXT NOT NULL,
		description TEXT NOT NULL,
		mode TEXT NOT NULL,
		scoring TEXT NOT NULL,
		public INTEGER NOT NULL,
		questions TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE INDEX quizzes_owner ON quizzes(owner_id, created_at, id);
	CREATE INDEX quizzes_public ON quizzes(public, created_at, id);
	CREATE TABLE plays (
		id TEXT PRIMARY KEY,
		quiz_id TEXT NOT NULL,
		player_id TEXT NOT NULL,
		idx INTEGER NOT NULL,
		score INTEGER NOT NULL,
		asked_at BIGINT NOT NULL,
		finished INTEGER NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL
	);
	CREATE TABLE games (
		id TEXT PRIMARY KEY,
		quiz_id TEXT NOT NULL,
		mode TEXT NOT NULL,
		finished_at BIGINT NOT NULL,
		result TEXT NOT NULL
	);
	CREATE TABLE outbox (
		id {{pk}},
		subject TEXT NOT NULL,
		msg_id TEXT NOT NULL,
		data TEXT NOT NULL,
		created_at BIGINT NOT NULL
	);`,
	// The economy: a double-entry ledger, XP, the marketplace and its purchase saga, licences.
	// Only the accounts that issue coins (overdraft = 1) may go below zero; the CHECK backs up
	// the conditional debit in ledger.go.
	`CREATE TABLE wallet_accounts (
		id TEXT PRIMARY KEY,
		balance BIGINT NOT NULL DEFAULT 0,
		overdraft INTEGER NOT NULL DEFAULT 0,
		CHECK (overdraft = 1 OR balance >= 0)
	);
	CREATE TABLE wallet_movements (
		id TEXT PRIMARY KEY,
		idem_key TEXT NOT NULL UNIQUE,
		kind TEXT NOT NULL,
		debit TEXT NOT NULL REFERENCES wallet_accounts(id),
		credit TEXT NOT NULL REFERENCES wallet_accounts(id),
		amount BIGINT NOT NULL CHECK (amount > 0),
		reason TEXT NOT NULL,
		ref TEXT NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE TABLE wallet_entries (
		id {{pk}},
		movement_id TEXT NOT NULL REFERENCES wallet_movements(id),
		account_id TEXT NOT NULL REFERENCES wallet_accounts(id),
		amount BIGINT NOT NULL,
		balance BIGINT NOT NULL,
		kind TEXT NOT NULL,
		reason TEXT NOT NULL,
		ref TEXT NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE INDEX wallet_entries_account ON wallet_entries(account_id, id);
	CREATE TABLE progress (
		player_id TEXT PRIMARY KEY,
		xp BIGINT NOT NULL DEFAULT 0,
		games_played BIGINT NOT NULL DEFAULT 0,
		updated_at BIGINT NOT NULL
	);
	CREATE TABLE progress_awards (
		source TEXT NOT NULL,
		source_id TEXT NOT NULL,
		player_id TEXT NOT NULL,
		xp BIGINT NOT NULL,
		coins BIGINT NOT NULL,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (source, source_id, player_id)
	);
	CREATE TABLE hosted_games (
		game_id TEXT PRIMARY KEY,
		host_id TEXT NOT NULL,
		quiz_id TEXT NOT NULL,
		licence_id TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL
	);
	CREATE TABLE market_listings (
		id TEXT PRIMARY KEY,
		quiz_id TEXT NOT NULL,
		seller_id TEXT NOT NULL REFERENCES players(id),
		price BIGINT NOT NULL CHECK (price > 0),
		plays INTEGER NOT NULL CHECK (plays >= 0),
		created_at BIGINT NOT NULL,
		deleted_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE UNIQUE INDEX market_listings_quiz ON market_listings(quiz_id) WHERE deleted_at = 0;
	CREATE INDEX market_listings_page ON market_listings(deleted_at, created_at, id);
	CREATE TABLE market_purchases (
		id TEXT PRIMARY KEY,
		buyer_id TEXT NOT NULL REFERENCES players(id),
		idem_key TEXT NOT NULL,
		listing_id TEXT NOT NULL,
		seller_id TEXT NOT NULL,
		quiz_id TEXT NOT NULL,
		price BIGINT NOT NULL,
		fee BIGINT NOT NULL,
		plays INTEGER NOT NULL,
		step TEXT NOT NULL,
		version INTEGER NOT NULL,
		status TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		UNIQUE (buyer_id, idem_key)
	);
	CREATE TABLE licences (
		id TEXT PRIMARY KEY,
		purchase_id TEXT NOT NULL UNIQUE,
		buyer_id TEXT NOT NULL,
		quiz_id TEXT NOT NULL,
		listing_id TEXT NOT NULL,
		plays INTEGER NOT NULL,
		used INTEGER NOT NULL DEFAULT 0,
		revoked INTEGER NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		CHECK (plays = 0 OR used <= plays)
	);
	CREATE INDEX licences_buyer ON licences(buyer_id, quiz_id);`,
	// Moderation of everything players create (issue 17). moderation_cases used to be created by
	// the moderation package itself: IF NOT EXISTS adopts a table it made. Its kind column stays
	// the case's origin (upload: flagged by a screen; report: by a player); content_kind says what
	// is moderated: avatar, question_image, quiz, chat, player_name or player_avatar. target_id
	// names it (a quiz id, "GAMECODE/messageId", a player id), snapshot keeps it as it was.
	`CREATE TABLE IF NOT EXISTS moderation_cases (
		id TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		dedupe TEXT NOT NULL UNIQUE,
		upload_id TEXT NOT NULL DEFAULT '',
		player_id TEXT NOT NULL,
		reporter_id TEXT NOT NULL DEFAULT '',
		image_key TEXT NOT NULL,
		thumb_key TEXT NOT NULL DEFAULT '',
		labels TEXT NOT NULL DEFAULT '[]',
		reason TEXT NOT NULL DEFAULT '',
		status TEXT NOT NULL,
		decision TEXT NOT NULL DEFAULT '',
		note TEXT NOT NULL DEFAULT '',
		moderator_id TEXT NOT NULL DEFAULT '',
		decided_at BIGINT NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL
	);
	CREATE INDEX IF NOT EXISTS moderation_cases_queue ON moderation_cases (status, created_at, id);
	ALTER TABLE moderation_cases ADD COLUMN content_kind TEXT NOT NULL DEFAULT 'avatar';
	ALTER TABLE moderation_cases ADD COLUMN target_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE moderation_cases ADD COLUMN snapshot TEXT NOT NULL DEFAULT '{}';
	CREATE INDEX moderation_cases_content ON moderation_cases (content_kind, status, created_at, id);
	CREATE TABLE moderation_reports (
		id TEXT PRIMARY KEY,
		case_id TEXT NOT NULL,
		reporter_id TEXT NOT NULL,
		content_kind TEXT NOT NULL,
		target_id TEXT NOT NULL,
		reason TEXT NOT NULL,
		closed_at BIGINT NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL
	);
	CREATE UNIQUE INDEX moderation_reports_open ON moderation_reports (reporter_id, content_kind, target_id) WHERE closed_at = 0;
	CREATE INDEX moderation_reports_case ON moderation_reports (case_id, created_at);
	CREATE INDEX moderation_reports_reporter ON moderation_reports (reporter_id, created_at);
	CREATE TABLE moderation_audit (
		id {{pk}},
		case_id TEXT NOT NULL,
		moderator_id TEXT NOT NULL,
		action TEXT NOT NULL,
		player_id TEXT NOT NULL,
		content_kind TEXT NOT NULL,
		target_id TEXT NOT NULL,
		reason TEXT NOT NULL,
		detail TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL
	);
	CREATE INDEX moderation_audit_case ON moderation_audit (case_id, id);
	ALTER TABLE players ADD COLUMN suspended_until BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE players ADD COLUMN muted_until BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE quizzes ADD COLUMN hidden_reason TEXT NOT NULL DEFAULT '';`,
	// Notifications, push subscriptions and deliveries (services/notify). IF NOT EXISTS: databases
	// made before this list held them already have these tables, made by notify's own Migrate.
	`CREATE TABLE IF NOT EXISTS notifications (
		id TEXT PRIMARY KEY,
		source TEXT NOT NULL UNIQUE,
		player_id TEXT NOT NULL,
		topic TEXT NOT NULL,
		title TEXT NOT NULL,
		body TEXT NOT NULL,
		data TEXT NOT NULL,
		ttl_ms BIGINT NOT NULL,
		urgency TEXT NOT NULL,
		push_topic TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		read_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX IF NOT EXISTS notifications_player ON notifications (player_id, created_at, id);
	CREATE TABLE IF NOT EXISTS push_subscriptions (
		endpoint TEXT PRIMARY KEY,
		player_id TEXT NOT NULL,
		session_id TEXT NOT NULL,
		p256dh TEXT NOT NULL,
		auth TEXT NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE INDEX IF NOT EXISTS push_subscriptions_player ON push_subscriptions (player_id, created_at);
	CREATE INDEX IF NOT EXISTS push_subscriptions_session ON push_subscriptions (session_id);
	CREATE TABLE IF NOT EXISTS push_deliveries (
		notification_id TEXT NOT NULL,
		endpoint TEXT NOT NULL,
		status TEXT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		next_attempt_at BIGINT NOT NULL,
		claimed_until BIGINT NOT NULL DEFAULT 0,
		last_status INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT '',
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (notification_id, endpoint)
	);
	CREATE INDEX IF NOT EXISTS push_deliveries_due ON push_deliveries (status, next_attempt_at);`,
	// The leaderboard's score log (leaderboard.Log), replayed in (at_ms, key) order. A log made
	// by leaderboard's own Migrate before scores carried their quiz's visibility lacks the quiz_
	// columns: its rows stay private (on quiz boards, off global and weekly), as no record says
	// whether they were earned on a public quiz.
	`CREATE TABLE IF NOT EXISTS leaderboard_scores (
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
	);
	ALTER TABLE leaderboard_scores ADD COLUMN IF NOT EXISTS quiz_public INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE leaderboard_scores ADD COLUMN IF NOT EXISTS quiz_owner_id TEXT NOT NULL DEFAULT '';
	CREATE INDEX IF NOT EXISTS leaderboard_scores_replay ON leaderboard_scores (at_ms, source, source_id, player_id);`,
	// Uploads whose bytes arrived (avatars and question images). Before this list held it, the
	// table was created by serve alone (with an announced flag, now unused), hence IF NOT EXISTS
	// and the added column.
	`CREATE TABLE IF NOT EXISTS avatar_uploads (
		id TEXT PRIMARY KEY,
		player_id TEXT NOT NULL,
		object_key TEXT NOT NULL,
		content_type TEXT NOT NULL,
		content_length BIGINT NOT NULL,
		status TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		avatar_key TEXT NOT NULL DEFAULT '',
		thumb_key TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	ALTER TABLE avatar_uploads ADD COLUMN purpose TEXT NOT NULL DEFAULT 'avatar';
	DROP INDEX IF EXISTS avatar_uploads_unannounced;`,
	// Host reports of finished games (issue 16), recorded with the result; the host's game history
	// joins hosted_games to them.
	`CREATE TABLE game_reports (
		game_id TEXT PRIMARY KEY,
		code TEXT NOT NULL,
		host_id TEXT NOT NULL,
		players INTEGER NOT NULL,
		report TEXT NOT NULL,
		finished_at BIGINT NOT NULL
	);
	CREATE INDEX game_reports_code ON game_reports (code, finished_at);
	CREATE INDEX hosted_games_host ON hosted_games (host_id, created_at, game_id);`,
	// The moderation workflow's jobs. Before this list held it, the workflow created the table
	// itself under serve, hence IF NOT EXISTS; purpose came with question images.
	`CREATE TABLE IF NOT EXISTS moderation_jobs (
		upload_id TEXT PRIMARY KEY,
		player_id TEXT NOT NULL,
		object_key TEXT NOT NULL,
		content_type TEXT NOT NULL,
		size BIGINT NOT NULL,
		step TEXT NOT NULL,
		outcome TEXT NOT NULL DEFAULT '',
		reason TEXT NOT NULL DEFAULT '',
		labels TEXT NOT NULL DEFAULT '[]',
		info TEXT NOT NULL DEFAULT '{}',
		sha256 TEXT NOT NULL DEFAULT '',
		avatar_key TEXT NOT NULL DEFAULT '',
		thumb_key TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE INDEX IF NOT EXISTS moderation_jobs_avatar ON moderation_jobs (player_id, avatar_key);
	ALTER TABLE moderation_jobs ADD COLUMN IF NOT EXISTS purpose TEXT NOT NULL DEFAULT 'avatar';`,
}

// addColumnIfMissing is PostgreSQL's spelling; SQLite has no IF NOT EXISTS for columns, so there
// the statement runs without it and "duplicate column" means the column is there already.
const addColumnIfMissing = "ADD COLUMN IF NOT EXISTS"

func (d *DB) expand(s string) string {
	pk := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if d.dialect == Postgres {
		pk = "BIGSERIAL PRIMARY KEY"
	}
	return strings.ReplaceAll(s, "{{pk}}", pk)
}

// exec runs one migration statement in the dialect's spelling.
func (d *DB) exec(ctx context.Context, tx *sql.Tx, stmt string) error {
	if d.dialect != SQLite || !strings.Contains(stmt, addColumnIfMissing) {
		_, err := tx.ExecContext(ctx, stmt)
		return err
	}
	_, err := tx.ExecContext(ctx, strings.Replace(stmt, addColumnIfMissing, "ADD COLUMN", 1))
	if err != nil && strings.Contains(err.Error(), "duplicate column name") {
		return nil
	}
	return err
}

// Migrate applies every migration not yet applied, all in one transaction. It is safe to run on
// every start and from several replicas at once: PostgreSQL serialises them with an advisory
// lock, SQLite with its write lock.
func (d *DB) Migrate(ctx context.Context) error { return d.migrate(ctx, migrations) }

func (d *DB) migrate(ctx context.Context, migrations []string) error {
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if d.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7281946)`); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
			return err
		}
		for i, m := range migrations {
			v := i + 1
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			for _, stmt := range strings.Split(d.expand(m), ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if err := d.exec(ctx, tx, stmt); err != nil {
					return fmt.Errorf("migration %d: %w", v, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
