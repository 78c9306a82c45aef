package moderation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/sqlstore"
)

// store keeps the workflow's progress per upload (moderation_jobs) and the review cases
// (moderation_cases, whose table is in services/sqlstore's migrations) in the shared database, with SQL that runs unchanged on SQLite and
// PostgreSQL ($n placeholders, Unix-ms BIGINT times, TEXT ids, ON CONFLICT).
type store struct {
	db  *sql.DB
	now func() time.Time
}

var schema = []string{
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
	)`,
	`CREATE INDEX IF NOT EXISTS moderation_jobs_avatar ON moderation_jobs (player_id, avatar_key)`,
}

func (s *store) migrate(ctx context.Context) error {
	for _, stmt := range schema {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("moderation migrate: %w", err)
		}
	}
	return nil
}

// job is one upload's progress through the workflow.
type job struct {
	UploadID    string
	PlayerID    string
	Key         string
	ContentType string
	Size        int64
	Step        string
	Outcome     Decision
	Reason      string
	Labels      []Label
	Info        ImageInfo
	SHA256      string // of the validated original, so a replaced object is noticed
	AvatarKey   string
	ThumbKey    string
}

const jobCols = `upload_id, player_id, object_key, content_type, size, step, outcome, reason, labels, info, sha256,
	avatar_key, thumb_key`

func scanJob(row interface{ Scan(...any) error }) (*job, error) {
	var j job
	var outcome, labels, info string
	if err := row.Scan(&j.UploadID, &j.PlayerID, &j.Key, &j.ContentType, &j.Size, &j.Step, &outcome, &j.Reason,
		&labels, &info, &j.SHA256, &j.AvatarKey, &j.ThumbKey); err != nil {
		return nil, err
	}
	j.Outcome = Decision(outcome)
	if err := json.Unmarshal([]byte(labels), &j.Labels); err != nil {
		return nil, fmt.Errorf("job %s labels: %w", j.UploadID, err)
	}
	if err := json.Unmarshal([]byte(info), &j.Info); err != nil {
		return nil, fmt.Errorf("job %s info: %w", j.UploadID, err)
	}
	return &j, nil
}

// ensureJob records a job for ev if there is none and returns the stored one, so a redelivery
// resumes where the last attempt stopped. created reports a new job.
func (s *store) ensureJob(ctx context.Context, ev services.AvatarUploaded) (j *job, created bool, err error) {
	now := s.now().UnixMilli()
	res, err := s.db.ExecContext(ctx, `INSERT INTO moderation_jobs (upload_id, player_id, object_key, content_type, size, step,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (upload_id) DO NOTHING`,
		ev.UploadID, ev.PlayerID, ev.Key, ev.ContentType, ev.Size, StepReceived, now)
	if err != nil {
		return nil, false, fmt.Errorf("record job: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, false, err
	}
	j, err = s.job(ctx, ev.UploadID)
	return j, n == 1, err
}

func (s *store) job(ctx context.Context, uploadID string) (*job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobCols+` FROM moderation_jobs WHERE upload_id = $1`, uploadID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, services.Errorf(services.ENotFound, "no moderation job for upload %s", uploadID)
	}
	if err != nil {
		return nil, fmt.Errorf("load job: %w", err)
	}
	return j, nil
}

// errMoved reports that another runner recorded a step first; the caller reloads and goes on.
var errMoved = errors.New("job moved on")

// advance records j's new state if the job is still at step from: a compare-and-set, so two
// runners of one upload never both record a step.
func (s *store) advance(ctx context.Context, ex execer, from string, j *job) error {
	labels, err := json.Marshal(j.Labels)
	if err != nil {
		return err
	}
	if j.Labels == nil {
		labels = []byte("[]")
	}
	info, err := json.Marshal(j.Info)
	if err != nil {
		return err
	}
	res, err := ex.ExecContext(ctx, `UPDATE moderation_jobs SET step = $1, outcome = $2, reason = $3, labels = $4, info = $5,
		sha256 = $6, avatar_key = $7, thumb_key = $8, updated_at = $9 WHERE upload_id = $10 AND step = $11`,
		j.Step, string(j.Outcome), j.Reason, string(labels), string(info), j.SHA256, j.AvatarKey, j.ThumbKey,
		s.now().UnixMilli(), j.UploadID, from)
	if err != nil {
		return fmt.Errorf("record step %s: %w", j.Step, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errMoved
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// tx runs fn in a transaction and commits it.
func (s *store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sqlstore.InTx(ctx, s.db, fn)
}

// Case kinds: where a case came from.
const (
	CaseUpload = "upload" // the image screen flagged a new upload
	CaseReport = "report" // a player reported content
	CaseScreen = "screen" // the text screen flagged what a player wrote
)

// Case statuses.
const (
	CasePending = "pending"
	CaseDecided = "decided"
)

// uploadOfAvatar finds the upload that produced a player's published avatar, if this workflow made it.
func (s *store) uploadOfAvatar(ctx context.Context, playerID, avatarKey string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT upload_id FROM moderation_jobs WHERE player_id = $1 AND avatar_key = $2
		ORDER BY updated_at DESC LIMIT 1`, playerID, avatarKey).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}
