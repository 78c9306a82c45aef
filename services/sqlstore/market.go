package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/trivium-game/trivium/services"
)

var _ services.MarketStore = (*DB)(nil)

// Listings show their quiz's current title and disappear with the quiz (the inner join) and
// while a moderator hides it: a hidden quiz is neither listed nor sold.
const listingCols = `l.id, l.quiz_id, q.title, l.price, l.plays, l.seller_id,
	(SELECT COUNT(*) FROM licences c WHERE c.listing_id = l.id AND c.revoked = 0), l.created_at`

const listingFrom = ` FROM market_listings l JOIN quizzes q ON q.id = l.quiz_id WHERE l.deleted_at = 0 AND q.hidden_reason = ''`

func scanListing(row interface{ Scan(...any) error }) (*services.Listing, error) {
	var l services.Listing
	var created int64
	if err := row.Scan(&l.ID, &l.QuizID, &l.Title, &l.Price, &l.Plays, &l.SellerID, &l.Sold, &created); err != nil {
		return nil, err
	}
	l.CreatedAt = fromMS(created)
	return &l, nil
}

// CreateListing lists a quiz; one active listing per quiz.
func (d *DB) CreateListing(ctx context.Context, l *services.Listing) error {
	l.ID, l.CreatedAt = services.NewID(), d.now().UTC()
	_, err := d.db.ExecContext(ctx, `INSERT INTO market_listings (id, quiz_id, seller_id, price, plays, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, l.ID, l.QuizID, l.SellerID, l.Price, l.Plays, ms(l.CreatedAt))
	if isUnique(err) {
		return services.Errorf(services.EConflict, "this quiz is already listed")
	}
	if err != nil {
		return fmt.Errorf("create listing: %w", err)
	}
	return nil
}

// ListingByID loads an active listing.
func (d *DB) ListingByID(ctx context.Context, id string) (*services.Listing, error) {
	return listingByID(ctx, d.db, id)
}

func listingByID(ctx context.Context, q querier, id string) (*services.Listing, error) {
	l, err := scanListing(q.QueryRowContext(ctx, `SELECT `+listingCols+listingFrom+` AND l.id = $1`, id))
	return l, notFound(err, "listing")
}

// ListListings pages active listings newest first with a keyset cursor.
func (d *DB) ListListings(ctx context.Context, f services.ListingFilter) ([]services.Listing, string, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	where, args := "", []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Query != "" {
		where += ` AND LOWER(q.title) LIKE ` + arg(likePattern(f.Query)) + ` ESCAPE '\'`
	}
	if f.SellerID != "" {
		where += ` AND l.seller_id = ` + arg(f.SellerID)
	}
	if f.Cursor != "" {
		at, id, err := DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		a, i := arg(at), arg(id)
		where += ` AND (l.created_at < ` + a + ` OR (l.created_at = ` + a + ` AND l.id < ` + i + `))`
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+listingCols+listingFrom+where+
		` ORDER BY l.created_at DESC, l.id DESC LIMIT `+arg(f.Limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list listings: %w", err)
	}
	defer rows.Close()
	items := []services.Listing{}
	for rows.Next() {
		l, err := scanListing(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, *l)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := page(items, f.Limit, func(l services.Listing) (time.Time, string) { return l.CreatedAt, l.ID })
	return items, next, nil
}

// DeleteListing withdraws a listing; licences already sold stay valid.
func (d *DB) DeleteListing(ctx context.Context, id string) error {
	return d.updateOne(ctx, "listing", `UPDATE market_listings SET deleted_at = $1 WHERE id = $2 AND deleted_at = 0`, ms(d.now()), id)
}

const purchaseCols = `id, buyer_id, idem_key, listing_id, seller_id, quiz_id, price, fee, plays, step, version, status, reason,
	created_at, updated_at`

func scanPurchase(row interface{ Scan(...any) error }) (*services.Purchase, error) {
	var p services.Purchase
	var created, updated int64
	if err := row.Scan(&p.ID, &p.BuyerID, &p.Key, &p.ListingID, &p.SellerID, &p.QuizID, &p.Price, &p.Fee, &p.Plays, &p.Step,
		&p.Version, &p.Status, &p.Reason, &created, &updated); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return &p, nil
}

// CreatePurchase stores a new purchase and its purchase.requested event in one transaction, or
// returns the buyer's purchase with the same key.
func (d *DB) CreatePurchase(ctx context.Context, p *services.Purchase) (*services.Purchase, bool, error) {
	p.ID = services.NewID()
	now := d.now().UTC()
	p.CreatedAt, p.UpdatedAt = now, now
	created := false
	err := d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO market_purchases (`+purchaseCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) ON CONFLICT (buyer_id, idem_key) DO NOTHING`,
			p.ID, p.BuyerID, p.Key, p.ListingID, p.SellerID, p.QuizID, p.Price, p.Fee, p.Plays, p.Step, p.Version, p.Status, p.Reason, ms(now))
		if err != nil {
			return fmt.Errorf("create purchase: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		created = true
		data, err := json.Marshal(services.PurchaseRequested{PurchaseID: p.ID})
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, services.SubjectPurchaseRequested, "purchase.requested:"+p.ID, data, now)
	})
	if err != nil {
		return nil, false, err
	}
	if created {
		return p, true, nil
	}
	stored, err := d.PurchaseByKey(ctx, p.BuyerID, p.Key)
	return stored, false, err
}

// PurchaseByKey finds a buyer's purchase by its idempotency key.
func (d *DB) PurchaseByKey(ctx context.Context, buyerID, key string) (*services.Purchase, error) {
	p, err := scanPurchase(d.db.QueryRowContext(ctx, `SELECT `+purchaseCols+` FROM market_purchases
		WHERE buyer_id = $1 AND idem_key = $2`, buyerID, key))
	return p, notFound(err, "purchase")
}

// PurchaseByID loads a purchase.
func (d *DB) PurchaseByID(ctx context.Context, id string) (*services.Purchase, error) {
	p, err := scanPurchase(d.db.QueryRowContext(ctx, `SELECT `+purchaseCols+` FROM market_purchases WHERE id = $1`, id))
	return p, notFound(err, "purchase")
}

// AdvancePurchase runs a step's effects and records it atomically, compare-and-set on version.
func (d *DB) AdvancePurchase(ctx context.Context, from int, next *services.Purchase, effect func(services.MarketTx) error, beforeRecord func() error) error {
	now := d.now().UTC()
	return d.tx(ctx, func(tx *sql.Tx) error {
		if effect != nil {
			if err := effect(marketTx{tx: tx, now: now}); err != nil {
				return err
			}
		}
		if beforeRecord != nil {
			if err := beforeRecord(); err != nil {
				return err
			}
		}
		next.Version, next.UpdatedAt = from+1, now
		res, err := tx.ExecContext(ctx, `UPDATE market_purchases SET step = $1, version = $2, status = $3, reason = $4, updated_at = $5
			WHERE id = $6 AND version = $7`, next.Step, next.Version, next.Status, next.Reason, ms(now), next.ID, from)
		if err != nil {
			return fmt.Errorf("record purchase step %s: %w", next.Step, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return services.ErrMoved
		}
		return nil
	})
}

// marketTx is a purchase step's view of its transaction.
type marketTx struct {
	tx  *sql.Tx
	now time.Time
}

func (t marketTx) Move(ctx context.Context, m services.Movement) (bool, error) {
	_, fresh, err := move(ctx, t.tx, m, t.now)
	return fresh, err
}

func (t marketTx) MovementExists(ctx context.Context, key string) (bool, error) {
	var n int
	if err := t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM wallet_movements WHERE idem_key = $1`, key).Scan(&n); err != nil {
		return false, fmt.Errorf("movement %s: %w", key, err)
	}
	return n > 0, nil
}

func (t marketTx) ListingByID(ctx context.Context, id string) (*services.Listing, error) {
	return listingByID(ctx, t.tx, id)
}

func (t marketTx) GrantLicence(ctx context.Context, l *services.Licence) error {
	if l.ID == "" {
		l.ID = services.NewID()
	}
	l.CreatedAt = t.now
	_, err := t.tx.ExecContext(ctx, `INSERT INTO licences (id, purchase_id, buyer_id, quiz_id, listing_id, plays, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (purchase_id) DO NOTHING`,
		l.ID, l.PurchaseID, l.BuyerID, l.QuizID, l.ListingID, l.Plays, ms(t.now))
	if err != nil {
		return fmt.Errorf("grant licence: %w", err)
	}
	return nil
}

func (t marketTx) RevokeLicence(ctx context.Context, purchaseID string) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE licences SET revoked = 1 WHERE purchase_id = $1`, purchaseID); err != nil {
		return fmt.Errorf("revoke licence: %w", err)
	}
	return nil
}

func (t marketTx) AddEvent(ctx context.Context, subject, msgID string, data []byte) error {
	return addEvent(ctx, t.tx, subject, msgID, data, t.now)
}

// UseLicence spends one play; the conditional update keeps two hosts racing for the last play
// from both getting it.
func (d *DB) UseLicence(ctx context.Context, playerID, quizID string) (string, error) {
	var id string
	err := d.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE licences SET used = used + 1 WHERE id = (
			SELECT id FROM licences WHERE buyer_id = $1 AND quiz_id = $2 AND revoked = 0 AND (plays = 0 OR used < plays)
			ORDER BY plays = 0, created_at, id LIMIT 1) AND (plays = 0 OR used < plays) RETURNING id`, playerID, quizID).Scan(&id)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM licences WHERE buyer_id = $1 AND quiz_id = $2`, playerID, quizID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return services.Errorf(services.ENotFound, "quiz not found")
		}
		return services.Errorf(services.ELicenceExhausted, "every play of your licence for this quiz is used up; buy it again to host more games")
	})
	if err != nil && services.ErrorCode(err) == services.EInternal {
		return "", fmt.Errorf("use licence: %w", err)
	}
	return id, err
}

