package market_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/market"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/outbox"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

type fixture struct {
	t     *testing.T
	db    *sqlstore.DB
	svc   *market.Service
	fault atomic.Pointer[func(step string, recorded bool) error]
	n     int
}

func newFixture(t *testing.T, db *sqlstore.DB, mutate func(*market.Config)) *fixture {
	f := &fixture{t: t, db: db}
	cfg := market.Config{Store: db, Quizzes: db, AfterStep: func(step string, recorded bool) error {
		if fn := f.fault.Load(); fn != nil {
			return (*fn)(step, recorded)
		}
		return nil
	}}
	if mutate != nil {
		mutate(&cfg)
	}
	var err error
	if f.svc, err = market.New(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) setFault(fn func(step string, recorded bool) error) { f.fault.Store(&fn) }
func (f *fixture) clearFault()                                        { f.fault.Store(nil) }

func (f *fixture) player(coins int64) *services.Player {
	f.t.Helper()
	f.n++
	p := &services.Player{Username: fmt.Sprintf("p%d_%d", f.n, time.Now().UnixNano()%1e6), DisplayName: "P"}
	if err := f.db.CreatePlayer(context.Background(), p); err != nil {
		f.t.Fatal(err)
	}
	if coins > 0 {
		if _, _, err := f.db.Move(context.Background(), services.Movement{Key: "grant:" + p.ID, Kind: services.KindGrant,
			From: services.AccountGrants, To: services.PlayerAccount(p.ID), Amount: coins, Reason: "test", Ref: "test"}); err != nil {
			f.t.Fatal(err)
		}
	}
	return p
}

// listing lists a new private quiz of seller at price.
func (f *fixture) listing(seller *services.Player, price int64, plays int) *services.Listing {
	f.t.Helper()
	ctx := context.Background()
	q := &services.Quiz{OwnerID: seller.ID, Title: fmt.Sprint("Quiz of ", seller.Username), Mode: services.ModeCasual, Scoring: "flat",
		Questions: []services.Question{{Text: "t", Kind: "choice", Choices: []string{"a", "b"}, Answer: services.Answer{Set: true, Index: 1}}}}
	if err := f.db.CreateQuiz(ctx, q); err != nil {
		f.t.Fatal(err)
	}
	l, err := f.svc.CreateListing(ctx, seller, market.ListingInput{QuizID: q.ID, Price: &price, Plays: &plays})
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

func (f *fixture) balance(p *services.Player) int64 {
	f.t.Helper()
	b, err := f.db.Balance(context.Background(), services.PlayerAccount(p.ID))
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// consistent fails unless the ledger balances overall and for each given player.
func (f *fixture) consistent(players ...*services.Player) {
	f.t.Helper()
	ctx := context.Background()
	entries, balances, err := f.db.LedgerTotals(ctx)
	if err != nil || entries != 0 || balances != 0 {
		f.t.Fatalf("ledger totals: entries %d balances %d err %v", entries, balances, err)
	}
	for _, p := range players {
		if sum, _ := f.db.EntrySum(ctx, services.PlayerAccount(p.ID)); sum != f.balance(p) {
			f.t.Fatalf("%s: entries sum to %d, balance is %d", p.Username, sum, f.balance(p))
		}
	}
}

func requested(p *services.Purchase, delivered int) services.Message {
	data, _ := json.Marshal(services.PurchaseRequested{PurchaseID: p.ID})
	return services.Message{Subject: services.SubjectPurchaseRequested, ID: "purchase.requested:" + p.ID, Data: data, Delivered: delivered}
}

// finish delivers a purchase until it is final, as the bus would after crashes.
func (f *fixture) finish(p *services.Purchase) *services.Purchase {
	f.t.Helper()
	ctx := context.Background()
	for attempt := 1; attempt <= 5; attempt++ {
		if err := f.svc.Handle(ctx, requested(p, attempt)); err == nil {
			got, err := f.db.PurchaseByID(ctx, p.ID)
			if err != nil {
				f.t.Fatal(err)
			}
			return got
		}
	}
	f.t.Fatalf("purchase %s not final after 5 deliveries", p.ID)
	return nil
}

func TestParallelPurchasesSpendOnlyWhatTheBuyerHas(t *testing.T) {
	for name, db := range sqltest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			bus, err := natsbus.OpenEmbedded(ctx, filepath.Join(t.TempDir(), "nats"), natsbus.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer bus.Close()
			relay := outbox.New(db, bus, nil)
			f := newFixture(t, db, func(c *market.Config) { c.Bus, c.Kick = bus, relay.Kick })
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); relay.Run(ctx) }()
			go func() { defer wg.Done(); _ = f.svc.Run(ctx) }()
			defer wg.Wait()
			defer cancel()

			buyer := f.player(35)
			sellers := make([]*services.Player, 10)
			listings := make([]*services.Listing, 10)
			for i := range sellers {
				sellers[i] = f.player(0)
				listings[i] = f.listing(sellers[i], 10, 3)
			}
			purchases := make([]*services.Purchase, 10)
			errs := make([]error, 10)
			var start sync.WaitGroup
			for i := range listings {
				start.Add(1)
				go func() {
					defer start.Done()
					purchases[i], _, errs[i] = f.svc.Purchase(ctx, buyer, listings[i].ID, fmt.Sprint("key-", i))
				}()
			}
			start.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			final := map[string]*services.Purchase{}
			deadline := time.Now().Add(20 * time.Second)
			for len(final) < 10 {
				if time.Now().After(deadline) {
					t.Fatalf("only %d of 10 purchases finished", len(final))
				}
				for _, p := range purchases {
					got, err := db.PurchaseByID(ctx, p.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.Status != services.PurchasePending {
						final[p.ID] = got
					}
				}
				<-time.After(10 * time.Millisecond)
			}
			completed, broke := 0, 0
			for _, p := range final {
				switch {
				case p.Status == services.PurchaseCompleted:
					completed++
				case p.Status == services.PurchaseFailed && p.Reason == services.ReasonInsufficientFunds:
					broke++
				default:
					t.Fatalf("purchase %s ended %s %q", p.ID, p.Status, p.Reason)
				}
			}
			if completed != 3 || broke != 7 {
				t.Fatalf("%d completed and %d failed insufficient_funds; want 3 and 7", completed, broke)
			}
			if b := f.balance(buyer); b != 5 {
				t.Fatalf("buyer balance %d, want 5", b)
			}
			var credited int64
			for _, s := range sellers {
				credited += f.balance(s)
			}
			if want := 3 * (10 - services.MarketFee(10)); credited != want {
				t.Fatalf("sellers credited %d together, want %d", credited, want)
			}
			if fees, _ := db.Balance(ctx, services.AccountFees); fees != 3*services.MarketFee(10) {
				t.Fatalf("fees %d", fees)
			}
			f.consistent(append(sellers, buyer)...)
			lic, err := db.Licences(ctx, buyer.ID)
			if err != nil || len(lic) != 3 {
				t.Fatalf("%d licences (%v), want 3", len(lic), err)
			}

			// The same key again is the same purchase and moves nothing.
			for i, p := range purchases {
				if final[p.ID].Status != services.PurchaseCompleted {
					continue
				}
				again, created, err := f.svc.Purchase(ctx, buyer, listings[i].ID, fmt.Sprint("key-", i))
				if err != nil || created || again.ID != p.ID || again.Status != services.PurchaseCompleted {
					t.Fatalf("repeat: %+v created %v err %v", again, created, err)
				}
				if _, _, err := f.svc.Purchase(ctx, buyer, listings[(i+1)%10].ID, fmt.Sprint("key-", i)); services.ErrorCode(err) != services.EConflict {
					t.Fatalf("the key reused for another listing: %v, want conflict", err)
				}
				break
			}
			if b := f.balance(buyer); b != 5 {
				t.Fatalf("buyer balance %d after a repeated key, want 5", b)
			}
		})
	}
}

