package notify

import (
	"context"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/webpush"
)

// DefaultMaxSubscriptions caps a player's push subscriptions (browsers and devices).
const DefaultMaxSubscriptions = 10

// Inbox page sizes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// validateTimeout bounds the DNS lookups of the SSRF guard inside a request.
const validateTimeout = 5 * time.Second

// ServiceConfig configures a Service; Store is required.
type ServiceConfig struct {
	Store Inbox
	// VAPIDPublicKey is served to browsers as applicationServerKey.
	VAPIDPublicKey string
	// AllowPrivate accepts http and loopback/private endpoints (TRIVIUM_PUSH_ALLOW_PRIVATE, tests only).
	AllowPrivate bool
	// Resolver resolves endpoint hosts for the SSRF guard; nil means net.DefaultResolver.
	Resolver webpush.Resolver
	// MaxSubscriptions per player; default DefaultMaxSubscriptions.
	MaxSubscriptions int
}

// Service is what the HTTP API offers: push subscriptions and the notifications inbox.
type Service struct {
	cfg ServiceConfig
}

// NewService returns a Service.
func NewService(cfg ServiceConfig) *Service {
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = DefaultMaxSubscriptions
	}
	return &Service{cfg: cfg}
}

// VAPIDPublicKey is the application server key browsers subscribe with.
func (s *Service) VAPIDPublicKey() string { return s.cfg.VAPIDPublicKey }

// Subscribe validates a browser's PushSubscription (public https endpoint unless AllowPrivate,
// P-256 key, 16-byte auth) and stores it for the player's session: an endpoint another player
// registered moves to this one, and the player's oldest subscriptions beyond the cap are dropped.
func (s *Service) Subscribe(ctx context.Context, playerID, sessionID string, sub webpush.Subscription) error {
	vctx, cancel := context.WithTimeout(ctx, validateTimeout)
	defer cancel()
	if err := webpush.ValidateSubscription(vctx, sub, s.cfg.AllowPrivate, s.cfg.Resolver); err != nil {
		return err
	}
	return s.cfg.Store.SaveSubscription(ctx, playerID, sessionID, sub, s.cfg.MaxSubscriptions)
}

// Unsubscribe removes the player's subscription at endpoint; an unknown endpoint is not an error.
func (s *Service) Unsubscribe(ctx context.Context, playerID, endpoint string) error {
	if endpoint == "" {
		return services.Invalid(map[string]string{"endpoint": "is required"})
	}
	return s.cfg.Store.DeleteSubscription(ctx, playerID, endpoint)
}

// EndSession removes the subscriptions registered with a session's token, at logout.
func (s *Service) EndSession(ctx context.Context, sessionID string) error {
	_, err := s.cfg.Store.DeleteSessionSubscriptions(ctx, sessionID)
	return err
}

// Page is one page of the inbox.
type Page struct {
	Items []Notification `json:"items"`
	Next  string         `json:"next"`
}

// Inbox pages the player's notifications newest first; limit outside 1..MaxPageSize means
// DefaultPageSize.
func (s *Service) Inbox(ctx context.Context, playerID, cursor string, limit int) (Page, error) {
	if limit <= 0 || limit > MaxPageSize {
		limit = DefaultPageSize
	}
	items, next, err := s.cfg.Store.Notifications(ctx, playerID, cursor, limit)
	if err != nil {
		return Page{}, err
	}
	if items == nil {
		items = []Notification{}
	}
	return Page{Items: items, Next: next}, nil
}

// MarkRead marks one of the player's notifications read; ENotFound when it is not theirs.
func (s *Service) MarkRead(ctx context.Context, playerID, id string) error {
	return s.cfg.Store.MarkRead(ctx, playerID, id)
}

// MarkAllRead marks all the player's notifications read and returns how many were unread.
func (s *Service) MarkAllRead(ctx context.Context, playerID string) (int, error) {
	return s.cfg.Store.MarkAllRead(ctx, playerID)
}
