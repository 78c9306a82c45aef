package services

import (
	"context"
	"strings"
	"time"
)

// Roles a player can hold.
const (
	RolePlayer    = "player"
	RoleModerator = "moderator"
	RoleAdmin     = "admin"
)

// Avatar statuses as seen on a player.
const (
	AvatarNone     = "none"
	AvatarAccepted = "accepted"
)

// Avatar is a player's current public image. URL is the 256 px image, ThumbnailURL the 64 px one;
// both are absolute CDN URLs, empty until an avatar is accepted.
type Avatar struct {
	Status       string `json:"status"`
	URL          string `json:"url"`
	ThumbnailURL string `json:"thumbnailUrl"`
	// Key and ThumbKey are the blob keys behind the URLs; the URLs are derived at read time
	// from the configured CDN base so changing TRIVIUM_CDN_URL needs no migration.
	Key      string `json:"-"`
	ThumbKey string `json:"-"`
}

// Player is an account or a guest.
type Player struct {
	ID           string    `json:"id"`
	Username     string    `json:"username"`
	DisplayName  string    `json:"displayName"`
	Guest        bool      `json:"guest"`
	Role         string    `json:"role"`
	Avatar       Avatar    `json:"avatar"`
	CreatedAt    time.Time `json:"createdAt"`
	PasswordHash string    `json:"-"`
	// SuspendedUntil is set by a moderator: until then the player cannot sign in or use a token.
	SuspendedUntil time.Time `json:"-"`
	// MutedUntil is set by a moderator: until then the player's chat is refused.
	MutedUntil time.Time `json:"-"`
}

// Muted reports whether p may not chat at now.
func (p *Player) Muted(now time.Time) bool {
	return !p.MutedUntil.IsZero() && now.Before(p.MutedUntil)
}

// Suspended reports whether p is suspended at now.
func (p *Player) Suspended(now time.Time) bool {
	return !p.SuspendedUntil.IsZero() && now.Before(p.SuspendedUntil)
}

// PublicProfile is what anyone may read about a player.
type PublicProfile struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Level       int    `json:"level"` // 1 until the player earns XP; see LevelOf
	Avatar      struct {
		URL          string `json:"url"`
		ThumbnailURL string `json:"thumbnailUrl"`
	} `json:"avatar"`
}

// Profile returns the public view of p.
func (p Player) Profile() PublicProfile {
	var pp PublicProfile
	pp.ID, pp.DisplayName, pp.Level = p.ID, p.DisplayName, 1
	pp.Avatar.URL, pp.Avatar.ThumbnailURL = p.Avatar.URL, p.Avatar.ThumbnailURL
	return pp
}

// Session is an issued bearer token's server-side record, so tokens can be revoked.
type Session struct {
	ID        string
	PlayerID  string
	ExpiresAt time.Time
	Revoked   bool
}

// PlayerStore persists players and sessions.
type PlayerStore interface {
	CreatePlayer(ctx context.Context, p *Player) error // EConflict when the username is taken
	PlayerByID(ctx context.Context, id string) (*Player, error)
	PlayerByUsername(ctx context.Context, username string) (*Player, error)
	UpdateDisplayName(ctx context.Context, id, displayName string) error
	SetRole(ctx context.Context, username, role string) error
	SetAvatar(ctx context.Context, playerID string, a Avatar) error
	AvatarKeyInUse(ctx context.Context, key, exceptPlayerID string) (bool, error) // any other player's avatar or thumbnail

	PlayersByID(ctx context.Context, ids []string) (map[string]*Player, error)

	CreateSession(ctx context.Context, s Session) error
	SessionByID(ctx context.Context, id string) (*Session, error)
	RevokeSession(ctx context.Context, id string) error

	CreateTicket(ctx context.Context, t Ticket) error
	UseTicket(ctx context.Context, id string) (*Ticket, error) // single use; EUnauthenticated when unknown
}

// Ticket is a short-lived single-use credential for a WebSocket upgrade.
type Ticket struct {
	ID        string    `json:"ticket"`
	PlayerID  string    `json:"-"`
	SessionID string    `json:"-"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// PublicURL maps a public blob key ("public/avatars/x.jpg") to its CDN URL ("{base}/avatars/x.jpg").
func PublicURL(cdnBase, key string) string {
	if key == "" {
		return ""
	}
	return strings.TrimSuffix(cdnBase, "/") + "/" + strings.TrimPrefix(key, "public/")
}

// Resolve fills the avatar's URLs from its keys under the CDN base URL.
func (a *Avatar) Resolve(cdnBase string) {
	a.URL, a.ThumbnailURL = PublicURL(cdnBase, a.Key), PublicURL(cdnBase, a.ThumbKey)
}
