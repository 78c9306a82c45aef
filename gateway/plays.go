package gateway

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/quizzes"
)

func handlePlayStart(log *slog.Logger, qs *quizzes.Service) http.Handler {
	type response struct {
		PlayID   string                  `json:"playId"`
		Question services.PublicQuestion `json:"question"`
	}
	return reply(log, http.StatusCreated, func(r *http.Request) (response, error) {
		play, q, err := qs.StartPlay(r.Context(), identity(r).Player, chi.URLParam(r, "id"))
		if err != nil {
			return response{}, err
		}
		return response{PlayID: play.ID, Question: q}, nil
	})
}

type answerInput struct {
	Index  *int            `json:"index"`
	Answer services.Answer `json:"answer"`
}

func (a *answerInput) Valid() map[string]string {
	f := map[string]string{}
	if a.Index == nil || *a.Index < 0 {
		f["index"] = "required: the question index"
	}
	if !a.Answer.Set {
		f["answer"] = "required: a choice index or a text"
	}
	return f
}

func handlePlayAnswer(log *slog.Logger, qs *quizzes.Service) http.Handler {
	return replyTo(log, http.StatusOK, func(r *http.Request, req answerInput) (*quizzes.AnswerResult, error) {
		return qs.Answer(r.Context(), identity(r).Player, chi.URLParam(r, "playId"), *req.Index, req.Answer)
	})
}