// path is one way through the saga.
type path struct {
	name     string
	coins    int64                                                                        // the buyer's coins
	own      bool                                                                         // the buyer buys their own listing
	during   func(f *fixture, l *services.Listing) func(step string, recorded bool) error // side effects at step points
	status   string
	reason   string
	licences int
}

func TestACrashBetweenAnyTwoStepsEndsWithOneOutcome(t *testing.T) {
	withdrawAfterReserve := func(f *fixture, l *services.Listing) func(string, bool) error {
		return func(step string, recorded bool) error {
			if step == market.StepReserved && recorded {
				if err := f.db.DeleteListing(context.Background(), l.ID); err != nil && services.ErrorCode(err) != services.ENotFound {
					return err
				}
			}
			return nil
		}
	}
	paths := []path{
		{name: "completed", coins: 50, status: services.PurchaseCompleted, licences: 1},
		{name: "insufficient funds", coins: 5, status: services.PurchaseFailed, reason: services.ReasonInsufficientFunds},
		{name: "own listing", coins: 50, own: true, status: services.PurchaseFailed, reason: services.ReasonOwnListing},
		{name: "listing withdrawn after the reservation", coins: 50, during: withdrawAfterReserve, status: services.PurchaseFailed,
			reason: services.ReasonListingGone},
	}
	for name, db := range sqltest.Stores(t) {
		for _, pt := range paths {
			t.Run(name+"/"+pt.name, func(t *testing.T) {
				f := newFixture(t, db, nil)
				run := func(fault func(string, bool) error) (*services.Purchase, *services.Player, *services.Player) {
					seller := f.player(0)
					buyer := f.player(pt.coins)
					l := f.listing(seller, 20, 2)
					if pt.own {
						buyer = seller
						if _, _, err := f.db.Move(context.Background(), services.Movement{Key: "own:" + seller.ID, Kind: services.KindGrant,
							From: services.AccountGrants, To: services.PlayerAccount(seller.ID), Amount: pt.coins, Reason: "t", Ref: "t"}); err != nil {
							t.Fatal(err)
						}
					}
					var side func(string, bool) error
					if pt.during != nil {
						side = pt.during(f, l)
					}
					f.setFault(func(step string, recorded bool) error {
						if side != nil {
							if err := side(step, recorded); err != nil {
								return err
							}
						}
						return fault(step, recorded)
					})
					defer f.clearFault()
					p, _, err := f.svc.Purchase(context.Background(), buyer, l.ID, "k")
					if err != nil {
						t.Fatal(err)
					}
					return f.finish(p), buyer, seller
				}
				type point struct {
					step     string
					recorded bool
				}
				var points []point
				run(func(step string, recorded bool) error { points = append(points, point{step, recorded}); return nil })
				if len(points) < 6 {
					t.Fatalf("only %d crash points: %v", len(points), points)
				}
				for _, at := range points {
					crashed := false
					p, buyer, seller := run(func(step string, recorded bool) error {
						if step == at.step && recorded == at.recorded && !crashed {
							crashed = true
							return errors.New("injected crash")
						}
						return nil
					})
					if !crashed {
						t.Fatalf("crash point %v never reached", at)
					}
					if p.Status != pt.status || p.Reason != pt.reason {
						t.Fatalf("crash at %v: %s %q, want %s %q", at, p.Status, p.Reason, pt.status, pt.reason)
					}
					wantBuyer, wantSeller := pt.coins, int64(0)
					if pt.status == services.PurchaseCompleted {
						wantBuyer, wantSeller = pt.coins-20, 20-services.MarketFee(20)
					}
					if pt.own {
						wantSeller = wantBuyer
					}
					if f.balance(buyer) != wantBuyer || f.balance(seller) != wantSeller {
						t.Fatalf("crash at %v: buyer %d seller %d, want %d and %d", at, f.balance(buyer), f.balance(seller), wantBuyer, wantSeller)
					}
					if hold, _ := f.db.Balance(context.Background(), services.HoldAccount(p.ID)); hold != 0 {
						t.Fatalf("crash at %v: %d coins left on hold", at, hold)
					}
					lic, _ := f.db.Licences(context.Background(), buyer.ID)
					if len(lic) != pt.licences {
						t.Fatalf("crash at %v: %d licences, want %d", at, len(lic), pt.licences)
					}
					f.consistent(buyer, seller)
					if n := f.announced(p.ID); n != 1 {
						t.Fatalf("crash at %v: purchase.finished announced %d times", at, n)
					}
				}
			})
		}
	}
}

