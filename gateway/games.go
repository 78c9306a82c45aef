package gateway

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/games"
	"github.com/trivium-game/trivium/services/quizzes"
)

func handleGameCreate(log *slog.Logger, qs *quizzes.Service, gm *games.Manager, cdn string) http.Handler {
	type request struct {
		QuizID  string              `json:"quizId"`
		Options *games.OptionsPatch `json:"options"`
	}
	type response struct {
		GameID string `json:"gameId"`
		Code   string `json:"code"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[request](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		if req.QuizID == "" {
			fail(log, w, r, services.Invalid(map[string]string{"quizId": "required"}))
			return
		}
		opts := games.DefaultOptions()
		if req.Options != nil {
			var f map[string]string
			if opts, f = req.Options.Apply(opts, "options."); f != nil {
				fail(log, w, r, services.Invalid(f))
				return
			}
		}
		host := identity(r).Player
		q, licence, err := qs.Host(r.Context(), host, req.QuizID)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		room, err := gm.CreateWith(*q, playerInfo(host, cdn), &opts)
		if err != nil {
			if uerr := qs.Unhost(r.Context(), licence); uerr != nil {
				log.Warn("give back a licence play", "licence", licence, "err", uerr)
			}
			fail(log, w, r, err)
			return
		}
		// The game exists and will run; a lost record only costs the host their hosting reward.
		if err := qs.Hosted(r.Context(), room.ID(), host, q.ID, licence); err != nil {
			log.Warn("record the host of a game", "game", room.ID(), "err", err)
		}
		encode(w, http.StatusCreated, response{GameID: room.ID(), Code: room.Code()})
	})
}

func playerInfo(p *services.Player, cdn string) games.PlayerInfo {
	return games.PlayerInfo{ID: p.ID, DisplayName: p.DisplayName, ThumbnailURL: services.PublicURL(cdn, p.Avatar.ThumbKey), Guest: p.Guest}
}

func handleGameGet(gm *games.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, ok := gm.Info(chi.URLParam(r, "code"))
		if !ok {
			writeProblem(w, http.StatusNotFound, services.ENotFound, "no game with that code", nil)
			return
		}
		encode(w, http.StatusOK, info)
	})
}
