package moderation_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/moderation/corpus"
	"github.com/trivium-game/trivium/services"
)

func TestCorpusEndsInTheDocumentedStateAndReason(t *testing.T) {
	photo := corpus.JPEG(corpus.Quadrants(400, 300))
	tests := []struct {
		name, contentType string
		data              []byte
		status            services.UploadStatus
		reason            string
		thumbType         string
	}{
		{"JPEG with EXIF orientation 6 and GPS", "image/jpeg", corpus.WithEXIF(photo, 6), "accepted", "no moderation labels", "image/jpeg"},
		{"PNG with alpha", "image/png", corpus.TransparentPNG(300, 200), "accepted", "no moderation labels", "image/png"},
		{"WebP", "image/webp", corpus.WebP(120, 90), "accepted", "no moderation labels", "image/jpeg"},
		{"30000×30000 header-only bomb", "image/png", corpus.BombPNG(30000, 30000), "rejected", "image is 30000×30000, the limit is 4096×4096", ""},
		{"truncated JPEG", "image/jpeg", corpus.Truncated(photo), "rejected", "the JPEG file is truncated", ""},
		{"ZIP/JPEG polyglot", "image/jpeg", corpus.ZipPolyglot(photo), "rejected", "ZIP archive", ""},
		{"text renamed .png", "image/png", corpus.Text(), "rejected", "not a JPEG, PNG or WebP image", ""},
		{"PNG declared as JPEG", "image/jpeg", corpus.TransparentPNG(30, 30), "rejected", "declared image/jpeg but the file is a PNG", ""},
	}
	f := newFixture(t, nil)
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := f.newPlayer(fmt.Sprintf("p%d", time.Now().UnixNano()%1e9))
			m := f.upload(p, tc.data, tc.contentType)
			id := uploadID(m)
			if err := f.wf.Handle(ctx, m); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			u := f.status(id)
			if u.Status != tc.status || !strings.Contains(u.Reason, tc.reason) {
				t.Fatalf("status %q reason %q, want %q containing %q", u.Status, u.Reason, tc.status, tc.reason)
			}
			evs := f.processedFor(id)
			if len(evs) != 1 || evs[0].Status != tc.status || evs[0].Reason != u.Reason || evs[0].PlayerID != p.ID {
				t.Fatalf("avatar.processed = %+v, want one %s", evs, tc.status)
			}
			if f.exists(u.Key) {
				t.Errorf("the original %s still exists after the outcome", u.Key)
			}
			got, err := f.db.PlayerByID(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tc.status != "accepted" {
				if got.Avatar.Key != "" || evs[0].ThumbKey != "" {
					t.Fatalf("rejected upload set avatar %+v / thumbnail %q", got.Avatar, evs[0].ThumbKey)
				}
				return
			}
			if got.Avatar.Key != u.Avatar.Key || got.Avatar.ThumbKey != u.Avatar.ThumbKey || got.Avatar.Key == "" {
				t.Fatalf("player avatar %+v, upload avatar %+v", got.Avatar, u.Avatar)
			}
			if evs[0].ThumbKey != u.Avatar.ThumbKey || evs[0].ImageKey != u.Avatar.Key {
				t.Fatalf("avatar.processed keys %q/%q, want the images' keys %q/%q", evs[0].ImageKey, evs[0].ThumbKey, u.Avatar.Key, u.Avatar.ThumbKey)
			}
			for key, size := range map[string]int{u.Avatar.Key: 256, u.Avatar.ThumbKey: 64} {
				if !strings.HasPrefix(key, moderation.PublicPrefix) {
					t.Fatalf("derived key %q is not under %s", key, moderation.PublicPrefix)
				}
				b, info := f.object(key)
				if info.CacheControl != moderation.PublicCacheControl || info.ContentType != tc.thumbType {
					t.Fatalf("%s: type %q cache %q", key, info.ContentType, info.CacheControl)
				}
				img := decodeImage(t, b)
				if img.Bounds().Dx() != size || img.Bounds().Dy() != size {
					t.Fatalf("%s is %v, want %d×%d", key, img.Bounds(), size, size)
				}
				if bytes.Contains(b, []byte("Exif")) || bytes.Contains(b, corpus.GPSMarker) {
					t.Fatalf("%s carries EXIF or GPS", key)
				}
			}
		})
	}
	t.Run("EXIF orientation is applied", func(t *testing.T) {
		m := f.upload(f.newPlayer("oriented"), corpus.WithEXIF(corpus.JPEG(corpus.Quadrants(400, 400)), 6), "image/jpeg")
		if err := f.wf.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
		b, _ := f.object(f.status(uploadID(m)).Avatar.Key)
		img := decodeImage(t, b)
		// Orientation 6 turns the stored image 90° clockwise: the stored bottom-left (yellow)
		// quadrant is displayed top-left.
		r, g, bl, _ := img.At(20, 20).RGBA()
		if !near(r, g, bl, corpus.Yellow) {
			t.Fatalf("top-left of the oriented thumbnail is %d,%d,%d; want yellow", r>>8, g>>8, bl>>8)
		}
	})
}

