package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/trivium-game/trivium/gateway"
	"github.com/trivium-game/trivium/market"
	"github.com/trivium-game/trivium/progression"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
	"github.com/trivium-game/trivium/services/games"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/outbox"
	"github.com/trivium-game/trivium/services/quizzes"
	"github.com/trivium-game/trivium/services/secrets"
	"github.com/trivium-game/trivium/web"
)

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

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	started := time.Now()
	s, _, err := parseSettings("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(s, stderr)
	if err != nil {
		return err
	}
	if err := checkRoles(s); err != nil {
		return err
	}
	if s["leaderboard"] == "memory" && roleOn(s, "api") && !roleOn(s, "leaderboard") {
		// The in-memory boards are fed by this process's own consumer; an API process without
		// it would serve boards that never change.
		return fmt.Errorf("TRIVIUM_LEADERBOARD=memory needs the leaderboard role in every process that serves the API: add it to TRIVIUM_ROLES or use TRIVIUM_LEADERBOARD=redis://…")
	}
	apiRate, err1 := strconv.ParseFloat(s["api-rate"], 64)
	apiBurst, err2 := strconv.Atoi(s["api-burst"])
	if err1 != nil || err2 != nil || apiRate <= 0 || apiBurst <= 0 {
		return fmt.Errorf("TRIVIUM_API_RATE and TRIVIUM_API_BURST must be positive numbers")
	}
	authRate, err1 := strconv.ParseFloat(s["auth-rate"], 64)
	authBurst, err2 := strconv.Atoi(s["auth-burst"])
	if err1 != nil || err2 != nil || authRate <= 0 || authBurst <= 0 {
		return fmt.Errorf("TRIVIUM_AUTH_RATE and TRIVIUM_AUTH_BURST must be positive numbers")
	}
	counts, err := s.ints(false, "ws-per-account", "ws-per-address", "hash-queue")
	if err != nil {
		return err
	}
	zeroOK, err := s.ints(true, "hash-concurrency", "fd-reserve")
	if err != nil {
		return err
	}
	hashWait, err := time.ParseDuration(s["hash-wait"])
	if err != nil || hashWait <= 0 {
		return fmt.Errorf("TRIVIUM_HASH_WAIT %q: want a duration such as 2s", s["hash-wait"])
	}
	proxies, err := gateway.ParseTrustedProxies(s["trust-proxy"])
	if err != nil {
		return err
	}
	shutdownTimeout, err := time.ParseDuration(s["shutdown-timeout"])
	if err != nil {
		return fmt.Errorf("TRIVIUM_SHUTDOWN_TIMEOUT: %w", err)
	}
	var fds *gateway.FDGuard
	if limit, err := raiseFDLimit(); err == nil {
		fds = gateway.NewFDGuard(limit, zeroOK["fd-reserve"])
		log.Info("descriptor limit", "limit", limit, "reserve", fds.Reserve())
	} else {
		log.Warn("no descriptor limit to guard", "err", err)
	}
	ln, err := net.Listen("tcp", s["addr"])
	if err != nil {
		return fmt.Errorf("listen %s: %w", s["addr"], err)
	}
	defer ln.Close()
	if fds != nil {
		ln = fds.Listener(ln)
	}
	publicURL := s["public-url"]
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}

	a, err := open(ctx, s, log, needServe)
	if err != nil {
		return err
	}
	defer a.close()
	tokenKey, _, err := secrets.LoadOrCreateKey(ctx, a.secrets, "token-key", 32)
	if err != nil {
		return fmt.Errorf("token key: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	relay := outbox.New(a.db, a.bus, log)
	glog, err := openGameLog(ctx, s, a, log)
	if err != nil {
		return err
	}
	if glog != nil {
		defer glog.Close()
	}
	gcl, err := openGameCluster(ctx, s, a, glog, log)
	if err != nil {
		return err
	}
	perHost, err := strconv.Atoi(s["max-games-per-host"])
	if err != nil || perHost < 1 {
		return fmt.Errorf("TRIVIUM_MAX_GAMES_PER_HOST must be a positive number")
	}
	gm := games.NewManager(games.ManagerConfig{Results: gameResults{store: a.db, relay: relay}, Logger: log, MaxGamesPerHost: perHost,
		Cluster: managerCluster(gcl), Journal: managerJournal(glog)})
	if gcl != nil {
		gcl.Attach(gm)
	} else if glog != nil {
		// One node: it owns every game in the log. (In a cluster the next node a player reaches
		// takes a game over when its owner is gone.)
		t := time.Now()
		n, err := gm.Recover(ctx)
		if err != nil {
			log.Error("some games could not be restored", "err", err)
		}
		log.Info("games restored from the game log", "games", n, "ms", time.Since(t).Milliseconds())
	}
	metrics := gateway.NewMetrics(reg, gm.Active)
	bus := metrics.InstrumentBus(a.bus)
	relay.Bus = bus

	acc, err := accounts.New(accounts.Config{Store: a.db, TokenKey: tokenKey,
		HashConcurrency: zeroOK["hash-concurrency"], HashQueue: counts["hash-queue"], HashWait: hashWait})
	if err != nil {
		return err
	}
	qs := &quizzes.Service{Quizzes: a.db, Plays: &kickingPlays{a.db, relay}, Now: time.Now, Licences: a.db, Hosts: a.db}
	if s.bool("seed") {
		if err := seed(ctx, a.db, qs); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}

	cdn := s["cdn-url"]
	if cdn == "" {
		cdn = publicURL
	}
	lb, err := openLeaderboard(ctx, a, func() string { return cdn })
	if err != nil {
		return err
	}
	push, err := openNotify(ctx, a)
	if err != nil {
		return err
	}
	av, err := openAvatars(ctx, a, bus, publicURL, cdn, relay.Kick)
	if err != nil {
		return err
	}

	attempts, backoff, err := s.retryPolicy()
	if err != nil {
		return err
	}
	mk, err := market.New(market.Config{Store: a.db, Quizzes: a.db, Bus: bus, Ledger: a.db, Players: a.db, Logger: log,
		Kick: relay.Kick, MaxDeliver: attempts, Backoff: backoff})
	if err != nil {
		return err
	}
	prog := &progression.Service{Store: a.db, Logger: log}

	if addr := s["pprof-addr"]; addr != "" {
		stopPprof, err := servePprof(addr, reg, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	workers, stopWorkers := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// spawn runs a background worker until shutdown.
	spawn := func(name string, fn func(ctx context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(workers); err != nil && workers.Err() == nil {
				log.Error("worker stopped", "worker", name, "err", err)
			}
		}()
	}
	spawn("outbox", func(ctx context.Context) error { relay.Run(ctx); return nil })
	spawn("board-profiles", func(ctx context.Context) error { return forgetChangedProfiles(ctx, a.bus, lb) })
	if roleOn(s, "api") {
		// The API role owns the economy: it starts purchases and serves wallets, so it runs the
		// purchase saga and credits results too (durable consumers share work across processes).
		spawn("purchases", mk.Run)
		spawn("progression", func(ctx context.Context) error {
			return bus.Consume(ctx, services.ConsumerConfig{Name: progression.ConsumerName, Subjects: progression.Subjects,
				MaxDeliver: attempts, Backoff: backoff}, prog.Handle)
		})
	}
	if roleOn(s, "leaderboard") {
		spawn("leaderboard", func(ctx context.Context) error {
			return bus.Consume(ctx, services.ConsumerConfig{Name: "leaderboard", Subjects: []string{services.SubjectScoreRecorded},
				MaxDeliver: attempts, Backoff: backoff}, lb.HandleScore)
		})
	}
	if roleOn(s, "notifier") {
		spawn("notifier", func(ctx context.Context) error { return push.run(ctx, bus) })
	}
	if roleOn(s, "moderation") {
		spawn("moderation", av.workflow.Run)
		if s["upload-events"] != "" {
			spawn("upload-events", func(ctx context.Context) error { return runUploadEvents(ctx, a, av.uploads) })
		}
	}

	srv := gateway.NewServer(gateway.Config{
		APIRate: apiRate, APIBurst: apiBurst, AuthRate: authRate, AuthBurst: authBurst,
		PublicURL: publicURL, AllowedOrigins: s.list("allowed-origins"), CDNURL: s["cdn-url"],
		Proxies: proxies, MetricsToken: s["metrics-token"], FDs: fds,
		WS: gateway.WSConfig{CDNURL: s["cdn-url"], PerAccount: counts["ws-per-account"], PerAddress: counts["ws-per-address"]},
	}, gateway.Deps{
		Logger: log, Registry: reg, Metrics: metrics, Bus: bus, Accounts: acc, Players: a.db, Quizzes: qs, Games: gm, Leaderboards: lb,
		ProfileChanged: announceProfileChange(a.bus, log),
		Progress:       a.db, Market: mk, MarketStore: a.db,
		Avatars: av.uploads, Moderation: av.workflow, Blob: av.blob, PublicImages: av.public,
		Web: web.Handler(), Notify: push.service,
		OnLogout: []gateway.LogoutHook{gateway.PushLogoutHook(log, push.service), announceLogout(a.bus, log)},
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
	push.mirrorTo(srv.SendToPlayer)
	if roleOn(s, "gateway") {
		spawn("inband-relay", func(ctx context.Context) error { return push.relayInband(ctx, a.bus, srv.SendToPlayer) })
		spawn("session-revocations", func(ctx context.Context) error { return closeRevokedSessions(ctx, a.bus, srv) })
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: 32 << 10, ErrorLog: nil}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("trivium ready", "url", publicURL, "ready_ms", time.Since(started).Milliseconds(), "version", version)
	fmt.Fprintf(stdout, "Trivium is up: open %s/\n", publicURL)

	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	// A fresh context: the one that told us to stop is already cancelled.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	log.Info("shutting down")
	srv.Shutdown(sctx)
	closeGameCluster(sctx, gcl, log)
	if cerr := gm.Close(sctx); cerr != nil {
		log.Warn("games close", "err", cerr)
	}
	if serr := hs.Shutdown(sctx); serr != nil {
		log.Warn("http shutdown", "err", serr)
	}
	stopWorkers()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

var knownRoles = map[string]bool{"all": true, "gateway": true, "api": true, "moderation": true, "notifier": true, "leaderboard": true}

func checkRoles(s settings) error {
	if len(s.list("roles")) == 0 {
		return fmt.Errorf("TRIVIUM_ROLES is empty: use all, or some of gateway,api,moderation,notifier,leaderboard")
	}
	for _, r := range s.list("roles") {
		if !knownRoles[r] {
			return fmt.Errorf("TRIVIUM_ROLES: unknown role %q (use all, or some of gateway,api,moderation,notifier,leaderboard)", r)
		}
	}
	return nil
}

// roleOn reports whether this process runs role.
func roleOn(s settings, role string) bool {
	for _, r := range s.list("roles") {
		if r == "all" || r == role {
			return true
		}
	}
	return false
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

// sessionRevokedSubject carries logged-out session ids to every gateway process, which closes
// that session's sockets (the logout handler closes those on its own process at once).
const sessionRevokedSubject = "trivium.session.revoked"

func announceLogout(bus *natsbus.Bus, log *slog.Logger) gateway.LogoutHook {
	return func(_ *http.Request, id *accounts.Identity) {
		if err := bus.PublishRaw(sessionRevokedSubject, []byte(id.SessionID)); err != nil {
			log.Warn("announce logout", "err", err)
		}
	}
}

func closeRevokedSessions(ctx context.Context, bus *natsbus.Bus, srv *gateway.Server) error {
	return bus.ListenRaw(ctx, sessionRevokedSubject, "", func(_ context.Context, data []byte, _ string) error {
		srv.CloseSession(string(data))
		return nil
	})
}
