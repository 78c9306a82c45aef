package moderation_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/moderation/corpus"
	"github.com/trivium-game/trivium/services"
)

// A question image goes through the avatar's workflow: accepted, its images are published under
// the question prefix and the author's avatar is left alone; the outcome says it is a question
// image and carries the keys.
func TestAcceptedQuestionImageIsPublishedWithoutTouchingTheAvatar(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	m := f.uploadFor(services.PurposeQuestionImage, f.player, corpus.JPEG(corpus.Quadrants(120, 90)), "image/jpeg")
	if err := f.wf.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	id := uploadID(m)
	u := f.status(id)
	if u.Status != services.UploadAccepted || !strings.HasPrefix(u.Avatar.Key, moderation.QuestionImagePrefix) ||
		!strings.HasPrefix(u.Avatar.ThumbKey, moderation.QuestionImagePrefix) {
		t.Fatalf("question image upload %+v: want accepted with keys under %s", u, moderation.QuestionImagePrefix)
	}
	if b, info := f.object(u.Avatar.Key); len(b) == 0 || info.CacheControl != moderation.PublicCacheControl {
		t.Fatalf("published image: %d bytes, cache %q", len(b), info.CacheControl)
	}
	if p, _ := f.db.PlayerByID(ctx, f.player.ID); p.Avatar.Key != "" {
		t.Fatalf("a question image became the author's avatar: %+v", p.Avatar)
	}
	evs := f.processedFor(id)
	if len(evs) != 1 || evs[0].Purpose != services.PurposeQuestionImage || evs[0].ImageKey != u.Avatar.Key || evs[0].ThumbKey != u.Avatar.ThumbKey {
		t.Fatalf("avatar.processed %+v", evs)
	}
	if f.exists(u.Key) {
		t.Fatal("the private original is kept")
	}
}

// A flagged question image waits in the same review queue as avatars, as a question_image case;
// a moderator's rejection ends it rejected and tells the author.
func TestFlaggedQuestionImageIsAQuestionImageCase(t *testing.T) {
	ctx := context.Background()
	stub := classifier(t, `[{"name":"Suggestive","confidence":60}]`)
	f := newFixture(t, func(c *moderation.Config) { c.Detector = moderation.HTTPDetector{URL: stub.URL} })
	mod := f.newPlayer("mod")
	m := f.uploadFor(services.PurposeQuestionImage, f.player, corpus.JPEG(corpus.Quadrants(80, 80)), "image/jpeg")
	if err := f.wf.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	id := uploadID(m)
	if u := f.status(id); u.Status != services.UploadInReview {
		t.Fatalf("flagged question image is %s", u.Status)
	}
	page, err := f.wf.Cases(ctx, "pending", "", "", 10)
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("pending cases %+v %v", page.Items, err)
	}
	c := page.Items[0]
	if c.ContentKind != services.ContentQuestionImage || c.UploadID != id || c.ImageURL == "" {
		t.Fatalf("case %+v: want a question_image case with the image to look at", c)
	}
	if _, err := f.wf.Decide(ctx, c.ID, mod.ID, moderation.Reject, "not for a quiz"); err != nil {
		t.Fatal(err)
	}
	if u := f.status(id); u.Status != services.UploadRejected || u.Avatar.Key != "" {
		t.Fatalf("rejected question image %+v", u)
	}
	evs := f.processedFor(id)
	if len(evs) != 1 || evs[0].Status != services.UploadRejected || evs[0].Purpose != services.PurposeQuestionImage {
		t.Fatalf("avatar.processed %+v: want one rejection of a question image", evs)
	}
}

// A moderator's decision commits its requeue with itself: when the resume that follows crashes,
// the outbox has already carried an avatar.uploaded for the upload, and its delivery finishes it.
func TestADecisionWhoseResumeCrashesIsFinishedByItsRequeue(t *testing.T) {
	ctx := context.Background()
	stub := classifier(t, `[{"name":"Suggestive","confidence":60}]`)
	f := newFixture(t, func(c *moderation.Config) { c.Detector = moderation.HTTPDetector{URL: stub.URL} })
	mod := f.newPlayer("mod")
	m := f.upload(f.player, corpus.JPEG(corpus.Quadrants(80, 80)), "image/jpeg")
	if err := f.wf.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	id := uploadID(m)
	f.setFault(func(step string, recorded bool) error {
		if step == moderation.StepPublished && !recorded {
			return errors.New("injected crash")
		}
		return nil
	})
	if _, err := f.wf.Decide(ctx, f.caseFor(id), mod.ID, moderation.Approve, ""); err != nil {
		t.Fatal(err)
	}
	f.clearFault()
	if u := f.status(id); u.Status == services.UploadAccepted {
		t.Fatal("the crashed resume finished the upload")
	}
	if err := f.relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	requeued := f.uploadedFor(id)
	if len(requeued) != 1 {
		t.Fatalf("%d avatar.uploaded on the bus for the decided upload, want the one requeue", len(requeued))
	}
	if err := f.wf.Handle(ctx, requeued[0]); err != nil {
		t.Fatal(err)
	}
	if u := f.status(id); u.Status != services.UploadAccepted {
		t.Fatalf("after the requeue the upload is %s", u.Status)
	}
	if evs := f.processedFor(id); len(evs) != 1 || evs[0].Status != services.UploadAccepted {
		t.Fatalf("avatar.processed %+v, want one acceptance", evs)
	}
}
