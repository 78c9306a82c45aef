package main

import (
	"context"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/leaderboard/memory"
	lbredis "github.com/trivium-game/trivium/leaderboard/redis"
	"github.com/trivium-game/trivium/services"
)

// profileSource adapts the player store to the leaderboard's profile lookups.
type profileSource struct {
	players services.PlayerStore
	cdn     string
}

func (p profileSource) Profiles(ctx context.Context, ids []string) (map[string]leaderboard.Profile, error) {
	ps, err := p.players.PlayersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]leaderboard.Profile, len(ps))
	for id, pl := range ps {
		out[id] = leaderboard.Profile{DisplayName: pl.DisplayName, ThumbnailURL: services.PublicURL(p.cdn, pl.Avatar.ThumbKey)}
	}
	return out, nil
}

// openLeaderboard builds the leaderboard service on engine (TRIVIUM_LEADERBOARD); cdn is the
// base of thumbnail URLs.
func openLeaderboard(ctx context.Context, a *app, engineURL, cdn string) (*leaderboard.Service, error) {
	var engine leaderboard.Engine
	rebuild := false
	switch u := engineURL; {
	case u == "memory":
		engine, rebuild = memory.New(), true
	case strings.HasPrefix(u, "redis://"), strings.HasPrefix(u, "rediss://"):
		opt, err := goredis.ParseURL(u)
		if err != nil {
			return nil, fmt.Errorf("TRIVIUM_LEADERBOARD: %w", err)
		}
		client := goredis.NewClient(opt)
		a.closers = append(a.closers, client.Close)
		if err := client.Ping(ctx).Err(); err != nil {
			return nil, fmt.Errorf("redis %s: %w", opt.Addr, err)
		}
		if engine, err = lbredis.New(lbredis.Config{Client: client}); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("TRIVIUM_LEADERBOARD %q: use memory or redis://host:port/db", u)
	}
	svc, err := leaderboard.New(leaderboard.Config{Engine: engine, Log: a.db.ScoreLog(), Profiles: profileSource{a.db, cdn}, Logger: a.log})
	if err != nil {
		return nil, err
	}
	if rebuild {
		if err := svc.Rebuild(ctx); err != nil {
			return nil, fmt.Errorf("leaderboard rebuild: %w", err)
		}
	}
	return svc, nil
}
