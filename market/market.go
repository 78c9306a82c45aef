// Package market is the quiz marketplace: authors list private multiplayer quizzes for coins,
// buyers purchase licences to host them. A purchase is a saga over the durable bus, following
// moderation/workflow.go: named steps, each idempotent and recorded with a compare-and-set, so a
// redelivery after a crash resumes at the recorded step and no coin moves twice; when a step is
// refused the compensations run in reverse and the purchase ends failed with a reason.
package market

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/trivium-game/trivium/services"
)

// Saga steps. Step is the last step whose effects are committed; every step's effects and its
// record commit in one transaction.
//
//	requested → reserved → licensed → paid → completed
//	    └─────────┴──────────┴→ refused → licence_revoked → released → failed
const (
	StepRequested      = "requested"       // the purchase and its purchase.requested event exist
	StepReserved       = "reserved"        // the price moved from the buyer to the purchase's hold account
	StepLicensed       = "licensed"        // the buyer holds a licence for the quiz
	StepPaid           = "paid"            // the hold paid the seller the price less the fee, and the fee
	StepCompleted      = "completed"       // final: purchase.finished announced it
	StepRefused        = "refused"         // a step was refused; Reason says why, compensation starts
	StepLicenceRevoked = "licence_revoked" // compensation: a licence granted by this purchase is revoked
	StepReleased       = "released"        // compensation: reserved coins went back to the buyer
	StepFailed         = "failed"          // final: purchase.finished announced it
)

// Defaults for Config.
const (
	DefaultMaxDeliver = 6
	DefaultWorkers    = 4
	ConsumerName      = "purchases"
	MaxKeyLength      = 200
)

// Config configures a Service. Store and Quizzes are required; Bus for Run.
type Config struct {
	Store   services.MarketStore
	Quizzes services.QuizStore
	Bus     services.Bus
	Ledger  services.Ledger // grants and wallets
	Players interface {
		PlayerByID(context.Context, string) (*services.Player, error)
	} // grant recipients
	Logger *slog.Logger
	// Kick wakes the outbox relay after a purchase is requested, so the saga starts at once.
	Kick func()

	MaxDeliver int             // attempts before dead-lettering; DefaultMaxDeliver
	Backoff    []time.Duration // retry schedule; the bus's default when nil
	Workers    int             // purchases processed at once; DefaultWorkers

	// AfterStep, if set, is called after the effects of each step, once before the step is
	// recorded (recorded=false; an error rolls the step back as a crash before commit would) and
	// once after (recorded=true; an error stops the run as a crash after commit would).
	AfterStep func(step string, recorded bool) error
}

// Service serves listings and purchases and runs the purchase saga.
type Service struct {
	cfg   Config
	log   *slog.Logger
	locks [64]sync.Mutex // serialise runs of one purchase in this process; the CAS does across processes
}

// New checks cfg and fills defaults.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Quizzes == nil {
		return nil, errors.New("market: Store and Quizzes are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = DefaultMaxDeliver
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Kick == nil {
		cfg.Kick = func() {}
	}
	return &Service{cfg: cfg, log: cfg.Logger}, nil
}

// ListingInput is what a seller sends.
type ListingInput struct {
	QuizID string `json:"quizId"`
	Price  *int64 `json:"price"`
	Plays  *int   `json:"plays"`
}

// Valid checks the fields on their own; ownership and the quiz's kind are checked against it.
func (in *ListingInput) Valid() map[string]string {
	f := map[string]string{}
	if strings.TrimSpace(in.QuizID) == "" {
		f["quizId"] = "required"
	}
	if in.Price == nil {
		f["price"] = "required: whole coins"
	} else if *in.Price < services.MinPrice || *in.Price > services.MaxPrice {
		f["price"] = fmt.Sprintf("must be %d–%d coins", services.MinPrice, services.MaxPrice)
	}
	if in.Plays != nil && (*in.Plays < 0 || *in.Plays > services.MaxPlays) {
		f["plays"] = fmt.Sprintf("must be 0 (unlimited) to %d games", services.MaxPlays)
	}
	return f
}

