package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Moderation cases, reports and the audit log (issue 17). Case statuses are "pending" and
// "decided"; a report is open until its case is decided.

const caseCols = `id, kind, content_kind, target_id, dedupe, upload_id, player_id, reporter_id, image_key, thumb_key,
	labels, snapshot, reason, status, decision, note, moderator_id, decided_at, created_at`

func scanCase(row interface{ Scan(...any) error }) (*services.ModerationCase, error) {
	var c services.ModerationCase
	var labels, snapshot string
	var decided, created int64
	if err := row.Scan(&c.ID, &c.Kind, &c.ContentKind, &c.TargetID, &c.Dedupe, &c.UploadID, &c.PlayerID, &c.ReporterID,
		&c.ImageKey, &c.ThumbKey, &labels, &snapshot, &c.Reason, &c.Status, &c.Decision, &c.Note, &c.ModeratorID,
		&decided, &created); err != nil {
		return nil, err
	}
	c.Labels, c.Snapshot = []byte(labels), []byte(snapshot)
	c.DecidedAt, c.CreatedAt = fromMS(decided), fromMS(created)
	return &c, nil
}

func jsonOr(b []byte, empty string) string {
	if len(b) == 0 {
		return empty
	}
	return string(b)
}

// openCase inserts c unless a case with its dedupe key exists; either way c ends up as the
// stored case. created reports an insert.
func (d *DB) openCase(ctx context.Context, q querier, c *services.ModerationCase) (bool, error) {
	if c.ID == "" {
		c.ID = services.NewID()
	}
	if c.ContentKind == "" {
		c.ContentKind = services.ContentAvatar
	}
	c.Status, c.CreatedAt = "pending", d.now().UTC()
	res, err := q.ExecContext(ctx, `INSERT INTO moderation_cases (id, kind, content_kind, target_id, dedupe, upload_id,
		player_id, reporter_id, image_key, thumb_key, labels, snapshot, reason, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (dedupe) DO NOTHING`,
		c.ID, c.Kind, c.ContentKind, c.TargetID, c.Dedupe, c.UploadID, c.PlayerID, c.ReporterID, c.ImageKey, c.ThumbKey,
		jsonOr(c.Labels, "[]"), jsonOr(c.Snapshot, "{}"), c.Reason, c.Status, ms(c.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("open case: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 1 {
		return true, nil
	}
	stored, err := scanCase(q.QueryRowContext(ctx, `SELECT `+caseCols+` FROM moderation_cases WHERE dedupe = $1`, c.Dedupe))
	if err != nil {
		return false, fmt.Errorf("load joined case: %w", err)
	}
	*c = *stored
	return false, nil
}

// OpenCase inserts c unless a case with the same dedupe key exists (a redelivered upload, a
// repeated report), in which case c becomes the stored one; it reports whether it inserted.
func (d *DB) OpenCase(ctx context.Context, c *services.ModerationCase) (bool, error) {
	return d.openCase(ctx, d.db, c)
}

// CaseByID loads a case.
func (d *DB) CaseByID(ctx context.Context, id string) (*services.ModerationCase, error) {
	c, err := scanCase(d.db.QueryRowContext(ctx, `SELECT `+caseCols+` FROM moderation_cases WHERE id = $1`, id))
	return c, notFound(err, "case")
}

// ListCases pages through cases of one status (and kind, if set) in creation order.
func (d *DB) ListCases(ctx context.Context, f services.CaseFilter) ([]*services.ModerationCase, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+caseCols+` FROM moderation_cases
		WHERE status = $1 AND ($2 = '' OR content_kind = $2) AND (created_at > $3 OR (created_at = $3 AND id > $4))
		ORDER BY created_at, id LIMIT $5`, f.Status, f.ContentKind, f.AfterCreated, f.AfterID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	var out []*services.ModerationCase
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DecideCase records a decision on a pending case with its audit entry, closes the case's open
// reports and queues the notification, in one transaction. A decided case is EConflict.
func (d *DB) DecideCase(ctx context.Context, w services.CaseDecisionWrite) (*services.ModerationCase, error) {
	var c *services.ModerationCase
	err := d.tx(ctx, func(tx *sql.Tx) error {
		now := d.now().UTC()
		res, err := tx.ExecContext(ctx, `UPDATE moderation_cases SET status = 'decided', decision = $1, note = $2,
			moderator_id = $3, decided_at = $4 WHERE id = $5 AND status = 'pending'`,
			w.Decision, w.Note, w.ModeratorID, ms(now), w.CaseID)
		if err != nil {
			return fmt.Errorf("decide case: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		c, err = scanCase(tx.QueryRowContext(ctx, `SELECT `+caseCols+` FROM moderation_cases WHERE id = $1`, w.CaseID))
		if err != nil {
			return notFound(err, "case")
		}
		if n == 0 {
			return services.Errorf(services.EConflict, "this case was already decided (%s by %s)", c.Decision, c.ModeratorID)
		}
		if c.Kind == "upload" && c.UploadID != "" && w.JobOutcome != "" {
			// The upload's job moves on with its case, so neither is decided without the other.
			if _, err := tx.ExecContext(ctx, `UPDATE moderation_jobs SET step = 'decided', outcome = $1, reason = $2,
				updated_at = $3 WHERE upload_id = $4 AND step = 'case_opened'`, w.JobOutcome, w.JobReason, ms(now), c.UploadID); err != nil {
				return fmt.Errorf("decide job: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE moderation_reports SET closed_at = $1 WHERE case_id = $2 AND closed_at = 0`,
			ms(now), c.ID); err != nil {
			return fmt.Errorf("close reports: %w", err)
		}
		a := w.Audit
		if _, err := tx.ExecContext(ctx, `INSERT INTO moderation_audit (case_id, moderator_id, action, player_id, content_kind,
			target_id, reason, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			c.ID, w.ModeratorID, a.Action, c.PlayerID, c.ContentKind, c.TargetID, a.Reason, a.Detail, ms(now)); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		if w.Event != nil {
			return addEvent(ctx, tx, w.Event.Subject, w.Event.MsgID, w.Event.Data, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AddReport records r and opens or joins the case c (matched by its dedupe key) in one
// transaction; r.CaseID is the case's. A reporter with an open report on the same target gets
// EConflict; one who filed max reports since since gets ERateLimited.
func (d *DB) AddReport(ctx context.Context, r *services.Report, c *services.ModerationCase, since time.Time, max int) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM moderation_reports WHERE reporter_id = $1 AND created_at > $2`,
			r.ReporterID, ms(since)).Scan(&n); err != nil {
			return fmt.Errorf("count reports: %w", err)
		}
		if n >= max {
			return &services.Error{Code: services.ERateLimited, RetryAfter: time.Hour,
				Message: fmt.Sprintf("at most %d reports an hour; thank you, a moderator will look at them", max)}
		}
		if _, err := d.openCase(ctx, tx, c); err != nil {
			return err
		}
		r.ID, r.CaseID, r.CreatedAt = services.NewID(), c.ID, d.now().UTC()
		_, err := tx.ExecContext(ctx, `INSERT INTO moderation_reports (id, case_id, reporter_id, content_kind, target_id, reason,
			created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.ID, r.CaseID, r.ReporterID, r.ContentKind, r.TargetID, r.Reason,
			ms(r.CreatedAt))
		if isUnique(err) {
			return services.Errorf(services.EConflict, "you already reported this; a moderator will look at it")
		}
		if err != nil {
			return fmt.Errorf("add report: %w", err)
		}
		return nil
	})
}

// CaseReports returns a case's reports, oldest first (at most 100).
func (d *DB) CaseReports(ctx context.Context, caseID string) ([]services.Report, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, case_id, reporter_id, content_kind, target_id, reason, created_at
		FROM moderation_reports WHERE case_id = $1 ORDER BY created_at, id LIMIT 100`, caseID)
	if err != nil {
		return nil, fmt.Errorf("case reports: %w", err)
	}
	defer rows.Close()
	out := []services.Report{}
	for rows.Next() {
		var r services.Report
		var created int64
		if err := rows.Scan(&r.ID, &r.CaseID, &r.ReporterID, &r.ContentKind, &r.TargetID, &r.Reason, &created); err != nil {
			return nil, err
		}
		r.CreatedAt = fromMS(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

const auditCols = `id, case_id, moderator_id, action, player_id, content_kind, target_id, reason, detail, created_at`

func scanAudit(rows *sql.Rows) ([]services.AuditEntry, error) {
	defer rows.Close()
	out := []services.AuditEntry{}
	for rows.Next() {
		var a services.AuditEntry
		var created int64
		if err := rows.Scan(&a.ID, &a.CaseID, &a.ModeratorID, &a.Action, &a.PlayerID, &a.ContentKind, &a.TargetID, &a.Reason,
			&a.Detail, &created); err != nil {
			return nil, err
		}
		a.CreatedAt = fromMS(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Audit pages the audit log newest first: entries with id below before (0: from the newest).
func (d *DB) Audit(ctx context.Context, before int64, limit int) ([]services.AuditEntry, error) {
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+auditCols+` FROM moderation_audit WHERE id < $1 ORDER BY id DESC LIMIT $2`,
		before, limit)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return scanAudit(rows)
}

// CaseAudit returns a case's audit entries, oldest first.
func (d *DB) CaseAudit(ctx context.Context, caseID string) ([]services.AuditEntry, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+auditCols+` FROM moderation_audit WHERE case_id = $1 ORDER BY id LIMIT 100`, caseID)
	if err != nil {
		return nil, fmt.Errorf("case audit: %w", err)
	}
	return scanAudit(rows)
}

// SuspendPlayer sets until when a player may not sign in (zero lifts it) and revokes every
// session of theirs in the same transaction.
func (d *DB) SuspendPlayer(ctx context.Context, playerID string, until time.Time) error {
	defer d.players.forget(playerID)
	return d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE players SET suspended_until = $1 WHERE id = $2`, ms(until), playerID)
		if err != nil {
			return fmt.Errorf("suspend: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return services.Errorf(services.ENotFound, "player not found")
		}
		if until.IsZero() {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked = 1 WHERE player_id = $1`, playerID); err != nil {
			return fmt.Errorf("revoke sessions: %w", err)
		}
		return nil
	})
}

// MutePlayer sets until when a player's chat is refused (zero lifts it).
func (d *DB) MutePlayer(ctx context.Context, playerID string, until time.Time) error {
	defer d.players.forget(playerID)
	return d.updateOne(ctx, "player", `UPDATE players SET muted_until = $1 WHERE id = $2`, ms(until), playerID)
}

// HideQuiz hides a quiz from everyone but its owner with the moderator's reason ("" shows it again).
func (d *DB) HideQuiz(ctx context.Context, quizID, reason string) error {
	return d.updateOne(ctx, "quiz", `UPDATE quizzes SET hidden_reason = $1 WHERE id = $2`, reason, quizID)
}
