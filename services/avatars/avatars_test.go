package avatars_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/avatars"
	"github.com/trivium-game/trivium/services/localblob"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/outbox"
	"github.com/trivium-game/trivium/services/sqlite"
	"github.com/trivium-game/trivium/services/sqlstore"
)

// flakyBus fails publishes while down is set.
type flakyBus struct {
	services.Bus
	down atomic.Bool
}

func (b *flakyBus) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	if b.down.Load() {
		return errors.New("bus down")
	}
	return b.Bus.Publish(ctx, subject, msgID, data)
}

type fixture struct {
	t      *testing.T
	svc    *avatars.Service
	db     *sqlstore.DB
	blob   *localblob.Store
	bus    *natsbus.Bus
	flaky  *flakyBus
	relay  *outbox.Relay
	kicks  atomic.Int64
	offset atomic.Int64 // clock shift
}

var secret = bytes.Repeat([]byte("i"), 32)

// newFixture serves a local blob store over HTTP; with onPut its PUTs complete uploads at once
// (the embedded default), without it the service only learns of them through Complete or an
// event, as with S3.
func newFixture(t *testing.T, onPut bool) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	f := &fixture{t: t}
	now := func() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) }
	db, err := sqlite.Open(ctx, filepath.Join(dir, "t.db"), now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	if f.bus, err = natsbus.OpenEmbedded(ctx, filepath.Join(dir, "nats"), natsbus.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.bus.Close() })
	f.flaky = &flakyBus{Bus: f.bus}
	f.relay = outbox.New(db, f.flaky, slog.New(slog.DiscardHandler))
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg := localblob.Config{Dir: filepath.Join(dir, "blobs"), BaseURL: srv.URL, Secret: bytes.Repeat([]byte("s"), 32), Now: now}
	if f.blob, err = localblob.New(cfg); err != nil {
		t.Fatal(err)
	}
	if f.svc, err = avatars.New(avatars.Config{Store: db, Blob: f.blob, Secret: secret, CDNURL: "https://cdn.example", Now: now,
		Kick: func() { f.kicks.Add(1) }}); err != nil {
		t.Fatal(err)
	}
	var cb localblob.OnPut
	if onPut {
		cb = f.svc.OnPut
	}
	h := f.blob.Handler(cb)
	handler.Store(&h)
	return f
}

const avatar = services.PurposeAvatar

