package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/sqlite"
)

func TestUploadArrivalIsRecordedOnceWithItsEventOnEveryDriver(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			exp := time.Now().Add(10 * time.Minute).Truncate(time.Millisecond).UTC()
			mk := func() *services.Upload {
				return &services.Upload{ID: "up-" + name, PlayerID: "p1", Purpose: services.PurposeAvatar, Key: "uploads/p1/up-" + name,
					ContentType: "image/png", ContentLength: 42, Status: services.UploadProcessing, ExpiresAt: exp}
			}
			ev := &services.OutboxEvent{Subject: services.SubjectAvatarUploaded, MsgID: "avatar.uploaded:up-" + name, Data: []byte(`{"uploadId":"x"}`)}
			// Concurrent arrivals (a callback, an event and a completion call racing): one counts.
			var wg sync.WaitGroup
			inserted := make(chan bool, 8)
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := db.RecordArrival(ctx, mk(), ev)
					if err != nil {
						t.Error(err)
					}
					inserted <- ok
				}()
			}
			wg.Wait()
			close(inserted)
			n := 0
			for ok := range inserted {
				if ok {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d arrivals counted, want 1", n)
			}
			evs, err := db.PendingEvents(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for _, e := range evs {
				if e.MsgID == ev.MsgID {
					got++
				}
			}
			if got != 1 {
				t.Fatalf("%d outbox events for the upload, want 1", got)
			}
			u, err := db.Upload(ctx, "up-"+name)
			if err != nil {
				t.Fatal(err)
			}
			if u.Status != services.UploadProcessing || u.PlayerID != "p1" || u.Purpose != services.PurposeAvatar ||
				u.ContentLength != 42 || !u.ExpiresAt.Equal(exp) || u.CreatedAt.IsZero() {
				t.Fatalf("upload %+v", u)
			}
			long := strings.Repeat("é", 600)
			a := services.Avatar{Key: "public/avatars/a.jpg", ThumbKey: "public/avatars/b.jpg"}
			if err := db.SetUploadStatus(ctx, u.ID, services.UploadAccepted, long, a); err != nil {
				t.Fatal(err)
			}
			u, _ = db.Upload(ctx, u.ID)
			if u.Status != services.UploadAccepted || u.Avatar.Key != a.Key || u.Avatar.ThumbKey != a.ThumbKey ||
				len([]rune(u.Reason)) != 500 || !strings.HasPrefix(long, u.Reason) {
				t.Fatalf("after SetUploadStatus: %+v (reason %d runes)", u, len([]rune(u.Reason)))
			}
			if err := db.SetUploadStatus(ctx, u.ID, "done", "", services.Avatar{}); err == nil {
				t.Fatal("an unknown status was stored")
			}
			if err := db.SetUploadStatus(ctx, "missing", services.UploadFailed, "", services.Avatar{}); services.ErrorCode(err) != services.ENotFound {
				t.Fatalf("missing upload: %v", err)
			}
			if _, err := db.Upload(ctx, "missing"); services.ErrorCode(err) != services.ENotFound {
				t.Fatalf("missing upload: %v", err)
			}
			// An arrival recorded without an event (a mismatched object, rejected at once) adds none.
			rej := mk()
			rej.ID, rej.Status = "rej-"+name, services.UploadRejected
			if ok, err := db.RecordArrival(ctx, rej, nil); err != nil || !ok {
				t.Fatalf("record rejected: %v %v", ok, err)
			}
			if evs2, _ := db.PendingEvents(ctx, 100); len(evs2) != len(evs) {
				t.Fatalf("a rejected arrival added an event")
			}
		})
	}
}

// An install whose avatar_uploads table was created by the old serve-only migration (with the
// announced flag) migrates to the versioned list and keeps its rows.
func TestUploadsMigrateFromTheServeOnlyTable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE avatar_uploads (id TEXT PRIMARY KEY, player_id TEXT NOT NULL, object_key TEXT NOT NULL,
			content_type TEXT NOT NULL, content_length BIGINT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
			avatar_key TEXT NOT NULL DEFAULT '', thumb_key TEXT NOT NULL DEFAULT '', announced INTEGER NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
		`CREATE INDEX avatar_uploads_unannounced ON avatar_uploads (status, announced)`,
		`INSERT INTO avatar_uploads (id, player_id, object_key, content_type, content_length, status, announced, created_at,
			expires_at, updated_at) VALUES ('old', 'p', 'uploads/p/old', 'image/png', 5, 'accepted', 1, 1, 2, 3)`,
	} {
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db, err := sqlite.Open(ctx, path, time.Now) // runs every migration
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.Upload(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if u.Purpose != services.PurposeAvatar || u.Status != services.UploadAccepted || u.Key != "uploads/p/old" {
		t.Fatalf("old upload %+v", u)
	}
}
