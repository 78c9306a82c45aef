package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/trivium-game/trivium/gateway"
	"github.com/trivium-game/trivium/moderation"
)

// Config is every setting of `trivium serve`, read from the options table (flags over
// environment over defaults) and checked once, before anything is opened.
type Config struct {
	Addr, PublicURL, CDNURL string
	AllowedOrigins          []string
	// Where the backing services are (opened by open in app.go from the same settings).
	Data, DB, Bus, Blob, PublicBlob, Secrets string
	UploadEvents                             string // empty: no object-created events
	Leaderboard                              string // memory or redis://…
	Roles                                    roles

	Moderation       string
	ModerationPolicy moderation.Policy
	ImageLimits      moderation.Limits
	ImageWorkers     int
	ImageStepBudget  time.Duration

	GameLog          bool
	GameLogRetention time.Duration
	MaxGamesPerHost  int
	GameLease        time.Duration

	MaxAttempts  int
	RetryBackoff []time.Duration

	LogLevel  slog.Level
	LogFormat string

	APIRate, AuthRate   float64
	APIBurst, AuthBurst int
	HashConcurrency     int // 0: one per core
	HashQueue           int
	HashWait            time.Duration
	WSPerAccount        int
	WSPerAddress        int
	FDReserve           int // 0: a tenth of the limit
	TrustProxy          gateway.TrustedProxies

	Seed             bool
	PushContact      string
	PushAllowPrivate bool
	PprofAddr        string // empty: off
	MetricsToken     string // empty: /metrics only on PprofAddr
	TextScreenFile   string // empty: the shipped text screen only
	ShutdownTimeout  time.Duration
}

// roles is the set of roles this process runs.
type roles map[string]bool

// on reports whether this process runs role.
func (r roles) on(role string) bool { return r["all"] || r[role] }

var knownRoles = map[string]bool{"all": true, "gateway": true, "api": true, "moderation": true, "notifier": true, "leaderboard": true}

// parseServe reads serve's flags and environment into a Config. The settings are returned as
// well for open (app.go), which opens the backing services the other commands share.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (*Config, settings, error) {
	s, _, err := parseSettings("serve", args, getenv, stderr)
	if err != nil {
		return nil, nil, err
	}
	c, err := configFrom(s)
	return c, s, err
}