func (f *fixture) put(in avatars.Intent, contentType string, body []byte) int {
	f.t.Helper()
	req, _ := http.NewRequest(in.Method, in.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// announced relays the outbox and counts avatar.uploaded messages for uploadID on the bus.
func (f *fixture) announced(uploadID string) int {
	f.t.Helper()
	ctx := context.Background()
	if err := f.relay.Flush(ctx); err != nil && !f.flaky.down.Load() {
		f.t.Fatal(err)
	}
	js, _ := jetstream.New(f.bus.Conn())
	st, err := js.Stream(ctx, natsbus.EventsStream)
	if err != nil {
		f.t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	n := 0
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			f.t.Fatal(err)
		}
		var ev services.AvatarUploaded
		_ = json.Unmarshal(m.Data, &ev)
		if m.Subject == services.SubjectAvatarUploaded && ev.UploadID == uploadID {
			n++
		}
	}
	return n
}

var jpegBytes = append([]byte{0xFF, 0xD8, 0xFF}, bytes.Repeat([]byte{7}, 97)...)

var maxBytes = services.DefaultUploadLimits().MaxBytes

func TestCreateRefusesUndeclarableUploads(t *testing.T) {
	f := newFixture(t, true)
	tests := []struct {
		contentType string
		length      int64
		field       string
	}{
		{"image/gif", 100, "contentType"},
		{"text/html", 100, "contentType"},
		{"image/jpeg; charset=x", 100, "contentType"},
		{"image/png", 0, "contentLength"},
		{"image/png", maxBytes + 1, "contentLength"},
	}
	for _, tc := range tests {
		_, err := f.svc.Create(context.Background(), avatar, "p1", tc.contentType, tc.length)
		if services.ErrorCode(err) != services.EInvalid || services.ErrorFields(err)[tc.field] == "" {
			t.Errorf("Create(%q, %d) = %v, want a problem with %s", tc.contentType, tc.length, err, tc.field)
		}
	}
	if _, err := f.svc.Create(context.Background(), avatar, "p1", "image/webp", maxBytes); err != nil {
		t.Fatalf("5 MiB WebP refused: %v", err)
	}
}

// Presigning writes nothing: the id is a signed intent that the status endpoint decodes.
func TestPresignWritesNothingAndItsStatusIsStillAnswerable(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	in, err := f.svc.Create(ctx, avatar, "alice", "image/png", 1234)
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := f.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM avatar_uploads`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d upload rows after presigning (%v), want 0", rows, err)
	}
	if evs, _ := f.db.PendingEvents(ctx, 10); len(evs) != 0 {
		t.Fatalf("presigning queued %d events", len(evs))
	}
	if v, err := f.svc.Status(ctx, avatar, "alice", in.UploadID); err != nil || v.Status != services.UploadAwaiting || v.UploadID != in.UploadID {
		t.Fatalf("status of a fresh intent: %+v %v", v, err)
	}
	// A tampered id (one character changed) is not found, like another player's.
	b := []byte(in.UploadID)
	if b[10] = 'a'; in.UploadID[10] == 'a' {
		b[10] = 'b'
	}
	for _, id := range []string{string(b), in.UploadID[:len(in.UploadID)-1], "", "x"} {
		if _, err := f.svc.Status(ctx, avatar, "alice", id); services.ErrorCode(err) != services.ENotFound {
			t.Fatalf("tampered id %q: %v, want not found", id, err)
		}
	}
	// An intent for one purpose is not found under the other.
	if _, err := f.svc.Status(ctx, services.PurposeQuestionImage, "alice", in.UploadID); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("an avatar id under question images: %v", err)
	}
	// Until the URL expired and the grace passed it awaits its bytes; then it is failed.
	f.offset.Store(int64(avatars.DefaultTTL + avatars.DefaultGrace - time.Second))
	if v, _ := f.svc.Status(ctx, avatar, "alice", in.UploadID); v.Status != services.UploadAwaiting {
		t.Fatalf("within the grace: %+v", v)
	}
	f.offset.Store(int64(avatars.DefaultTTL + avatars.DefaultGrace + 2*time.Second))
	if v, _ := f.svc.Status(ctx, avatar, "alice", in.UploadID); v.Status != services.UploadFailed || v.Reason != avatars.ReasonExpired {
		t.Fatalf("expired intent: %+v", v)
	}
	if v, err := f.svc.Complete(ctx, avatar, "alice", in.UploadID); err != nil || v.Status != services.UploadFailed {
		t.Fatalf("completing an expired intent: %+v %v", v, err)
	}
	if err := f.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM avatar_uploads`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("the status endpoint wrote %d rows", rows)
	}
}

// A secret from another install (or a rotated one) does not recognise the ids.
func TestIntentsAreBoundToTheSecret(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, avatar, "alice", "image/png", 10)
	other, err := avatars.New(avatars.Config{Store: f.db, Blob: f.blob, Secret: bytes.Repeat([]byte("o"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Status(ctx, avatar, "alice", in.UploadID); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("another secret: %v", err)
	}
	if _, err := avatars.New(avatars.Config{Store: f.db, Blob: f.blob, Secret: []byte("short")}); err == nil {
		t.Fatal("a short secret was accepted")
	}
}

func TestUploadKeysAreRandomAndUnderTheCallersOwnPrefix(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	a, err := f.svc.Create(ctx, avatar, "alice", "image/jpeg", 100)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.svc.Create(ctx, avatar, "alice", "image/jpeg", 100)
	if a.UploadID == b.UploadID || len(a.UploadID) < 20 {
		t.Fatalf("ids %q %q", a.UploadID, b.UploadID)
	}
	if a.Method != "PUT" || a.Headers["Content-Type"] != "image/jpeg" || a.Headers["Content-Length"] != "100" ||
		time.Until(a.ExpiresAt) > avatars.DefaultTTL+time.Second || time.Until(a.ExpiresAt) < avatars.DefaultTTL-time.Minute {
		t.Fatalf("intent %+v", a)
	}
	if !strings.Contains(a.URL, "/blob/uploads/alice/"+a.UploadID+"?") {
		t.Fatalf("url %s", a.URL)
	}
	if _, err := f.svc.Status(ctx, avatar, "mallory", a.UploadID); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("another player's upload: %v, want not found", err)
	}
	if _, err := f.svc.Complete(ctx, avatar, "mallory", a.UploadID); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("another player's completion: %v, want not found", err)
	}
}