// CreateListing lists one of the seller's private multiplayer quizzes.
func (s *Service) CreateListing(ctx context.Context, seller *services.Player, in ListingInput) (*services.Listing, error) {
	if err := services.Invalid(in.Valid()); err != nil {
		return nil, err
	}
	if seller.Guest {
		return nil, services.Errorf(services.EForbidden, "guests cannot sell quizzes")
	}
	q, err := s.cfg.Quizzes.QuizByID(ctx, in.QuizID)
	if err != nil {
		return nil, err
	}
	if q.OwnerID != seller.ID {
		if !q.Public {
			return nil, services.Errorf(services.ENotFound, "quiz not found")
		}
		return nil, services.Errorf(services.EForbidden, "you can only sell your own quizzes")
	}
	switch {
	case q.Mode == services.ModeSingle:
		return nil, services.Invalid(map[string]string{"quizId": "only multiplayer quizzes can be sold"})
	case q.Public:
		return nil, services.Invalid(map[string]string{"quizId": "a public quiz is free for anyone to host; make it private to sell it"})
	}
	l := &services.Listing{QuizID: q.ID, Title: q.Title, Price: *in.Price, SellerID: seller.ID}
	if in.Plays != nil {
		l.Plays = *in.Plays
	}
	if err := s.cfg.Store.CreateListing(ctx, l); err != nil {
		return nil, err
	}
	return l, nil
}

// Listing returns an active listing.
func (s *Service) Listing(ctx context.Context, id string) (*services.Listing, error) {
	return s.cfg.Store.ListingByID(ctx, id)
}

// Listings pages active listings.
func (s *Service) Listings(ctx context.Context, f services.ListingFilter) ([]services.Listing, string, error) {
	if utf8.RuneCountInString(f.Query) > 100 {
		return nil, "", services.Invalid(map[string]string{"q": "at most 100 characters"})
	}
	return s.cfg.Store.ListListings(ctx, f)
}

// DeleteListing withdraws a listing (its seller, a moderator or an admin).
func (s *Service) DeleteListing(ctx context.Context, p *services.Player, id string) error {
	l, err := s.cfg.Store.ListingByID(ctx, id)
	if err != nil {
		return err
	}
	if l.SellerID != p.ID && p.Role != services.RoleModerator && p.Role != services.RoleAdmin {
		return services.Errorf(services.EForbidden, "only the seller or a moderator may withdraw a listing")
	}
	return s.cfg.Store.DeleteListing(ctx, id)
}

// CheckKey validates an Idempotency-Key header value.
func CheckKey(key string) error {
	if key == "" {
		return &services.Error{Code: "malformed", Message: "the Idempotency-Key header is required",
			Fields: map[string]string{"Idempotency-Key": "required: a unique value per purchase, reused only to retry it"}}
	}
	if len(key) > MaxKeyLength {
		return services.Invalid(map[string]string{"Idempotency-Key": fmt.Sprintf("at most %d characters", MaxKeyLength)})
	}
	for _, r := range key {
		if r < 0x21 || r > 0x7e {
			return services.Invalid(map[string]string{"Idempotency-Key": "printable ASCII without spaces"})
		}
	}
	return nil
}

// Purchase requests a purchase of a listing under the buyer's idempotency key. created=false
// returns the buyer's earlier purchase with that key (EConflict if it was for another listing).
func (s *Service) Purchase(ctx context.Context, buyer *services.Player, listingID, key string) (*services.Purchase, bool, error) {
	if err := CheckKey(key); err != nil {
		return nil, false, err
	}
	if buyer.Guest {
		return nil, false, services.Errorf(services.EForbidden, "guests cannot buy quizzes")
	}
	if strings.TrimSpace(listingID) == "" {
		return nil, false, services.Invalid(map[string]string{"listingId": "required"})
	}
	// A repeat answers from the purchase itself, even once its listing is withdrawn.
	switch prev, err := s.cfg.Store.PurchaseByKey(ctx, buyer.ID, key); {
	case err == nil && prev.ListingID != listingID:
		return nil, false, services.Errorf(services.EConflict, "this Idempotency-Key was used for another purchase")
	case err == nil:
		return prev, false, nil
	case services.ErrorCode(err) != services.ENotFound:
		return nil, false, err
	}
	l, err := s.cfg.Store.ListingByID(ctx, listingID)
	if err != nil {
		return nil, false, err
	}
	p := &services.Purchase{BuyerID: buyer.ID, Key: key, ListingID: l.ID, SellerID: l.SellerID, QuizID: l.QuizID,
		Price: l.Price, Fee: services.MarketFee(l.Price), Plays: l.Plays, Step: StepRequested, Status: services.PurchasePending}
	stored, created, err := s.cfg.Store.CreatePurchase(ctx, p)
	if err != nil {
		return nil, false, err
	}
	if !created && stored.ListingID != listingID {
		return nil, false, services.Errorf(services.EConflict, "this Idempotency-Key was used for another purchase")
	}
	if created {
		s.cfg.Kick()
	}
	return stored, created, nil
}