// configFrom checks the settings and types them. Cross-field rules are checked here too, with
// messages that say how to fix them.
func configFrom(s settings) (*Config, error) {
	c := &Config{
		Addr: s["addr"], PublicURL: s["public-url"], CDNURL: s["cdn-url"], AllowedOrigins: s.list("allowed-origins"),
		Data: s["data"], DB: s["db"], Bus: s["bus"], Blob: s["blob"], PublicBlob: s["public-blob"],
		Secrets: s["secrets"], UploadEvents: s["upload-events"], Leaderboard: s["leaderboard"], Moderation: s["moderation"],
		LogFormat: s["log-format"], Seed: s.bool("seed"), PushContact: s["push-contact"],
		PushAllowPrivate: s.bool("push-allow-private"), PprofAddr: s["pprof-addr"], MetricsToken: s["metrics-token"],
		GameLog: s.bool("game-log"), TextScreenFile: s["text-screen-file"],
	}
	var err error
	if c.LogLevel, err = logLevel(s); err != nil {
		return nil, err
	}
	if c.Roles, err = parseRoles(s.list("roles")); err != nil {
		return nil, err
	}
	if c.Leaderboard == "memory" && c.Roles.on("api") && !c.Roles.on("leaderboard") {
		// The in-memory boards are fed by this process's own consumer; an API process without
		// it would serve boards that never change.
		return nil, fmt.Errorf("TRIVIUM_LEADERBOARD=memory needs the leaderboard role in every process that serves the API: add it to TRIVIUM_ROLES or use TRIVIUM_LEADERBOARD=redis://…")
	}
	var err1, err2 error
	c.APIRate, err1 = strconv.ParseFloat(s["api-rate"], 64)
	c.APIBurst, err2 = strconv.Atoi(s["api-burst"])
	if err1 != nil || err2 != nil || c.APIRate <= 0 || c.APIBurst <= 0 {
		return nil, fmt.Errorf("TRIVIUM_API_RATE and TRIVIUM_API_BURST must be positive numbers")
	}
	c.AuthRate, err1 = strconv.ParseFloat(s["auth-rate"], 64)
	c.AuthBurst, err2 = strconv.Atoi(s["auth-burst"])
	if err1 != nil || err2 != nil || c.AuthRate <= 0 || c.AuthBurst <= 0 {
		return nil, fmt.Errorf("TRIVIUM_AUTH_RATE and TRIVIUM_AUTH_BURST must be positive numbers")
	}
	for _, n := range []struct {
		key    string
		zeroOK bool
		to     *int
	}{
		{"ws-per-account", false, &c.WSPerAccount}, {"ws-per-address", false, &c.WSPerAddress}, {"hash-queue", false, &c.HashQueue},
		{"hash-concurrency", true, &c.HashConcurrency}, {"fd-reserve", true, &c.FDReserve},
	} {
		v, err := s.ints(n.zeroOK, n.key)
		if err != nil {
			return nil, err
		}
		*n.to = v[n.key]
	}
	if c.HashWait, err = time.ParseDuration(s["hash-wait"]); err != nil || c.HashWait <= 0 {
		return nil, fmt.Errorf("TRIVIUM_HASH_WAIT %q: want a duration such as 2s", s["hash-wait"])
	}
	if c.TrustProxy, err = gateway.ParseTrustedProxies(s["trust-proxy"]); err != nil {
		return nil, err
	}
	if c.ShutdownTimeout, err = time.ParseDuration(s["shutdown-timeout"]); err != nil {
		return nil, fmt.Errorf("TRIVIUM_SHUTDOWN_TIMEOUT: %w", err)
	}
	if c.MaxGamesPerHost, err = strconv.Atoi(s["max-games-per-host"]); err != nil || c.MaxGamesPerHost < 1 {
		return nil, fmt.Errorf("TRIVIUM_MAX_GAMES_PER_HOST must be a positive number")
	}
	if c.GameLogRetention, err = time.ParseDuration(s["game-log-retention"]); err != nil || c.GameLogRetention < time.Hour {
		return nil, fmt.Errorf("TRIVIUM_GAME_LOG_RETENTION must be a duration of at least 1h (e.g. 168h)")
	}
	if c.GameLease, err = time.ParseDuration(s["game-lease"]); err != nil || c.GameLease < time.Second {
		return nil, fmt.Errorf("TRIVIUM_GAME_LEASE must be a duration of at least 1s (e.g. 10s)")
	}
	if !c.GameLog && c.clustered() && c.Roles.on("gateway") {
		return nil, fmt.Errorf("TRIVIUM_GAME_LOG=0 with TRIVIUM_BUS=nats://…: gateways spread games over nodes through the game log; keep TRIVIUM_GAME_LOG=1")
	}
	if c.ImageLimits, c.ImageWorkers, c.ImageStepBudget, err = s.imagePolicy(); err != nil {
		return nil, err
	}
	if c.ModerationPolicy, err = moderationPolicy(s); err != nil {
		return nil, err
	}
	if c.MaxAttempts, c.RetryBackoff, err = s.retryPolicy(); err != nil {
		return nil, err
	}
	if c.PushContact, err = pushContact(c.PushContact); err != nil {
		return nil, err
	}
	return c, nil
}

// clustered reports whether gateways share an external NATS server (and so may share games).
func (c *Config) clustered() bool { return strings.HasPrefix(c.Bus, "nats://") }

func parseRoles(list []string) (roles, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("TRIVIUM_ROLES is empty: use all, or some of gateway,api,moderation,notifier,leaderboard")
	}
	r := roles{}
	for _, v := range list {
		if !knownRoles[v] {
			return nil, fmt.Errorf("TRIVIUM_ROLES: unknown role %q (use all, or some of gateway,api,moderation,notifier,leaderboard)", v)
		}
		r[v] = true
	}
	return r, nil
}
