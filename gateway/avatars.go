package gateway

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/services/avatars"
)

// The upload handlers serve avatars and question images alike; purpose tells them apart (an id
// of one purpose is not found under the other's routes).

func handleUploadCreate(log *slog.Logger, av *avatars.Service, purpose string) http.Handler {
	type request struct {
		ContentType   string `json:"contentType"`
		ContentLength int64  `json:"contentLength"`
	}
	return replyTo(log, http.StatusCreated, func(r *http.Request, req request) (avatars.Intent, error) {
		return av.Create(r.Context(), purpose, identity(r).Player.ID, req.ContentType, req.ContentLength)
	})
}

func handleUploadStatus(log *slog.Logger, av *avatars.Service, purpose string) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (avatars.View, error) {
		return av.Status(r.Context(), purpose, identity(r).Player.ID, chi.URLParam(r, "id"))
	})
}

// handleUploadComplete is for stores that cannot call back (S3): the client says its PUT is
// done; the object is checked and recorded. Repeating it answers the current status.
func handleUploadComplete(log *slog.Logger, av *avatars.Service, purpose string) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (avatars.View, error) {
		return av.Complete(r.Context(), purpose, identity(r).Player.ID, chi.URLParam(r, "id"))
	})
}

// handleUploadLimits serves what an upload may declare, so clients check files before asking.
func handleUploadLimits(av *avatars.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		encode(w, http.StatusOK, av.Limits())
	})
}
