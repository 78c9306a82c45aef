package accounts

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trivium-game/trivium/services"
)

// hashGate bounds password hashing. One argon2id hash holds 19 MiB and a core for tens of
// milliseconds; without a bound, 200 parallel registrations took the server to 3.7 GB. At most
// slots hashes run at once, at most queue callers wait for a slot, and none waits longer than
// wait: past either bound the caller gets EBusy (503 with Retry-After) at once, not a stall.
type hashGate struct {
	slots   chan struct{}
	queue   int32
	waiting atomic.Int32
	wait    time.Duration
}

func newHashGate(slots, queue int, wait time.Duration) *hashGate {
	return &hashGate{slots: make(chan struct{}, slots), queue: int32(queue), wait: wait}
}

func (g *hashGate) busy() error {
	return &services.Error{Code: services.EBusy, Message: "the server is busy checking passwords; try again shortly",
		RetryAfter: max(time.Second, g.wait)}
}

// do runs fn in a slot.
func (g *hashGate) do(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > g.queue {
			g.waiting.Add(-1)
			return g.busy()
		}
		t := time.NewTimer(g.wait)
		select {
		case g.slots <- struct{}{}:
			t.Stop()
			g.waiting.Add(-1)
		case <-t.C:
			g.waiting.Add(-1)
			return g.busy()
		case <-ctx.Done():
			t.Stop()
			g.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}

// LoginLimits say how many failed logins are tolerated, and how fast they are forgotten. Only
// failures count; a success clears its (account, address) pair and gives its attempt back to
// the others.
type LoginLimits struct {
	// PairBurst failures per (account, address), then one more per PairEvery. This is the limit
	// a guesser meets; it never touches the owner on another address.
	PairBurst int
	PairEvery time.Duration
	// AddressBurst failures per address over all accounts (password spraying), then one per
	// AddressEvery. Generous, so a classroom behind one NAT with a few typos is not refused.
	AddressBurst int
	AddressEvery time.Duration
	// AccountBurst failures per account over all addresses (a distributed guesser), then one per
	// AccountEvery. Past it the account is not locked: every address shares a slow lane of
	// one attempt per SlowEvery, so the owner is slowed by seconds and a guesser everywhere is
	// held to that rate.
	AccountBurst int
	AccountEvery time.Duration
	SlowEvery    time.Duration
}

// Defaults of LoginLimits.
const (
	DefaultPairBurst    = 5
	DefaultPairEvery    = 20 * time.Second
	DefaultAddressBurst = 30
	DefaultAddressEvery = 10 * time.Second
	DefaultAccountBurst = 50
	DefaultAccountEvery = time.Minute
	DefaultSlowEvery    = 5 * time.Second
)

func (l *LoginLimits) fill() {
	def := func(n *int, d int) {
		if *n == 0 {
			*n = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.PairBurst, DefaultPairBurst)
	dur(&l.PairEvery, DefaultPairEvery)
	def(&l.AddressBurst, DefaultAddressBurst)
	dur(&l.AddressEvery, DefaultAddressEvery)
	def(&l.AccountBurst, DefaultAccountBurst)
	dur(&l.AccountEvery, DefaultAccountEvery)
	dur(&l.SlowEvery, DefaultSlowEvery)
}

// bucket is a leaky count of failures: level drains by one per every.
type bucket struct {
	level float64
	at    time.Time
}

func (b *bucket) drain(now time.Time, every time.Duration) {
	if d := now.Sub(b.at); d > 0 {
		b.level = max(0, b.level-float64(d)/float64(every))
	}
	b.at = now
}

// room says how long until one more failure fits under burst (zero: now).
func (b *bucket) room(burst int, every time.Duration) time.Duration {
	over := b.level + 1 - float64(burst)
	if over <= 0 {
		return 0
	}
	return time.Duration(over * float64(every))
}

// loginLimiter keeps the failure buckets. An attempt is counted before the password is checked
// (so concurrent guesses cannot all slip under the limit), then a success takes it back.
type loginLimiter struct {
	cfg     LoginLimits
	mu      sync.Mutex
	pairs   map[string]*bucket // username + "\x00" + address
	addrs   map[string]*bucket
	account map[string]*bucket
	slow    map[string]time.Time // account → when its slow lane is free again
}

const maxLimiterKeys = 100_000

func newLoginLimiter(cfg LoginLimits) *loginLimiter {
	cfg.fill()
	return &loginLimiter{cfg: cfg, pairs: map[string]*bucket{}, addrs: map[string]*bucket{},
		account: map[string]*bucket{}, slow: map[string]time.Time{}}
}

func (l *loginLimiter) get(m map[string]*bucket, key string, now time.Time, every time.Duration) *bucket {
	b, ok := m[key]
	if !ok {
		if len(m) >= maxLimiterKeys {
			// Bound memory under a spray of usernames or addresses: forget drained buckets.
			for k, v := range m {
				if v.drain(now, every); v.level == 0 {
					delete(m, k)
				}
			}
		}
		b = &bucket{at: now}
		m[key] = b
	}
	b.drain(now, every)
	return b
}

// outcome of a counted login attempt.
type outcome int

const (
	failed    outcome = iota // a wrong password: the attempt stays counted
	succeeded                // clears the pair, gives the attempt back to address and account
	void                     // nothing was checked (server busy, store error): given back
)

// attempt counts one login attempt, or refuses it with how long to wait. done reports the
// outcome once the password has been checked.
func (l *loginLimiter) attempt(username, addr string, now time.Time) (done func(outcome), wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cfg
	pair := l.get(l.pairs, username+"\x00"+addr, now, c.PairEvery)
	ad := l.get(l.addrs, addr, now, c.AddressEvery)
	acc := l.get(l.account, username, now, c.AccountEvery)
	wait = max(pair.room(c.PairBurst, c.PairEvery), ad.room(c.AddressBurst, c.AddressEvery))
	if wait > 0 {
		return nil, wait
	}
	if acc.room(c.AccountBurst, c.AccountEvery) > 0 {
		// The account is under a distributed attack: slow everyone down, lock nobody out.
		if free := l.slow[username]; now.Before(free) {
			return nil, free.Sub(now)
		}
		if len(l.slow) >= maxLimiterKeys {
			clear(l.slow)
		}
		l.slow[username] = now.Add(c.SlowEvery)
	}
	pair.level++
	ad.level++
	// Capped, so the account leaves the slow lane at most 2×AccountBurst×AccountEvery after an
	// attack stops however long it ran.
	acc.level = min(acc.level+1, float64(2*c.AccountBurst))
	return func(o outcome) {
		if o == failed {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if o == succeeded {
			pair.level = 0
		} else {
			pair.level = max(0, pair.level-1)
		}
		ad.level = max(0, ad.level-1)
		acc.level = max(0, acc.level-1)
	}, 0
}
