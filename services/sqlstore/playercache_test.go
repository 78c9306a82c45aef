package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

// The player cache that spares every authenticated request its query: this process's writes
// show at once, another writer's after the TTL at most, and ForgetPlayer (a suspension
// announced by another process) at once.
func TestThePlayerCacheShowsOwnWritesAtOnceAndOthersWithinItsTTL(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) // the store's clock, moved by the test
	sqltest.Run(t, func() time.Time { return now }, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.CachePlayers(2 * time.Second)
		p := &services.Player{Username: "cara", DisplayName: "Cara", PasswordHash: "h"}
		if err := db.CreatePlayer(ctx, p); err != nil {
			t.Fatal(err)
		}
		name := func() string {
			t.Helper()
			got, err := db.PlayerByID(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.DisplayName
		}
		if got := name(); got != "Cara" {
			t.Fatalf("first read: %q", got)
		}

		// Own writes, every kind, are read back at once.
		if err := db.UpdateDisplayName(ctx, p.ID, "Cara B"); err != nil {
			t.Fatal(err)
		}
		if got := name(); got != "Cara B" {
			t.Fatalf("own rename not read back: %q", got)
		}
		until := now.Add(time.Hour)
		if err := db.SuspendPlayer(ctx, p.ID, until); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.PlayerByID(ctx, p.ID); !got.Suspended(now) {
			t.Fatal("own suspension not read back at once")
		}
		if err := db.MutePlayer(ctx, p.ID, until); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.PlayerByID(ctx, p.ID); !got.Muted(now) {
			t.Fatal("own mute not read back at once")
		}
		if err := db.SetAvatar(ctx, p.ID, services.Avatar{Key: "a/k.jpg", ThumbKey: "a/k.thumb.jpg"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.PlayerByID(ctx, p.ID); got.Avatar.Key != "a/k.jpg" {
			t.Fatalf("own avatar not read back: %+v", got.Avatar)
		}
		if err := db.SetRole(ctx, "cara", services.RoleModerator); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.PlayerByID(ctx, p.ID); got.Role != services.RoleModerator {
			t.Fatalf("own role change not read back: %q", got.Role)
		}

		// A caller changing what it got does not change the cache.
		got, _ := db.PlayerByID(ctx, p.ID)
		got.DisplayName = "scribbled"
		if n := name(); n != "Cara B" {
			t.Fatalf("the cache handed out its own copy: %q", n)
		}

		// Another process writes (straight to the database): seen after the TTL, not before.
		if _, err := db.SQL().ExecContext(ctx, `UPDATE players SET display_name = $1 WHERE id = $2`, "Elsewhere", p.ID); err != nil {
			t.Fatal(err)
		}
		if n := name(); n != "Cara B" {
			t.Fatalf("read the database inside the TTL: %q (the cache is not being used)", n)
		}
		now = now.Add(2 * time.Second)
		if n := name(); n != "Elsewhere" {
			t.Fatalf("another process's write not seen after the TTL: %q", n)
		}

		// A suspension announced by another process is seen at once through ForgetPlayer.
		if _, err := db.SQL().ExecContext(ctx, `UPDATE players SET display_name = $1 WHERE id = $2`, "Announced", p.ID); err != nil {
			t.Fatal(err)
		}
		db.ForgetPlayer(p.ID)
		if n := name(); n != "Announced" {
			t.Fatalf("ForgetPlayer did not drop the cached player: %q", n)
		}
	})
}
