package gateway

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/avatars"
)

// The upload handlers serve avatars and question images alike; purpose tells them apart (an id
// of one purpose is not found under the other's routes).

func handleUploadCreate(log *slog.Logger, av *avatars.Service, purpose string) http.Handler {
	type request struct {
		ContentType   string `json:"contentType"`
		ContentLength int64  `json:"contentLength"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[request](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		in, err := av.Create(r.Context(), purpose, identity(r).Player.ID, req.ContentType, req.ContentLength)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusCreated, in)
	})
}

func handleUploadStatus(log *slog.Logger, av *avatars.Service, purpose string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := av.Status(r.Context(), purpose, identity(r).Player.ID, chi.URLParam(r, "id"))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, v)
	})
}

// handleUploadComplete is for stores that cannot call back (S3): the client says its PUT is
// done; the object is checked and recorded. Repeating it answers the current status.
func handleUploadComplete(log *slog.Logger, av *avatars.Service, purpose string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := av.Complete(r.Context(), purpose, identity(r).Player.ID, chi.URLParam(r, "id"))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, v)
	})
}

// handleUploadLimits serves what an upload may declare, so clients check files before asking.
func handleUploadLimits(av *avatars.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		encode(w, http.StatusOK, av.Limits())
	})
}

func handleModerationCases(log *slog.Logger, wf *moderation.Workflow) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, err := pageLimit(q.Get("limit"))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		page, err := wf.Cases(r.Context(), q.Get("status"), q.Get("kind"), q.Get("cursor"), limit)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, page)
	})
}

func handleModerationDecision(log *slog.Logger, wf *moderation.Workflow) http.Handler {
	type request struct {
		Decision string `json:"decision"`
		Note     string `json:"note"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[request](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		c, err := wf.Decide(r.Context(), chi.URLParam(r, "id"), identity(r).Player.ID, req.Decision, req.Note)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, c)
	})
}

func handlePlayerReport(log *slog.Logger, wf *moderation.Workflow) http.Handler {
	type request struct {
		Reason string `json:"reason"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[request](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		if err := wf.Report(r.Context(), identity(r).Player.ID, chi.URLParam(r, "id"), req.Reason); err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusAccepted, map[string]string{"status": "reported"})
	})
}

func handleModerationCase(log *slog.Logger, wf *moderation.Workflow) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wf.Case(r.Context(), chi.URLParam(r, "id"))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, c)
	})
}

func handleModerationAudit(log *slog.Logger, wf *moderation.Workflow) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, err := pageLimit(q.Get("limit"))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		page, err := wf.Audit(r.Context(), q.Get("cursor"), limit)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, page)
	})
}

// pageLimit reads an optional limit for the moderation lists; 0 (absent) lets the workflow pick
// its default, and the workflow clamps the rest.
func pageLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, services.Invalid(map[string]string{"limit": "must be a number"})
	}
	return n, nil
}
