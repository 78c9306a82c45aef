package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/webpush"
)

// NotifyStore keeps notifications, push subscriptions and deliveries (services/notify).
type NotifyStore struct{ d *DB }

// NotifyStore returns the notification tables of d.
func (d *DB) NotifyStore() *NotifyStore { return &NotifyStore{d: d} }

var (
	_ notify.Inbox         = (*NotifyStore)(nil)
	_ notify.DeliveryStore = (*NotifyStore)(nil)
)

// SaveSubscription stores sub for the player's session. An endpoint belongs to one player: saving
// it again moves it to this player and session and makes it the newest. The player keeps at most
// limit subscriptions (0: no cap); the oldest beyond that are dropped, never the one just saved.
func (s *NotifyStore) SaveSubscription(ctx context.Context, playerID, sessionID string, sub webpush.Subscription, limit int) error {
	now := ms(s.d.now())
	return s.d.tx(ctx, func(tx *sql.Tx) error {
		// Times only grow per player, so "oldest" is well defined even for subscriptions saved
		// within one millisecond.
		var latest int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(created_at), 0) FROM push_subscriptions WHERE player_id = $1`,
			playerID).Scan(&latest); err != nil {
			return fmt.Errorf("save subscription: %w", err)
		}
		now = max(now, latest+1)
		_, err := tx.ExecContext(ctx, `INSERT INTO push_subscriptions (endpoint, player_id, session_id, p256dh, auth, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (endpoint) DO UPDATE SET player_id = excluded.player_id, session_id = excluded.session_id,
				p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`,
			sub.Endpoint, playerID, sessionID, sub.Keys.P256dh, sub.Keys.Auth, now)
		if err != nil {
			return fmt.Errorf("save subscription: %w", err)
		}
		if limit <= 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE player_id = $1 AND endpoint <> $2
			AND endpoint NOT IN (SELECT endpoint FROM push_subscriptions WHERE player_id = $1 AND endpoint <> $2
				ORDER BY created_at DESC, endpoint DESC LIMIT $3)`,
			playerID, sub.Endpoint, limit-1)
		if err != nil {
			return fmt.Errorf("cap subscriptions: %w", err)
		}
		return nil
	})
}

