// Package gateway is Trivium's edge: the HTTP API, its middleware and the WebSocket endpoint.
// Every route is in routes.go; handlers are makers that take exactly the dependencies they use.
package gateway

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/market"
	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
	"github.com/trivium-game/trivium/services/avatars"
	"github.com/trivium-game/trivium/services/games"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/quizzes"
)

// Config holds the gateway's settings; zero values take the named defaults.
type Config struct {
	PublicURL      string         // this server's own origin, e.g. http://127.0.0.1:8080
	AllowedOrigins []string       // CORS and WebSocket origins; default: PublicURL
	CDNURL         string         // base URL of public images; default: PublicURL
	Proxies        TrustedProxies // whose X-Forwarded-For hops to believe; zero: none
	APIRate        float64        // requests per second per client address; DefaultAPIRate
	APIBurst       int            // DefaultAPIBurst
	// AuthRate and AuthBurst limit /api/v1/auth/* per client address on top of the API limit:
	// each register or login costs a password hash. DefaultAuthRate, DefaultAuthBurst.
	AuthRate  float64
	AuthBurst int
	// MetricsToken, when set, serves /metrics on this handler to requests with
	// "Authorization: Bearer <MetricsToken>"; empty leaves /metrics off the public listener
	// (it is served on the admin address, see MetricsHandler).
	MetricsToken string
	// FDs keeps descriptors in reserve: WebSocket upgrades stop before the limit. nil: off.
	FDs *FDGuard
	WS  WSConfig
}

// Defaults.
const (
	DefaultAPIRate  = 50
	DefaultAPIBurst = 200
	// A class of 30 signing in at once fits the burst; a flood from one address gets one hash
	// a second.
	DefaultAuthRate  = 1
	DefaultAuthBurst = 30
)

// Deps are the services the gateway serves.
type Deps struct {
	Logger   *slog.Logger
	Registry *prometheus.Registry
	Metrics  *Metrics
	Accounts *accounts.Service
	Players  services.PlayerStore
	Quizzes  *quizzes.Service
	Games    *games.Manager
	// Bus serves the operators' dead-letter endpoints.
	Bus services.Bus
	// Leaderboards serves board reads (the leaderboard role consumes scores into it).
	Leaderboards *leaderboard.Service
	Web          http.Handler                    // the embedded browser client
	Ready        func(ctx context.Context) error // storage, bus and workers
	OnLogout     []LogoutHook                    // run after a token is revoked
	// ProfileChanged is told when a player renames, so caches of names (boards) drop them.
	ProfileChanged func(playerID string)

	// Progress serves XP and levels (GET /me/progress, the level on profiles); nil leaves the
	// route out and shows every profile at level 1.
	Progress services.ProgressStore
	// Market serves wallets, admin grants, listings and purchases; MarketStore the licences. Nil
	// leaves those routes out.
	Market      *market.Service
	MarketStore services.MarketStore

	// Notify serves push subscriptions and the notifications inbox; nil leaves those routes out.
	Notify *notify.Service

	// Avatars serves upload intents and their status; nil leaves those routes out.
	Avatars *avatars.Service
	// Moderation serves review cases and player reports; nil leaves those routes out.
	Moderation *moderation.Workflow
	// Text screens display names and chat (quiz text is screened by the quizzes service); nil
	// screens nothing.
	Text *moderation.TextGuard
	// Blob serves the local blob store's presigned URLs at /blob/ (path kept); nil with S3.
	Blob http.Handler
	// PublicImages serves published avatars at /avatars/ (path kept: /avatars/x is key
	// public/avatars/x); nil when a CDN or S3 serves them.
	PublicImages http.Handler
}

// Server is the gateway's HTTP handler plus what shutdown needs.
type Server struct {
	http.Handler
	hub *hub
}

// NewServer builds the handler.
func NewServer(cfg Config, d Deps) *Server {
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if len(cfg.AllowedOrigins) == 0 {
		cfg.AllowedOrigins = []string{cfg.PublicURL}
	}
	if cfg.CDNURL == "" {
		cfg.CDNURL = cfg.PublicURL
	}
	if cfg.APIRate == 0 {
		cfg.APIRate = DefaultAPIRate
	}
	if cfg.APIBurst == 0 {
		cfg.APIBurst = DefaultAPIBurst
	}
	if cfg.AuthRate == 0 {
		cfg.AuthRate = DefaultAuthRate
	}
	if cfg.AuthBurst == 0 {
		cfg.AuthBurst = DefaultAuthBurst
	}
	cfg.WS.fill()
	h := newHub(cfg.WS, d.Logger, d.Metrics, cfg.FDs)
	if d.Text != nil {
		h.screenChat = d.Text.ScreenChat
	}
	return &Server{Handler: routes(cfg, d, h), hub: h}
}

// ClosePlayer closes this process's sockets of a player (a moderator suspended them).
func (s *Server) ClosePlayer(playerID string) int { return s.hub.closePlayer(playerID) }

// MetricsHandler serves the Prometheus registry (for the admin listener).
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// handleMetrics serves /metrics on the public listener to the bearer of the metrics token only;
// without a token it does not exist there.
func handleMetrics(reg *prometheus.Registry, token string) http.Handler {
	h := MetricsHandler(reg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			writeProblem(w, http.StatusNotFound, services.ENotFound, "no such resource", nil)
			return
		}
		if subtle.ConstantTimeCompare([]byte(bearer(r)), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trivium-metrics"`)
			writeProblem(w, http.StatusUnauthorized, services.EUnauthenticated, "the metrics token is required", nil)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// SendToPlayer mirrors a frame to every open WebSocket of a player without blocking; it returns
// how many connections took it.
func (s *Server) SendToPlayer(playerID string, frame []byte) int {
	return s.hub.SendToPlayer(playerID, frame)
}

// Shutdown closes every WebSocket with a going-away frame and waits for their writers.
func (s *Server) Shutdown(ctx context.Context) { s.hub.shutdown(ctx) }

func originSet(origins []string) map[string]bool {
	m := make(map[string]bool, len(origins))
	for _, o := range origins {
		m[strings.TrimSuffix(strings.TrimSpace(o), "/")] = true
	}
	return m
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func handleReadyz(ready func(ctx context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			writeProblem(w, http.StatusServiceUnavailable, services.EUnavailable, "not ready: "+err.Error(), nil)
			return
		}
		encode(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}
