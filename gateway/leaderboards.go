package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/quizzes"
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

// boardAudience says who may read board: everyone (true) — global, weekly and public quizzes'
// boards — or, for a private quiz's board, only its owner and the players with a score on it
// (false). Anyone else gets ENotFound, the same answer as for a quiz that does not exist, so a
// board does not reveal that a private quiz is there. A deleted quiz's board stays readable to
// the players on it.
func boardAudience(r *http.Request, qs *quizzes.Service, lb *leaderboard.Service, board string) (bool, error) {
	quizID, ok := leaderboard.QuizOfBoard(board)
	if !ok {
		return true, nil
	}
	v := viewer(r)
	q, _, err := qs.Get(r.Context(), v, quizID)
	switch {
	case err == nil:
		return q.Public, nil
	case services.ErrorCode(err) != services.ENotFound:
		return false, err
	case v != nil:
		if _, err := lb.Me(r.Context(), board, v.ID, 0); err == nil {
			return false, nil
		} else if services.ErrorCode(err) != services.ENotFound {
			return false, err
		}
	}
	return false, services.Errorf(services.ENotFound, "board not found")
}

func handleLeaderboard(log *slog.Logger, lb *leaderboard.Service, qs *quizzes.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit", 20, 1, leaderboard.MaxLimit)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		board := chi.URLParam(r, "board")
		page, err := lb.Top(r.Context(), board, r.URL.Query().Get("cursor"), limit)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		// Checked after Top validated the name, so a bad name is still a 422.
		public, err := boardAudience(r, qs, lb, board)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		if page.Entries == nil {
			page.Entries = []leaderboard.Entry{}
		}
		if !public {
			// Not for shared caches: the next reader may not be allowed to see it.
			encode(w, http.StatusOK, page)
			return
		}
		encodePublic(w, r, 5*time.Second, page)
	})
}

func handleLeaderboardMe(log *slog.Logger, lb *leaderboard.Service) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (leaderboard.MeResult, error) {
		around, err := intParam(r, "around", 0, 0, leaderboard.MaxAround)
		if err != nil {
			return leaderboard.MeResult{}, err
		}
		return lb.Me(r.Context(), chi.URLParam(r, "board"), identity(r).Player.ID, around)
	})
}