// DeleteSubscription removes the player's subscription at endpoint; deleting one that does not
// exist (or is not theirs) is not an error, so unsubscribing is idempotent.
func (s *NotifyStore) DeleteSubscription(ctx context.Context, playerID, endpoint string) error {
	_, err := s.d.db.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE player_id = $1 AND endpoint = $2`, playerID, endpoint)
	if err != nil {
		return fmt.Errorf("delete subscription: %w", err)
	}
	return nil
}

// DeleteSessionSubscriptions removes the subscriptions made with a session's token (at logout).
func (s *NotifyStore) DeleteSessionSubscriptions(ctx context.Context, sessionID string) (int, error) {
	res, err := s.d.db.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE session_id = $1`, sessionID)
	if err != nil {
		return 0, fmt.Errorf("delete session subscriptions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Subscriptions lists a player's subscriptions, newest first.
func (s *NotifyStore) Subscriptions(ctx context.Context, playerID string) ([]notify.Subscription, error) {
	rows, err := s.d.db.QueryContext(ctx, `SELECT endpoint, player_id, session_id, p256dh, auth, created_at
		FROM push_subscriptions WHERE player_id = $1 ORDER BY created_at DESC, endpoint DESC`, playerID)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []notify.Subscription
	for rows.Next() {
		var sub notify.Subscription
		var at int64
		if err := rows.Scan(&sub.Endpoint, &sub.PlayerID, &sub.SessionID, &sub.Keys.P256dh, &sub.Keys.Auth, &at); err != nil {
			return nil, err
		}
		sub.CreatedAt = fromMS(at)
		out = append(out, sub)
	}
	return out, rows.Err()
}

// AddNotification stores n under source (the event's dedupe id) and, in the same transaction, a
// pending delivery for every subscription its player has now. When source is already stored it
// changes nothing and returns the stored entry with created false: a redelivered event neither
// writes a second entry nor sends a second push.
func (s *NotifyStore) AddNotification(ctx context.Context, source string, n *notify.Notification) (stored *notify.Notification, created bool, err error) {
	now := s.d.now()
	if n.ID == "" {
		n.ID = services.NewID()
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	data := n.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	err = s.d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO notifications
			(id, source, player_id, topic, title, body, data, ttl_ms, urgency, push_topic, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (source) DO NOTHING`,
			n.ID, source, n.PlayerID, n.Topic, n.Title, n.Body, string(data), n.TTL.Milliseconds(), n.Urgency, n.PushTopic, ms(n.CreatedAt))
		if err != nil {
			return fmt.Errorf("add notification: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil
		}
		created = true
		// Parameters in a SELECT list have no type PostgreSQL can infer: cast them.
		_, err = tx.ExecContext(ctx, `INSERT INTO push_deliveries (notification_id, endpoint, status, attempts, next_attempt_at, updated_at)
			SELECT CAST($1 AS TEXT), endpoint, 'pending', 0, CAST($2 AS BIGINT), CAST($2 AS BIGINT)
			FROM push_subscriptions WHERE player_id = $3
			ON CONFLICT (notification_id, endpoint) DO NOTHING`, n.ID, ms(now), n.PlayerID)
		if err != nil {
			return fmt.Errorf("add deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if created {
		return n, true, nil
	}
	stored, err = s.notificationBySource(ctx, source)
	return stored, false, err
}

const notificationCols = `id, player_id, topic, title, body, data, ttl_ms, urgency, push_topic, created_at, read_at`

type scanner interface{ Scan(dest ...any) error }

func scanNotification(r scanner, extra ...any) (*notify.Notification, error) {
	var n notify.Notification
	var data string
	var ttl, created, read int64
	dest := append([]any{&n.ID, &n.PlayerID, &n.Topic, &n.Title, &n.Body, &data, &ttl, &n.Urgency, &n.PushTopic, &created, &read}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	n.Data, n.TTL, n.CreatedAt = json.RawMessage(data), time.Duration(ttl)*time.Millisecond, fromMS(created)
	if read != 0 {
		t := fromMS(read)
		n.ReadAt = &t
	}
	return &n, nil
}

func (s *NotifyStore) notificationBySource(ctx context.Context, source string) (*notify.Notification, error) {
	n, err := scanNotification(s.d.db.QueryRowContext(ctx, `SELECT `+notificationCols+` FROM notifications WHERE source = $1`, source))
	if err != nil {
		return nil, fmt.Errorf("notification by source: %w", err)
	}
	return n, nil
}

// Notifications pages a player's inbox newest first with a keyset cursor, so entries arriving
// between pages never shift them. next is "" on the last page.
func (s *NotifyStore) Notifications(ctx context.Context, playerID, cursor string, limit int) (items []notify.Notification, next string, err error) {
	where, args := "player_id = $1", []any{playerID}
	if cursor != "" {
		at, id, err := DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where += " AND (created_at < $2 OR (created_at = $2 AND id < $3))"
		args = append(args, at, id)
	}
	args = append(args, limit+1)
	rows, err := s.d.db.QueryContext(ctx, `SELECT `+notificationCols+` FROM notifications WHERE `+where+
		` ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list notifications: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, *n)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next = page(items, limit, func(n notify.Notification) (time.Time, string) { return n.CreatedAt, n.ID })
	return items, next, nil
}

// MarkRead marks one of the player's notifications read (keeping the first read time);
// ENotFound when it is not theirs.
func (s *NotifyStore) MarkRead(ctx context.Context, playerID, id string) error {
	res, err := s.d.db.ExecContext(ctx, `UPDATE notifications SET read_at = CASE WHEN read_at = 0 THEN $3 ELSE read_at END
		WHERE player_id = $1 AND id = $2`, playerID, id, ms(s.d.now()))
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return services.Errorf(services.ENotFound, "notification not found")
	}
	return nil
}

// MarkAllRead marks every unread notification of the player read and says how many it marked.
func (s *NotifyStore) MarkAllRead(ctx context.Context, playerID string) (int, error) {
	res, err := s.d.db.ExecContext(ctx, `UPDATE notifications SET read_at = $2 WHERE player_id = $1 AND read_at = 0`,
		playerID, ms(s.d.now()))
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DueDeliveries lists pending deliveries whose time has come and that nobody holds, oldest first.
func (s *NotifyStore) DueDeliveries(ctx context.Context, limit int) ([]notify.DeliveryKey, error) {
	now := ms(s.d.now())
	rows, err := s.d.db.QueryContext(ctx, `SELECT notification_id, endpoint FROM push_deliveries
		WHERE status = 'pending' AND next_attempt_at <= $1 AND claimed_until <= $1
		ORDER BY next_attempt_at, notification_id, endpoint LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	defer rows.Close()
	var out []notify.DeliveryKey
	for rows.Next() {
		var k notify.DeliveryKey
		if err := rows.Scan(&k.NotificationID, &k.Endpoint); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// ClaimDelivery reserves a due pending delivery for one sender until now+lease, so two senders
// (goroutines or replicas) never push it at the same time. ok is false when it is not due, not
// pending or held by someone else.
func (s *NotifyStore) ClaimDelivery(ctx context.Context, k notify.DeliveryKey, lease time.Duration) (d *notify.Delivery, ok bool, err error) {
	now := s.d.now()
	res, err := s.d.db.ExecContext(ctx, `UPDATE push_deliveries SET claimed_until = $3
		WHERE notification_id = $1 AND endpoint = $2 AND status = 'pending' AND next_attempt_at <= $4 AND claimed_until <= $4`,
		k.NotificationID, k.Endpoint, ms(now.Add(lease)), ms(now))
	if err != nil {
		return nil, false, fmt.Errorf("claim delivery: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, false, nil
	}
	var (
		attempts     int
		endpoint     sql.NullString
		p256dh, auth sql.NullString
	)
	// The join keeps the subscription only while it belongs to the notification's player: an
	// endpoint that moved to someone else must not receive this player's notification.
	n, err := scanNotification(s.d.db.QueryRowContext(ctx, `SELECT n.id, n.player_id, n.topic, n.title, n.body, n.data,
			n.ttl_ms, n.urgency, n.push_topic, n.created_at, n.read_at, d.attempts, s.endpoint, s.p256dh, s.auth
		FROM push_deliveries d JOIN notifications n ON n.id = d.notification_id
		LEFT JOIN push_subscriptions s ON s.endpoint = d.endpoint AND s.player_id = n.player_id
		WHERE d.notification_id = $1 AND d.endpoint = $2`, k.NotificationID, k.Endpoint),
		&attempts, &endpoint, &p256dh, &auth)
	if err != nil {
		return nil, false, fmt.Errorf("load claimed delivery: %w", err)
	}
	d = &notify.Delivery{DeliveryKey: k, Attempts: attempts, Notification: n}
	if endpoint.Valid {
		var sub webpush.Subscription
		sub.Endpoint, sub.Keys.P256dh, sub.Keys.Auth = endpoint.String, p256dh.String, auth.String
		d.Subscription = &sub
	}
	return d, true, nil
}

// FinishDelivery records a terminal outcome (delivered, gone or dropped) of a claimed delivery.
func (s *NotifyStore) FinishDelivery(ctx context.Context, k notify.DeliveryKey, status string, httpStatus int, reason string) error {
	return s.updateDelivery(ctx, s.d.db, k, status, 0, httpStatus, reason)
}

// RetryDelivery records a failed attempt and releases the claim until at.
func (s *NotifyStore) RetryDelivery(ctx context.Context, k notify.DeliveryKey, at time.Time, httpStatus int, reason string) error {
	return s.updateDelivery(ctx, s.d.db, k, notify.StatusPending, ms(at), httpStatus, reason)
}

// GoneDelivery records that the push service no longer knows the subscription and deletes it
// (unless the browser re-subscribed the endpoint with new keys meanwhile).
func (s *NotifyStore) GoneDelivery(ctx context.Context, k notify.DeliveryKey, sub webpush.Subscription, httpStatus int, reason string) error {
	return s.d.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE endpoint = $1 AND p256dh = $2 AND auth = $3`,
			sub.Endpoint, sub.Keys.P256dh, sub.Keys.Auth); err != nil {
			return fmt.Errorf("delete gone subscription: %w", err)
		}
		return s.updateDelivery(ctx, tx, k, notify.StatusGone, 0, httpStatus, reason)
	})
}

func (s *NotifyStore) updateDelivery(ctx context.Context, ex execer, k notify.DeliveryKey, status string, next int64, httpStatus int, reason string) error {
	_, err := ex.ExecContext(ctx, `UPDATE push_deliveries SET status = $3, attempts = attempts + 1, next_attempt_at = $4,
			claimed_until = 0, last_status = $5, last_error = $6, updated_at = $7
		WHERE notification_id = $1 AND endpoint = $2`,
		k.NotificationID, k.Endpoint, status, next, httpStatus, services.Truncate(reason, 500), ms(s.d.now()))
	if err != nil {
		return fmt.Errorf("record delivery %s: %w", status, err)
	}
	return nil
}

// DropUnsent marks a claimed delivery dropped without counting an attempt: nothing was sent.
func (s *NotifyStore) DropUnsent(ctx context.Context, k notify.DeliveryKey, reason string) error {
	_, err := s.d.db.ExecContext(ctx, `UPDATE push_deliveries SET status = 'dropped', claimed_until = 0, last_error = $3, updated_at = $4
		WHERE notification_id = $1 AND endpoint = $2`, k.NotificationID, k.Endpoint, services.Truncate(reason, 500), ms(s.d.now()))
	if err != nil {
		return fmt.Errorf("drop delivery: %w", err)
	}
	return nil
}

// Deliveries returns the recorded deliveries of a notification, by endpoint.
func (s *NotifyStore) Deliveries(ctx context.Context, notificationID string) ([]notify.DeliveryState, error) {
	rows, err := s.d.db.QueryContext(ctx, `SELECT notification_id, endpoint, status, attempts, next_attempt_at, last_status, last_error
		FROM push_deliveries WHERE notification_id = $1 ORDER BY endpoint`, notificationID)
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	defer rows.Close()
	var out []notify.DeliveryState
	for rows.Next() {
		var d notify.DeliveryState
		var next int64
		if err := rows.Scan(&d.NotificationID, &d.Endpoint, &d.Status, &d.Attempts, &next, &d.LastStatus, &d.LastError); err != nil {
			return nil, err
		}
		d.NextAttemptAt = fromMS(next)
		out = append(out, d)
	}
	return out, rows.Err()
}

// PruneDeliveries deletes finished delivery records last touched before cutoff. Once an event is
// in the inbox a redelivery never recreates its deliveries, so old records are not needed for
// idempotency.
func (s *NotifyStore) PruneDeliveries(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.d.db.ExecContext(ctx, `DELETE FROM push_deliveries WHERE status <> 'pending' AND updated_at < $1`, ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