func TestLocalPutAnnouncesTheUploadOnce(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, avatar, "alice", "image/jpeg", int64(len(jpegBytes)))
	if st := f.put(in, "image/jpeg", jpegBytes); st != 200 {
		t.Fatalf("PUT %d", st)
	}
	if st := f.put(in, "image/jpeg", jpegBytes); st != 403 {
		t.Fatalf("reused URL: %d, want 403", st)
	}
	v, err := f.svc.Status(ctx, avatar, "alice", in.UploadID)
	if err != nil || v.Status != services.UploadProcessing || v.Avatar != nil {
		t.Fatalf("status %+v %v", v, err)
	}
	if v, err := f.svc.Complete(ctx, avatar, "alice", in.UploadID); err != nil || v.Status != services.UploadProcessing {
		t.Fatalf("complete after the local PUT: %+v %v", v, err)
	}
	if f.kicks.Load() != 1 {
		t.Fatalf("%d relay kicks, want 1 (one arrival recorded)", f.kicks.Load())
	}
	if n := f.announced(in.UploadID); n != 1 {
		t.Fatalf("%d avatar.uploaded, want 1", n)
	}
	u, err := f.db.Upload(ctx, in.UploadID)
	if err != nil || u.Key != "uploads/alice/"+in.UploadID || u.Purpose != avatar || u.ContentType != "image/jpeg" {
		t.Fatalf("record %+v %v", u, err)
	}
}

func TestRefusedPutsStoreNothingAndAnnounceNothing(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, avatar, "alice", "image/jpeg", int64(len(jpegBytes)))
	key := avatars.ObjectKey("alice", in.UploadID)
	if st := f.put(in, "image/png", jpegBytes); st != 403 {
		t.Fatalf("mismatched type: %d", st)
	}
	if st := f.put(in, "image/jpeg", jpegBytes[:50]); st != 403 {
		t.Fatalf("mismatched length: %d", st)
	}
	other, _ := f.svc.Create(ctx, avatar, "bob", "image/jpeg", int64(len(jpegBytes)))
	// Bob's URL with Alice's key: the signature binds the key.
	forged := avatars.Intent{Method: "PUT", URL: strings.Replace(other.URL, "uploads/bob/"+other.UploadID, "uploads/alice/"+in.UploadID, 1)}
	if st := f.put(forged, "image/jpeg", jpegBytes); st != 403 {
		t.Fatalf("another player's key: %d", st)
	}
	f.offset.Store(int64(avatars.DefaultTTL + time.Second))
	if st := f.put(in, "image/jpeg", jpegBytes); st != 403 {
		t.Fatalf("expired URL: %d", st)
	}
	if _, err := f.blob.Head(ctx, key); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("something was stored: %v", err)
	}
	if v, _ := f.svc.Status(ctx, avatar, "alice", in.UploadID); v.Status != services.UploadAwaiting {
		t.Fatalf("status %s", v.Status)
	}
	f.offset.Store(int64(avatars.DefaultTTL + avatars.DefaultGrace + time.Minute))
	if v, _ := f.svc.Status(ctx, avatar, "alice", in.UploadID); v.Status != services.UploadFailed || !strings.Contains(v.Reason, "expired") {
		t.Fatalf("long expired upload: %+v", v)
	}
	if n := f.announced(in.UploadID); n != 0 {
		t.Fatalf("%d avatar.uploaded for a refused upload", n)
	}
}

