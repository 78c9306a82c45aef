package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/trivium-game/trivium/services/gamecluster"
	"github.com/trivium-game/trivium/services/games"
)

// openGameCluster lets several gateway nodes serve the same games when the bus is an external
// NATS server. On the embedded bus (one process) it returns nil: every game stays in this
// process and nothing on the game path touches NATS.
func openGameCluster(ctx context.Context, s settings, a *app, log *slog.Logger) (*gamecluster.Cluster, error) {
	if !strings.HasPrefix(s["bus"], "nats://") || !roleOn(s, "gateway") {
		return nil, nil
	}
	return gamecluster.New(ctx, gamecluster.Config{Conn: a.bus.Conn(), Logger: log})
}

// managerCluster is c as the Manager's Cluster: a nil *Cluster must become a nil interface.
func managerCluster(c *gamecluster.Cluster) games.Cluster {
	if c == nil {
		return nil
	}
	return c
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
