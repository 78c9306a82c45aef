package gateway

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/moderation/textscreen"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
)

// present resolves a player's avatar URLs for the response.
func present(p *services.Player, cdn string) *services.Player {
	cp := *p
	cp.Avatar.Resolve(cdn)
	return &cp
}

func handleMe(log *slog.Logger, cdn string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, present(identity(r).Player, cdn))
	})
}

func handleMeUpdate(log *slog.Logger, players services.PlayerStore, cdn string, changed func(playerID string), text *moderation.TextGuard) http.Handler {
	type request struct {
		DisplayName string `json:"displayName"`
	}
	return replyTo(log, http.StatusOK, func(r *http.Request, req request) (*services.Player, error) {
		name := strings.TrimSpace(req.DisplayName)
		if err := accounts.ValidateDisplayName(name, "displayName"); err != nil {
			return nil, err
		}
		p := identity(r).Player
		var hits []textscreen.FieldHit
		if text != nil {
			var err error
			if hits, err = text.ScreenName("displayName", name); err != nil {
				return nil, err
			}
		}
		if err := players.UpdateDisplayName(r.Context(), p.ID, name); err != nil {
			return nil, err
		}
		if len(hits) > 0 {
			if err := text.FlagName(r.Context(), p.ID, name, hits); err != nil {
				return nil, err
			}
		}
		if changed != nil {
			changed(p.ID)
		}
		p.DisplayName = name
		return present(p, cdn), nil
	})
}

func handlePlayer(log *slog.Logger, players services.PlayerStore, progress services.ProgressStore, cdn string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := players.PlayerByID(r.Context(), chi.URLParam(r, "id"))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		pp := present(p, cdn).Profile()
		if progress != nil {
			levels, err := progress.Levels(r.Context(), []string{p.ID})
			if err != nil {
				fail(log, w, r, err)
				return
			}
			if l, ok := levels[p.ID]; ok {
				pp.Level = l
			}
		}
		encodePublic(w, r, time.Minute, pp)
	})
}
