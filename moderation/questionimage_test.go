package moderation_test

import (
	"context"
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
