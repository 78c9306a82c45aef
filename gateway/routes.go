package gateway

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/services"
)

// routes is the whole HTTP surface of Trivium, top to bottom.
func routes(cfg Config, d Deps, h *hub) http.Handler {
	log := d.Logger
	r := chi.NewRouter()
	r.Use(withRequestID, withObservability(log, d.Metrics))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "not_found", "no such resource", nil)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed here", nil)
	})

	r.Method("GET", "/healthz", handleHealthz())
	r.Method("GET", "/readyz", handleReadyz(d.Ready))
	r.Method("GET", "/metrics", handleMetrics(d.Registry, cfg.MetricsToken))
	r.Method("GET", "/ws", handleWS(cfg, d.Accounts, d.Games, h))

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(withCORS(originSet(cfg.AllowedOrigins)), withRateLimit(newIPLimiter(cfg.APIRate, cfg.APIBurst), cfg.Proxies),
			withNoStore, withAuth(log, d.Accounts))

		r.Method("GET", "/openapi.yaml", handleOpenAPI())

		authLimit := withRateLimit(newIPLimiter(cfg.AuthRate, cfg.AuthBurst), cfg.Proxies)
		r.With(authLimit).Method("POST", "/auth/register", handleRegister(log, d.Accounts, cfg.CDNURL))
		r.With(authLimit).Method("POST", "/auth/login", handleLogin(log, d.Accounts, cfg.CDNURL, cfg.Proxies))
		r.With(authLimit).Method("POST", "/auth/guest", handleGuest(log, d.Accounts, cfg.CDNURL, d.Text))
		r.With(requireAuth).Method("POST", "/auth/logout", handleLogout(log, d.Accounts, append([]LogoutHook{h.logoutHook}, d.OnLogout...)...))
		r.With(requireAuth).Method("GET", "/me", handleMe(log, cfg.CDNURL))
		r.With(requireAuth).Method("PATCH", "/me", handleMeUpdate(log, d.Players, cfg.CDNURL, d.ProfileChanged, d.Text))
		r.Method("GET", "/players/{id}", handlePlayer(log, d.Players, d.Progress, cfg.CDNURL))

		r.Method("GET", "/quizzes", handleQuizList(log, d.Quizzes))
		r.With(requireAccount).Method("POST", "/quizzes", handleQuizCreate(log, d.Quizzes))
		r.Method("GET", "/quizzes/{id}", handleQuizGet(log, d.Quizzes))
		r.With(requireAccount).Method("PUT", "/quizzes/{id}", handleQuizUpdate(log, d.Quizzes))
		r.With(requireAccount).Method("DELETE", "/quizzes/{id}", handleQuizDelete(log, d.Quizzes))

		r.With(requireAuth).Method("POST", "/quizzes/{id}/plays", handlePlayStart(log, d.Quizzes))
		r.With(requireAuth).Method("POST", "/plays/{playId}/answers", handlePlayAnswer(log, d.Quizzes))

		r.With(requireAccount).Method("POST", "/games", handleGameCreate(log, d.Quizzes, d.Games, cfg.CDNURL))
		r.Method("GET", "/games/{code}", handleGameGet(d.Games))
		r.With(requireAuth).Method("POST", "/ws-tickets", handleTicket(log, d.Accounts))
		if d.Reports != nil {
			r.With(requireAccount).Method("GET", "/games/{code}/report", handleGameReport(log, d.Reports))
			r.With(requireAccount).Method("GET", "/me/games", handleMyGames(log, d.Reports))
		}

		r.With(requireRole(services.RoleAdmin)).Method("GET", "/admin/dead-letters", handleDeadLetters(log, d.Bus))
		r.With(requireRole(services.RoleAdmin)).Method("POST", "/admin/dead-letters/{seq}/redrive", handleRedrive(log, d.Bus))

		r.Method("GET", "/leaderboards/{board}", handleLeaderboard(log, d.Leaderboards, d.Quizzes))
		r.With(requireAuth).Method("GET", "/leaderboards/{board}/me", handleLeaderboardMe(log, d.Leaderboards))

		if d.Progress != nil {
			r.With(requireAuth).Method("GET", "/me/progress", handleProgress(log, d.Progress))
		}
		if d.Market != nil {
			r.With(requireAccount).Method("GET", "/me/wallet", handleWallet(log, d.Market))
			r.With(requireAccount).Method("GET", "/me/licences", handleLicences(log, d.MarketStore))
			r.With(requireRole(services.RoleAdmin)).Method("POST", "/admin/wallets/{playerId}/grants", handleGrant(log, d.Market))
			r.Method("GET", "/marketplace/listings", handleListings(log, d.Market))
			r.With(requireAccount).Method("POST", "/marketplace/listings", handleListingCreate(log, d.Market))
			r.Method("GET", "/marketplace/listings/{id}", handleListingGet(log, d.Market))
			r.With(requireAccount).Method("DELETE", "/marketplace/listings/{id}", handleListingDelete(log, d.Market))
			r.With(requireAccount).Method("POST", "/purchases", handlePurchaseCreate(log, d.Market))
			r.With(requireAccount).Method("GET", "/purchases/{id}", handlePurchaseGet(log, d.Market))
		}

		if d.Avatars != nil {
			r.Method("GET", "/uploads/limits", handleUploadLimits(d.Avatars))
			r.With(requireAccount).Method("POST", "/avatars/uploads", handleUploadCreate(log, d.Avatars, services.PurposeAvatar))
			r.With(requireAccount).Method("GET", "/avatars/uploads/{id}", handleUploadStatus(log, d.Avatars, services.PurposeAvatar))
			r.With(requireAccount).Method("POST", "/avatars/uploads/{id}/complete", handleUploadComplete(log, d.Avatars, services.PurposeAvatar))
			r.With(requireAccount).Method("POST", "/question-images/uploads", handleUploadCreate(log, d.Avatars, services.PurposeQuestionImage))
			r.With(requireAccount).Method("GET", "/question-images/uploads/{id}", handleUploadStatus(log, d.Avatars, services.PurposeQuestionImage))
			r.With(requireAccount).Method("POST", "/question-images/uploads/{id}/complete", handleUploadComplete(log, d.Avatars, services.PurposeQuestionImage))
		}
		if d.Moderation != nil {
			moderator := requireRole(services.RoleModerator, services.RoleAdmin)
			var chat moderation.Chat
			if d.Games != nil {
				chat = gameChat{d.Games}
			}
			r.With(moderator).Method("GET", "/moderation/cases", handleModerationCases(log, d.Moderation))
			r.With(moderator).Method("GET", "/moderation/cases/{id}", handleModerationCase(log, d.Moderation))
			r.With(moderator).Method("POST", "/moderation/cases/{id}/decision", handleModerationDecision(log, d.Moderation))
			r.With(moderator).Method("POST", "/moderation/cases/{id}/actions", handleModerationAction(log, d.Moderation, chat))
			r.With(moderator).Method("GET", "/moderation/audit", handleModerationAudit(log, d.Moderation))
			r.With(requireAccount).Method("POST", "/players/{id}/report", handlePlayerReport(log, d.Moderation))
			r.With(requireAuth).Method("POST", "/reports", handleReportCreate(log, d.Moderation, chat))
		}

		if d.Notify != nil {
			r.Method("GET", "/push/vapid-public-key", handleVAPIDPublicKey(d.Notify))
			r.With(requireAccount).Method("POST", "/push/subscriptions", handlePushSubscribe(log, d.Notify))
			r.With(requireAccount).Method("DELETE", "/push/subscriptions", handlePushUnsubscribe(log, d.Notify))
			r.With(requireAccount).Method("GET", "/notifications", handleNotifications(log, d.Notify))
			r.With(requireAccount).Method("POST", "/notifications/read-all", handleNotificationsReadAll(log, d.Notify))
			r.With(requireAccount).Method("POST", "/notifications/{id}/read", handleNotificationRead(log, d.Notify))
		}
	})

	if d.Blob != nil {
		r.Handle("/blob/*", d.Blob)
	}
	if d.PublicImages != nil {
		r.Handle("/avatars/*", d.PublicImages)
		r.Handle("/questions/*", d.PublicImages)
	}

	if d.Web != nil {
		r.Handle("/*", d.Web)
	}
	return r
}
