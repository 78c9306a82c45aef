package services

import (
	"context"
	"time"
)

// Error codes of the economy. Each has a row in the gateway's status table.
const (
	EInsufficientFunds = "insufficient_funds"
	ELicenceExhausted  = "licence_exhausted"
)

// SubjectPurchaseRequested starts a purchase saga; SubjectPurchaseFinished announces its outcome.
const (
	SubjectPurchaseRequested = "purchase.requested"
	SubjectPurchaseFinished  = "purchase.finished"
)

// PurchaseRequested is the payload of purchase.requested.
type PurchaseRequested struct {
	PurchaseID string `json:"purchaseId"`
}

// PurchaseFinished is the payload of purchase.finished.
type PurchaseFinished struct {
	PurchaseID string `json:"purchaseId"`
	BuyerID    string `json:"buyerId"`
	ListingID  string `json:"listingId"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
}

// Ledger accounts that are not a player's. Only AccountGrants and AccountRewards may go below
// zero: they are where coins come into existence, so their balance is minus the coins issued.
const (
	AccountGrants  = "system:grants"  // admin grants are paid from here
	AccountRewards = "system:rewards" // coins earned by playing are paid from here
	AccountFees    = "system:fees"    // the marketplace's cut of every sale
)

// PlayerAccount is the ledger account of a player's wallet.
func PlayerAccount(playerID string) string { return "player:" + playerID }

// HoldAccount holds the coins a purchase has reserved until they are paid out or released.
func HoldAccount(purchaseID string) string { return "hold:" + purchaseID }

// Movement kinds, as they appear on wallet entries.
const (
	KindGrant      = "grant"       // an admin credited coins
	KindGameReward = "game_reward" // coins for a finished multiplayer game
	KindPlayReward = "play_reward" // coins for a finished single-player run
	KindHostReward = "host_reward" // coins for hosting a finished game
	KindReserve    = "purchase"    // a purchase reserved the price
	KindRelease    = "refund"      // a failed purchase gave the reservation back
	KindSale       = "sale"        // a seller was paid for a sale
	KindFee        = "fee"         // the marketplace fee of a sale
)

// Grant limits.
const (
	MaxGrantAmount  = 1_000_000 // one admin grant at most
	MaxReasonLength = 200       // characters in a grant's reason
)

// Movement moves Amount coins from one account to another: two entries summing to zero. Key is
// unique per movement; applying a key again moves nothing.
type Movement struct {
	Key    string
	Kind   string
	From   string
	To     string
	Amount int64
	Reason string
	Ref    string
}

// WalletEntry is one side of a movement as the account holder sees it: Balance is the account's
// balance right after it.
type WalletEntry struct {
	ID        string    `json:"id"`
	Amount    int64     `json:"amount"`
	Balance   int64     `json:"balance"`
	Kind      string    `json:"kind"`
	Reason    string    `json:"reason"`
	Ref       string    `json:"ref"`
	CreatedAt time.Time `json:"createdAt"`
}

// Wallet is a page of a player's ledger, newest first.
type Wallet struct {
	Balance int64         `json:"balance"`
	Entries []WalletEntry `json:"entries"`
	Next    string        `json:"next"`
}

// Ledger is the double-entry coin ledger.
type Ledger interface {
	// Move applies m once per Key (fresh reports whether this call applied it) and returns the
	// entry on m.To. EInsufficientFunds when m.From would go below zero.
	Move(ctx context.Context, m Movement) (entry WalletEntry, fresh bool, err error)
	Balance(ctx context.Context, account string) (int64, error)
	// Entries pages an account's entries newest first after cursor (a previous page's Next).
	Entries(ctx context.Context, account, cursor string, limit int) (Wallet, error)
}

// Award is what one player earns from one finished game, play or hosting; (Source, SourceID,
// PlayerID) is credited at most once.
type Award struct {
	Source   string // "game", "play" or "host"
	SourceID string
	PlayerID string
	XP       int64
	Coins    int64
	Played   bool // counts towards gamesPlayed
}

// Progress is a player's experience.
type Progress struct {
	XP          int64 `json:"xp"`
	Level       int   `json:"level"`
	LevelXP     int64 `json:"levelXp"`     // XP earned inside the current level
	NextLevelXP int64 `json:"nextLevelXp"` // XP the current level spans; levelXp reaching it is the next level
	GamesPlayed int64 `json:"gamesPlayed"`
}

// ProgressStore keeps XP and hands out coin rewards with it.
type ProgressStore interface {
	// Award credits a's XP and coins atomically, once per (Source, SourceID, PlayerID); false
	// means it was already credited.
	Award(ctx context.Context, a Award) (bool, error)
	Progress(ctx context.Context, playerID string) (Progress, error)
	// Levels returns the level of each given player that has any XP.
	Levels(ctx context.Context, ids []string) (map[string]int, error)
	// RecordHost remembers who hosted a game (and on which licence), for hosting rewards.
	RecordHost(ctx context.Context, gameID, hostID, quizID, licenceID string) error
	HostOf(ctx context.Context, gameID string) (string, error) // ENotFound for unknown games
}

// Marketplace limits.
const (
	MinPrice         = 1
	MaxPrice         = 100_000
	MaxPlays         = 10_000
	MarketFeePercent = 10 // the marketplace keeps price × 10 / 100, rounded down; the seller gets the rest
)

// MarketFee is the marketplace's cut of a sale at price.
func MarketFee(price int64) int64 { return price * MarketFeePercent / 100 }

// Listing offers a quiz for sale: Plays games per licence, 0 for unlimited.
type Listing struct {
	ID        string    `json:"id"`
	QuizID    string    `json:"quizId"`
	Title     string    `json:"title"`
	Price     int64     `json:"price"`
	Plays     int       `json:"plays"`
	SellerID  string    `json:"sellerId"`
	Sold      int       `json:"sold"`
	CreatedAt time.Time `json:"createdAt"`
}

// ListingFilter selects listings.
type ListingFilter struct {
	Query    string // case-insensitive title substring
	SellerID string
	Cursor   string
	Limit    int
}

// Purchase statuses.
const (
	PurchasePending   = "pending"
	PurchaseCompleted = "completed"
	PurchaseFailed    = "failed"
)

// Reasons a purchase fails with.
const (
	ReasonInsufficientFunds = "insufficient_funds"
	ReasonListingGone       = "listing_gone"
	ReasonOwnListing        = "own_listing"
	ReasonProcessingFailed  = "processing_failed"
)

// Purchase is one buyer's purchase of a listing and the saga's record of it: Step is the last
// step whose effects are complete, Version counts recorded steps (the compare-and-set key).
type Purchase struct {
	ID        string
	BuyerID   string
	Key       string // the buyer's Idempotency-Key
	ListingID string
	SellerID  string
	QuizID    string
	Price     int64
	Fee       int64
	Plays     int
	Step      string
	Version   int
	Status    string
	Reason    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Licence lets a buyer host a quiz Plays times (0: without limit).
type Licence struct {
	ID         string    `json:"id"`
	PurchaseID string    `json:"purchaseId"`
	BuyerID    string    `json:"buyerId"`
	QuizID     string    `json:"quizId"`
	ListingID  string    `json:"listingId"`
	Plays      int       `json:"plays"`
	Used       int       `json:"used"`
	Revoked    bool      `json:"revoked"`
	CreatedAt  time.Time `json:"createdAt"`
}

// MarketTx is what a purchase step may do inside the transaction that records it.
type MarketTx interface {
	Move(ctx context.Context, m Movement) (fresh bool, err error)
	MovementExists(ctx context.Context, key string) (bool, error)
	ListingByID(ctx context.Context, id string) (*Listing, error)
	GrantLicence(ctx context.Context, l *Licence) error // once per purchase
	RevokeLicence(ctx context.Context, purchaseID string) error
	AddEvent(ctx context.Context, subject, msgID string, data []byte) error
}

// MarketStore keeps listings, purchases and licences.
type MarketStore interface {
	CreateListing(ctx context.Context, l *Listing) error // EConflict when the quiz is already listed
	ListingByID(ctx context.Context, id string) (*Listing, error)
	ListListings(ctx context.Context, f ListingFilter) ([]Listing, string, error)
	DeleteListing(ctx context.Context, id string) error

	// CreatePurchase stores p with its purchase.requested event, or returns the purchase the
	// buyer already made with the same key (created=false).
	CreatePurchase(ctx context.Context, p *Purchase) (stored *Purchase, created bool, err error)
	PurchaseByID(ctx context.Context, id string) (*Purchase, error)
	PurchaseByKey(ctx context.Context, buyerID, key string) (*Purchase, error) // ENotFound when the key is new
	// AdvancePurchase runs effect and records next in one transaction if the purchase is still
	// at version from (next.Version = from+1); ErrMoved otherwise. beforeRecord runs between the
	// two; its error aborts the transaction as a crash would.
	AdvancePurchase(ctx context.Context, from int, next *Purchase, effect func(MarketTx) error, beforeRecord func() error) error

	// UseLicence spends one play of a licence of playerID for quizID: ENotFound when the player
	// holds none, ELicenceExhausted when every one is used up or revoked.
	UseLicence(ctx context.Context, playerID, quizID string) (licenceID string, err error)
	ReturnLicencePlay(ctx context.Context, licenceID string) error
	HasLicence(ctx context.Context, playerID, quizID string) (bool, error)
	Licences(ctx context.Context, playerID string) ([]Licence, error)
}

// ErrMoved reports that another runner recorded a step first.
var ErrMoved = Errorf(EConflict, "the purchase moved on")

// XP and coin rules; docs/API.md ("Progression and wallet") states them for players.
const (
	XPPerPoints      = 100 // 1 XP per 100 points scored (points only come from correct answers)
	XPFinish         = 10  // finishing a multiplayer game
	XPFinishPlay     = 5   // finishing a single-player run
	XPHost           = 20  // hosting a game that finished with at least one player
	XPHostPerPlayer  = 2   // and per player, counting at most MaxRewardedCount
	MaxRewardedPlay  = 5   // coins one single-player run can earn
	CoinsPerPoints   = 1000
	CoinsFinish      = 2  // finishing a multiplayer game (also a game alone)
	CoinsHostPlayer  = 1  // per registered player in a hosted game, counting at most MaxRewardedCount
	MaxRewardedCount = 10 // players counted for hosting rewards
)

// placing is the extra XP and coins for ranks 1–3 in a game of at least two players.
var placing = [3]struct{ XP, Coins int64 }{{50, 10}, {30, 6}, {20, 4}}

// GameAward is what a registered player earns for a multiplayer result: score/100 XP plus
// XPFinish, plus a placing bonus when at least two played; CoinsFinish coins plus the placing's.
func GameAward(score, rank, players int) (xp, coins int64) {
	xp, coins = int64(max(score, 0)/XPPerPoints)+XPFinish, CoinsFinish
	if players >= 2 && rank >= 1 && rank <= len(placing) {
		xp += placing[rank-1].XP
		coins = placing[rank-1].Coins
	}
	return xp, coins
}

// PlayAward is what a single-player run earns: score/100 + XPFinishPlay XP and a coin per
// 1000 points, at most MaxRewardedPlay.
func PlayAward(score int) (xp, coins int64) {
	score = max(score, 0)
	return int64(score/XPPerPoints) + XPFinishPlay, int64(min(score/CoinsPerPoints, MaxRewardedPlay))
}

// HostAward is what hosting a finished game earns, given its registered (non-guest) players
// and all its players.
func HostAward(registered, players int) (xp, coins int64) {
	if players == 0 {
		return 0, 0
	}
	return XPHost + XPHostPerPlayer*int64(min(players, MaxRewardedCount)), CoinsHostPlayer * int64(min(registered, MaxRewardedCount))
}

// LevelFloor is the total XP at which level starts: 50·L·(L−1), so level 2 needs 100 XP and
// each level after needs 100 more than the one before (100, 200, 300, …).
func LevelFloor(level int) int64 {
	l := int64(level)
	return 50 * l * (l - 1)
}

// MaxLevel caps the curve (it is reached at 49,995,000 XP).
const MaxLevel = 1000

// LevelOf fills the level fields of a progress from its XP.
func LevelOf(xp int64, gamesPlayed int64) Progress {
	xp = max(xp, 0)
	lo, hi := 1, MaxLevel
	for lo < hi { // the highest level whose floor is ≤ xp
		mid := (lo + hi + 1) / 2
		if LevelFloor(mid) <= xp {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	p := Progress{XP: xp, Level: lo, LevelXP: xp - LevelFloor(lo), GamesPlayed: gamesPlayed}
	p.NextLevelXP = LevelFloor(lo+1) - LevelFloor(lo)
	return p
}
