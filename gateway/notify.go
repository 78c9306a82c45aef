package gateway

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/services/accounts"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/webpush"
)

// handleVAPIDPublicKey serves the key browsers pass to pushManager.subscribe. It is not cached:
// after `trivium vapid rotate` (and a restart) clients must see the new key to resubscribe.
func handleVAPIDPublicKey(svc *notify.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"publicKey": svc.VAPIDPublicKey()})
	})
}

// handlePushSubscribe stores the browser's PushSubscription.toJSON() for the caller's session.
func handlePushSubscribe(log *slog.Logger, svc *notify.Service) http.Handler {
	return replyTo(log, http.StatusCreated, func(r *http.Request, sub webpush.Subscription) (map[string]string, error) {
		id := identity(r)
		err := svc.Subscribe(r.Context(), id.Player.ID, id.SessionID, sub)
		return map[string]string{"endpoint": sub.Endpoint}, err
	})
}

func handlePushUnsubscribe(log *slog.Logger, svc *notify.Service) http.Handler {
	type request struct {
		Endpoint string `json:"endpoint"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[request](w, r)
		if err == nil {
			err = svc.Unsubscribe(r.Context(), identity(r).Player.ID, req.Endpoint)
		}
		if err != nil {
			fail(log, w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleNotifications(log *slog.Logger, svc *notify.Service) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (notify.Page, error) {
		limit, err := intParam(r, "limit", notify.DefaultPageSize, 1, notify.MaxPageSize)
		if err != nil {
			return notify.Page{}, err
		}
		return svc.Inbox(r.Context(), identity(r).Player.ID, r.URL.Query().Get("cursor"), limit)
	})
}

func handleNotificationRead(log *slog.Logger, svc *notify.Service) http.Handler {
	return act(log, func(r *http.Request) error {
		return svc.MarkRead(r.Context(), identity(r).Player.ID, chi.URLParam(r, "id"))
	})
}

func handleNotificationsReadAll(log *slog.Logger, svc *notify.Service) http.Handler {
	return act(log, func(r *http.Request) error {
		_, err := svc.MarkAllRead(r.Context(), identity(r).Player.ID)
		return err
	})
}

// PushLogoutHook drops the push subscriptions registered with the token being revoked, so a
// shared computer stops receiving the previous player's notifications.
func PushLogoutHook(log *slog.Logger, svc *notify.Service) LogoutHook {
	return func(r *http.Request, id *accounts.Identity) {
		if err := svc.EndSession(r.Context(), id.SessionID); err != nil {
			log.Error("drop push subscriptions at logout", "request_id", requestID(r.Context()), "err", err)
		}
	}
}
