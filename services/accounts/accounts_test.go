package accounts_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
	"github.com/trivium-game/trivium/services/sqlite"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T) (*accounts.Service, *clock) {
	t.Helper()
	s, c, _ := newServiceWithStore(t)
	return s, c
}

func newServiceWithStore(t *testing.T) (*accounts.Service, *clock, services.PlayerStore) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := accounts.New(accounts.Config{Store: db, TokenKey: []byte(strings.Repeat("k", 32)), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s, c, db
}

func TestTokensAuthenticateUntilRevokedOrExpired(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	a, err := s.Register(ctx, "zoe", "long enough pw")
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Authenticate(ctx, a.Token)
	if err != nil || id.Player.Username != "zoe" {
		t.Fatalf("authenticate: %v", err)
	}
	if _, err := s.Authenticate(ctx, a.Token+"x"); services.ErrorCode(err) != services.EUnauthenticated {
		t.Fatalf("tampered token: %v", err)
	}
	if err := s.Logout(ctx, id.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, a.Token); services.ErrorCode(err) != services.EUnauthenticated {
		t.Fatalf("revoked token: %v", err)
	}
	g, _ := s.Guest(ctx, "Guest")
	c.t = c.t.Add(accounts.DefaultGuestTTL + time.Second)
	if _, err := s.Authenticate(ctx, g.Token); services.ErrorCode(err) != services.EUnauthenticated {
		t.Fatalf("expired guest token: %v", err)
	}
}

func TestTicketsAreSingleUseAndShortLived(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	a, _ := s.Register(ctx, "yan", "long enough pw")
	id, _ := s.Authenticate(ctx, a.Token)
	tk, err := s.IssueTicket(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.RedeemTicket(ctx, tk.ID); err != nil || got.Player.ID != id.Player.ID {
		t.Fatalf("redeem: %v", err)
	}
	if _, err := s.RedeemTicket(ctx, tk.ID); err == nil {
		t.Fatal("ticket redeemed twice")
	}
	tk2, _ := s.IssueTicket(ctx, id)
	c.t = c.t.Add(accounts.DefaultTicketTTL + time.Millisecond)
	if _, err := s.RedeemTicket(ctx, tk2.ID); err == nil {
		t.Fatal("expired ticket redeemed")
	}
}

func TestLoginFailuresAreLimitedPerUsernameAndIP(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	if _, err := s.Register(ctx, "xia", "long enough pw"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < accounts.DefaultLoginBurst; i++ {
		if _, _, err := s.Login(ctx, "xia", "wrong password", "10.0.0.1"); services.ErrorCode(err) != services.EUnauthenticated {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, wait, err := s.Login(ctx, "xia", "long enough pw", "10.0.0.2")
	if services.ErrorCode(err) != services.ERateLimited || wait <= 0 {
		t.Fatalf("limited by username: %v %v", err, wait)
	}
	c.t = c.t.Add(accounts.DefaultLoginEvery)
	if _, _, err := s.Login(ctx, "xia", "long enough pw", "10.0.0.2"); err != nil {
		t.Fatalf("after waiting: %v", err)
	}
	// Guests cannot log in with a password, and unknown users look like wrong passwords.
	if _, _, err := s.Login(ctx, "nobody", "whatever pw", "10.0.0.3"); services.ErrorCode(err) != services.EUnauthenticated {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestCheckedSessionsAreTrustedBrieflyAndLogoutIsImmediate(t *testing.T) {
	s, c, store := newServiceWithStore(t)
	ctx := context.Background()
	a, _ := s.Register(ctx, "wes", "long enough pw")
	id, err := s.Authenticate(ctx, a.Token)
	if err != nil {
		t.Fatal(err)
	}
	// Another process revokes the session in the database: this one notices within the TTL.
	b, _ := s.Register(ctx, "vic", "long enough pw")
	bid, _ := s.Authenticate(ctx, b.Token)
	other, _ := accounts.New(accounts.Config{Store: store, TokenKey: []byte(strings.Repeat("k", 32)), Now: c.now})
	if err := other.Logout(ctx, bid.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, b.Token); err != nil {
		t.Fatalf("within the cache TTL the cached identity is used: %v", err)
	}
	c.t = c.t.Add(accounts.DefaultCacheTTL)
	if _, err := s.Authenticate(ctx, b.Token); services.ErrorCode(err) != services.EUnauthenticated {
		t.Fatalf("after the TTL the revocation must hold: %v", err)
	}
	// This process's own logout holds at once, cache or not.
	if err := s.Logout(ctx, id.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, a.Token); services.ErrorCode(err) != services.EUnauthenticated {
		t.Fatalf("own logout: %v", err)
	}
}

// gatedStore holds every username lookup until released, so a test can line up concurrent logins.
type gatedStore struct {
	services.PlayerStore
	entered chan struct{}
	release chan struct{}
}

func (g *gatedStore) PlayerByUsername(ctx context.Context, username string) (*services.Player, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.PlayerStore.PlayerByUsername(ctx, username)
}

func TestConcurrentLoginGuessesCannotOutrunTheLimit(t *testing.T) {
	reg, c, db := newServiceWithStore(t)
	ctx := context.Background()
	if _, err := reg.Register(ctx, "uma", "long enough pw"); err != nil {
		t.Fatal(err)
	}
	const n = 4 * accounts.DefaultLoginBurst
	gs := &gatedStore{PlayerStore: db, entered: make(chan struct{}, n), release: make(chan struct{})}
	s, err := accounts.New(accounts.Config{Store: gs, TokenKey: []byte(strings.Repeat("k", 32)), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan error, n)
	for range n {
		go func() {
			_, _, err := s.Login(ctx, "uma", "wrong password", "10.0.0.9")
			results <- err
		}()
	}
	// Until the gate opens, an attempt either waits at the password check or has been refused.
	checked, refused := 0, 0
	deadline := time.After(10 * time.Second)
	for checked+refused < n {
		select {
		case <-gs.entered:
			checked++
		case err := <-results:
			if services.ErrorCode(err) != services.ERateLimited {
				t.Fatalf("an attempt answered before the gate opened: %v", err)
			}
			refused++
		case <-deadline:
			t.Fatalf("attempts stuck: %d checked, %d refused of %d", checked, refused, n)
		}
	}
	close(gs.release)
	for range checked {
		if err := <-results; services.ErrorCode(err) != services.EUnauthenticated {
			t.Fatalf("checked attempt: %v", err)
		}
	}
	if checked > accounts.DefaultLoginBurst {
		t.Fatalf("%d concurrent guesses reached the password check; the limit allows %d", checked, accounts.DefaultLoginBurst)
	}
}