func near(r, g, b uint32, c color.NRGBA) bool {
	d := func(a uint32, b uint8) bool { x := int(a>>8) - int(b); return x > -24 && x < 24 }
	return d(r, c.R) && d(g, c.G) && d(b, c.B)
}

func TestClassifierThresholdsDecideTheOutcome(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		labels string
		status services.UploadStatus
		reason string
	}{
		{`[{"name":"Explicit Nudity","confidence":97.5}]`, "rejected", "Explicit Nudity at 97.5% (rejected at 90%)"},
		{`[{"name":"Suggestive","confidence":72}]`, "in_review", "Suggestive at 72% (reviewed from 50%)"},
		{`[{"name":"Suggestive","confidence":12}]`, "accepted", "Suggestive at 12% is below the review threshold of 50%"},
	}
	for _, tc := range tests {
		t.Run(string(tc.status), func(t *testing.T) {
			stub := classifier(t, tc.labels)
			f := newFixture(t, func(c *moderation.Config) { c.Detector = moderation.HTTPDetector{URL: stub.URL} })
			m := f.upload(f.player, corpus.JPEG(corpus.Quadrants(64, 64)), "image/jpeg")
			if err := f.wf.Handle(ctx, m); err != nil {
				t.Fatal(err)
			}
			u := f.status(uploadID(m))
			if u.Status != tc.status || u.Reason != tc.reason {
				t.Fatalf("got %s %q, want %s %q", u.Status, u.Reason, tc.status, tc.reason)
			}
			n := len(f.processedFor(u.ID))
			if tc.status == "in_review" {
				// Review is not an outcome: the player hears once, when a moderator decides.
				if n != 0 || !f.exists(u.Key) {
					t.Fatalf("in review: %d avatar.processed, original kept %v", n, f.exists(u.Key))
				}
				page, err := f.wf.Cases(ctx, "pending", "", "", 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Items) != 1 || page.Items[0].UploadID != u.ID || page.Items[0].Labels[0].Name != "Suggestive" ||
					page.Items[0].ImageURL == "" || page.Items[0].Player.Username != "ada" {
					t.Fatalf("pending cases = %+v", page.Items)
				}
			} else if n != 1 {
				t.Fatalf("%d avatar.processed, want 1", n)
			}
		})
	}
}

