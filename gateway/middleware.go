package gateway

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/time/rate"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxIdentity
)

func requestID(ctx context.Context) string {
	s, _ := ctx.Value(ctxRequestID).(string)
	return s
}

// withRequestID tags each request with an id (kept from X-Request-Id when sane) for logs.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxRequestID, id)))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack hands the connection to the WebSocket upgrader, which asserts http.Hijacker directly.
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.status = http.StatusSwitchingProtocols
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// withObservability logs, measures and recovers: a panic becomes a 500 problem, not a dead connection.
func withObservability(log *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.Error("panic", "path", r.URL.Path, "request_id", requestID(r.Context()), "panic", v)
					if sw.status == 0 {
						writeProblem(sw, http.StatusInternalServerError, services.EInternal, "internal error", nil)
					}
				}
				route := chi.RouteContext(r.Context()).RoutePattern()
				if route == "" {
					route = "unmatched"
				}
				status := sw.status
				if status == 0 {
					status = http.StatusOK
				}
				m.httpDuration.WithLabelValues(r.Method, route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
				log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", status,
					"ms", time.Since(start).Milliseconds(), "request_id", requestID(r.Context()))
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// withCORS answers for exactly the allowed origins; a foreign origin gets no CORS headers at all.
// Preflights need no auth.
func withCORS(allowed map[string]bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			w.Header().Add("Vary", "Origin")
			ok := origin != "" && allowed[origin]
			if ok {
				h := w.Header()
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Expose-Headers", "ETag, Retry-After, X-Request-Id, Location")
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				if ok {
					h := w.Header()
					h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
					h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-None-Match, X-Request-Id")
					h.Set("Access-Control-Max-Age", "600")
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// withNoStore makes per-user answers uncacheable unless a handler says otherwise.
func withNoStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, no-store")
		next.ServeHTTP(w, r)
	})
}

// ipLimiter is a per-client token bucket with a bounded table.
type ipLimiter struct {
	mu     sync.Mutex
	rate   rate.Limit
	burst  int
	bucket map[string]*rate.Limiter
}

func newIPLimiter(perSec float64, burst int) *ipLimiter {
	return &ipLimiter{rate: rate.Limit(perSec), burst: burst, bucket: map[string]*rate.Limiter{}}
}

func (l *ipLimiter) allow(ip string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.bucket[ip]
	if !ok {
		if len(l.bucket) >= 50_000 {
			// Full tables start over rather than grow without bound; briefly lenient, never unbounded.
			l.bucket = map[string]*rate.Limiter{}
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.bucket[ip] = b
	}
	if b.Allow() {
		return true, 0
	}
	return false, time.Duration(float64(time.Second) / float64(l.rate))
}

// withRateLimit refuses requests over a per-address token bucket with 429 and Retry-After.
func withRateLimit(l *ipLimiter, proxies TrustedProxies) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ok, wait := l.allow(addressKey(clientIP(r, proxies))); !ok {
				retryAfter(w, wait)
				writeProblem(w, http.StatusTooManyRequests, services.ERateLimited, "too many requests", nil)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// bearer extracts the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// withAuth resolves the bearer token when present; requireAuth refuses requests without one.
func withAuth(log *slog.Logger, acc *accounts.Service) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok := bearer(r)
			if tok == "" {
				next.ServeHTTP(w, r)
				return
			}
			id, err := acc.Authenticate(r.Context(), tok)
			if err != nil {
				fail(log, w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxIdentity, id)))
		})
	}
}

func identity(r *http.Request) *accounts.Identity {
	id, _ := r.Context().Value(ctxIdentity).(*accounts.Identity)
	return id
}

func viewer(r *http.Request) *services.Player {
	if id := identity(r); id != nil {
		return id.Player
	}
	return nil
}

func requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if identity(r) == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trivium"`)
			writeProblem(w, http.StatusUnauthorized, services.EUnauthenticated, "sign in or join as a guest first", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAccount refuses guests: they can join and play games, nothing else.
func requireAccount(next http.Handler) http.Handler {
	return requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if identity(r).Player.Guest {
			writeProblem(w, http.StatusForbidden, services.EForbidden, "guests cannot do this; register an account", nil)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

func requireRole(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			role := identity(r).Player.Role
			for _, want := range roles {
				if role == want {
					next.ServeHTTP(w, r)
					return
				}
			}
			writeProblem(w, http.StatusForbidden, services.EForbidden, "this needs the "+roles[0]+" role", nil)
		}))
	}
}
