// Package accounts registers players, checks passwords, issues and revokes bearer tokens and
// WebSocket tickets.
package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/trivium-game/trivium/services"
)

// Config of the accounts service; zero values take the named defaults.
type Config struct {
	Store     services.PlayerStore
	TokenKey  []byte // HMAC key for tokens, ≥ 32 bytes
	Now       func() time.Time
	TokenTTL  time.Duration // accounts; DefaultTokenTTL
	GuestTTL  time.Duration // DefaultGuestTTL
	TicketTTL time.Duration // DefaultTicketTTL
	// Login bounds failed logins per (account, address), per address and per account; zero
	// fields take the Default* values in limits.go.
	Login LoginLimits
	// HashConcurrency is how many password hashes run at once (default: the number of cores),
	// HashQueue how many callers may wait for one (DefaultHashQueue) and HashWait how long
	// (DefaultHashWait); past either the caller gets EBusy with a Retry-After.
	HashConcurrency int
	HashQueue       int
	HashWait        time.Duration
	// CacheTTL is how long a checked session is trusted without reading it again: the bound on
	// how late another process sees a logout (this process sees its own at once). The player is
	// read from the Store each time (whose own cache, if any, must drop a suspended player at
	// once). DefaultCacheTTL; negative disables the cache.
	CacheTTL time.Duration
}

// Defaults.
const (
	DefaultTokenTTL  = 30 * 24 * time.Hour
	DefaultGuestTTL  = 7 * 24 * time.Hour
	DefaultTicketTTL = 30 * time.Second
	DefaultCacheTTL  = 2 * time.Second
	DefaultHashQueue = 32
	DefaultHashWait  = 2 * time.Second
	maxCachedTokens  = 100_000
)

// Service is the accounts domain service.
type Service struct {
	cfg    Config
	logins *loginLimiter
	hashes *hashGate
	dummy  string // a hash compared when the user does not exist, so timing does not tell

	cacheMu sync.Mutex
	cache   map[string]cachedSession // by session id
}

