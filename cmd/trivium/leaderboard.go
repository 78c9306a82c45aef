package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/leaderboard/memory"
	lbredis "github.com/trivium-game/trivium/leaderboard/redis"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
)

// profileSource adapts the player store to the leaderboard's profile lookups.
type profileSource struct {
	players services.PlayerStore
	cdn     func() string
}

func (p profileSource) Profiles(ctx context.Context, ids []string) (map[string]leaderboard.Profile, error) {
	ps, err := p.players.PlayersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]leaderboard.Profile, len(ps))
	for id, pl := range ps {
		out[id] = leaderboard.Profile{DisplayName: pl.DisplayName, ThumbnailURL: services.PublicURL(p.cdn(), pl.Avatar.ThumbKey)}
	}
	return out, nil
}

// openLeaderboard builds the leaderboard service on the engine TRIVIUM_LEADERBOARD names.
func openLeaderboard(ctx context.Context, a *app, cdn func() string) (*leaderboard.Service, error) {
	var engine leaderboard.Engine
	rebuild := false
	switch u := a.s["leaderboard"]; {
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

// profileChangedSubject tells every process that a player's name changed; avatar changes are
// known from avatar.processed itself. Both only drop cached names and thumbnails, so plain
// (non-durable) NATS is enough: a process that misses one refreshes within the cache TTL.
const profileChangedSubject = "trivium.profile.changed"

// announceProfileChange is the API's ProfileChanged hook.
func announceProfileChange(bus *natsbus.Bus, log *slog.Logger) func(playerID string) {
	return func(playerID string) {
		if err := bus.PublishRaw(profileChangedSubject, []byte(playerID)); err != nil {
			log.Warn("announce profile change", "err", err)
		}
	}
}

// forgetChangedProfiles keeps the board's name and thumbnail cache fresh in this process.
func forgetChangedProfiles(ctx context.Context, bus *natsbus.Bus, lb *leaderboard.Service) error {
	errc := make(chan error, 2)
	go func() {
		errc <- bus.ListenRaw(ctx, profileChangedSubject, "", func(_ context.Context, data []byte, _ string) error {
			lb.Invalidate(string(data))
			return nil
		})
	}()
	go func() {
		// JetStream events are ordinary NATS messages too: listen without a durable consumer.
		errc <- bus.ListenRaw(ctx, services.SubjectAvatarProcessed, "", func(_ context.Context, data []byte, _ string) error {
			var ev services.AvatarProcessed
			if json.Unmarshal(data, &ev) == nil && ev.PlayerID != "" {
				lb.Invalidate(ev.PlayerID)
			}
			return nil
		})
	}()
	err := <-errc
	if e2 := <-errc; err == nil {
		err = e2
	}
	return err
}
