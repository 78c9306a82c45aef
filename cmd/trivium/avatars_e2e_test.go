package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/moderation/corpus"
)

type uploadIntent struct {
	UploadID  string            `json:"uploadId"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

type uploadStatus struct {
	UploadID string `json:"uploadId"`
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	Avatar   *struct {
		URL          string `json:"url"`
		ThumbnailURL string `json:"thumbnailUrl"`
	} `json:"avatar"`
}

func presign(t testing.TB, s *server, a *account, contentType string, n int) uploadIntent {
	t.Helper()
	var in uploadIntent
	expect(t, call(t, "POST", s.URL+"/api/v1/avatars/uploads", a.Token,
		map[string]any{"contentType": contentType, "contentLength": n}), 201).decode(t, &in)
	return in
}

// putBytes PUTs body to a presigned URL with the given headers (Content-Length comes from the body).
func putBytes(t testing.TB, url string, headers map[string]string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest("PUT", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func pollStatus(t testing.TB, s *server, a *account, id, want string) uploadStatus {
	t.Helper()
	var st uploadStatus
	testwait.For(t, "upload "+id+" to be "+want, 20*time.Second, func() bool {
		expect(t, call(t, "GET", s.URL+"/api/v1/avatars/uploads/"+id, a.Token, nil), 200).decode(t, &st)
		return st.Status == want
	})
	return st
}

func fetch(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestAvatarUploadIsModeratedThumbnailedAndServedFromTheCDN(t *testing.T) {
	var labels atomic.Value
	labels.Store(`[]`)
	classifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"labels":`+labels.Load().(string)+`}`)
	}))
	defer classifier.Close()
	s := startServer(t, map[string]string{"TRIVIUM_MODERATION": classifier.URL})
	alice := register(t, s, "alice")

	photo := corpus.WithEXIF(corpus.JPEG(corpus.Quadrants(640, 480)), 6)
	in := presign(t, s, alice, "image/jpeg", len(photo))
	if in.Method != "PUT" || !strings.Contains(in.URL, "/blob/uploads/"+alice.ID+"/") || in.Headers["Content-Type"] != "image/jpeg" {
		t.Fatalf("intent %+v", in)
	}
	if st := pollStatus(t, s, alice, in.UploadID, "awaiting_upload"); st.Avatar != nil {
		t.Fatalf("avatar before upload: %+v", st)
	}
	if code := putBytes(t, in.URL, in.Headers, photo); code != 200 {
		t.Fatalf("PUT %d", code)
	}
	st := pollStatus(t, s, alice, in.UploadID, "accepted")
	if st.Avatar == nil || !strings.HasPrefix(st.Avatar.URL, s.URL+"/avatars/") || !strings.HasPrefix(st.Avatar.ThumbnailURL, s.URL+"/avatars/") {
		t.Fatalf("accepted status %+v", st)
	}
	for url, size := range map[string]int{st.Avatar.URL: 256, st.Avatar.ThumbnailURL: 64} {
		resp, body := fetch(t, url)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || resp.Header.Get("ETag") == "" {
			t.Fatalf("%s: %d %v", url, resp.StatusCode, resp.Header)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
		if err != nil || format != "jpeg" || cfg.Width != size || cfg.Height != size {
			t.Fatalf("%s is %s %d×%d (%v), want %d×%d", url, format, cfg.Width, cfg.Height, err, size, size)
		}
		if bytes.Contains(body, []byte("Exif")) || bytes.Contains(body, corpus.GPSMarker) {
			t.Fatalf("%s carries EXIF/GPS", url)
		}
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 304 {
			t.Fatalf("conditional GET: %v %v", r, err)
		}
	}
	var me struct {
		Avatar struct{ Status, URL, ThumbnailURL string }
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/me", alice.Token, nil), 200).decode(t, &me)
	if me.Avatar.Status != "accepted" || me.Avatar.URL != st.Avatar.URL || me.Avatar.ThumbnailURL != st.Avatar.ThumbnailURL {
		t.Fatalf("/me avatar %+v, want %+v", me.Avatar, st.Avatar)
	}
	var pub struct {
		Avatar struct{ URL, ThumbnailURL string }
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/players/"+alice.ID, "", nil), 200).decode(t, &pub)
	if pub.Avatar.URL != st.Avatar.URL || pub.Avatar.ThumbnailURL != st.Avatar.ThumbnailURL {
		t.Fatalf("public profile avatar %+v", pub.Avatar)
	}

	// A flagged upload waits for a moderator.
	labels.Store(`[{"name":"Suggestive","confidence":70}]`)
	second := corpus.JPEG(corpus.Quadrants(300, 300))
	in2 := presign(t, s, alice, "image/jpeg", len(second))
	if code := putBytes(t, in2.URL, in2.Headers, second); code != 200 {
		t.Fatalf("PUT %d", code)
	}
	if st := pollStatus(t, s, alice, in2.UploadID, "in_review"); !strings.Contains(st.Reason, "Suggestive") {
		t.Fatalf("in review reason %q", st.Reason)
	}
	mod := register(t, s, "mod")
	expect(t, call(t, "GET", s.URL+"/api/v1/moderation/cases", mod.Token, nil), 403)
	var out syncBuffer
	env := map[string]string{"TRIVIUM_DATA": s.Data, "TRIVIUM_LOG_LEVEL": "warn"}
	if err := run(context.Background(), []string{"users", "role", "mod", "moderator"}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("users role: %v\n%s", err, out.String())
	}
	awaitRole(t, s.URL+"/api/v1/moderation/cases", mod.Token)
	var cases struct {
		Items []struct {
			ID, UploadID, ImageURL, Reason string
			Player                         struct{ ID string }
			Labels                         []struct {
				Name       string
				Confidence float64
			}
		}
		Next string
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/moderation/cases?status=pending", mod.Token, nil), 200).decode(t, &cases)
	if len(cases.Items) != 1 || cases.Items[0].UploadID != in2.UploadID || cases.Items[0].Player.ID != alice.ID ||
		len(cases.Items[0].Labels) != 1 || cases.Items[0].Labels[0].Confidence != 70 {
		t.Fatalf("pending cases %+v", cases)
	}
	if resp, body := fetch(t, cases.Items[0].ImageURL); resp.StatusCode != 200 || !bytes.Equal(body, second) {
		t.Fatalf("case image URL: %d, %d bytes", resp.StatusCode, len(body))
	}
	decision := s.URL + "/api/v1/moderation/cases/" + cases.Items[0].ID + "/decision"
	var decided struct {
		Decision struct{ Decision, Note, ModeratorID string }
	}
	expect(t, call(t, "POST", decision, mod.Token, map[string]string{"decision": "approve", "note": "a flag"}), 200).decode(t, &decided)
	if decided.Decision.Decision != "approve" || decided.Decision.ModeratorID != mod.ID || decided.Decision.Note != "a flag" {
		t.Fatalf("decision %+v", decided)
	}
	expect(t, call(t, "POST", decision, mod.Token, map[string]string{"decision": "reject"}), 409)
	approved := pollStatus(t, s, alice, in2.UploadID, "accepted")
	expect(t, call(t, "GET", s.URL+"/api/v1/me", alice.Token, nil), 200).decode(t, &me)
	if me.Avatar.URL != approved.Avatar.URL || me.Avatar.URL == st.Avatar.URL {
		t.Fatalf("/me shows %q after approval, want %q", me.Avatar.URL, approved.Avatar.URL)
	}

	// Players report another player's current avatar; a moderator sees the case.
	bob := register(t, s, "bob")
	expect(t, call(t, "POST", s.URL+"/api/v1/players/"+alice.ID+"/report", bob.Token, map[string]string{"reason": "rude"}), 202)
	expect(t, call(t, "POST", s.URL+"/api/v1/players/"+bob.ID+"/report", alice.Token, map[string]string{"reason": "rude"}), 404)
	expect(t, call(t, "GET", s.URL+"/api/v1/moderation/cases?status=pending", mod.Token, nil), 200).decode(t, &cases)
	if len(cases.Items) != 1 || cases.Items[0].Reason != "rude" || cases.Items[0].Player.ID != alice.ID {
		t.Fatalf("report cases %+v", cases)
	}
}

func TestAvatarUploadRefusals(t *testing.T) {
	s := startServer(t, nil)
	alice, bob := register(t, s, "alice"), register(t, s, "bob")
	photo := corpus.JPEG(corpus.Quadrants(64, 64))

	for _, body := range []map[string]any{
		{"contentType": "image/gif", "contentLength": 10},
		{"contentType": "image/png", "contentLength": 5<<20 + 1},
		{"contentType": "image/png", "contentLength": 0},
		{"contentType": "image/png", "contentLength": 10, "filename": "x.png"},
	} {
		expect(t, call(t, "POST", s.URL+"/api/v1/avatars/uploads", alice.Token, body), 422)
	}
	g := guest(t, s, "visitor")
	expect(t, call(t, "POST", s.URL+"/api/v1/avatars/uploads", g.Token, map[string]any{"contentType": "image/png", "contentLength": 10}), 403)
	expect(t, call(t, "POST", s.URL+"/api/v1/avatars/uploads", "", map[string]any{"contentType": "image/png", "contentLength": 10}), 401)

	in := presign(t, s, alice, "image/jpeg", len(photo))
	bad := map[string]string{"Content-Type": "image/png"}
	if code := putBytes(t, in.URL, bad, photo); code != 403 {
		t.Fatalf("mismatched type: %d", code)
	}
	if code := putBytes(t, in.URL, in.Headers, append(photo, 0)); code != 403 {
		t.Fatalf("mismatched length: %d", code)
	}
	// Bob cannot see, complete, or write Alice's upload.
	expect(t, call(t, "GET", s.URL+"/api/v1/avatars/uploads/"+in.UploadID, bob.Token, nil), 404)
	expect(t, call(t, "POST", s.URL+"/api/v1/avatars/uploads/"+in.UploadID+"/complete", bob.Token, nil), 404)
	bobs := presign(t, s, bob, "image/jpeg", len(photo))
	forged := strings.Replace(bobs.URL, "uploads/"+bob.ID+"/"+bobs.UploadID, "uploads/"+alice.ID+"/"+in.UploadID, 1)
	if code := putBytes(t, forged, bobs.Headers, photo); code != 403 {
		t.Fatalf("bob's signature on alice's key: %d", code)
	}
	expect(t, call(t, "POST", s.URL+"/api/v1/avatars/uploads/"+in.UploadID+"/complete", alice.Token, nil), 409)
	if st := pollStatus(t, s, alice, in.UploadID, "awaiting_upload"); st.Avatar != nil {
		t.Fatalf("refused PUTs changed the upload: %+v", st)
	}

	if code := putBytes(t, in.URL, in.Headers, photo); code != 200 {
		t.Fatalf("PUT %d", code)
	}
	if code := putBytes(t, in.URL, in.Headers, photo); code != 403 {
		t.Fatalf("reused URL: %d", code)
	}
	pollStatus(t, s, alice, in.UploadID, "accepted")
	var again uploadStatus
	expect(t, call(t, "POST", s.URL+"/api/v1/avatars/uploads/"+in.UploadID+"/complete", alice.Token, nil), 200).decode(t, &again)
	if again.Status != "accepted" {
		t.Fatalf("complete after acceptance: %+v", again)
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/avatars/uploads/nope", alice.Token, nil), 404)
	// Private originals are never public: the CDN path cannot name them.
	resp, _ := fetch(t, s.URL+"/avatars/../uploads/"+alice.ID+"/"+in.UploadID)
	if resp.StatusCode == 200 {
		t.Fatalf("an original was served publicly")
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/moderation/cases?status=bogus", alice.Token, nil), 403)
}

func TestOperatorsSeeAndRedriveDeadLettersWhileTheServerRuns(t *testing.T) {
	var healthy atomic.Bool
	classifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if !healthy.Load() {
			http.Error(w, "classifier down", http.StatusServiceUnavailable) // transient: retried, then dead-lettered
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"labels":[]}`)
	}))
	defer classifier.Close()
	data := t.TempDir()
	s := startServer(t, map[string]string{"TRIVIUM_DATA": data, "TRIVIUM_MODERATION": classifier.URL, "TRIVIUM_API_RATE": "100000", "TRIVIUM_API_BURST": "100000",
		"TRIVIUM_MAX_ATTEMPTS": "2", "TRIVIUM_RETRY_BACKOFF": "10ms"})
	player, op := register(t, s, "dlqplayer"), register(t, s, "operator")
	expectProblem(t, call(t, "GET", s.URL+"/api/v1/admin/dead-letters", op.Token, nil), 403, "")
	env := map[string]string{"TRIVIUM_DATA": data}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"users", "role", "operator", "admin"}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	awaitRole(t, s.URL+"/api/v1/admin/dead-letters", op.Token)
	// The CLI must not open the embedded bus under a running server: it says to use the API.
	err := run(context.Background(), []string{"dlq", "list"}, func(k string) string { return env[k] }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "/api/v1/admin/dead-letters") {
		t.Fatalf("dlq list beside a running server: %v", err)
	}

	photo := corpus.JPEG(corpus.Quadrants(320, 240))
	in := presign(t, s, player, "image/jpeg", len(photo))
	if code := putBytes(t, in.URL, in.Headers, photo); code != 200 {
		t.Fatalf("PUT %d", code)
	}
	pollStatus(t, s, player, in.UploadID, "failed")
	var dl struct {
		Items []struct {
			Seq      uint64
			Consumer string
			Subject  string
			Error    string
		}
	}
	testwait.For(t, "the dead letter", 10*time.Second, func() bool {
		expect(t, call(t, "GET", s.URL+"/api/v1/admin/dead-letters", op.Token, nil), 200).decode(t, &dl)
		return len(dl.Items) == 1
	})
	if dl.Items[0].Consumer != "moderation" || dl.Items[0].Subject != "avatar.uploaded" || dl.Items[0].Error == "" {
		t.Fatalf("dead letter %+v", dl.Items[0])
	}
	healthy.Store(true)
	expect(t, call(t, "POST", fmt.Sprintf("%s/api/v1/admin/dead-letters/%d/redrive", s.URL, dl.Items[0].Seq), op.Token, nil), 204)
	pollStatus(t, s, player, in.UploadID, "accepted")
	expect(t, call(t, "GET", s.URL+"/api/v1/admin/dead-letters", op.Token, nil), 200).decode(t, &dl)
	if len(dl.Items) != 0 {
		t.Fatalf("dead letters after redrive: %+v", dl.Items)
	}
}

// Two players upload the same JPEG and both are accepted; a moderator upholds a report on one.
// The other's avatar still serves and /api/v1/me still says accepted (issue 21).
func TestRejectingOneOfTwoIdenticalAvatarsLeavesTheOtherServing(t *testing.T) {
	s := startServer(t, nil)
	alice, bob, mod := register(t, s, "alice"), register(t, s, "bob"), register(t, s, "mod")
	var out syncBuffer
	env := map[string]string{"TRIVIUM_DATA": s.Data, "TRIVIUM_LOG_LEVEL": "warn"}
	if err := run(context.Background(), []string{"users", "role", "mod", "moderator"}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("users role: %v\n%s", err, out.String())
	}
	photo := corpus.JPEG(corpus.Quadrants(200, 200))
	accepted := map[string]uploadStatus{}
	for _, a := range []*account{alice, bob} {
		in := presign(t, s, a, "image/jpeg", len(photo))
		if code := putBytes(t, in.URL, in.Headers, photo); code != 200 {
			t.Fatalf("PUT %d", code)
		}
		accepted[a.ID] = pollStatus(t, s, a, in.UploadID, "accepted")
	}
	expect(t, call(t, "POST", s.URL+"/api/v1/players/"+alice.ID+"/report", bob.Token, map[string]string{"reason": "rude"}), 202)
	var cases struct{ Items []struct{ ID string } }
	expect(t, call(t, "GET", s.URL+"/api/v1/moderation/cases?status=pending", mod.Token, nil), 200).decode(t, &cases)
	if len(cases.Items) != 1 {
		t.Fatalf("pending cases %+v", cases)
	}
	expect(t, call(t, "POST", s.URL+"/api/v1/moderation/cases/"+cases.Items[0].ID+"/decision", mod.Token,
		map[string]string{"decision": "reject"}), 200)
	if resp, _ := fetch(t, accepted[alice.ID].Avatar.URL); resp.StatusCode != 404 {
		t.Fatalf("the rejected avatar answers %d", resp.StatusCode)
	}
	for _, url := range []string{accepted[bob.ID].Avatar.URL, accepted[bob.ID].Avatar.ThumbnailURL} {
		if resp, _ := fetch(t, url); resp.StatusCode != 200 {
			t.Fatalf("the other player's avatar %s answers %d", url, resp.StatusCode)
		}
	}
	var me struct {
		Avatar struct{ Status, URL string }
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/me", bob.Token, nil), 200).decode(t, &me)
	if me.Avatar.Status != "accepted" || me.Avatar.URL != accepted[bob.ID].Avatar.URL {
		t.Fatalf("bob's /me avatar %+v, want accepted at %s", me.Avatar, accepted[bob.ID].Avatar.URL)
	}
}
