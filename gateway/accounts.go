package gateway

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/moderation/textscreen"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func handleRegister(log *slog.Logger, acc *accounts.Service, cdn string) http.Handler {
	return replyTo(log, http.StatusCreated, func(r *http.Request, req credentials) (*accounts.Auth, error) {
		a, err := acc.Register(r.Context(), req.Username, req.Password)
		if err != nil {
			return nil, err
		}
		a.Player = present(a.Player, cdn)
		return a, nil
	})
}

func handleLogin(log *slog.Logger, acc *accounts.Service, cdn string, proxies TrustedProxies) http.Handler {
	return replyTo(log, http.StatusOK, func(r *http.Request, req credentials) (*accounts.Auth, error) {
		a, err := acc.Login(r.Context(), req.Username, req.Password, addressKey(clientIP(r, proxies)))
		if err != nil {
			return nil, err
		}
		a.Player = present(a.Player, cdn)
		return a, nil
	})
}

func handleGuest(log *slog.Logger, acc *accounts.Service, cdn string, text *moderation.TextGuard) http.Handler {
	type request struct {
		Nickname string `json:"nickname"`
	}
	return replyTo(log, http.StatusCreated, func(r *http.Request, req request) (*accounts.Auth, error) {
		var hits []textscreen.FieldHit
		if text != nil {
			var err error
			if hits, err = text.ScreenName("nickname", strings.TrimSpace(req.Nickname)); err != nil {
				return nil, err
			}
		}
		a, err := acc.Guest(r.Context(), req.Nickname)
		if err != nil {
			return nil, err
		}
		if len(hits) > 0 {
			if err := text.FlagName(r.Context(), a.Player.ID, a.Player.DisplayName, hits); err != nil {
				return nil, err
			}
		}
		a.Player = present(a.Player, cdn)
		return a, nil
	})
}

// LogoutHook runs after a token is revoked (push subscriptions of that token are dropped there).
type LogoutHook func(r *http.Request, id *accounts.Identity)

func handleLogout(log *slog.Logger, acc *accounts.Service, hooks ...LogoutHook) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := identity(r)
		if err := acc.Logout(r.Context(), id.SessionID); err != nil {
			fail(log, w, r, err)
			return
		}
		for _, h := range hooks {
			h(r, id)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleTicket(log *slog.Logger, acc *accounts.Service) http.Handler {
	return reply(log, http.StatusCreated, func(r *http.Request) (*services.Ticket, error) {
		return acc.IssueTicket(r.Context(), identity(r))
	})
}
