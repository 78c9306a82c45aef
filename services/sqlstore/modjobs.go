package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/trivium-game/trivium/services"
)

// Moderation jobs (moderation_jobs): the moderation workflow's progress per upload.

const jobCols = `upload_id, player_id, purpose, object_key, content_type, size, step, outcome, reason, labels, info,
	sha256, avatar_key, thumb_key`

func scanJob(row interface{ Scan(...any) error }) (*services.ModerationJob, error) {
	var j services.ModerationJob
	var outcome, labels, info string
	if err := row.Scan(&j.UploadID, &j.PlayerID, &j.Purpose, &j.Key, &j.ContentType, &j.Size, &j.Step, &outcome, &j.Reason,
		&labels, &info, &j.SHA256, &j.AvatarKey, &j.ThumbKey); err != nil {
		return nil, err
	}
	j.Outcome, j.Labels, j.Info = services.UploadStatus(outcome), []byte(labels), []byte(info)
	return &j, nil
}

// EnsureModerationJob records j (at its step) unless a job of its upload exists, and returns the
// stored job, so a redelivery resumes where the last attempt stopped; created reports a new one.
func (d *DB) EnsureModerationJob(ctx context.Context, j *services.ModerationJob) (*services.ModerationJob, bool, error) {
	now := ms(d.now())
	res, err := d.db.ExecContext(ctx, `INSERT INTO moderation_jobs (upload_id, player_id, purpose, object_key, content_type,
		size, step, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (upload_id) DO NOTHING`,
		j.UploadID, j.PlayerID, j.Purpose, j.Key, j.ContentType, j.Size, j.Step, now)
	if err != nil {
		return nil, false, fmt.Errorf("record job: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, false, err
	}
	stored, err := d.ModerationJob(ctx, j.UploadID)
	return stored, n == 1, err
}

// ModerationJob loads the job of an upload; ENotFound when there is none.
func (d *DB) ModerationJob(ctx context.Context, uploadID string) (*services.ModerationJob, error) {
	j, err := scanJob(d.db.QueryRowContext(ctx, `SELECT `+jobCols+` FROM moderation_jobs WHERE upload_id = $1`, uploadID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, services.Errorf(services.ENotFound, "no moderation job for upload %s", uploadID)
	}
	if err != nil {
		return nil, fmt.Errorf("load job: %w", err)
	}
	return j, nil
}

// AdvanceModerationJob records j's new state if the job is still at step from — a compare-and-set,
// so two runners of one upload never both record a step (EConflict when another did) — with the
// outcome o, if any, in the same transaction.
func (d *DB) AdvanceModerationJob(ctx context.Context, from string, j *services.ModerationJob, o *services.UploadOutcome) error {
	labels, info := string(j.Labels), string(j.Info)
	if labels == "" || labels == "null" {
		labels = "[]"
	}
	if info == "" || info == "null" {
		info = "{}"
	}
	return d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE moderation_jobs SET step = $1, outcome = $2, reason = $3, labels = $4, info = $5,
			sha256 = $6, avatar_key = $7, thumb_key = $8, updated_at = $9 WHERE upload_id = $10 AND step = $11`,
			j.Step, string(j.Outcome), j.Reason, labels, info, j.SHA256, j.AvatarKey, j.ThumbKey, ms(d.now()), j.UploadID, from)
		if err != nil {
			return fmt.Errorf("record step %s: %w", j.Step, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return services.Errorf(services.EConflict, "upload %s moved on from step %s", j.UploadID, from)
		}
		return d.outcome(ctx, tx, o)
	})
}

// RecordUploadOutcome writes o on its own (a decision outside a job step: a report upheld).
func (d *DB) RecordUploadOutcome(ctx context.Context, o *services.UploadOutcome) error {
	return d.tx(ctx, func(tx *sql.Tx) error { return d.outcome(ctx, tx, o) })
}

func (d *DB) outcome(ctx context.Context, tx *sql.Tx, o *services.UploadOutcome) error {
	if o == nil {
		return nil
	}
	now := d.now()
	if o.UploadID != "" {
		if !o.Status.Valid() {
			return fmt.Errorf("record outcome: unknown status %q", o.Status)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE avatar_uploads SET status = $1, reason = $2, avatar_key = $3, thumb_key = $4,
			updated_at = $5 WHERE id = $6`, string(o.Status), truncateRunes(o.Reason, maxUploadReason), o.Avatar.Key,
			o.Avatar.ThumbKey, ms(now), o.UploadID); err != nil {
			return fmt.Errorf("record outcome: %w", err)
		}
	}
	for _, e := range o.Events {
		if err := addEvent(ctx, tx, e.Subject, e.MsgID, e.Data, now); err != nil {
			return err
		}
	}
	return nil
}

// UploadOfAvatar finds the upload whose job published a player's avatar key; "" when none did.
func (d *DB) UploadOfAvatar(ctx context.Context, playerID, avatarKey string) (string, error) {
	var id string
	err := d.db.QueryRowContext(ctx, `SELECT upload_id FROM moderation_jobs WHERE player_id = $1 AND avatar_key = $2
		ORDER BY updated_at DESC LIMIT 1`, playerID, avatarKey).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find upload of avatar: %w", err)
	}
	return id, nil
}
