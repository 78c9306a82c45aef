package sqlstore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
)

func TestModerationJobAdvancesByCompareAndSetWithItsOutcomeOnEveryDriver(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			u := &services.Upload{ID: "job-" + name, PlayerID: "p1", Purpose: services.PurposeQuestionImage, Key: "uploads/p1/job-" + name,
				ContentType: "image/png", ContentLength: 9, Status: services.UploadProcessing, ExpiresAt: time.Now().Add(time.Minute)}
			if _, err := db.RecordArrival(ctx, u, nil); err != nil {
				t.Fatal(err)
			}
			in := &services.ModerationJob{UploadID: u.ID, PlayerID: "p1", Purpose: services.PurposeQuestionImage, Key: u.Key,
				ContentType: "image/png", Size: 9, Step: "received"}
			j, created, err := db.EnsureModerationJob(ctx, in)
			if err != nil || !created || j.Step != "received" || j.Purpose != services.PurposeQuestionImage || j.Size != 9 {
				t.Fatalf("first ensure: %+v created=%v err=%v", j, created, err)
			}
			if _, created, err := db.EnsureModerationJob(ctx, in); err != nil || created {
				t.Fatalf("second ensure created=%v err=%v; want the stored job", created, err)
			}
			next := *j
			next.Step, next.Outcome, next.Labels, next.AvatarKey, next.ThumbKey = "published", services.UploadAccepted,
				json.RawMessage(`[{"name":"x","confidence":1}]`), "public/questions/a.jpg", "public/questions/b.jpg"
			if err := db.AdvanceModerationJob(ctx, "received", &next, nil); err != nil {
				t.Fatal(err)
			}
			// A second runner that read the job at "received" loses the compare-and-set, and
			// what it would have announced is not written.
			late := *j
			late.Step = "validated"
			ev := services.OutboxEvent{Subject: services.SubjectAvatarProcessed, MsgID: "late:" + name, Data: []byte(`{}`)}
			err = db.AdvanceModerationJob(ctx, "received", &late, &services.UploadOutcome{UploadID: u.ID,
				Status: services.UploadRejected, Events: []services.OutboxEvent{ev}})
			if services.ErrorCode(err) != services.EConflict {
				t.Fatalf("stale advance: %v, want EConflict", err)
			}
			if got := eventsWith(t, db, "late:"+name); got != 0 {
				t.Fatalf("a lost compare-and-set wrote %d events", got)
			}
			if st, _ := db.Upload(ctx, u.ID); st.Status != services.UploadProcessing {
				t.Fatalf("a lost compare-and-set changed the upload to %s", st.Status)
			}
			// The final step commits the status and its event together.
			done := next
			done.Step = "emitted"
			ev.MsgID = "done:" + name
			a := services.Avatar{Key: next.AvatarKey, ThumbKey: next.ThumbKey}
			if err := db.AdvanceModerationJob(ctx, "published", &done, &services.UploadOutcome{UploadID: u.ID,
				Status: services.UploadAccepted, Avatar: a, Events: []services.OutboxEvent{ev}}); err != nil {
				t.Fatal(err)
			}
			st, err := db.Upload(ctx, u.ID)
			if err != nil || st.Status != services.UploadAccepted || st.Avatar != a {
				t.Fatalf("upload after emit: %+v %v", st, err)
			}
			if got := eventsWith(t, db, "done:"+name); got != 1 {
				t.Fatalf("%d events for the emitted step, want 1", got)
			}
			stored, err := db.ModerationJob(ctx, u.ID)
			if err != nil || stored.Step != "emitted" || string(stored.Labels) != `[{"name":"x","confidence":1}]` || stored.ThumbKey != a.ThumbKey {
				t.Fatalf("stored job %+v %v", stored, err)
			}
			if id, err := db.UploadOfAvatar(ctx, "p1", a.Key); err != nil || id != u.ID {
				t.Fatalf("upload of avatar %q %v", id, err)
			}
			if id, err := db.UploadOfAvatar(ctx, "p2", a.Key); err != nil || id != "" {
				t.Fatalf("another player's key found upload %q %v", id, err)
			}
			if _, err := db.ModerationJob(ctx, "missing"); services.ErrorCode(err) != services.ENotFound {
				t.Fatalf("missing job: %v", err)
			}
			// An outcome of its own for an upload that is gone still queues its event.
			ev.MsgID = "gone:" + name
			if err := db.RecordUploadOutcome(ctx, &services.UploadOutcome{UploadID: "gone", Status: services.UploadRejected,
				Events: []services.OutboxEvent{ev}}); err != nil {
				t.Fatal(err)
			}
			if got := eventsWith(t, db, "gone:"+name); got != 1 {
				t.Fatalf("%d events for a gone upload's outcome, want 1", got)
			}
		})
	}
}

func eventsWith(t *testing.T, db interface {
	PendingEvents(context.Context, int) ([]services.OutboxEvent, error)
}, msgID string) int {
	t.Helper()
	evs, err := db.PendingEvents(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.MsgID == msgID {
			n++
		}
	}
	return n
}