func TestCompletionChecksTheObjectLikeS3(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, avatar, "alice", "image/jpeg", int64(len(jpegBytes)))
	if _, err := f.svc.Complete(ctx, avatar, "alice", in.UploadID); services.ErrorCode(err) != services.EConflict {
		t.Fatalf("complete before the PUT: %v, want conflict", err)
	}
	if st := f.put(in, "image/jpeg", jpegBytes); st != 200 {
		t.Fatalf("PUT %d", st)
	}
	// A GET of the status never writes or publishes: the upload waits for its completion.
	if v, _ := f.svc.Status(ctx, avatar, "alice", in.UploadID); v.Status != services.UploadAwaiting || f.announced(in.UploadID) != 0 {
		t.Fatalf("status before completion: %+v", v)
	}
	for range 2 {
		v, err := f.svc.Complete(ctx, avatar, "alice", in.UploadID)
		if err != nil || v.Status != services.UploadProcessing {
			t.Fatalf("complete: %+v %v", v, err)
		}
	}
	if f.announced(in.UploadID) != 1 {
		t.Fatalf("announced %d times, want once", f.announced(in.UploadID))
	}
	// An object that is not what was declared (a misbehaving store) is never processed.
	odd, _ := f.svc.Create(ctx, avatar, "alice", "image/jpeg", 10)
	if err := f.blob.Put(ctx, avatars.ObjectKey("alice", odd.UploadID), bytes.NewReader(jpegBytes), int64(len(jpegBytes)), "image/jpeg", ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.svc.Complete(ctx, avatar, "alice", odd.UploadID); v.Status != services.UploadRejected || f.announced(odd.UploadID) != 0 {
		t.Fatalf("mismatched object: %+v", v)
	}
	if _, err := f.blob.Head(ctx, avatars.ObjectKey("alice", odd.UploadID)); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("the mismatched object was kept: %v", err)
	}
}

// The arrival and its event are committed together; the outbox relays the event once the bus is back.
func TestUploadsTheBusMissedAreAnnouncedLater(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	f.flaky.down.Store(true)
	in, _ := f.svc.Create(ctx, avatar, "alice", "image/jpeg", int64(len(jpegBytes)))
	if st := f.put(in, "image/jpeg", jpegBytes); st != 200 {
		t.Fatalf("PUT %d", st)
	}
	if n := f.announced(in.UploadID); n != 0 {
		t.Fatalf("announced while the bus was down")
	}
	if v, _ := f.svc.Status(ctx, avatar, "alice", in.UploadID); v.Status != services.UploadProcessing {
		t.Fatalf("status %s while the bus is down", v.Status)
	}
	f.flaky.down.Store(false)
	if err := f.relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.announced(in.UploadID); n != 1 {
		t.Fatalf("%d avatar.uploaded after the relay, want 1", n)
	}
}

func TestAcceptedStatusShowsTheCDNURLs(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, avatar, "alice", "image/jpeg", int64(len(jpegBytes)))
	f.put(in, "image/jpeg", jpegBytes)
	if err := f.db.SetUploadStatus(ctx, in.UploadID, services.UploadAccepted, "ok",
		services.Avatar{Key: "public/avatars/a.jpg", ThumbKey: "public/avatars/b.jpg"}); err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Status(ctx, avatar, "alice", in.UploadID)
	if err != nil || v.Avatar == nil || v.Avatar.URL != "https://cdn.example/avatars/a.jpg" || v.Avatar.ThumbnailURL != "https://cdn.example/avatars/b.jpg" {
		t.Fatalf("status %+v %v", v, err)
	}
}

