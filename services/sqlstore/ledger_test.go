package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/sqlstore"
)

func grant(t *testing.T, db *sqlstore.DB, player string, amount int64, key string) services.WalletEntry {
	t.Helper()
	e, _, err := db.Move(context.Background(), services.Movement{Key: key, Kind: services.KindGrant, From: services.AccountGrants,
		To: services.PlayerAccount(player), Amount: amount, Reason: "test", Ref: "grant:test"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// checkLedger fails unless every movement's entries cancel out and each account's entries add up
// to its balance.
func checkLedger(t *testing.T, db *sqlstore.DB, accounts ...string) {
	t.Helper()
	ctx := context.Background()
	entries, balances, err := db.LedgerTotals(ctx)
	if err != nil || entries != 0 || balances != 0 {
		t.Fatalf("ledger totals: entries %d, balances %d, err %v; want 0, 0", entries, balances, err)
	}
	for _, a := range accounts {
		sum, err := db.EntrySum(ctx, a)
		bal, err2 := db.Balance(ctx, a)
		if err != nil || err2 != nil || sum != bal {
			t.Fatalf("%s: entries sum to %d, balance %d (%v %v)", a, sum, bal, err, err2)
		}
	}
}

func TestConcurrentDebitsNeverTakeABalanceBelowZero(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			grant(t, db, "ann", 35, "g1")
			var wg sync.WaitGroup
			results := make([]error, 10)
			for i := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, results[i] = db.Move(ctx, services.Movement{Key: fmt.Sprint("spend", i), Kind: services.KindReserve,
						From: services.PlayerAccount("ann"), To: services.HoldAccount(fmt.Sprint("p", i)), Amount: 10, Ref: "x"})
				}()
			}
			wg.Wait()
			ok, broke := 0, 0
			for _, err := range results {
				switch services.ErrorCode(err) {
				case "":
					ok++
				case services.EInsufficientFunds:
					broke++
				default:
					t.Fatalf("debit: %v", err)
				}
			}
			if ok != 3 || broke != 7 {
				t.Fatalf("%d debits went through and %d were refused; want 3 and 7", ok, broke)
			}
			if b, _ := db.Balance(ctx, services.PlayerAccount("ann")); b != 5 {
				t.Fatalf("balance %d, want 5", b)
			}
			checkLedger(t, db, services.PlayerAccount("ann"), services.AccountGrants)
		})
	}
}

func TestAMovementKeyMovesCoinsOnce(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			first := grant(t, db, "bob", 40, "same")
			again, fresh, err := db.Move(ctx, services.Movement{Key: "same", Kind: services.KindGrant, From: services.AccountGrants,
				To: services.PlayerAccount("bob"), Amount: 40, Reason: "test", Ref: "grant:test"})
			if err != nil || fresh || again.ID != first.ID || again.Balance != 40 {
				t.Fatalf("repeat: entry %+v fresh %v err %v; want the first entry %+v", again, fresh, err, first)
			}
			if b, _ := db.Balance(ctx, services.PlayerAccount("bob")); b != 40 {
				t.Fatalf("balance %d after a repeated key, want 40", b)
			}
			if _, _, err := db.Move(ctx, services.Movement{Key: "k", Kind: "x", From: "a", To: "a", Amount: 1}); err == nil {
				t.Fatal("a movement to its own account was accepted")
			}
			if _, _, err := db.Move(ctx, services.Movement{Key: "k", Kind: "x", From: "a", To: "b", Amount: 0}); err == nil {
				t.Fatal("a zero movement was accepted")
			}
			checkLedger(t, db, services.PlayerAccount("bob"))
		})
	}
}

func TestWalletPagesNewestFirstWithoutRepeats(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for i := 1; i <= 5; i++ {
				grant(t, db, "cy", int64(i), fmt.Sprint("w", i))
			}
			var amounts []int64
			cursor := ""
			for pages := 0; ; pages++ {
				w, err := db.Entries(ctx, services.PlayerAccount("cy"), cursor, 2)
				if err != nil {
					t.Fatal(err)
				}
				if w.Balance != 15 {
					t.Fatalf("balance %d, want 15", w.Balance)
				}
				for _, e := range w.Entries {
					amounts = append(amounts, e.Amount)
				}
				if w.Next == "" {
					break
				}
				cursor = w.Next
			}
			if fmt.Sprint(amounts) != "[5 4 3 2 1]" {
				t.Fatalf("entries %v, want [5 4 3 2 1]", amounts)
			}
			if _, err := db.Entries(ctx, services.PlayerAccount("cy"), "nonsense!", 2); services.ErrorCode(err) != services.EInvalid {
				t.Fatalf("bad cursor: %v", err)
			}
		})
	}
}

func TestAnAwardIsCreditedOncePerSourceAndPlayer(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a := services.Award{Source: "game", SourceID: "g1", PlayerID: "dee", XP: 150, Coins: 10, Played: true}
			for i := range 3 {
				fresh, err := db.Award(ctx, a)
				if err != nil || fresh != (i == 0) {
					t.Fatalf("award %d: fresh %v err %v", i, fresh, err)
				}
			}
			p, err := db.Progress(ctx, "dee")
			if err != nil || p.XP != 150 || p.GamesPlayed != 1 || p.Level != 2 || p.LevelXP != 50 || p.NextLevelXP != 200 {
				t.Fatalf("progress %+v err %v", p, err)
			}
			if b, _ := db.Balance(ctx, services.PlayerAccount("dee")); b != 10 {
				t.Fatalf("coins %d, want 10", b)
			}
			levels, err := db.Levels(ctx, []string{"dee", "nobody"})
			if err != nil || levels["dee"] != 2 || len(levels) != 1 {
				t.Fatalf("levels %v err %v", levels, err)
			}
			checkLedger(t, db, services.PlayerAccount("dee"), services.AccountRewards)
		})
	}
}