type cachedSession struct {
	playerID string
	until    time.Time
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if len(cfg.TokenKey) < 32 {
		return nil, fmt.Errorf("accounts: token key must be at least 32 bytes")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.GuestTTL == 0 {
		cfg.GuestTTL = DefaultGuestTTL
	}
	if cfg.TicketTTL == 0 {
		cfg.TicketTTL = DefaultTicketTTL
	}
	if cfg.HashConcurrency <= 0 {
		cfg.HashConcurrency = runtime.NumCPU()
	}
	if cfg.HashQueue == 0 {
		cfg.HashQueue = DefaultHashQueue
	}
	if cfg.HashWait == 0 {
		cfg.HashWait = DefaultHashWait
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	s := &Service{cfg: cfg, logins: newLoginLimiter(cfg.Login), cache: map[string]cachedSession{},
		hashes: newHashGate(cfg.HashConcurrency, max(0, cfg.HashQueue), cfg.HashWait)}
	s.dummy = hashPassword("not-a-real-password")
	return s, nil
}

var usernameRE = regexp.MustCompile(`^[a-z0-9_]{3,24}$`)

// Auth is the outcome of register, login and guest.
type Auth struct {
	Token  string           `json:"token"`
	Player *services.Player `json:"player"`
}

// Register creates an account.
func (s *Service) Register(ctx context.Context, username, password string) (*Auth, error) {
	f := map[string]string{}
	if !usernameRE.MatchString(username) {
		f["username"] = "must be 3–24 characters of a–z, 0–9 and _"
	}
	if utf8.RuneCountInString(password) < 10 {
		f["password"] = "must be at least 10 characters"
	} else if len(password) > 256 {
		f["password"] = "must be at most 256 bytes"
	}
	if err := services.Invalid(f); err != nil {
		return nil, err
	}
	var hash string
	if err := s.hashes.do(ctx, func() { hash = hashPassword(password) }); err != nil {
		return nil, err
	}
	p := &services.Player{Username: username, DisplayName: username, Role: services.RolePlayer, PasswordHash: hash}
	if err := s.cfg.Store.CreatePlayer(ctx, p); err != nil {
		return nil, err
	}
	return s.issue(ctx, p, s.cfg.TokenTTL)
}

// Guest creates a guest player.
func (s *Service) Guest(ctx context.Context, nickname string) (*Auth, error) {
	nickname = strings.TrimSpace(nickname)
	if err := ValidateDisplayName(nickname, "nickname"); err != nil {
		return nil, err
	}
	p := &services.Player{DisplayName: nickname, Guest: true, Role: services.RolePlayer}
	if err := s.cfg.Store.CreatePlayer(ctx, p); err != nil {
		return nil, err
	}
	return s.issue(ctx, p, s.cfg.GuestTTL)
}

// ValidateDisplayName checks a display name or nickname.
func ValidateDisplayName(name, field string) error {
	n := utf8.RuneCountInString(name)
	if n < 1 || n > 32 {
		return services.Invalid(map[string]string{field: "must be 1–32 characters"})
	}
	// A name is an identity: what CleanText would remove is refused, not silently dropped, so
	// nobody ends up with a name other than the one they typed.
	if services.CleanText(name) != name || strings.ContainsAny(name, "\t\n") || !utf8.ValidString(name) {
		return services.Invalid(map[string]string{field: "must not contain control, invisible or text-direction characters"})
	}
	return nil
}

// Login checks a password. The answer is the same whether the user exists or not. Failed
// attempts are limited per (username, address), per address and per username (LoginLimits);
// a refusal is ERateLimited with RetryAfter set.
func (s *Service) Login(ctx context.Context, username, password, addr string) (*Auth, error) {
	done, wait := s.logins.attempt(username, addr, s.cfg.Now())
	if wait > 0 {
		return nil, &services.Error{Code: services.ERateLimited, Message: "too many failed login attempts; try again later", RetryAfter: wait}
	}
	p, err := s.cfg.Store.PlayerByUsername(ctx, username)
	hash := s.dummy
	if err == nil {
		hash = p.PasswordHash
	} else if services.ErrorCode(err) != services.ENotFound {
		done(void) // not the caller's failure
		return nil, err
	}
	var ok bool
	if gerr := s.hashes.do(ctx, func() { ok = checkPassword(hash, password) }); gerr != nil {
		done(void) // nothing was checked: the attempt does not count
		return nil, gerr
	}
	if err != nil || !ok || p.Guest {
		done(failed)
		return nil, services.Errorf(services.EUnauthenticated, "wrong username or password")
	}
	done(succeeded)
	if p.Suspended(s.cfg.Now()) {
		return nil, services.Errorf(services.EForbidden, "this account is suspended by a moderator until %s",
			p.SuspendedUntil.UTC().Format(time.RFC3339))
	}
	return s.issue(ctx, p, s.cfg.TokenTTL)
}

func (s *Service) issue(ctx context.Context, p *services.Player, ttl time.Duration) (*Auth, error) {
	sess := services.Session{ID: services.NewSecret(), PlayerID: p.ID, ExpiresAt: s.cfg.Now().Add(ttl)}
	if err := s.cfg.Store.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	return &Auth{Token: s.sign(sess.ID), Player: p}, nil
}

// Identity is who a request acts as.
type Identity struct {
	Player    *services.Player
	SessionID string
}

// Authenticate resolves a bearer token.
func (s *Service) Authenticate(ctx context.Context, token string) (*Identity, error) {
	unauth := services.Errorf(services.EUnauthenticated, "invalid or expired token")
	id, ok := s.verify(token)
	if !ok {
		return nil, unauth
	}
	now := s.cfg.Now()
	if playerID, ok := s.cached(id, now); ok {
		p, err := s.cfg.Store.PlayerByID(ctx, playerID)
		if err != nil {
			return nil, err
		}
		if p.Suspended(now) {
			return nil, unauth // the store's player cache is cleared by a suspension at once, on every process
		}
		return &Identity{Player: p, SessionID: id}, nil
	}
	sess, err := s.cfg.Store.SessionByID(ctx, id)
	if services.ErrorCode(err) == services.ENotFound {
		return nil, unauth
	}
	if err != nil {
		return nil, err
	}
	if sess.Revoked || !now.Before(sess.ExpiresAt) {
		return nil, unauth
	}
	p, err := s.cfg.Store.PlayerByID(ctx, sess.PlayerID)
	if err != nil {
		return nil, err
	}
	if p.Suspended(now) {
		return nil, unauth
	}
	until := now.Add(s.cfg.CacheTTL)
	if sess.ExpiresAt.Before(until) {
		until = sess.ExpiresAt
	}
	s.remember(sess.ID, p.ID, until)
	return &Identity{Player: p, SessionID: sess.ID}, nil
}

// cached returns the player of a recently checked, unrevoked session.
func (s *Service) cached(sessionID string, now time.Time) (string, bool) {
	if s.cfg.CacheTTL < 0 {
		return "", false
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	e, ok := s.cache[sessionID]
	if !ok || !now.Before(e.until) {
		return "", false
	}
	return e.playerID, true
}

func (s *Service) remember(sessionID, playerID string, until time.Time) {
	if s.cfg.CacheTTL < 0 {
		return
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if len(s.cache) >= maxCachedTokens {
		clear(s.cache) // entries live seconds: starting over is cheaper than tracking age
	}
	s.cache[sessionID] = cachedSession{playerID, until}
}

// Logout revokes the session behind a token; this process stops accepting it at once.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	s.cacheMu.Lock()
	delete(s.cache, sessionID)
	s.cacheMu.Unlock()
	return s.cfg.Store.RevokeSession(ctx, sessionID)
}

// IssueTicket returns a single-use WebSocket ticket for an authenticated identity.
func (s *Service) IssueTicket(ctx context.Context, id *Identity) (*services.Ticket, error) {
	t := services.Ticket{ID: services.NewSecret(), PlayerID: id.Player.ID, SessionID: id.SessionID, ExpiresAt: s.cfg.Now().Add(s.cfg.TicketTTL)}
	if err := s.cfg.Store.CreateTicket(ctx, t); err != nil {
		return nil, err
	}
	return &t, nil
}

// RedeemTicket consumes a ticket and returns the identity it was issued to.
func (s *Service) RedeemTicket(ctx context.Context, ticket string) (*Identity, error) {
	unauth := services.Errorf(services.EUnauthenticated, "invalid, used or expired ticket")
	if ticket == "" || len(ticket) > 64 {
		return nil, unauth
	}
	t, err := s.cfg.Store.UseTicket(ctx, ticket)
	if err != nil {
		return nil, err
	}
	if !s.cfg.Now().Before(t.ExpiresAt) {
		return nil, unauth
	}
	sess, err := s.cfg.Store.SessionByID(ctx, t.SessionID)
	if err != nil || sess.Revoked {
		return nil, unauth
	}
	p, err := s.cfg.Store.PlayerByID(ctx, t.PlayerID)
	if err != nil {
		return nil, err
	}
	return &Identity{Player: p, SessionID: t.SessionID}, nil
}

// Tokens are "<session id>.<hmac>": the signature rejects forgeries without a database read;
// the session row makes revocation possible.
func (s *Service) sign(id string) string {
	m := hmac.New(sha256.New, s.cfg.TokenKey)
	m.Write([]byte(id))
	return id + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Service) verify(token string) (string, bool) {
	id, _, ok := strings.Cut(token, ".")
	if !ok || len(token) > 200 {
		return "", false
	}
	return id, hmac.Equal([]byte(s.sign(id)), []byte(token))
}

// argon2id parameters (RFC 9106's second recommendation, scaled for a 2-core server).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

func hashPassword(pw string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func checkPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || m > 256*1024 || t > 10 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
