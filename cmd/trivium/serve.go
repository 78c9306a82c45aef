package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/trivium-game/trivium/gateway"
	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/market"
	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/moderation/textscreen"
	"github.com/trivium-game/trivium/progression"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
	"github.com/trivium-game/trivium/services/gamecluster"
	"github.com/trivium-game/trivium/services/gamelog"
	"github.com/trivium-game/trivium/services/games"
	"github.com/trivium-game/trivium/services/outbox"
	"github.com/trivium-game/trivium/services/quizzes"
	"github.com/trivium-game/trivium/services/secrets"
	"github.com/trivium-game/trivium/web"
)

// serve runs the server: settings, listener and backing services, the service graph, then its
// components started in order and stopped in reverse.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	started := time.Now()
	cfg, s, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	ln, fds, err := listen(cfg, log)
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String() // the port picked for :0
	}
	a, err := open(ctx, s, log, needServe)
	if err != nil {
		return err
	}
	defer a.close()
	g, err := build(ctx, cfg, a, fds)
	if err != nil {
		return err
	}

	failed := make(chan error, 1)
	parts := []component{
		g.admin(cfg.PprofAddr),
		worker(log, "outbox", func(ctx context.Context) error { g.relay.Run(ctx); return nil }),
		subscription("board-profiles", func() (func(), error) { return g.boards.ForgetChangedProfiles(g.pubsub) }),
		// A player suspended on any process is refused here at once, not after the cache's TTL.
		subscription("player-cache", func() (func(), error) { return gateway.OnSuspension(g.pubsub, a.db.ForgetPlayer) }),
	}
	if cfg.Roles.on("api") {
		// The API role owns the economy: it starts purchases and serves wallets, so it runs the
		// purchase saga and credits results too (durable consumers share work across processes).
		parts = append(parts, worker(log, "purchases", g.market.Run), worker(log, "progression", g.consume(progression.ConsumerName, progression.Subjects, g.progress.Handle)))
	}
	if cfg.Roles.on("leaderboard") {
		parts = append(parts, worker(log, "leaderboard", g.consume("leaderboard", []string{services.SubjectScoreRecorded}, g.boards.HandleScore)))
	}
	if cfg.Roles.on("notifier") {
		parts = append(parts, worker(log, "notifier", func(ctx context.Context) error { return g.push.run(ctx, g.bus) }))
	}
	if cfg.Roles.on("moderation") {
		parts = append(parts, worker(log, "moderation", g.avatars.workflow.Run))
		if cfg.UploadEvents != "" {
			parts = append(parts, worker(log, "upload-events", func(ctx context.Context) error { return runUploadEvents(ctx, a, cfg.UploadEvents, g.avatars.uploads) }))
		}
	}
	parts = append(parts, g.gamesComponent(), httpServer(g.http, ln, failed))
	if cfg.Roles.on("gateway") {
		parts = append(parts, subscription("gateway-fanout", func() (func(), error) { return g.gateway.ListenFanout(g.pubsub) }))
	}
	parts = append(parts, component{name: "websockets", stop: func(ctx context.Context) error { g.gateway.Shutdown(ctx); return nil }})

	return runComponents(ctx, log, cfg.ShutdownTimeout, failed, func() {
		log.Info("trivium ready", "url", g.publicURL, "ready_ms", time.Since(started).Milliseconds(), "version", version)
		fmt.Fprintf(stdout, "Trivium is up: open %s/\n", g.publicURL)
	}, parts...)
}

