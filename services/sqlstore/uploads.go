package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/trivium-game/trivium/services"
)

// Upload records (avatar_uploads): one row per upload whose bytes arrived. Before that an upload
// is only a signed intent held by the client, so presigning writes nothing.

const uploadCols = `id, player_id, purpose, object_key, content_type, content_length, status, reason, avatar_key, thumb_key,
	created_at, expires_at, updated_at`

func scanUpload(row interface{ Scan(...any) error }) (*services.Upload, error) {
	var u services.Upload
	var status string
	var created, expires, updated int64
	if err := row.Scan(&u.ID, &u.PlayerID, &u.Purpose, &u.Key, &u.ContentType, &u.ContentLength, &status, &u.Reason,
		&u.Avatar.Key, &u.Avatar.ThumbKey, &created, &expires, &updated); err != nil {
		return nil, err
	}
	u.Status = services.UploadStatus(status)
	u.CreatedAt, u.ExpiresAt, u.UpdatedAt = fromMS(created), fromMS(expires), fromMS(updated)
	return &u, nil
}

// RecordArrival inserts u unless its id exists and, only when it inserted, adds ev to the outbox
// in the same transaction: the announcement is committed with the state change it announces.
func (d *DB) RecordArrival(ctx context.Context, u *services.Upload, ev *services.OutboxEvent) (bool, error) {
	if !u.Status.Valid() {
		return false, fmt.Errorf("record upload: unknown status %q", u.Status)
	}
	now := d.now().UTC()
	u.CreatedAt, u.UpdatedAt = now, now
	var inserted bool
	err := d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO avatar_uploads (id, player_id, purpose, object_key, content_type,
			content_length, status, reason, created_at, expires_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9) ON CONFLICT (id) DO NOTHING`,
			u.ID, u.PlayerID, u.Purpose, u.Key, u.ContentType, u.ContentLength, string(u.Status),
			truncateRunes(u.Reason, maxUploadReason), ms(now), ms(u.ExpiresAt))
		if err != nil {
			return fmt.Errorf("record upload: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		inserted = n == 1
		if !inserted || ev == nil {
			return nil
		}
		return addEvent(ctx, tx, ev.Subject, ev.MsgID, ev.Data, now)
	})
	return inserted, err
}

// Upload loads an upload; ENotFound when there is none.
func (d *DB) Upload(ctx context.Context, id string) (*services.Upload, error) {
	u, err := scanUpload(d.db.QueryRowContext(ctx, `SELECT `+uploadCols+` FROM avatar_uploads WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, services.Errorf(services.ENotFound, "upload not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get upload: %w", err)
	}
	return u, nil
}

// SetUploadStatus records the workflow's view of an upload, with the accepted images' keys. It
// is idempotent; ENotFound when the upload does not exist.
func (d *DB) SetUploadStatus(ctx context.Context, id string, status services.UploadStatus, reason string, a services.Avatar) error {
	if !status.Valid() {
		return fmt.Errorf("set upload status: unknown status %q", status)
	}
	res, err := d.db.ExecContext(ctx, `UPDATE avatar_uploads SET status = $1, reason = $2, avatar_key = $3, thumb_key = $4,
		updated_at = $5 WHERE id = $6`, string(status), truncateRunes(reason, maxUploadReason), a.Key, a.ThumbKey,
		ms(d.now()), id)
	if err != nil {
		return fmt.Errorf("set upload status: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return services.Errorf(services.ENotFound, "upload %s not found", id)
	}
	return nil
}

// maxUploadReason bounds stored reasons (in runes); detectors and validators write one line.
const maxUploadReason = 500

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
