package leaderboard_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/leaderboard/leaderboardtest"
	"github.com/trivium-game/trivium/leaderboard/memory"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/pubsub"
)

// A rename announced by any process, or an avatar.processed event, drops the cached profile in
// every process listening on the port; after stop, the cache keeps its entry until the TTL.
func TestRenamesAndNewAvatarsAnnouncedOnThePortDropCachedProfiles(t *testing.T) {
	ctx := context.Background()
	ps := pubsub.NewMemory() // delivers synchronously: no waiting needed
	profiles := &leaderboardtest.FakeProfiles{}
	svc, err := leaderboard.New(leaderboard.Config{Engine: memory.New(), Log: &leaderboardtest.MemLog{}, Profiles: profiles,
		Clock: func() time.Time { return t0 }, ProfileCacheTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"alice", "bob"} {
		if err := svc.HandleScore(ctx, leaderboardtest.Score("game", "g-"+p, "q1", p, 5, t0)); err != nil {
			t.Fatal(err)
		}
	}
	names := func() map[string]string {
		t.Helper()
		p, err := svc.Top(ctx, "global", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range p.Entries {
			out[e.PlayerID] = e.DisplayName
		}
		return out
	}
	stop, err := svc.ForgetChangedProfiles(ps)
	if err != nil {
		t.Fatal(err)
	}
	names()
	profiles.Rename("alice", "Alice II")
	profiles.Rename("bob", "Bob II")
	leaderboard.AnnounceProfileChange(ps, slog.New(slog.DiscardHandler))("alice")
	if got := names(); got["alice"] != "Alice II" || got["bob"] != "Name of bob" {
		t.Fatalf("after alice's rename was announced: %v, want alice fresh and bob cached", got)
	}
	ev, _ := json.Marshal(services.AvatarProcessed{PlayerID: "bob", UploadID: "u1", Status: "approved"})
	if err := ps.Publish(services.SubjectAvatarProcessed, ev); err != nil {
		t.Fatal(err)
	}
	if got := names(); got["bob"] != "Bob II" {
		t.Fatalf("after bob's avatar.processed: %v, want bob fresh", got)
	}
	stop()
	profiles.Rename("alice", "Alice III")
	leaderboard.AnnounceProfileChange(ps, slog.New(slog.DiscardHandler))("alice")
	if got := names(); got["alice"] != "Alice II" {
		t.Fatalf("after stop: %v, want alice still cached", got)
	}
}