// PurchaseOf returns a purchase to its buyer; anyone else gets ENotFound.
func (s *Service) PurchaseOf(ctx context.Context, buyer *services.Player, id string) (*services.Purchase, error) {
	p, err := s.cfg.Store.PurchaseByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.BuyerID != buyer.ID {
		return nil, services.Errorf(services.ENotFound, "purchase not found")
	}
	return p, nil
}

// Run consumes purchase.requested until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if s.cfg.Bus == nil {
		return errors.New("market: Run needs a Bus")
	}
	return s.cfg.Bus.Consume(ctx, services.ConsumerConfig{Name: ConsumerName, Subjects: []string{services.SubjectPurchaseRequested},
		MaxDeliver: s.cfg.MaxDeliver, Backoff: s.cfg.Backoff, Workers: s.cfg.Workers}, s.Handle)
}

// Handle drives one purchase.requested delivery to an outcome. Errors are transient (the bus
// retries with backoff) or permanent; when no retry is left and no coins reached the seller yet,
// the purchase is refused as processing_failed and compensated, so the buyer's coins come back;
// the message is still dead-lettered for an operator to see.
func (s *Service) Handle(ctx context.Context, m services.Message) error {
	var ev services.PurchaseRequested
	if err := json.Unmarshal(m.Data, &ev); err != nil || ev.PurchaseID == "" {
		return services.Permanent(fmt.Errorf("purchase.requested %s: no purchase id (%v)", m.ID, err))
	}
	mu := s.lock(ev.PurchaseID)
	mu.Lock()
	defer mu.Unlock()
	err := s.drive(ctx, ev.PurchaseID)
	if services.ErrorCode(err) == services.ENotFound {
		return services.Permanent(err)
	}
	if err != nil && (services.IsPermanent(err) || m.Delivered >= s.cfg.MaxDeliver) && ctx.Err() == nil {
		s.log.Error("market: purchase failed; it is dead-lettered for an operator", "purchase", ev.PurchaseID, "err", err)
		if cerr := s.giveUp(ctx, ev.PurchaseID); cerr != nil {
			s.log.Error("market: compensating a failed purchase", "purchase", ev.PurchaseID, "err", cerr)
		}
	}
	return err
}

