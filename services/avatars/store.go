package avatars

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

// Store keeps upload rows in its own table, with SQL that runs unchanged on SQLite and
// PostgreSQL ($n placeholders, Unix-ms BIGINT times, TEXT ids).
type Store struct {
	db  *sql.DB
	now func() time.Time

	// Group commit of new uploads: concurrent Creates share one transaction, because with
	// SQLite each commit (locks, WAL write) costs far more than a row. The first caller in
	// commits for everyone queued behind it.
	mu       sync.Mutex
	queue    []pendingInsert
	flushing bool
	ins      *sql.Stmt // prepared once by the first flush: parsing SQL per row showed in profiles
}

type pendingInsert struct {
	u    *Upload
	done chan error
}

// NewStore wraps an open pool (sqlstore.DB.SQL()). Call Migrate before use.
func NewStore(db *sql.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// Migrate creates the table if it is missing; it is safe to run on every start.
func (s *Store) Migrate(ctx context.Context) error {
	for _, stmt := range []string{
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
			announced INTEGER NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS avatar_uploads_unannounced ON avatar_uploads (status, announced)`,
	} {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("avatars migrate: %w", err)
		}
	}
	return nil
}

const uploadCols = `id, player_id, object_key, content_type, content_length, status, reason, avatar_key, thumb_key,
	announced, created_at, expires_at, updated_at`

func scanUpload(row interface{ Scan(...any) error }) (*Upload, error) {
	var u Upload
	var announced int
	var created, expires, updated int64
	if err := row.Scan(&u.ID, &u.PlayerID, &u.Key, &u.ContentType, &u.ContentLength, &u.Status, &u.Reason,
		&u.Avatar.Key, &u.Avatar.ThumbKey, &announced, &created, &expires, &updated); err != nil {
		return nil, err
	}
	u.Announced = announced == 1
	u.CreatedAt, u.ExpiresAt, u.UpdatedAt = fromMS(created), fromMS(expires), fromMS(updated)
	return &u, nil
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// Create records a new upload awaiting its bytes.
func (s *Store) Create(ctx context.Context, u *Upload) error {
	now := s.now()
	u.Status, u.CreatedAt, u.UpdatedAt = StatusAwaitingUpload, now.UTC(), now.UTC()
	p := pendingInsert{u: u, done: make(chan error, 1)}
	s.mu.Lock()
	s.queue = append(s.queue, p)
	lead := !s.flushing
	s.flushing = true
	s.mu.Unlock()
	if lead {
		s.flush(true)
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err() // the row may still be written; an unused upload expires harmlessly
	}
}

// flush commits queued inserts batch by batch. The leading caller (handOff) commits the batch
// holding its own row, then hands any rows queued meanwhile to a background flusher, so a
// request never waits on other requests' rows under steady load.
func (s *Store) flush(handOff bool) {
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		if len(batch) == 0 {
			s.flushing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		err := s.insert(batch)
		if err != nil && len(batch) > 1 {
			for _, p := range batch { // one bad row must not fail its neighbours
				p.done <- s.insert([]pendingInsert{p})
			}
		} else {
			for _, p := range batch {
				p.done <- err
			}
		}
		if handOff {
			go s.flush(false)
			return
		}
	}
}

func (s *Store) insert(batch []pendingInsert) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.ins == nil { // only the flushing goroutine gets here, one at a time
		ins, err := s.db.PrepareContext(ctx, `INSERT INTO avatar_uploads (id, player_id, object_key, content_type,
			content_length, status, created_at, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`)
		if err != nil {
			return fmt.Errorf("create upload: %w", err)
		}
		s.ins = ins
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create upload: %w", err)
	}
	defer tx.Rollback()
	ins := tx.StmtContext(ctx, s.ins)
	for _, p := range batch {
		u := p.u
		if _, err := ins.ExecContext(ctx, u.ID, u.PlayerID, u.Key, u.ContentType, u.ContentLength, u.Status, u.CreatedAt.UnixMilli(), u.ExpiresAt.UnixMilli(), u.UpdatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("create upload: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create upload: %w", err)
	}
	return nil
}

// Get loads an upload; ENotFound when there is none.
func (s *Store) Get(ctx context.Context, id string) (*Upload, error) {
	u, err := scanUpload(s.db.QueryRowContext(ctx, `SELECT `+uploadCols+` FROM avatar_uploads WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, services.Errorf(services.ENotFound, "upload not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get upload: %w", err)
	}
	return u, nil
}

// transition moves an upload from one status to another; it reports false when the upload was
// not in from (someone else moved it first), which is how only the first completion counts.
func (s *Store) transition(ctx context.Context, id, from, to, reason string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE avatar_uploads SET status = $1, reason = $2, updated_at = $3
		WHERE id = $4 AND status = $5`, to, reason, s.now().UnixMilli(), id, from)
	if err != nil {
		return false, fmt.Errorf("upload %s → %s: %w", from, to, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MarkAnnounced records that avatar.uploaded for id is on the bus.
func (s *Store) MarkAnnounced(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE avatar_uploads SET announced = 1 WHERE id = $1`, id); err != nil {
		return fmt.Errorf("mark upload announced: %w", err)
	}
	return nil
}

// Unannounced lists uploads that were completed but whose avatar.uploaded has not reached the bus.
func (s *Store) Unannounced(ctx context.Context, limit int) ([]*Upload, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+uploadCols+` FROM avatar_uploads
		WHERE status = $1 AND announced = 0 ORDER BY updated_at LIMIT $2`, StatusProcessing, limit)
	if err != nil {
		return nil, fmt.Errorf("unannounced uploads: %w", err)
	}
	defer rows.Close()
	var out []*Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// SetStatus records the workflow's view of an upload: processing, in_review, accepted, rejected
// or failed, with the accepted avatar's keys. It is idempotent; the workflow is its only caller
// once the upload has been completed.
func (s *Store) SetStatus(ctx context.Context, uploadID, status, reason string, a services.Avatar) error {
	if !validStatus(status) {
		return fmt.Errorf("set upload status: unknown status %q", status)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE avatar_uploads SET status = $1, reason = $2, avatar_key = $3, thumb_key = $4,
		updated_at = $5 WHERE id = $6`, status, truncate(reason, maxReason), a.Key, a.ThumbKey, s.now().UnixMilli(), uploadID)
	if err != nil {
		return fmt.Errorf("set upload status: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return services.Errorf(services.ENotFound, "upload %s not found", uploadID)
	}
	return nil
}

func validStatus(s string) bool {
	switch s {
	case StatusAwaitingUpload, StatusProcessing, StatusInReview, StatusAccepted, StatusRejected, StatusFailed:
		return true
	}
	return false
}

// maxReason bounds stored reasons; detectors and validators write one line.
const maxReason = 500

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