// announced counts purchase.finished events of a purchase waiting in the outbox.
func (f *fixture) announced(id string) int {
	f.t.Helper()
	evs, err := f.db.PendingEvents(context.Background(), 10000)
	if err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Subject == services.SubjectPurchaseFinished && e.MsgID == "purchase.finished:"+id {
			n++
		}
	}
	return n
}

func TestAPurchaseThatKeepsFailingIsCompensatedWhenRetriesRunOut(t *testing.T) {
	sqltest.Run(t, nil, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, func(c *market.Config) { c.MaxDeliver = 2 })
		seller, buyer := f.player(0), f.player(30)
		l := f.listing(seller, 10, 0)
		p, _, err := f.svc.Purchase(context.Background(), buyer, l.ID, "k")
		if err != nil {
			t.Fatal(err)
		}
		f.setFault(func(step string, recorded bool) error {
			if step == market.StepLicensed {
				return errors.New("licence store down")
			}
			return nil
		})
		for attempt := 1; attempt <= 2; attempt++ {
			if err := f.svc.Handle(context.Background(), requested(p, attempt)); err == nil {
				t.Fatalf("attempt %d succeeded through a failing step", attempt)
			}
		}
		got, _ := db.PurchaseByID(context.Background(), p.ID)
		if got.Status != services.PurchaseFailed || got.Reason != services.ReasonProcessingFailed || f.balance(buyer) != 30 {
			t.Fatalf("after the last attempt: %s %q, buyer has %d; want failed processing_failed and 30", got.Status, got.Reason, f.balance(buyer))
		}
		f.consistent(buyer, seller)
	})
}

