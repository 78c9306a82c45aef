package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
)

type walletDoc struct {
	Balance int64
	Entries []struct {
		ID      string
		Amount  int64
		Balance int64
		Kind    string
		Reason  string
		Ref     string
	}
	Next string
}

type purchaseDoc struct {
	ID, Status, Reason, ListingID string
}

func TestWalletMarketplaceAndLicencesOverHTTP(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, map[string]string{"TRIVIUM_DATA": data, "TRIVIUM_API_RATE": "100000", "TRIVIUM_API_BURST": "100000"})
	seller, buyer, op, stranger := register(t, s, "seller"), register(t, s, "buyer"), register(t, s, "opadmin"), register(t, s, "stranger")
	g := guest(t, s, "Guesty")
	env := map[string]string{"TRIVIUM_DATA": data}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"users", "role", "opadmin", "admin"}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatal(err)
	}

	// Admin grants: role admin, validated per field, the reason kept in the ledger.
	grants := s.URL + "/api/v1/admin/wallets/" + buyer.ID + "/grants"
	expectProblem(t, call(t, "POST", grants, seller.Token, map[string]any{"amount": 35, "reason": "x"}), 403, "")
	p := expectProblem(t, call(t, "POST", grants, op.Token, map[string]any{"amount": 0, "reason": ""}), 422, "amount")
	if p.Errors["reason"] == "" {
		t.Fatalf("no reason error in %+v", p)
	}
	expectProblem(t, call(t, "POST", grants, op.Token, map[string]any{"amount": 1.5, "reason": "x"}), 422, "amount")
	expectProblem(t, call(t, "POST", s.URL+"/api/v1/admin/wallets/"+g.ID+"/grants", op.Token, map[string]any{"amount": 5, "reason": "x"}), 422, "playerId")
	expectProblem(t, call(t, "POST", s.URL+"/api/v1/admin/wallets/nobody/grants", op.Token, map[string]any{"amount": 5, "reason": "x"}), 404, "")
	var entry struct {
		PlayerID string
		Amount   int64
		Balance  int64
		Reason   string
	}
	expect(t, call(t, "POST", grants, op.Token, map[string]any{"amount": 35, "reason": "welcome bonus"}, "Idempotency-Key", "g-1"), 201).decode(t, &entry)
	expect(t, call(t, "POST", grants, op.Token, map[string]any{"amount": 35, "reason": "welcome bonus"}, "Idempotency-Key", "g-1"), 201)
	if entry.PlayerID != buyer.ID || entry.Amount != 35 || entry.Balance != 35 || entry.Reason != "welcome bonus" {
		t.Fatalf("grant %+v", entry)
	}
	wallet := func(a *account) walletDoc {
		var w walletDoc
		expect(t, call(t, "GET", s.URL+"/api/v1/me/wallet", a.Token, nil), 200).decode(t, &w)
		return w
	}
	if w := wallet(buyer); w.Balance != 35 || len(w.Entries) != 1 || w.Entries[0].Kind != "grant" || w.Entries[0].Reason != "welcome bonus" {
		t.Fatalf("wallet after a grant sent twice with one key: %+v", w)
	}
	expectProblem(t, call(t, "GET", s.URL+"/api/v1/me/wallet?cursor=zzz", buyer.Token, nil), 422, "cursor")
	expectProblem(t, call(t, "GET", s.URL+"/api/v1/me/wallet", g.Token, nil), 403, "")

	// Listings: own private multiplayer quizzes only, per-field 422s.
	quiz := createQuiz(t, s, seller, "casual", []map[string]any{{"text": "2+2?", "kind": "choice", "choices": []string{"3", "4"}, "answer": 1}})
	listings := s.URL + "/api/v1/marketplace/listings"
	expectProblem(t, call(t, "POST", listings, seller.Token, map[string]any{"quizId": quiz, "price": 0, "plays": -1}), 422, "price")
	expectProblem(t, call(t, "POST", listings, seller.Token, map[string]any{"quizId": quiz, "price": 100001}), 422, "price")
	expectProblem(t, call(t, "POST", listings, seller.Token, map[string]any{"quizId": quiz, "price": 10, "plays": -1}), 422, "plays")
	expectProblem(t, call(t, "POST", listings, seller.Token, map[string]any{"price": 10}), 422, "quizId")
	expectProblem(t, call(t, "POST", listings, stranger.Token, map[string]any{"quizId": quiz, "price": 10}), 404, "")
	expectProblem(t, call(t, "POST", listings, g.Token, map[string]any{"quizId": quiz, "price": 10}), 403, "")
	var listing struct {
		ID, QuizID, Title, SellerID string
		Price                       int64
		Plays                       int
	}
	expect(t, call(t, "POST", listings, seller.Token, map[string]any{"quizId": quiz, "price": 10, "plays": 1}), 201).decode(t, &listing)
	if listing.QuizID != quiz || listing.Price != 10 || listing.Plays != 1 || listing.SellerID != seller.ID || listing.Title != "E2E casual" {
		t.Fatalf("listing %+v", listing)
	}
	var page struct {
		Items []struct{ ID string }
		Next  string
	}
	expect(t, call(t, "GET", listings+"?q=e2e%20CAS", "", nil), 200).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != listing.ID {
		t.Fatalf("search %+v", page)
	}
	expect(t, call(t, "GET", listings+"?q=nothing-like-it", "", nil), 200).decode(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("search for nothing found %+v", page)
	}
	expect(t, call(t, "GET", listings+"/"+listing.ID, "", nil), 200)

	// Before buying, the quiz is invisible and cannot be hosted.
	expectProblem(t, call(t, "GET", s.URL+"/api/v1/quizzes/"+quiz, buyer.Token, nil), 404, "")
	expectProblem(t, call(t, "POST", s.URL+"/api/v1/games", buyer.Token, map[string]string{"quizId": quiz}), 404, "")

	// A purchase needs an Idempotency-Key; it is pending, then completes; the same key is the same purchase.
	purchases := s.URL + "/api/v1/purchases"
	expectProblem(t, call(t, "POST", purchases, buyer.Token, map[string]string{"listingId": listing.ID}), 400, "Idempotency-Key")
	var pd purchaseDoc
	expect(t, call(t, "POST", purchases, buyer.Token, map[string]string{"listingId": listing.ID}, "Idempotency-Key", "buy-1"), 202).decode(t, &pd)
	if pd.Status != "pending" || pd.ListingID != listing.ID {
		t.Fatalf("new purchase %+v", pd)
	}
	testwait.For(t, "the purchase to complete", 10*time.Second, func() bool {
		var got purchaseDoc
		expect(t, call(t, "GET", purchases+"/"+pd.ID, buyer.Token, nil), 200).decode(t, &got)
		if got.Status == "failed" {
			t.Fatalf("purchase failed: %+v", got)
		}
		return got.Status == "completed"
	})
	expectProblem(t, call(t, "GET", purchases+"/"+pd.ID, stranger.Token, nil), 404, "")
	var again purchaseDoc
	expect(t, call(t, "POST", purchases, buyer.Token, map[string]string{"listingId": listing.ID}, "Idempotency-Key", "buy-1"), 201).decode(t, &again)
	if again.ID != pd.ID || again.Status != "completed" {
		t.Fatalf("repeat %+v, want %+v completed", again, pd)
	}
	pd0 := pd.ID
	if w := wallet(buyer); w.Balance != 25 || w.Entries[0].Amount != -10 || w.Entries[0].Kind != "purchase" {
		t.Fatalf("buyer wallet %+v", w)
	}
	testwait.For(t, "the seller's sale", 5*time.Second, func() bool { return wallet(seller).Balance == 9 })

	// Buying your own listing fails with a reason, and moves nothing.
	expect(t, call(t, "POST", s.URL+"/api/v1/admin/wallets/"+seller.ID+"/grants", op.Token, map[string]any{"amount": 50, "reason": "seed"}), 201)
	expect(t, call(t, "POST", purchases, seller.Token, map[string]string{"listingId": listing.ID}, "Idempotency-Key", "own"), 202).decode(t, &pd)
	testwait.For(t, "the own purchase to fail", 10*time.Second, func() bool {
		var got purchaseDoc
		expect(t, call(t, "GET", purchases+"/"+pd.ID, seller.Token, nil), 200).decode(t, &got)
		pd = got
		return got.Status != "pending"
	})
	if pd.Status != "failed" || pd.Reason != "own_listing" || wallet(seller).Balance != 59 {
		t.Fatalf("own purchase %+v, seller balance %d", pd, wallet(seller).Balance)
	}

	// The buyer sees the quiz without answers, cannot play it alone, and hosts it while plays remain.
	r := expect(t, call(t, "GET", s.URL+"/api/v1/quizzes/"+quiz, buyer.Token, nil), 200)
	if strings.Contains(string(r.Body), `"answer"`) {
		t.Fatalf("the bought quiz leaks its answers: %s", r.Body)
	}
	expectProblem(t, call(t, "POST", s.URL+"/api/v1/quizzes/"+quiz+"/plays", buyer.Token, nil), 404, "")
	createGame(t, s, buyer, quiz)
	if p := expectProblem(t, call(t, "POST", s.URL+"/api/v1/games", buyer.Token, map[string]string{"quizId": quiz}), 403, ""); p.Code != "licence_exhausted" {
		t.Fatalf("hosting past the licence: %+v", p)
	}
	var lic struct {
		Items []struct {
			QuizID     string
			Plays      int
			Used       int
			PurchaseID string
		}
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/me/licences", buyer.Token, nil), 200).decode(t, &lic)
	if len(lic.Items) != 1 || lic.Items[0].Used != 1 || lic.Items[0].Plays != 1 || lic.Items[0].QuizID != quiz {
		t.Fatalf("licences %+v", lic)
	}

	// Withdrawing: a stranger may not; the seller may; then a purchase fails listing_gone or 404s.
	expectProblem(t, call(t, "DELETE", listings+"/"+listing.ID, stranger.Token, nil), 403, "")
	expect(t, call(t, "DELETE", listings+"/"+listing.ID, seller.Token, nil), 204)
	expectProblem(t, call(t, "GET", listings+"/"+listing.ID, "", nil), 404, "")
	expectProblem(t, call(t, "POST", purchases, buyer.Token, map[string]string{"listingId": listing.ID}, "Idempotency-Key", "buy-2"), 404, "")
	expect(t, call(t, "POST", purchases, buyer.Token, map[string]string{"listingId": listing.ID}, "Idempotency-Key", "buy-1"), 201).decode(t, &again)
	if again.ID != pd0 || wallet(buyer).Balance != 25 {
		t.Fatalf("the first key after the listing was withdrawn: %+v, balance %d", again, wallet(buyer).Balance)
	}
}

