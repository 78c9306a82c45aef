package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trivium-game/trivium/services"
)

var _ services.Ledger = (*DB)(nil)

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	execer
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// overdraft reports the accounts coins are issued from: the only ones allowed below zero.
func overdraft(account string) bool {
	return account == services.AccountGrants || account == services.AccountRewards
}

func checkMovement(m services.Movement) error {
	switch {
	case m.Key == "" || m.Kind == "" || m.From == "" || m.To == "":
		return fmt.Errorf("movement needs a key, a kind and two accounts: %+v", m)
	case m.From == m.To:
		return fmt.Errorf("movement %s moves from %s to itself", m.Key, m.From)
	case m.Amount <= 0:
		return fmt.Errorf("movement %s: amount %d must be positive", m.Key, m.Amount)
	}
	return nil
}

// move applies m inside tx: the movement row (unique by key, so a second application is a
// no-op that reports fresh=false), the debit and the credit, and one entry per side. The debit
// is a conditional update, so it fails rather than take a balance below zero whatever runs
// concurrently: PostgreSQL re-checks the condition on the row version it waited for; SQLite's
// transactions are BEGIN IMMEDIATE (see services/sqlite) and never interleave. Accounts are
// updated in id order so two movements between the same accounts cannot deadlock.
func move(ctx context.Context, tx querier, m services.Movement, now time.Time) (to services.WalletEntry, fresh bool, err error) {
	if err := checkMovement(m); err != nil {
		return to, false, err
	}
	at := ms(now)
	for _, acct := range []string{m.From, m.To} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_accounts (id, balance, overdraft) VALUES ($1, 0, $2)
			ON CONFLICT (id) DO NOTHING`, acct, b2i(overdraft(acct))); err != nil {
			return to, false, fmt.Errorf("open account %s: %w", acct, err)
		}
	}
	id := services.NewID()
	res, err := tx.ExecContext(ctx, `INSERT INTO wallet_movements (id, idem_key, kind, debit, credit, amount, reason, ref, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idem_key) DO NOTHING`,
		id, m.Key, m.Kind, m.From, m.To, m.Amount, m.Reason, m.Ref, at)
	if err != nil {
		return to, false, fmt.Errorf("record movement %s: %w", m.Key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		to, err = entryOf(ctx, tx, m.Key, m.To)
		return to, false, err
	}
	accts := []string{m.From, m.To}
	sort.Strings(accts)
	balances := map[string]int64{}
	for _, acct := range accts {
		var bal int64
		if acct == m.From {
			err = tx.QueryRowContext(ctx, `UPDATE wallet_accounts SET balance = balance - $1
				WHERE id = $2 AND (overdraft = 1 OR balance >= $1) RETURNING balance`, m.Amount, acct).Scan(&bal)
			if errors.Is(err, sql.ErrNoRows) {
				return to, false, services.Errorf(services.EInsufficientFunds, "not enough coins for %d", m.Amount)
			}
		} else {
			err = tx.QueryRowContext(ctx, `UPDATE wallet_accounts SET balance = balance + $1 WHERE id = $2 RETURNING balance`,
				m.Amount, acct).Scan(&bal)
		}
		if err != nil {
			return to, false, fmt.Errorf("post %s to %s: %w", m.Key, acct, err)
		}
		balances[acct] = bal
	}
	for _, side := range []struct {
		acct   string
		amount int64
	}{{m.From, -m.Amount}, {m.To, m.Amount}} {
		var eid int64
		err := tx.QueryRowContext(ctx, `INSERT INTO wallet_entries (movement_id, account_id, amount, balance, kind, reason, ref, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			id, side.acct, side.amount, balances[side.acct], m.Kind, m.Reason, m.Ref, at).Scan(&eid)
		if err != nil {
			return to, false, fmt.Errorf("entry %s on %s: %w", m.Key, side.acct, err)
		}
		if side.acct == m.To {
			to = services.WalletEntry{ID: strconv.FormatInt(eid, 10), Amount: side.amount, Balance: balances[side.acct],
				Kind: m.Kind, Reason: m.Reason, Ref: m.Ref, CreatedAt: fromMS(at)}
		}
	}
	return to, true, nil
}