func TestListingsAreValidatedPerField(t *testing.T) {
	for name, db := range sqltest.Stores(t) {
		t.Run(name, func(t *testing.T) { listingRules(t, db) })
	}
}

func listingRules(t *testing.T, db *sqlstore.DB) {
	f := newFixture(t, db, nil)
	ctx := context.Background()
	seller, other := f.player(0), f.player(0)
	q := &services.Quiz{OwnerID: seller.ID, Title: "Mine", Mode: services.ModeCasual, Scoring: "flat"}
	pub := &services.Quiz{OwnerID: seller.ID, Title: "Open", Mode: services.ModeCasual, Scoring: "flat", Public: true}
	solo := &services.Quiz{OwnerID: seller.ID, Title: "Solo", Mode: services.ModeSingle, Scoring: "flat"}
	for _, qq := range []*services.Quiz{q, pub, solo} {
		if err := db.CreateQuiz(ctx, qq); err != nil {
			t.Fatal(err)
		}
	}
	n := func(v int64) *int64 { return &v }
	plays := func(v int) *int { return &v }
	tests := []struct {
		name  string
		who   *services.Player
		in    market.ListingInput
		code  string
		field string
	}{
		{"no price", seller, market.ListingInput{QuizID: q.ID}, services.EInvalid, "price"},
		{"price zero", seller, market.ListingInput{QuizID: q.ID, Price: n(0)}, services.EInvalid, "price"},
		{"price too high", seller, market.ListingInput{QuizID: q.ID, Price: n(100_001)}, services.EInvalid, "price"},
		{"negative plays", seller, market.ListingInput{QuizID: q.ID, Price: n(5), Plays: plays(-1)}, services.EInvalid, "plays"},
		{"no quiz", seller, market.ListingInput{Price: n(5)}, services.EInvalid, "quizId"},
		{"single-player quiz", seller, market.ListingInput{QuizID: solo.ID, Price: n(5)}, services.EInvalid, "quizId"},
		{"public quiz", seller, market.ListingInput{QuizID: pub.ID, Price: n(5)}, services.EInvalid, "quizId"},
		{"someone else's private quiz", other, market.ListingInput{QuizID: q.ID, Price: n(5)}, services.ENotFound, ""},
		{"someone else's public quiz", other, market.ListingInput{QuizID: pub.ID, Price: n(5)}, services.EForbidden, ""},
		{"unknown quiz", seller, market.ListingInput{QuizID: "nope", Price: n(5)}, services.ENotFound, ""},
	}
	for _, tc := range tests {
		_, err := f.svc.CreateListing(ctx, tc.who, tc.in)
		if services.ErrorCode(err) != tc.code || (tc.field != "" && services.ErrorFields(err)[tc.field] == "") {
			t.Errorf("%s: %v (fields %v), want %s on %q", tc.name, err, services.ErrorFields(err), tc.code, tc.field)
		}
	}
	l, err := f.svc.CreateListing(ctx, seller, market.ListingInput{QuizID: q.ID, Price: n(100_000), Plays: plays(0)})
	if err != nil || l.Title != "Mine" || l.Plays != 0 {
		t.Fatalf("listing %+v err %v", l, err)
	}
	if _, err := f.svc.CreateListing(ctx, seller, market.ListingInput{QuizID: q.ID, Price: n(5)}); services.ErrorCode(err) != services.EConflict {
		t.Fatalf("listing a quiz twice: %v", err)
	}
	items, _, err := f.svc.Listings(ctx, services.ListingFilter{Query: "MIN"})
	if err != nil || len(items) != 1 || items[0].ID != l.ID {
		t.Fatalf("search: %+v %v", items, err)
	}
	if items, _, _ := f.svc.Listings(ctx, services.ListingFilter{Query: "%"}); len(items) != 0 {
		t.Fatalf("a %% search matched %d listings: LIKE wildcards must be escaped", len(items))
	}
	if err := f.svc.DeleteListing(ctx, other, l.ID); services.ErrorCode(err) != services.EForbidden {
		t.Fatalf("a stranger withdrew a listing: %v", err)
	}
	mod := f.player(0)
	mod.Role = services.RoleModerator
	if err := f.svc.DeleteListing(ctx, mod, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Listing(ctx, l.ID); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("withdrawn listing: %v", err)
	}
}