func TestObjectCreatedEventsCompleteUploadsOnceAndIgnoreStrangers(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, avatar, "alice", "image/jpeg", int64(len(jpegBytes)))
	if st := f.put(in, "image/jpeg", jpegBytes); st != 200 {
		t.Fatalf("PUT %d", st)
	}
	key := avatars.ObjectKey("alice", in.UploadID)
	for range 2 { // S3 → EventBridge → SQS is at-least-once
		if err := f.svc.Arrived(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := f.svc.Status(ctx, avatar, "alice", in.UploadID); v.Status != services.UploadProcessing || f.announced(in.UploadID) != 1 {
		t.Fatalf("after events: %s, announced %d", v.Status, f.announced(in.UploadID))
	}
	unput, _ := f.svc.Create(ctx, avatar, "alice", "image/jpeg", 5)
	for _, key := range []string{"public/avatars/x.jpg", "uploads/mallory/" + in.UploadID, "uploads/alice/unknown", "Test-Bucket",
		avatars.ObjectKey("alice", unput.UploadID)} {
		if err := f.svc.Arrived(ctx, key); err != nil {
			t.Fatalf("stray key %q: %v", key, err)
		}
	}
	if f.announced(in.UploadID) != 1 || f.announced(unput.UploadID) != 0 {
		t.Fatal("a stray event announced an upload")
	}
	if _, err := f.db.Upload(ctx, unput.UploadID); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("an event for a missing object recorded it: %v", err)
	}
}

// A question image is usable in a game only once accepted, and only in its author's quizzes: the
// intent carries its purpose, so an avatar id is not a question image either.
func TestQuestionImagesResolveOnlyWhenAcceptedAndOwned(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	in, err := f.svc.Create(ctx, services.PurposeQuestionImage, "alice", "image/jpeg", int64(len(jpegBytes)))
	if err != nil {
		t.Fatal(err)
	}
	fieldErr := func(err error, want string) {
		t.Helper()
		if services.ErrorCode(err) != services.EInvalid || !strings.Contains(services.ErrorFields(err)["imageId"], want) {
			t.Fatalf("got %v %v, want imageId saying %q", err, services.ErrorFields(err), want)
		}
	}
	if err := f.svc.OwnsImage("alice", in.UploadID); err != nil {
		t.Fatalf("the author's pending image may be attached: %v", err)
	}
	fieldErr(f.svc.OwnsImage("bob", in.UploadID), "one of your question-image uploads")
	_, err = f.svc.ImageURL(ctx, "alice", in.UploadID)
	fieldErr(err, "awaiting_upload")
	f.put(in, "image/jpeg", jpegBytes)
	u, err := f.db.Upload(ctx, in.UploadID)
	if err != nil || u.Purpose != services.PurposeQuestionImage {
		t.Fatalf("recorded upload %+v %v: the purpose must come from the intent", u, err)
	}
	_, err = f.svc.ImageURL(ctx, "alice", in.UploadID)
	fieldErr(err, "processing")
	if err := f.db.SetUploadStatus(ctx, in.UploadID, services.UploadAccepted, "",
		services.Avatar{Key: "public/questions/q.jpg", ThumbKey: "public/questions/t.jpg"}); err != nil {
		t.Fatal(err)
	}
	url, err := f.svc.ImageURL(ctx, "alice", in.UploadID)
	if err != nil || url != "https://cdn.example/questions/q.jpg" {
		t.Fatalf("accepted image URL %q %v", url, err)
	}
	_, err = f.svc.ImageURL(ctx, "bob", in.UploadID)
	fieldErr(err, "one of your question-image uploads")
	v, err := f.svc.Status(ctx, services.PurposeQuestionImage, "alice", in.UploadID)
	if err != nil || v.Avatar != nil || v.Image == nil || v.Image.URL != url {
		t.Fatalf("question image status %+v %v: want image, not avatar", v, err)
	}
	if err := f.db.SetUploadStatus(ctx, in.UploadID, services.UploadRejected, "nope", services.Avatar{}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.ImageURL(ctx, "alice", in.UploadID)
	fieldErr(err, "choose another image")
	av, _ := f.svc.Create(ctx, avatar, "alice", "image/jpeg", 10)
	fieldErr(f.svc.OwnsImage("alice", av.UploadID), "one of your question-image uploads")
}