func (s *Service) lock(id string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// refusal is a step's business refusal: not retried, compensated.
type refusal struct{ reason string }

func (r refusal) Error() string { return "refused: " + r.reason }

func final(step string) bool { return step == StepCompleted || step == StepFailed }

// drive runs steps until the purchase is final.
func (s *Service) drive(ctx context.Context, id string) error {
	p, err := s.cfg.Store.PurchaseByID(ctx, id)
	if err != nil {
		return err
	}
	for !final(p.Step) {
		next := *p
		effect := s.step(p, &next)
		err := s.record(ctx, p, &next, effect)
		var r refusal
		if errors.As(err, &r) {
			next = *p
			next.Step, next.Reason = StepRefused, r.reason
			err = s.record(ctx, p, &next, nil)
		}
		if errors.Is(err, services.ErrMoved) {
			if p, err = s.cfg.Store.PurchaseByID(ctx, id); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("purchase %s after %s: %w", id, p.Step, err)
		}
		p = &next
	}
	return nil
}

// record commits a step with the crash hooks around its record.
func (s *Service) record(ctx context.Context, p, next *services.Purchase, effect func(services.MarketTx) error) error {
	err := s.cfg.Store.AdvancePurchase(ctx, p.Version, next, effect, func() error { return s.hook(next.Step, false) })
	if err != nil {
		return err
	}
	return s.hook(next.Step, true)
}

func (s *Service) hook(step string, recorded bool) error {
	if s.cfg.AfterStep == nil {
		return nil
	}
	return s.cfg.AfterStep(step, recorded)
}

func key(p *services.Purchase, what string) string { return "purchase:" + p.ID + ":" + what }

// step sets next to the state after p's next step and returns that step's effects.
func (s *Service) step(p *services.Purchase, next *services.Purchase) func(services.MarketTx) error {
	ctx := context.Background()
	ref := "purchase:" + p.ID
	buyer, hold := services.PlayerAccount(p.BuyerID), services.HoldAccount(p.ID)
	switch p.Step {
	case StepRequested:
		next.Step = StepReserved
		return func(tx services.MarketTx) error {
			if err := listed(ctx, tx, p); err != nil {
				return err
			}
			if p.BuyerID == p.SellerID {
				return refusal{services.ReasonOwnListing}
			}
			_, err := tx.Move(ctx, services.Movement{Key: key(p, "reserve"), Kind: services.KindReserve, From: buyer, To: hold,
				Amount: p.Price, Reason: "bought a quiz licence", Ref: ref})
			if services.ErrorCode(err) == services.EInsufficientFunds {
				return refusal{services.ReasonInsufficientFunds}
			}
			return err
		}
	case StepReserved:
		next.Step = StepLicensed
		return func(tx services.MarketTx) error {
			if err := listed(ctx, tx, p); err != nil {
				return err
			}
			return tx.GrantLicence(ctx, &services.Licence{PurchaseID: p.ID, BuyerID: p.BuyerID, QuizID: p.QuizID,
				ListingID: p.ListingID, Plays: p.Plays})
		}
	case StepLicensed:
		next.Step = StepPaid
		return func(tx services.MarketTx) error {
			if _, err := tx.Move(ctx, services.Movement{Key: key(p, "pay"), Kind: services.KindSale, From: hold,
				To: services.PlayerAccount(p.SellerID), Amount: p.Price - p.Fee, Reason: "sold a quiz licence", Ref: ref}); err != nil {
				return err
			}
			if p.Fee == 0 {
				return nil
			}
			_, err := tx.Move(ctx, services.Movement{Key: key(p, "fee"), Kind: services.KindFee, From: hold, To: services.AccountFees,
				Amount: p.Fee, Reason: "marketplace fee", Ref: ref})
			return err
		}
	case StepPaid:
		next.Step, next.Status = StepCompleted, services.PurchaseCompleted
		return announce(ctx, next)
	case StepRefused:
		next.Step = StepLicenceRevoked
		return func(tx services.MarketTx) error { return tx.RevokeLicence(ctx, p.ID) }
	case StepLicenceRevoked:
		next.Step = StepReleased
		return func(tx services.MarketTx) error {
			reserved, err := tx.MovementExists(ctx, key(p, "reserve"))
			if err != nil || !reserved {
				return err
			}
			_, err = tx.Move(ctx, services.Movement{Key: key(p, "release"), Kind: services.KindRelease, From: hold, To: buyer,
				Amount: p.Price, Reason: "purchase failed: " + p.Reason, Ref: ref})
			return err
		}
	case StepReleased:
		next.Step, next.Status = StepFailed, services.PurchaseFailed
		return announce(ctx, next)
	}
	return func(services.MarketTx) error {
		return services.Permanent(fmt.Errorf("purchase %s: no transition from step %q", p.ID, p.Step))
	}
}

// listed refuses a purchase whose listing was withdrawn (or whose quiz was deleted).
func listed(ctx context.Context, tx services.MarketTx, p *services.Purchase) error {
	_, err := tx.ListingByID(ctx, p.ListingID)
	if services.ErrorCode(err) == services.ENotFound {
		return refusal{services.ReasonListingGone}
	}
	return err
}

// announce writes purchase.finished to the outbox with the final record; its message id is fixed
// per purchase, so nothing is announced twice.
func announce(ctx context.Context, p *services.Purchase) func(services.MarketTx) error {
	return func(tx services.MarketTx) error {
		data, err := json.Marshal(services.PurchaseFinished{PurchaseID: p.ID, BuyerID: p.BuyerID, ListingID: p.ListingID, Status: p.Status, Reason: p.Reason})
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, services.SubjectPurchaseFinished, "purchase.finished:"+p.ID, data)
	}
}

// giveUp refuses a purchase that cannot make progress, if the seller has not been paid yet, and
// runs its compensations. A paid purchase only has its announcement left: it stays for a redrive.
func (s *Service) giveUp(ctx context.Context, id string) error {
	p, err := s.cfg.Store.PurchaseByID(ctx, id)
	if err != nil {
		return err
	}
	switch p.Step {
	case StepRequested, StepReserved, StepLicensed:
		next := *p
		next.Step, next.Reason = StepRefused, services.ReasonProcessingFailed
		if err := s.cfg.Store.AdvancePurchase(ctx, p.Version, &next, nil, nil); err != nil {
			return err
		}
	}
	return s.drive(ctx, id)
}
