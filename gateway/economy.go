package gateway

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/market"
	"github.com/trivium-game/trivium/services"
)

func handleProgress(log *slog.Logger, progress services.ProgressStore) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (services.Progress, error) {
		p := identity(r).Player
		if p.Guest {
			// Guests earn nothing; they still get a well-formed answer.
			return services.LevelOf(0, 0), nil
		}
		return progress.Progress(r.Context(), p.ID)
	})
}

func handleWallet(log *slog.Logger, m *market.Service) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (services.Wallet, error) {
		limit, err := intParam(r, "limit", 20, 1, 100)
		if err != nil {
			return services.Wallet{}, err
		}
		return m.Wallet(r.Context(), identity(r).Player, r.URL.Query().Get("cursor"), limit)
	})
}

func handleGrant(log *slog.Logger, m *market.Service) http.Handler {
	type response struct {
		PlayerID string `json:"playerId"`
		services.WalletEntry
	}
	return replyTo(log, http.StatusCreated, func(r *http.Request, req market.GrantInput) (response, error) {
		playerID := chi.URLParam(r, "playerId")
		e, err := m.Grant(r.Context(), identity(r).Player, playerID, req, r.Header.Get("Idempotency-Key"))
		return response{PlayerID: playerID, WalletEntry: e}, err
	})
}

func handleLicences(log *slog.Logger, store services.MarketStore) http.Handler {
	type response struct {
		Items []services.Licence `json:"items"`
	}
	return reply(log, http.StatusOK, func(r *http.Request) (response, error) {
		items, err := store.Licences(r.Context(), identity(r).Player.ID)
		return response{Items: items}, err
	})
}

func handleListingCreate(log *slog.Logger, m *market.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[market.ListingInput](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		l, err := m.CreateListing(r.Context(), identity(r).Player, req)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/marketplace/listings/"+l.ID)
		encode(w, http.StatusCreated, l)
	})
}

func handleListings(log *slog.Logger, m *market.Service) http.Handler {
	type response struct {
		Items []services.Listing `json:"items"`
		Next  string             `json:"next"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit", 20, 1, 100)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		q := r.URL.Query()
		f := services.ListingFilter{Query: q.Get("q"), Cursor: q.Get("cursor"), Limit: limit, SellerID: q.Get("seller")}
		if f.SellerID == "me" {
			v := viewer(r)
			if v == nil {
				writeProblem(w, http.StatusUnauthorized, services.EUnauthenticated, "seller=me needs a token", nil)
				return
			}
			f.SellerID = v.ID
		}
		items, next, err := m.Listings(r.Context(), f)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, response{Items: items, Next: next})
	})
}

func handleListingGet(log *slog.Logger, m *market.Service) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (*services.Listing, error) {
		return m.Listing(r.Context(), chi.URLParam(r, "id"))
	})
}

func handleListingDelete(log *slog.Logger, m *market.Service) http.Handler {
	return act(log, func(r *http.Request) error {
		return m.DeleteListing(r.Context(), identity(r).Player, chi.URLParam(r, "id"))
	})
}

// purchaseView is a purchase as its buyer sees it.
type purchaseView struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason"`
	ListingID string    `json:"listingId"`
	QuizID    string    `json:"quizId"`
	Price     int64     `json:"price"`
	Plays     int       `json:"plays"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func viewPurchase(p *services.Purchase) purchaseView {
	return purchaseView{ID: p.ID, Status: p.Status, Reason: p.Reason, ListingID: p.ListingID, QuizID: p.QuizID, Price: p.Price,
		Plays: p.Plays, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func handlePurchaseCreate(log *slog.Logger, m *market.Service) http.Handler {
	type request struct {
		ListingID string `json:"listingId"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if err := market.CheckKey(key); err != nil {
			fail(log, w, r, err)
			return
		}
		req, err := decode[request](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		p, _, err := m.Purchase(r.Context(), identity(r).Player, req.ListingID, key)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/purchases/"+p.ID)
		status := http.StatusAccepted
		if p.Status == services.PurchaseCompleted {
			status = http.StatusCreated // a repeat of a purchase that already completed
		}
		encode(w, status, viewPurchase(p))
	})
}

func handlePurchaseGet(log *slog.Logger, m *market.Service) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (purchaseView, error) {
		p, err := m.PurchaseOf(r.Context(), identity(r).Player, chi.URLParam(r, "id"))
		if err != nil {
			return purchaseView{}, err
		}
		return viewPurchase(p), nil
	})
}