// TestTwoRunnersOfOnePurchaseMoveItsCoinsOnce runs one purchase on two services at once, as two
// processes would after a redelivery overlapped a slow first attempt: the compare-and-set on the
// step lets exactly one record each step.
func TestTwoRunnersOfOnePurchaseMoveItsCoinsOnce(t *testing.T) {
	for name, db := range sqltest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, db, nil)
			other := newFixture(t, db, nil)
			for round := range 5 {
				seller, buyer := f.player(0), f.player(100)
				l := f.listing(seller, 30, 0)
				p, _, err := f.svc.Purchase(context.Background(), buyer, l.ID, fmt.Sprint("k", round))
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, svc := range []*market.Service{f.svc, other.svc} {
					wg.Add(1)
					go func() { defer wg.Done(); errs[i] = svc.Handle(context.Background(), requested(p, 1)) }()
				}
				wg.Wait()
				if errs[0] != nil || errs[1] != nil {
					t.Fatalf("runners: %v, %v", errs[0], errs[1])
				}
				got, _ := db.PurchaseByID(context.Background(), p.ID)
				if got.Status != services.PurchaseCompleted || f.balance(buyer) != 70 || f.balance(seller) != 27 {
					t.Fatalf("round %d: %s, buyer %d, seller %d; want completed, 70, 27", round, got.Status, f.balance(buyer), f.balance(seller))
				}
				f.consistent(buyer, seller)
			}
		})
	}
}

func TestAPurchaseThatKeepsFailingIsDeadLetteredForAdmins(t *testing.T) {
	sqltest.Run(t, nil, func(t *testing.T, db *sqlstore.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		bus, err := natsbus.OpenEmbedded(ctx, filepath.Join(t.TempDir(), "nats"), natsbus.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer bus.Close()
		relay := outbox.New(db, bus, nil)
		f := newFixture(t, db, func(c *market.Config) {
			c.Bus, c.Kick, c.MaxDeliver, c.Backoff = bus, relay.Kick, 2, []time.Duration{5 * time.Millisecond}
		})
		f.setFault(func(step string, recorded bool) error {
			if step == market.StepPaid && !recorded {
				return errors.New("payments down")
			}
			return nil
		})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); relay.Run(ctx) }()
		go func() { defer wg.Done(); _ = f.svc.Run(ctx) }()
		defer wg.Wait()
		defer cancel()
		seller, buyer := f.player(0), f.player(30)
		p, _, err := f.svc.Purchase(ctx, buyer, f.listing(seller, 10, 0).ID, "k")
		if err != nil {
			t.Fatal(err)
		}
		waitFor := func(what string, cond func() bool) {
			deadline := time.Now().Add(15 * time.Second)
			for !cond() {
				if time.Now().After(deadline) {
					t.Fatalf("timed out waiting for %s", what)
				}
				<-time.After(10 * time.Millisecond)
			}
		}
		waitFor("the dead letter", func() bool {
			dls, _ := bus.DeadLetters(ctx, 10)
			return len(dls) == 1
		})
		dls, _ := bus.DeadLetters(ctx, 10)
		if dls[0].Consumer != market.ConsumerName || dls[0].Attempts != 2 || dls[0].MsgID != "purchase.requested:"+p.ID {
			t.Fatalf("dead letter %+v", dls[0])
		}
		got, _ := db.PurchaseByID(ctx, p.ID)
		if got.Status != services.PurchaseFailed || got.Reason != services.ReasonProcessingFailed || f.balance(buyer) != 30 || f.balance(seller) != 0 {
			t.Fatalf("purchase %s %q, buyer %d seller %d; want failed processing_failed, 30, 0", got.Status, got.Reason, f.balance(buyer), f.balance(seller))
		}
		f.consistent(buyer, seller)
	})
}
