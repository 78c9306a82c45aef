package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/services"
)

// intParam parses an optional integer query parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, services.Invalid(map[string]string{name: "must be " + strconv.Itoa(lo) + "–" + strconv.Itoa(hi)})
	}
	return n, nil
}

func handleLeaderboard(log *slog.Logger, lb *leaderboard.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit", 20, 1, leaderboard.MaxLimit)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		page, err := lb.Top(r.Context(), chi.URLParam(r, "board"), r.URL.Query().Get("cursor"), limit)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		if page.Entries == nil {
			page.Entries = []leaderboard.Entry{}
		}
		encodePublic(w, r, 5*time.Second, page)
	})
}

func handleLeaderboardMe(log *slog.Logger, lb *leaderboard.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		around, err := intParam(r, "around", 0, 0, leaderboard.MaxAround)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		res, err := lb.Me(r.Context(), chi.URLParam(r, "board"), identity(r).Player.ID, around)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, res)
	})
}