// listen opens the public address, behind the descriptor guard where the OS has a limit.
func listen(cfg *Config, log *slog.Logger) (net.Listener, *gateway.FDGuard, error) {
	var fds *gateway.FDGuard
	if limit, err := raiseFDLimit(); err == nil {
		fds = gateway.NewFDGuard(limit, cfg.FDReserve)
		log.Info("descriptor limit", "limit", limit, "reserve", fds.Reserve())
	} else {
		log.Warn("no descriptor limit to guard", "err", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	if fds != nil {
		ln = fds.Listener(ln)
	}
	return ln, fds, nil
}

// graph is the services of one serve process, built in dependency order.
type graph struct {
	publicURL string
	log       *slog.Logger
	reg       *prometheus.Registry
	bus       services.Bus    // the durable bus, instrumented
	pubsub    services.PubSub // fan-out between processes on the bus's NATS server
	attempts  int
	backoff   []time.Duration
	relay     *outbox.Relay
	games     *games.Manager
	journal   *gamelog.Log         // nil without the game log
	cluster   *gamecluster.Cluster // nil on one node
	boards    *leaderboard.Service
	push      *pushing
	avatars   *avatarPipeline
	market    *market.Service
	progress  *progression.Service
	gateway   *gateway.Server
	http      *http.Server
}

func build(ctx context.Context, cfg *Config, a *app, fds *gateway.FDGuard) (*graph, error) {
	g := &graph{publicURL: cfg.PublicURL, log: a.log, reg: prometheus.NewRegistry(), pubsub: a.bus.PubSub(),
		attempts: cfg.MaxAttempts, backoff: cfg.RetryBackoff}
	cdn := cfg.CDNURL
	if cdn == "" {
		cdn = g.publicURL
	}
	log := a.log
	tokenKey, _, err := secrets.LoadOrCreateKey(ctx, a.secrets, "token-key", 32)
	if err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	g.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	metrics := gateway.NewMetrics(g.reg)
	g.bus = metrics.InstrumentBus(a.bus)
	g.relay = outbox.New(a.db, g.bus, log)
	if g.journal, err = openGameLog(ctx, cfg, a); err != nil {
		return nil, err
	}
	if g.cluster, g.games, err = openGames(ctx, cfg, a, g.journal, games.ManagerConfig{Results: gameResults{store: a.db, relay: g.relay},
		Logger: log, MaxGamesPerHost: cfg.MaxGamesPerHost}); err != nil {
		return nil, err
	}
	gateway.RegisterGamesActive(g.reg, g.games.Active)

	// Authenticating a request reads its player (a suspension must bite); cached for as long as
	// the session itself, so a request costs no query. This process's writes clear it at once.
	a.db.CachePlayers(accounts.DefaultCacheTTL)
	acc, err := accounts.New(accounts.Config{Store: a.db, TokenKey: tokenKey,
		HashConcurrency: cfg.HashConcurrency, HashQueue: cfg.HashQueue, HashWait: cfg.HashWait})
	if err != nil {
		return nil, err
	}
	screen, err := textscreen.Load(cfg.TextScreenFile)
	if err != nil {
		return nil, fmt.Errorf("TRIVIUM_TEXT_SCREEN_FILE: %w", err)
	}
	text := &moderation.TextGuard{Screen: screen, Cases: a.db, Players: a.db}
	if g.avatars, err = openAvatars(ctx, cfg, a, g.bus, g.publicURL, cdn, gateway.AnnounceSuspension(g.pubsub, log), g.relay.Kick); err != nil {
		return nil, err
	}
	qs := &quizzes.Service{Quizzes: a.db, Plays: &kickingPlays{a.db, g.relay}, Now: time.Now, Licences: a.db, Hosts: a.db, Screen: text,
		Images: g.avatars.uploads}
	if cfg.Seed {
		if err := seed(ctx, a.db, qs); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	if g.boards, err = openLeaderboard(ctx, a, cfg.Leaderboard, cdn); err != nil {
		return nil, err
	}
	if g.push, err = openNotify(ctx, cfg, a, cdn, gateway.SendToPlayerEverywhere(g.pubsub, log)); err != nil {
		return nil, err
	}
	if g.market, err = market.New(market.Config{Store: a.db, Quizzes: a.db, Bus: g.bus, Ledger: a.db, Players: a.db, Logger: log,
		Kick: g.relay.Kick, MaxDeliver: cfg.MaxAttempts, Backoff: cfg.RetryBackoff}); err != nil {
		return nil, err
	}
	g.progress = &progression.Service{Store: a.db, Logger: log}

	g.gateway = gateway.NewServer(gateway.Config{
		APIRate: cfg.APIRate, APIBurst: cfg.APIBurst, AuthRate: cfg.AuthRate, AuthBurst: cfg.AuthBurst,
		PublicURL: g.publicURL, AllowedOrigins: cfg.AllowedOrigins, CDNURL: cfg.CDNURL,
		Proxies: cfg.TrustProxy, MetricsToken: cfg.MetricsToken, FDs: fds,
		WS: gateway.WSConfig{CDNURL: cfg.CDNURL, PerAccount: cfg.WSPerAccount, PerAddress: cfg.WSPerAddress},
	}, gateway.Deps{
		Logger: log, Registry: g.reg, Metrics: metrics, Bus: g.bus, Accounts: acc, Players: a.db, Quizzes: qs, Games: g.games,
		Leaderboards: g.boards, ProfileChanged: leaderboard.AnnounceProfileChange(g.pubsub, log),
		Progress: a.db, Reports: a.db, Market: g.market, MarketStore: a.db,
		Avatars: g.avatars.uploads, Moderation: g.avatars.workflow, Text: text, Blob: g.avatars.blob, PublicImages: g.avatars.public,
		Web: web.Handler(services.DefaultUploadLimits()), Notify: g.push.service,
		OnLogout: []gateway.LogoutHook{gateway.PushLogoutHook(log, g.push.service), gateway.AnnounceLogout(g.pubsub, log)},
		Ready: func(ctx context.Context) error {
			if err := a.db.Ping(ctx); err != nil {
				return fmt.Errorf("database: %w", err)
			}
			if err := a.bus.Ready(ctx); err != nil {
				return fmt.Errorf("bus: %w", err)
			}
			return nil
		},
	})
	g.http = &http.Server{Handler: g.gateway, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: 32 << 10}
	return g, nil
}

// consume runs a durable consumer of subjects with the retry policy.
func (g *graph) consume(name string, subjects []string, h services.Handler) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		return g.bus.Consume(ctx, services.ConsumerConfig{Name: name, Subjects: subjects, MaxDeliver: g.attempts, Backoff: g.backoff}, h)
	}
}

// gamesComponent brings games back at start and hands them on at stop: in a cluster the node
// joins the others (the next node a player reaches takes a game over when its owner is gone);
// on one node it owns every game in the log.
func (g *graph) gamesComponent() component {
	return component{name: "games",
		start: func(ctx context.Context) error {
			if g.cluster != nil {
				return nil
			}
			if g.journal == nil {
				return nil
			}
			t := time.Now()
			n, err := g.games.Recover(ctx)
			if err != nil {
				g.log.Error("some games could not be restored", "err", err)
			}
			g.log.Info("games restored from the game log", "games", n, "ms", time.Since(t).Milliseconds())
			return nil
		},
		stop: func(ctx context.Context) error {
			closeGameCluster(ctx, g.cluster, g.log)
			return g.games.Close(ctx)
		},
	}
}

// admin serves pprof and /metrics on addr (TRIVIUM_PPROF_ADDR); nothing when addr is empty.
func (g *graph) admin(addr string) component {
	var stop func()
	return component{name: "admin",
		start: func(context.Context) (err error) {
			if addr != "" {
				stop, err = servePprof(addr, g.reg, g.log)
			}
			return err
		},
		stop: func(context.Context) error {
			if stop != nil {
				stop()
			}
			return nil
		},
	}
}

// gameResults records finished games with their events and wakes the outbox relay.
type gameResults struct {
	store services.GameStore
	relay *outbox.Relay
}

func (g gameResults) GameFinished(ctx context.Context, r services.GameFinished) error {
	if err := g.store.RecordGame(ctx, r); err != nil {
		return err
	}
	g.relay.Kick()
	return nil
}

// kickingPlays wakes the relay when a single-player run finishes so its score leaves promptly.
type kickingPlays struct {
	services.PlayStore
	relay *outbox.Relay
}

func (k *kickingPlays) AdvancePlay(ctx context.Context, p *services.Play, from int, done *services.ScoreRecorded) error {
	err := k.PlayStore.AdvancePlay(ctx, p, from, done)
	if err == nil && done != nil {
		k.relay.Kick()
	}
	return err
}
