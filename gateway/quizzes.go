package gateway

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/quizzes"
)

// quizView hides answers from everyone but the owner.
func quizView(q *services.Quiz, owner bool) any {
	if owner {
		return q
	}
	out := *q
	out.Questions = make([]services.Question, len(q.Questions))
	for i, qq := range q.Questions {
		qq.Answer, qq.Alternatives = services.Answer{}, nil // an unset answer is omitted from JSON
		qq.Tolerance = 0                                    // with the bounds it narrows a number down
		if qq.Kind == services.KindOrder {
			// An order question is written in its correct order: show the items sorted instead.
			qq.Choices = slices.Sorted(slices.Values(qq.Choices))
		}
		out.Questions[i] = qq
	}
	return &out
}

// quizInput is the writable part of a quiz.
type quizInput struct {
	Title       string              `json:"title"`
	Description string              `json:"description"`
	Mode        string              `json:"mode"`
	Scoring     string              `json:"scoring"`
	Public      bool                `json:"public"`
	Questions   []services.Question `json:"questions"`
}

func (q quizInput) quiz() services.Quiz {
	return services.Quiz{Title: q.Title, Description: q.Description, Mode: q.Mode, Scoring: q.Scoring,
		Public: q.Public, Questions: q.Questions}
}

func handleQuizCreate(log *slog.Logger, qs *quizzes.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[quizInput](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		q, err := qs.Create(r.Context(), identity(r).Player, req.quiz())
		if err != nil {
			fail(log, w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/quizzes/"+q.ID)
		encode(w, http.StatusCreated, q)
	})
}

func handleQuizUpdate(log *slog.Logger, qs *quizzes.Service) http.Handler {
	return replyTo(log, http.StatusOK, func(r *http.Request, req quizInput) (*services.Quiz, error) {
		return qs.Update(r.Context(), identity(r).Player, chi.URLParam(r, "id"), req.quiz())
	})
}

func handleQuizDelete(log *slog.Logger, qs *quizzes.Service) http.Handler {
	return act(log, func(r *http.Request) error {
		return qs.Delete(r.Context(), identity(r).Player, chi.URLParam(r, "id"))
	})
}

func handleQuizGet(log *slog.Logger, qs *quizzes.Service) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (any, error) {
		q, owner, err := qs.Get(r.Context(), viewer(r), chi.URLParam(r, "id"))
		if err != nil {
			return nil, err
		}
		return quizView(q, owner), nil
	})
}

func handleQuizList(log *slog.Logger, qs *quizzes.Service) http.Handler {
	type response struct {
		Items []any  `json:"items"`
		Next  string `json:"next"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := services.QuizFilter{Cursor: r.URL.Query().Get("cursor"), Limit: 20}
		if l := r.URL.Query().Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > 100 {
				fail(log, w, r, services.Invalid(map[string]string{"limit": "must be 1–100"}))
				return
			}
			f.Limit = n
		}
		mine := r.URL.Query().Get("owner") == "me"
		if mine {
			v := viewer(r)
			if v == nil {
				writeProblem(w, http.StatusUnauthorized, services.EUnauthenticated, "owner=me needs a token", nil)
				return
			}
			f.OwnerID = v.ID
		}
		items, next, err := qs.List(r.Context(), f)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		resp := response{Items: make([]any, 0, len(items)), Next: next}
		for i := range items {
			resp.Items = append(resp.Items, quizView(&items[i], mine))
		}
		if mine {
			encode(w, http.StatusOK, resp)
			return
		}
		encodePublic(w, r, time.Minute, resp)
	})
}