func TestPlayingEarnsXPAndCoinsButGuestsEarnNothing(t *testing.T) {
	s := startServer(t, nil)
	a, g := register(t, s, "player1"), guest(t, s, "Guesty")
	q := createQuiz(t, s, a, "single", []map[string]any{{"text": "1+1?", "kind": "choice", "choices": []string{"2", "3"}, "answer": 0}})
	expect(t, call(t, "PUT", s.URL+"/api/v1/quizzes/"+q, a.Token, map[string]any{"title": "XP", "mode": "single", "scoring": "flat", "public": true,
		"questions": []map[string]any{{"text": "1+1?", "kind": "choice", "choices": []string{"2", "3"}, "answer": 0}}}), 200)
	for _, who := range []*account{a, g} {
		var st struct{ PlayID string }
		expect(t, call(t, "POST", s.URL+"/api/v1/quizzes/"+q+"/plays", who.Token, nil), 201).decode(t, &st)
		expect(t, call(t, "POST", s.URL+"/api/v1/plays/"+st.PlayID+"/answers", who.Token, map[string]any{"index": 0, "answer": 0}), 200)
	}
	type progress struct {
		XP, LevelXP, NextLevelXP, GamesPlayed int64
		Level                                 int
	}
	var pr progress
	testwait.For(t, "XP for the run", 10*time.Second, func() bool {
		expect(t, call(t, "GET", s.URL+"/api/v1/me/progress", a.Token, nil), 200).decode(t, &pr)
		return pr.GamesPlayed == 1
	})
	// 1000 points: 10 XP for the points and 5 for finishing; one coin per 1000 points.
	if pr.XP != 15 || pr.Level != 1 || pr.LevelXP != 15 || pr.NextLevelXP != 100 {
		t.Fatalf("progress %+v", pr)
	}
	var w walletDoc
	expect(t, call(t, "GET", s.URL+"/api/v1/me/wallet", a.Token, nil), 200).decode(t, &w)
	if w.Balance != 1 || len(w.Entries) != 1 || w.Entries[0].Kind != "play_reward" {
		t.Fatalf("wallet %+v", w)
	}
	var profile map[string]any
	r := expect(t, call(t, "GET", s.URL+"/api/v1/players/"+a.ID, "", nil), 200)
	if err := json.Unmarshal(r.Body, &profile); err != nil || profile["level"] != float64(1) {
		t.Fatalf("profile %s", r.Body)
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/me/progress", g.Token, nil), 200).decode(t, &pr)
	if pr.XP != 0 || pr.Level != 1 || pr.GamesPlayed != 0 {
		t.Fatalf("guest progress %+v", pr)
	}
}
