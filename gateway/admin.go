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
	return reply(log, http.StatusOK, func(r *http.Request) (response, error) {
		limit, err := intParam(r, "limit", 100, 1, 1000)
		if err != nil {
			return response{}, err
		}
		items, err := bus.DeadLetters(r.Context(), limit)
		if items == nil {
			items = []services.DeadLetter{}
		}
		return response{Items: items}, err
	})
}

// handleRedrive republishes one dead letter to its subject (role admin).
func handleRedrive(log *slog.Logger, bus services.Bus) http.Handler {
	return act(log, func(r *http.Request) error {
		seq, err := strconv.ParseUint(chi.URLParam(r, "seq"), 10, 64)
		if err != nil || seq == 0 {
			return services.Invalid(map[string]string{"seq": "must be a dead letter's sequence number"})
		}
		return bus.Redrive(r.Context(), seq)
	})
}