func TestModeratorDecisionsFinishFlaggedUploads(t *testing.T) {
	ctx := context.Background()
	stub := classifier(t, `[{"name":"Suggestive","confidence":60}]`)
	f := newFixture(t, func(c *moderation.Config) { c.Detector = moderation.HTTPDetector{URL: stub.URL} })
	mod := f.newPlayer("mod")
	approveMe := f.upload(f.player, corpus.JPEG(corpus.Quadrants(80, 80)), "image/jpeg")
	rejectMe := f.upload(f.player, corpus.JPEG(corpus.Quadrants(90, 90)), "image/jpeg")
	for _, m := range []services.Message{approveMe, rejectMe} {
		if err := f.wf.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	page, err := f.wf.Cases(ctx, "pending", "", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Next == "" {
		t.Fatalf("first page %+v next %q", page.Items, page.Next)
	}
	second, err := f.wf.Cases(ctx, "pending", "", page.Next, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Items) != 1 || second.Next != "" || second.Items[0].ID == page.Items[0].ID {
		t.Fatalf("second page %+v next %q", second.Items, second.Next)
	}
	caseOf := map[string]string{page.Items[0].UploadID: page.Items[0].ID, second.Items[0].UploadID: second.Items[0].ID}

	v, err := f.wf.Decide(ctx, caseOf[uploadID(approveMe)], mod.ID, moderation.Approve, "fine, a beach photo")
	if err != nil {
		t.Fatal(err)
	}
	if v.Decision == nil || v.Decision.ModeratorID != mod.ID || v.Decision.Note != "fine, a beach photo" || v.Decision.DecidedAt.IsZero() {
		t.Fatalf("decision not kept with who and when: %+v", v.Decision)
	}
	u := f.status(uploadID(approveMe))
	if u.Status != "accepted" || u.Reason != "approved by a moderator" {
		t.Fatalf("approved upload is %s %q", u.Status, u.Reason)
	}
	if p, _ := f.db.PlayerByID(ctx, f.player.ID); p.Avatar.Key != u.Avatar.Key || p.Avatar.Key == "" {
		t.Fatalf("approved avatar not on the profile: %+v", p.Avatar)
	}
	if _, err := f.wf.Decide(ctx, caseOf[uploadID(approveMe)], mod.ID, moderation.Reject, ""); services.ErrorCode(err) != services.EConflict {
		t.Fatalf("deciding twice: %v, want conflict", err)
	}

	if _, err := f.wf.Decide(ctx, caseOf[uploadID(rejectMe)], mod.ID, moderation.Reject, "no"); err != nil {
		t.Fatal(err)
	}
	r := f.status(uploadID(rejectMe))
	if r.Status != "rejected" || f.exists(r.Key) {
		t.Fatalf("rejected upload is %s, original kept %v", r.Status, f.exists(r.Key))
	}
	for _, m := range []services.Message{approveMe, rejectMe} {
		if n := len(f.processedFor(uploadID(m))); n != 1 {
			t.Fatalf("%d avatar.processed for %s, want 1", n, uploadID(m))
		}
	}
	decided, err := f.wf.Cases(ctx, "decided", "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(decided.Items) != 2 {
		t.Fatalf("%d decided cases, want 2", len(decided.Items))
	}
	if _, err := f.wf.Decide(ctx, "nope", mod.ID, moderation.Approve, ""); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("unknown case: %v", err)
	}
	if _, err := f.wf.Decide(ctx, caseOf[uploadID(rejectMe)], mod.ID, "maybe", ""); services.ErrorCode(err) != services.EInvalid {
		t.Fatalf("bad decision: %v", err)
	}
}

// crashPath is one way through the workflow; run drives one upload to its end with the fault
// hook as it is.
type crashPath struct {
	name   string
	data   []byte
	labels string // classifier answer
	decide string // moderator decision for in_review
	status services.UploadStatus
}

func TestCrashBetweenAnyTwoStepsEndsWithOneOutcome(t *testing.T) {
	photo := corpus.JPEG(corpus.Quadrants(120, 100))
	paths := []crashPath{
		{name: "accepted", data: photo, labels: `[]`, status: "accepted"},
		{name: "rejected by validation", data: corpus.Truncated(photo), labels: `[]`, status: "rejected"},
		{name: "rejected by policy", data: photo, labels: `[{"name":"Violence","confidence":99}]`, status: "rejected"},
		{name: "approved in review", data: photo, labels: `[{"name":"Suggestive","confidence":70}]`, decide: moderation.Approve, status: "accepted"},
		{name: "rejected in review", data: photo, labels: `[{"name":"Suggestive","confidence":70}]`, decide: moderation.Reject, status: "rejected"},
	}
	ctx := context.Background()
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) {
			stub := classifier(t, path.labels)
			f := newFixture(t, func(c *moderation.Config) { c.Detector = moderation.HTTPDetector{URL: stub.URL} })
			mod := f.newPlayer("mod")

			// A clean run lists the crash points of this path.
			type point struct {
				step     string
				recorded bool
			}
			var mu sync.Mutex
			var points []point
			f.setFault(func(step string, recorded bool) error {
				mu.Lock()
				defer mu.Unlock()
				points = append(points, point{step, recorded})
				return nil
			})
			f.drive(t, f.upload(f.player, path.data, "image/jpeg"), path, mod)
			f.clearFault()
			if len(points) < 4 {
				t.Fatalf("only %d crash points: %v", len(points), points)
			}

			for _, pt := range points {
				p := f.newPlayer(fmt.Sprintf("c%s%v", strings.ReplaceAll(pt.step, "_", ""), pt.recorded))
				m := f.upload(p, path.data, "image/jpeg")
				id := uploadID(m)
				var crashed bool
				f.setFault(func(step string, recorded bool) error {
					if step == pt.step && recorded == pt.recorded && !crashed {
						crashed = true
						return errors.New("injected crash")
					}
					return nil
				})
				f.drive(t, m, path, mod)
				f.clearFault()
				if !crashed {
					t.Fatalf("crash point %v was never reached", pt)
				}
				u := f.status(id)
				evs := f.processedFor(id)
				if u.Status != path.status || len(evs) != 1 || evs[0].Status != path.status {
					t.Fatalf("crash at %v: status %s, avatar.processed %+v; want exactly one %s", pt, u.Status, evs, path.status)
				}
				got, _ := f.db.PlayerByID(ctx, p.ID)
				if (path.status == "accepted") != (got.Avatar.Key != "") || f.exists(u.Key) {
					t.Fatalf("crash at %v: avatar %+v, original kept %v", pt, got.Avatar, f.exists(u.Key))
				}
			}
		})
	}
}

