package gateway

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/services"
)

// handleDeadLetters lists events that exhausted their retries (role admin).
func handleDeadLetters(log *slog.Logger, bus services.Bus) http.Handler {
	type response struct {
		Items []services.DeadLetter `json:"items"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit", 100, 1, 1000)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		items, err := bus.DeadLetters(r.Context(), limit)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		if items == nil {
			items = []services.DeadLetter{}
		}
		encode(w, http.StatusOK, response{Items: items})
	})
}

// handleRedrive republishes one dead letter to its subject (role admin).
func handleRedrive(log *slog.Logger, bus services.Bus) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, err := strconv.ParseUint(chi.URLParam(r, "seq"), 10, 64)
		if err != nil || seq == 0 {
			fail(log, w, r, services.Invalid(map[string]string{"seq": "must be a dead letter's sequence number"}))
			return
		}
		if err := bus.Redrive(r.Context(), seq); err != nil {
			fail(log, w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
