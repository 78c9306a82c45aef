package notify

import (
	"context"
	"time"

	"github.com/trivium-game/trivium/services/webpush"
)

// Delivery statuses. Only pending deliveries are ever sent.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusGone      = "gone"
	StatusDropped   = "dropped"
)

// Inbox is what the Service keeps: push subscriptions and the notifications inbox
// (services/sqlstore implements it).
type Inbox interface {
	// SaveSubscription stores sub for the player's session. An endpoint belongs to one player:
	// saving it again moves it to this player and session and makes it the newest. The player
	// keeps at most limit subscriptions (0: no cap); the oldest beyond that are dropped, never the
	// one just saved.
	SaveSubscription(ctx context.Context, playerID, sessionID string, sub webpush.Subscription, limit int) error
	// DeleteSubscription removes the player's subscription at endpoint; deleting one that does
	// not exist (or is not theirs) is not an error, so unsubscribing is idempotent.
	DeleteSubscription(ctx context.Context, playerID, endpoint string) error
	// DeleteSessionSubscriptions removes the subscriptions made with a session's token (at logout).
	DeleteSessionSubscriptions(ctx context.Context, sessionID string) (int, error)
	// Notifications pages a player's inbox newest first with a keyset cursor, so entries arriving
	// between pages never shift them. next is "" on the last page.
	Notifications(ctx context.Context, playerID, cursor string, limit int) (items []Notification, next string, err error)
	// MarkRead marks one of the player's notifications read (keeping the first read time);
	// ENotFound when it is not theirs.
	MarkRead(ctx context.Context, playerID, id string) error
	// MarkAllRead marks every unread notification of the player read and says how many it marked.
	MarkAllRead(ctx context.Context, playerID string) (int, error)
}

// DeliveryStore is what the Notifier keeps: inbox entries and one delivery record per
// (notification, subscription) (services/sqlstore implements it).
type DeliveryStore interface {
	// AddNotification stores n under source (the event's dedupe id) and, in the same
	// transaction, a pending delivery for every subscription its player has now. When source is
	// already stored it changes nothing and returns the stored entry with created false: a
	// redelivered event neither writes a second entry nor sends a second push.
	AddNotification(ctx context.Context, source string, n *Notification) (stored *Notification, created bool, err error)
	// DueDeliveries lists pending deliveries whose time has come and that nobody holds, oldest first.
	DueDeliveries(ctx context.Context, limit int) ([]DeliveryKey, error)
	// ClaimDelivery reserves a due pending delivery for one sender until now+lease, so two
	// senders (goroutines or replicas) never push it at the same time. ok is false when it is not
	// due, not pending or held by someone else.
	ClaimDelivery(ctx context.Context, k DeliveryKey, lease time.Duration) (d *Delivery, ok bool, err error)
	// FinishDelivery records a terminal outcome (delivered, gone or dropped) of a claimed delivery.
	FinishDelivery(ctx context.Context, k DeliveryKey, status string, httpStatus int, reason string) error
	// RetryDelivery records a failed attempt and releases the claim until at.
	RetryDelivery(ctx context.Context, k DeliveryKey, at time.Time, httpStatus int, reason string) error
	// GoneDelivery records that the push service no longer knows the subscription and deletes it
	// (unless the browser re-subscribed the endpoint with new keys meanwhile).
	GoneDelivery(ctx context.Context, k DeliveryKey, sub webpush.Subscription, httpStatus int, reason string) error
	// DropUnsent marks a claimed delivery dropped without counting an attempt: nothing was sent.
	DropUnsent(ctx context.Context, k DeliveryKey, reason string) error
	// PruneDeliveries deletes finished delivery records last touched before cutoff.
	PruneDeliveries(ctx context.Context, cutoff time.Time) (int, error)
}

// Subscription is a stored push subscription.
type Subscription struct {
	webpush.Subscription
	PlayerID  string
	SessionID string
	CreatedAt time.Time
}

// DeliveryKey names one delivery: a notification to one subscription endpoint.
type DeliveryKey struct {
	NotificationID string
	Endpoint       string
}

// Delivery is a claimed delivery with what sending it needs. Subscription is nil when the
// endpoint is no longer subscribed by the notification's player (unsubscribed, gone, logged out
// or moved to another player): then there is nobody to send it to.
type Delivery struct {
	DeliveryKey
	Attempts     int
	Notification *Notification
	Subscription *webpush.Subscription
}

// DeliveryState is a delivery's recorded progress.
type DeliveryState struct {
	DeliveryKey
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
}