// drive delivers m until the upload's workflow is done, as the bus would after crashes: each
// failed attempt is followed by a redelivery, and an in_review upload is decided by mod.
func (f *fixture) drive(t *testing.T, m services.Message, path crashPath, mod *services.Player) {
	t.Helper()
	ctx := context.Background()
	id := uploadID(m)
	for attempt := 1; ; attempt++ {
		if attempt > 5 {
			t.Fatalf("upload %s not done after 5 deliveries", id)
		}
		m.Delivered = attempt
		if err := f.wf.Handle(ctx, m); err != nil {
			continue
		}
		if f.status(id).Status != "in_review" {
			return
		}
		c := f.caseFor(id)
		if c == "" {
			return
		}
		// The decision's own resume may crash; the requeued delivery finishes it.
		if _, err := f.wf.Decide(ctx, c, mod.ID, path.decide, ""); err != nil {
			t.Fatalf("decide: %v", err)
		}
	}
}

func (f *fixture) caseFor(uploadID string) string {
	f.t.Helper()
	page, err := f.wf.Cases(context.Background(), "pending", "", "", 100)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range page.Items {
		if c.UploadID == uploadID {
			return c.ID
		}
	}
	return ""
}

func TestTransientFailuresAreRetriedByTheBusThenDeadLetteredAndRedriven(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	down := make(chan struct{}) // closed when the classifier is fixed
	stub := classifierFunc(t, func() (int, string) {
		select {
		case <-down:
			return 200, `{"labels":[]}`
		default:
			return 503, `overloaded`
		}
	})
	f := newFixture(t, func(c *moderation.Config) {
		c.Detector = moderation.HTTPDetector{URL: stub.URL}
		c.MaxDeliver = 2
		c.Backoff = []time.Duration{5 * time.Millisecond}
	})
	done := make(chan error, 1)
	go func() { done <- f.wf.Run(ctx) }()
	m := f.upload(f.player, corpus.JPEG(corpus.Quadrants(50, 50)), "image/jpeg")
	id := uploadID(m)
	if err := f.bus.Publish(ctx, m.Subject, m.ID, m.Data); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the upload to fail and be dead-lettered", func() bool {
		dls, _ := f.bus.DeadLetters(ctx, 10)
		return len(dls) == 1 && f.status(id).Status == "failed"
	})
	dls, _ := f.bus.DeadLetters(ctx, 10)
	if dls[0].Attempts != 2 || dls[0].Consumer != moderation.ConsumerName || !strings.Contains(dls[0].Error, "503") {
		t.Fatalf("dead letter %+v", dls[0])
	}
	close(down)
	if err := f.bus.Redrive(ctx, dls[0].Seq); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the redriven upload to be accepted", func() bool {
		return f.status(id).Status == "accepted" && len(f.processedFor(id)) > 0
	})
	if n := len(f.processedFor(id)); n != 1 {
		t.Fatalf("%d avatar.processed, want 1", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestReportedAvatarRejectedByAModeratorIsTakenDown(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	m := f.upload(f.player, corpus.JPEG(corpus.Quadrants(70, 70)), "image/jpeg")
	if err := f.wf.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	u := f.status(uploadID(m))
	reporter, mod := f.newPlayer("reporter"), f.newPlayer("mod")
	if err := f.wf.Report(ctx, reporter.ID, f.player.ID, "offensive"); err != nil {
		t.Fatal(err)
	}
	if err := f.wf.Report(ctx, mod.ID, f.player.ID, "me too"); err != nil {
		t.Fatal(err)
	}
	if err := f.wf.Report(ctx, reporter.ID, mod.ID, "no avatar"); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("reporting a player without avatar: %v", err)
	}
	if err := f.wf.Report(ctx, reporter.ID, f.player.ID, "  "); services.ErrorCode(err) != services.EInvalid {
		t.Fatalf("empty reason: %v", err)
	}
	page, err := f.wf.Cases(ctx, "pending", "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Kind != moderation.CaseReport || page.Items[0].UploadID != u.ID ||
		page.Items[0].Reason != "offensive" || page.Items[0].ImageURL == "" {
		t.Fatalf("report cases = %+v, want one on the current avatar", page.Items)
	}
	// The player is a moderator too, and may not clear their own avatar.
	if _, err := f.wf.Decide(ctx, page.Items[0].ID, f.player.ID, moderation.Approve, "mine is fine"); services.ErrorCode(err) != services.EForbidden {
		t.Fatalf("deciding a case about one's own avatar: %v, want forbidden", err)
	}
	if still, err := f.wf.Cases(ctx, "pending", "", "", 0); err != nil || len(still.Items) != 1 {
		t.Fatalf("after the refused self-decision, pending = %+v (%v), want the case still open", still.Items, err)
	}
	if _, err := f.wf.Decide(ctx, page.Items[0].ID, mod.ID, moderation.Reject, "takedown"); err != nil {
		t.Fatal(err)
	}
	p, _ := f.db.PlayerByID(ctx, f.player.ID)
	if p.Avatar.Key != "" || f.exists(u.Avatar.Key) || f.exists(u.Avatar.ThumbKey) {
		t.Fatalf("after takedown avatar %+v, images kept %v %v", p.Avatar, f.exists(u.Avatar.Key), f.exists(u.Avatar.ThumbKey))
	}
	evs := f.processedFor(u.ID)
	if len(evs) != 2 || evs[1].Status != "rejected" {
		t.Fatalf("avatar.processed %+v, want accepted then rejected", evs)
	}
}

// Two players upload the same file and both are accepted; one's avatar is then taken down after
// a report. The other's avatar, and the images it names, must stay — on every blob driver.
func TestTakingDownOneOfTwoIdenticalAvatarsKeepsTheOther(t *testing.T) {
	for _, driver := range blobDrivers {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			f := newFixtureOn(t, driver, nil)
			photo := corpus.JPEG(corpus.Quadrants(90, 90))
			ada, bea := f.player, f.newPlayer("bea")
			var uploads []*services.Upload
			for _, p := range []*services.Player{ada, bea} {
				m := f.upload(p, photo, "image/jpeg")
				if err := f.wf.Handle(ctx, m); err != nil {
					t.Fatal(err)
				}
				u := f.status(uploadID(m))
				if u.Status != "accepted" {
					t.Fatalf("%s's upload %s", p.Username, u.Status)
				}
				uploads = append(uploads, u)
			}
			if uploads[0].Avatar.Key == uploads[1].Avatar.Key || uploads[0].Avatar.ThumbKey == uploads[1].Avatar.ThumbKey {
				t.Fatalf("two players share the images %+v", uploads[0].Avatar)
			}
			f.takeDown(ada)
			if p, _ := f.db.PlayerByID(ctx, ada.ID); p.Avatar.Key != "" || f.exists(uploads[0].Avatar.Key) {
				t.Fatalf("the reported avatar was not taken down: %+v", p.Avatar)
			}
			kept := uploads[1].Avatar
			p, _ := f.db.PlayerByID(ctx, bea.ID)
			if p.Avatar.Key != kept.Key || p.Avatar.ThumbKey != kept.ThumbKey || !f.exists(kept.Key) || !f.exists(kept.ThumbKey) {
				t.Fatalf("the other player's avatar %+v: images exist %v %v", p.Avatar, f.exists(kept.Key), f.exists(kept.ThumbKey))
			}
		})
	}
}

