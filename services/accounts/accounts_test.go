package accounts_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T, d sqlstore.Dialect) (*accounts.Service, *clock) {
	t.Helper()
	s, c, _ := newServiceWithStore(t, d)
	return s, c
}

func newServiceWithStore(t *testing.T, d sqlstore.Dialect) (*accounts.Service, *clock, services.PlayerStore) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	db := sqltest.Open(t, d, c.now)
	s, err := accounts.New(accounts.Config{Store: db, TokenKey: []byte(strings.Repeat("k", 32)), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s, c, db
}

func TestTokensAuthenticateUntilRevokedOrExpired(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, c := newService(t, d)
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
	})
}

func TestTicketsAreSingleUseAndShortLived(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, c := newService(t, d)
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
	})
}

func TestLoginFailuresAreLimitedPerAccountAndAddress(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, c := newService(t, d)
		ctx := context.Background()
		if _, err := s.Register(ctx, "xia", "long enough pw"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < accounts.DefaultPairBurst; i++ {
			if _, err := s.Login(ctx, "xia", "wrong password", "10.0.0.1"); services.ErrorCode(err) != services.EUnauthenticated {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		// The guesser's address is refused, even with the right password…
		_, err := s.Login(ctx, "xia", "long enough pw", "10.0.0.1")
		if services.ErrorCode(err) != services.ERateLimited || services.ErrorRetryAfter(err) <= 0 {
			t.Fatalf("limited on the guessing address: %v", err)
		}
		c.t = c.t.Add(accounts.DefaultPairEvery)
		if _, err := s.Login(ctx, "xia", "long enough pw", "10.0.0.1"); err != nil {
			t.Fatalf("after waiting: %v", err)
		}
		// Guests cannot log in with a password, and unknown users look like wrong passwords.
		if _, err := s.Login(ctx, "nobody", "whatever pw", "10.0.0.3"); services.ErrorCode(err) != services.EUnauthenticated {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

func TestWrongPasswordsFromOneAddressDoNotLockTheOwnerOnAnother(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, _ := newService(t, d)
		ctx := context.Background()
		if _, err := s.Register(ctx, "owner", "long enough pw"); err != nil {
			t.Fatal(err)
		}
		for range accounts.DefaultPairBurst {
			if _, err := s.Login(ctx, "owner", "a stranger's guess", "203.0.113.7"); services.ErrorCode(err) != services.EUnauthenticated {
				t.Fatalf("guess: %v", err)
			}
		}
		if _, err := s.Login(ctx, "owner", "long enough pw", "198.51.100.2"); err != nil {
			t.Fatalf("the owner on another address is locked out by a stranger: %v", err)
		}
	})
}

// tickingClock moves on by a millisecond at every reading, as a real clock does between
// counting an attempt and checking its password.
type tickingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tickingClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func TestAClassroomBehindOneAddressLogsInWithoutBeingRefused(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		c := &tickingClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		db := sqltest.Open(t, d, c.now)
		s, err := accounts.New(accounts.Config{Store: db, TokenKey: []byte(strings.Repeat("k", 32)), Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		const class = 30
		for i := range class {
			if _, err := s.Register(ctx, fmt.Sprintf("pupil%02d", i), "long enough pw"); err != nil {
				t.Fatal(err)
			}
		}
		// Everyone logs in from the school's one address, a few with a typo first.
		for i := range class {
			name := fmt.Sprintf("pupil%02d", i)
			if i%5 == 0 {
				if _, err := s.Login(ctx, name, "typo typo typo", "192.0.2.1"); services.ErrorCode(err) != services.EUnauthenticated {
					t.Fatalf("%s typo: %v", name, err)
				}
			}
			if _, err := s.Login(ctx, name, "long enough pw", "192.0.2.1"); err != nil {
				t.Fatalf("login %d of the class (%s) refused: %v", i+1, name, err)
			}
		}
		// And the teacher's demo account logs in on every pupil's device.
		for i := range class {
			if _, err := s.Login(ctx, "pupil00", "long enough pw", "192.0.2.1"); err != nil {
				t.Fatalf("shared login %d refused: %v", i+1, err)
			}
		}
	})
}

func TestAGuesserOnEveryAddressSlowsTheAccountButNeverLocksTheOwnerOut(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		db := sqltest.Open(t, d, c.now)
		lim := accounts.LoginLimits{AccountBurst: 10, SlowEvery: 5 * time.Second}
		s, err := accounts.New(accounts.Config{Store: db, TokenKey: []byte(strings.Repeat("k", 32)), Now: c.now, Login: lim})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := s.Register(ctx, "owner", "long enough pw"); err != nil {
			t.Fatal(err)
		}
		// A botnet: 40 addresses, a few guesses each, all within a second.
		refused := 0
		for i := range 40 {
			for range 3 {
				_, err := s.Login(ctx, "owner", "guess", fmt.Sprintf("203.0.113.%d", i))
				switch services.ErrorCode(err) {
				case services.EUnauthenticated:
				case services.ERateLimited:
					refused++
				default:
					t.Fatalf("guess: %v", err)
				}
			}
		}
		if refused < 100 {
			t.Fatalf("only %d of 120 distributed guesses were refused", refused)
		}
		// The owner, on an address with no failures, waits at most one slow-lane interval.
		_, err = s.Login(ctx, "owner", "long enough pw", "198.51.100.2")
		if err != nil {
			wait := services.ErrorRetryAfter(err)
			if services.ErrorCode(err) != services.ERateLimited || wait <= 0 || wait > lim.SlowEvery {
				t.Fatalf("owner: %v (retry after %s)", err, wait)
			}
			c.t = c.t.Add(wait)
			if _, err := s.Login(ctx, "owner", "long enough pw", "198.51.100.2"); err != nil {
				t.Fatalf("owner after waiting %s: %v", wait, err)
			}
		}
	})
}

func TestCheckedSessionsAreTrustedBrieflyAndLogoutIsImmediate(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, c, store := newServiceWithStore(t, d)
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
	})
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
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		reg, c, db := newServiceWithStore(t, d)
		ctx := context.Background()
		if _, err := reg.Register(ctx, "uma", "long enough pw"); err != nil {
			t.Fatal(err)
		}
		const n = 4 * accounts.DefaultPairBurst
		gs := &gatedStore{PlayerStore: db, entered: make(chan struct{}, n), release: make(chan struct{})}
		s, err := accounts.New(accounts.Config{Store: gs, TokenKey: []byte(strings.Repeat("k", 32)), Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		results := make(chan error, n)
		for range n {
			go func() {
				_, err := s.Login(ctx, "uma", "wrong password", "10.0.0.9")
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
		if checked > accounts.DefaultPairBurst {
			t.Fatalf("%d concurrent guesses reached the password check; the limit allows %d", checked, accounts.DefaultPairBurst)
		}
	})
}

func TestNamesWithInvisibleOrReorderingCharactersAreRefused(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, _ := newService(t, d)
		ctx := context.Background()
		for _, nick := range []string{"ad\u200Bmin", "evil\u202Eeman", "a\x00b", "esc\x1b[2J", "c1\u0085x", "tag\U000E0041", "two\nlines"} {
			if _, err := s.Guest(ctx, nick); services.ErrorCode(err) != services.EInvalid || services.ErrorFields(err)["nickname"] == "" {
				t.Errorf("nickname %q: %v", nick, err)
			}
			if err := accounts.ValidateDisplayName(nick, "displayName"); services.ErrorCode(err) != services.EInvalid {
				t.Errorf("display name %q: %v", nick, err)
			}
		}
		for _, nick := range []string{"Zoë", "👩\u200D💻 dev", "日本語"} {
			if _, err := s.Guest(ctx, nick); err != nil {
				t.Errorf("nickname %q refused: %v", nick, err)
			}
		}
	})
}