// ReturnLicencePlay gives back a play whose game could not be created.
func (d *DB) ReturnLicencePlay(ctx context.Context, licenceID string) error {
	_, err := d.db.ExecContext(ctx, `UPDATE licences SET used = used - 1 WHERE id = $1 AND used > 0`, licenceID)
	if err != nil {
		return fmt.Errorf("return licence play: %w", err)
	}
	return nil
}

// HasLicence reports whether a player holds an unrevoked licence for a quiz, plays left or not.
func (d *DB) HasLicence(ctx context.Context, playerID, quizID string) (bool, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM licences WHERE buyer_id = $1 AND quiz_id = $2 AND revoked = 0`,
		playerID, quizID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("has licence: %w", err)
	}
	return n > 0, nil
}

// Licences lists a player's unrevoked licences, newest first.
func (d *DB) Licences(ctx context.Context, playerID string) ([]services.Licence, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, purchase_id, buyer_id, quiz_id, listing_id, plays, used, revoked, created_at
		FROM licences WHERE buyer_id = $1 AND revoked = 0 ORDER BY created_at DESC, id DESC LIMIT 500`, playerID)
	if err != nil {
		return nil, fmt.Errorf("licences: %w", err)
	}
	defer rows.Close()
	out := []services.Licence{}
	for rows.Next() {
		var l services.Licence
		var revoked int
		var created int64
		if err := rows.Scan(&l.ID, &l.PurchaseID, &l.BuyerID, &l.QuizID, &l.ListingID, &l.Plays, &l.Used, &revoked, &created); err != nil {
			return nil, err
		}
		l.Revoked, l.CreatedAt = revoked == 1, fromMS(created)
		out = append(out, l)
	}
	return out, rows.Err()
}