// Images published before keys were per player are named by content alone, so two players may
// hold the same keys; a takedown of one leaves the images in place for the other.
func TestATakedownKeepsImagesAnotherPlayerStillUses(t *testing.T) {
	for _, driver := range blobDrivers {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			f := newFixtureOn(t, driver, nil)
			m := f.upload(f.player, corpus.JPEG(corpus.Quadrants(80, 80)), "image/jpeg")
			if err := f.wf.Handle(ctx, m); err != nil {
				t.Fatal(err)
			}
			shared := f.status(uploadID(m)).Avatar
			other := f.newPlayer("legacy")
			if err := f.db.SetAvatar(ctx, other.ID, services.Avatar{Key: shared.Key, ThumbKey: shared.ThumbKey}); err != nil {
				t.Fatal(err)
			}
			f.takeDown(f.player)
			if p, _ := f.db.PlayerByID(ctx, f.player.ID); p.Avatar.Key != "" {
				t.Fatalf("reported avatar kept: %+v", p.Avatar)
			}
			if !f.exists(shared.Key) || !f.exists(shared.ThumbKey) {
				t.Fatalf("images another player uses were deleted: %v %v", f.exists(shared.Key), f.exists(shared.ThumbKey))
			}
		})
	}
}

// takeDown reports p's avatar and has a moderator uphold the report.
func (f *fixture) takeDown(p *services.Player) {
	f.t.Helper()
	ctx := context.Background()
	reporter, mod := f.newPlayer("reporter"+newUploadID()), f.newPlayer("mod"+newUploadID())
	if err := f.wf.Report(ctx, reporter.ID, p.ID, "offensive"); err != nil {
		f.t.Fatal(err)
	}
	page, err := f.wf.Cases(ctx, "pending", "", "", 100)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range page.Items {
		if c.Kind == moderation.CaseReport && c.Player.ID == p.ID {
			if _, err := f.wf.Decide(ctx, c.ID, mod.ID, moderation.Reject, ""); err != nil {
				f.t.Fatal(err)
			}
			return
		}
	}
	f.t.Fatalf("no report case on %s", p.ID)
}
