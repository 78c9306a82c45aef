package gateway

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/pubsub"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

// A suspension announced by one process clears another process's cached player at once, so its
// token is refused there too without waiting for the cache's TTL.
func TestASuspensionAnnouncedElsewhereClearsTheCachedPlayerAtOnce(t *testing.T) {
	ctx := context.Background()
	ps := pubsub.NewMemory()
	here := sqltest.Open(t, sqlstore.SQLite, nil) // this process's store, with its player cache
	here.CachePlayers(time.Hour)                  // so only the announcement can clear it
	p := &services.Player{Username: "dora", DisplayName: "Dora", PasswordHash: "h"}
	if err := here.CreatePlayer(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, err := here.PlayerByID(ctx, p.ID); err != nil || got.Suspended(time.Now()) {
		t.Fatalf("before: %+v %v", got, err)
	}
	stop, err := OnSuspension(ps, here.ForgetPlayer)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	// The other process suspends: it writes the database (not through here) and announces it.
	if _, err := here.SQL().ExecContext(ctx, `UPDATE players SET suspended_until = $1 WHERE id = $2`,
		time.Now().Add(time.Hour).UnixMilli(), p.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := here.PlayerByID(ctx, p.ID); got.Suspended(time.Now()) {
		t.Fatal("the cache was not in use: the test proves nothing")
	}
	AnnounceSuspension(ps, slog.New(slog.DiscardHandler))(p.ID)
	if got, _ := here.PlayerByID(ctx, p.ID); !got.Suspended(time.Now()) {
		t.Fatal("a suspension announced by another process left the cached player in place")
	}
}
