package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/gamecluster"
	"github.com/trivium-game/trivium/services/gamelog"
	"github.com/trivium-game/trivium/services/games"
)

// openGameLog opens the durable game log on the bus (the embedded JetStream or the NATS
// cluster) for a process that runs games; nil when it is turned off or no game runs here.
// The log is closed with the app, before the bus.
func openGameLog(ctx context.Context, cfg *Config, a *app) (*gamelog.Log, error) {
	if !cfg.Roles.on("gateway") {
		return nil, nil
	}
	if !cfg.GameLog {
		a.log.Warn("the game log is off: games in progress are lost when this process stops")
		return nil, nil
	}
	l, err := gamelog.Open(ctx, gamelog.Config{Conn: a.bus.Conn(), Retention: cfg.GameLogRetention, Logger: a.log})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() error { l.Close(); return nil })
	return l, nil
}

// nodeID is this gateway's cluster identity, kept in its data directory: a gateway restarted
// after a crash is the same node, so it takes its games back at once instead of waiting for
// their leases to expire (the game log's fencing keeps that safe).
func nodeID(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	id := services.NewID()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// openGames builds the games Manager from mcfg. With an external NATS server the gateway nodes
// form a cluster that serves the same games; on the embedded bus (one process) the cluster is
// nil: every game stays in this process and restarts restore it from the log.
func openGames(ctx context.Context, cfg *Config, a *app, gl *gamelog.Log, mcfg games.ManagerConfig) (*gamecluster.Cluster, *games.Manager, error) {
	if gl != nil {
		mcfg.Journal = gl // a nil *Log must stay a nil interface
	}
	if !cfg.clustered() || !cfg.Roles.on("gateway") {
		return nil, games.NewManager(mcfg), nil
	}
	lease := cfg.GameLease
	node, err := nodeID(filepath.Join(cfg.Data, "node-id"))
	if err != nil {
		return nil, nil, err
	}
	return gamecluster.New(ctx, gamecluster.Config{Conn: a.bus.Conn(), Journal: gl, Logger: a.log, NodeID: node,
		LeaseTTL: lease, RenewEvery: lease / 3, WatchEvery: min(time.Second, lease/5)}, mcfg)
}

// closeGameCluster hands this node's games to the other nodes before the rooms stop.
func closeGameCluster(ctx context.Context, c *gamecluster.Cluster, log *slog.Logger) {
	if c == nil {
		return
	}
	if err := c.Close(ctx); err != nil {
		log.Warn("game cluster close", "err", err)
	}
}