const entryCols = `e.id, e.amount, e.balance, e.kind, e.reason, e.ref, e.created_at`

func scanEntry(row interface{ Scan(...any) error }) (services.WalletEntry, error) {
	var e services.WalletEntry
	var id, at int64
	if err := row.Scan(&id, &e.Amount, &e.Balance, &e.Kind, &e.Reason, &e.Ref, &at); err != nil {
		return e, err
	}
	e.ID, e.CreatedAt = strconv.FormatInt(id, 10), fromMS(at)
	return e, nil
}

// entryOf returns the entry an applied movement left on account.
func entryOf(ctx context.Context, q querier, key, account string) (services.WalletEntry, error) {
	e, err := scanEntry(q.QueryRowContext(ctx, `SELECT `+entryCols+` FROM wallet_entries e
		JOIN wallet_movements m ON m.id = e.movement_id WHERE m.idem_key = $1 AND e.account_id = $2`, key, account))
	if err != nil {
		return e, fmt.Errorf("entry of %s: %w", key, notFound(err, "movement"))
	}
	return e, nil
}

// Move applies a movement once per key.
func (d *DB) Move(ctx context.Context, m services.Movement) (services.WalletEntry, bool, error) {
	var e services.WalletEntry
	var fresh bool
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var err error
		e, fresh, err = move(ctx, tx, m, d.now())
		return err
	})
	return e, fresh, err
}

// Balance returns an account's balance; an account nobody has paid into holds 0.
func (d *DB) Balance(ctx context.Context, account string) (int64, error) {
	return balance(ctx, d.db, account)
}

func balance(ctx context.Context, q querier, account string) (int64, error) {
	var b int64
	err := q.QueryRowContext(ctx, `SELECT balance FROM wallet_accounts WHERE id = $1`, account).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("balance of %s: %w", account, err)
	}
	return b, nil
}

// Entries pages an account newest first. Entry ids grow in commit order per account (the
// account's row lock is held from the balance update to the commit), so an id cursor never
// skips an entry that committed later.
func (d *DB) Entries(ctx context.Context, account, cursor string, limit int) (services.Wallet, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	w := services.Wallet{Entries: []services.WalletEntry{}}
	var before int64 = 1<<63 - 1
	if cursor != "" {
		at, rest, err := DecodeCursor(cursor)
		if err != nil || rest != "e" {
			return w, services.Invalid(map[string]string{"cursor": "is not a cursor this server issued"})
		}
		before = at
	}
	var err error
	if w.Balance, err = d.Balance(ctx, account); err != nil {
		return w, err
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+entryCols+` FROM wallet_entries e WHERE e.account_id = $1 AND e.id < $2
		ORDER BY e.id DESC LIMIT $3`, account, before, limit+1)
	if err != nil {
		return w, fmt.Errorf("wallet entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return w, err
		}
		w.Entries = append(w.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return w, err
	}
	if len(w.Entries) > limit {
		w.Entries = w.Entries[:limit]
		last, _ := strconv.ParseInt(w.Entries[limit-1].ID, 10, 64)
		w.Next = EncodeCursor(last, "e")
	}
	return w, nil
}

// LedgerTotals returns the sum of every entry and the sum of every account balance: both are
// zero in a consistent double-entry ledger (each movement's two entries cancel out).
func (d *DB) LedgerTotals(ctx context.Context) (entries, balances int64, err error) {
	if err = d.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM wallet_entries`).Scan(&entries); err != nil {
		return 0, 0, err
	}
	err = d.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(balance), 0) FROM wallet_accounts`).Scan(&balances)
	return entries, balances, err
}

// EntrySum returns the sum of an account's entries, which must equal its balance.
func (d *DB) EntrySum(ctx context.Context, account string) (int64, error) {
	var s int64
	err := d.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM wallet_entries WHERE account_id = $1`, account).Scan(&s)
	return s, err
}

// likePattern turns a search text into a LIKE pattern matching it anywhere, escaping LIKE's
// wildcards so a "%" in the query is a percent sign.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(q)) + "%"
}
