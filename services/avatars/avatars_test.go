package avatars_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	"github.com/trivium-game/trivium/services/sqlite"
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
	store  *avatars.Store
	blob   *localblob.Store
	bus    *natsbus.Bus
	flaky  *flakyBus
	offset atomic.Int64 // clock shift
}

// newFixture serves a local blob store over HTTP; with onPut its PUTs complete uploads at once
// (the embedded default), without it the service only learns of them through HEAD, as with S3.
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
	if f.bus, err = natsbus.OpenEmbedded(ctx, filepath.Join(dir, "nats"), natsbus.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.bus.Close() })
	f.flaky = &flakyBus{Bus: f.bus}
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	f.store = avatars.NewStore(db.SQL(), now)
	if err := f.store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var svc atomic.Pointer[avatars.Service]
	cfg := localblob.Config{Dir: filepath.Join(dir, "blobs"), BaseURL: srv.URL, Secret: bytes.Repeat([]byte("s"), 32), Now: now}
	if onPut {
		cfg.OnPut = func(ctx context.Context, key string, info services.BlobInfo) { svc.Load().OnPut(ctx, key, info) }
	}
	if f.blob, err = localblob.New(cfg); err != nil {
		t.Fatal(err)
	}
	h := f.blob.Handler()
	handler.Store(&h)
	if f.svc, err = avatars.New(avatars.Config{Store: f.store, Blob: f.blob, Bus: f.flaky, CDNURL: "https://cdn.example", Now: now}); err != nil {
		t.Fatal(err)
	}
	svc.Store(f.svc)
	return f
}

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

// announced counts avatar.uploaded messages for uploadID on the bus.
func (f *fixture) announced(uploadID string) int {
	f.t.Helper()
	ctx := context.Background()
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
		{"image/png", avatars.MaxContentLength + 1, "contentLength"},
	}
	for _, tc := range tests {
		_, err := f.svc.Create(context.Background(), "p1", tc.contentType, tc.length)
		if services.ErrorCode(err) != services.EInvalid || services.ErrorFields(err)[tc.field] == "" {
			t.Errorf("Create(%q, %d) = %v, want a problem with %s", tc.contentType, tc.length, err, tc.field)
		}
	}
	if _, err := f.svc.Create(context.Background(), "p1", "image/webp", avatars.MaxContentLength); err != nil {
		t.Fatalf("5 MiB WebP refused: %v", err)
	}
}

func TestUploadKeysAreRandomAndUnderTheCallersOwnPrefix(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	a, err := f.svc.Create(ctx, "alice", "image/jpeg", 100)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.svc.Create(ctx, "alice", "image/jpeg", 100)
	ua, _ := f.store.Get(ctx, a.UploadID)
	if ua.Key != "uploads/alice/"+a.UploadID || a.UploadID == b.UploadID || len(a.UploadID) < 20 {
		t.Fatalf("key %q ids %q %q", ua.Key, a.UploadID, b.UploadID)
	}
	if a.Method != "PUT" || a.Headers["Content-Type"] != "image/jpeg" || a.Headers["Content-Length"] != "100" ||
		time.Until(a.ExpiresAt) > avatars.DefaultTTL+time.Second || time.Until(a.ExpiresAt) < avatars.DefaultTTL-time.Minute {
		t.Fatalf("intent %+v", a)
	}
	if !strings.Contains(a.URL, "/blob/uploads/alice/"+a.UploadID) {
		t.Fatalf("url %s", a.URL)
	}
	if _, err := f.svc.Status(ctx, "mallory", a.UploadID); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("another player's upload: %v, want not found", err)
	}
	if _, err := f.svc.Complete(ctx, "mallory", a.UploadID); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("another player's completion: %v, want not found", err)
	}
}

func TestLocalPutAnnouncesTheUploadOnce(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, "alice", "image/jpeg", int64(len(jpegBytes)))
	if st := f.put(in, "image/jpeg", jpegBytes); st != 200 {
		t.Fatalf("PUT %d", st)
	}
	if st := f.put(in, "image/jpeg", jpegBytes); st != 403 {
		t.Fatalf("reused URL: %d, want 403", st)
	}
	v, err := f.svc.Status(ctx, "alice", in.UploadID)
	if err != nil || v.Status != avatars.StatusProcessing || v.Avatar != nil {
		t.Fatalf("status %+v %v", v, err)
	}
	if v, err := f.svc.Complete(ctx, "alice", in.UploadID); err != nil || v.Status != avatars.StatusProcessing {
		t.Fatalf("complete after the local PUT: %+v %v", v, err)
	}
	if n := f.announced(in.UploadID); n != 1 {
		t.Fatalf("%d avatar.uploaded, want 1", n)
	}
}

func TestRefusedPutsStoreNothingAndAnnounceNothing(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, "alice", "image/jpeg", int64(len(jpegBytes)))
	u, _ := f.store.Get(ctx, in.UploadID)
	if st := f.put(in, "image/png", jpegBytes); st != 403 {
		t.Fatalf("mismatched type: %d", st)
	}
	if st := f.put(in, "image/jpeg", jpegBytes[:50]); st != 403 {
		t.Fatalf("mismatched length: %d", st)
	}
	other, _ := f.svc.Create(ctx, "bob", "image/jpeg", int64(len(jpegBytes)))
	// Bob's URL with Alice's key: the signature binds the key.
	forged := avatars.Intent{Method: "PUT", URL: strings.Replace(other.URL, "uploads/bob/"+other.UploadID, "uploads/alice/"+in.UploadID, 1)}
	if st := f.put(forged, "image/jpeg", jpegBytes); st != 403 {
		t.Fatalf("another player's key: %d", st)
	}
	f.offset.Store(int64(avatars.DefaultTTL + time.Second))
	if st := f.put(in, "image/jpeg", jpegBytes); st != 403 {
		t.Fatalf("expired URL: %d", st)
	}
	if _, err := f.blob.Head(ctx, u.Key); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("something was stored: %v", err)
	}
	if v, _ := f.svc.Status(ctx, "alice", in.UploadID); v.Status != avatars.StatusAwaitingUpload {
		t.Fatalf("status %s", v.Status)
	}
	f.offset.Store(int64(avatars.DefaultTTL + avatars.DefaultGrace + time.Minute))
	if v, _ := f.svc.Status(ctx, "alice", in.UploadID); v.Status != avatars.StatusFailed || !strings.Contains(v.Reason, "expired") {
		t.Fatalf("long expired upload: %+v", v)
	}
	if n := f.announced(in.UploadID); n != 0 {
		t.Fatalf("%d avatar.uploaded for a refused upload", n)
	}
}

func TestCompletionChecksTheObjectLikeS3(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, "alice", "image/jpeg", int64(len(jpegBytes)))
	if _, err := f.svc.Complete(ctx, "alice", in.UploadID); services.ErrorCode(err) != services.EConflict {
		t.Fatalf("complete before the PUT: %v, want conflict", err)
	}
	if st := f.put(in, "image/jpeg", jpegBytes); st != 200 {
		t.Fatalf("PUT %d", st)
	}
	for range 2 {
		v, err := f.svc.Complete(ctx, "alice", in.UploadID)
		if err != nil || v.Status != avatars.StatusProcessing {
			t.Fatalf("complete: %+v %v", v, err)
		}
	}
	// The status endpoint finds an upload nobody completed.
	lazy, _ := f.svc.Create(ctx, "alice", "image/jpeg", int64(len(jpegBytes)))
	f.put(lazy, "image/jpeg", jpegBytes)
	if v, _ := f.svc.Status(ctx, "alice", lazy.UploadID); v.Status != avatars.StatusProcessing {
		t.Fatalf("lazy status %s", v.Status)
	}
	if f.announced(in.UploadID) != 1 || f.announced(lazy.UploadID) != 1 {
		t.Fatalf("announced %d and %d times, want once each", f.announced(in.UploadID), f.announced(lazy.UploadID))
	}
	// An object that is not what was declared (a misbehaving store) is never processed.
	odd, _ := f.svc.Create(ctx, "alice", "image/jpeg", 10)
	u, _ := f.store.Get(ctx, odd.UploadID)
	if err := f.blob.Put(ctx, u.Key, bytes.NewReader(jpegBytes), int64(len(jpegBytes)), "image/jpeg", ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.svc.Complete(ctx, "alice", odd.UploadID); v.Status != avatars.StatusRejected || f.announced(odd.UploadID) != 0 {
		t.Fatalf("mismatched object: %+v", v)
	}
}

func TestUploadsTheBusMissedAreAnnouncedLater(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	f.flaky.down.Store(true)
	in, _ := f.svc.Create(ctx, "alice", "image/jpeg", int64(len(jpegBytes)))
	if st := f.put(in, "image/jpeg", jpegBytes); st != 200 {
		t.Fatalf("PUT %d", st)
	}
	if n := f.announced(in.UploadID); n != 0 {
		t.Fatalf("announced while the bus was down")
	}
	f.flaky.down.Store(false)
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.announced(in.UploadID); n != 1 {
		t.Fatalf("%d avatar.uploaded after the sweep, want 1", n)
	}
}

func TestAcceptedStatusShowsTheCDNURLs(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, "alice", "image/jpeg", int64(len(jpegBytes)))
	f.put(in, "image/jpeg", jpegBytes)
	if err := f.store.SetStatus(ctx, in.UploadID, avatars.StatusAccepted, "ok",
		services.Avatar{Key: "public/avatars/a.jpg", ThumbKey: "public/avatars/b.jpg"}); err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Status(ctx, "alice", in.UploadID)
	if err != nil || v.Avatar == nil || v.Avatar.URL != "https://cdn.example/avatars/a.jpg" || v.Avatar.ThumbnailURL != "https://cdn.example/avatars/b.jpg" {
		t.Fatalf("status %+v %v", v, err)
	}
}

func TestObjectCreatedEventsCompleteUploadsOnceAndIgnoreStrangers(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	in, _ := f.svc.Create(ctx, "alice", "image/jpeg", int64(len(jpegBytes)))
	if st := f.put(in, "image/jpeg", jpegBytes); st != 200 {
		t.Fatalf("PUT %d", st)
	}
	u, _ := f.store.Get(ctx, in.UploadID)
	for range 2 { // S3 → EventBridge → SQS is at-least-once
		if err := f.svc.ObjectCreated(ctx, u.Key); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := f.svc.Status(ctx, "alice", in.UploadID); v.Status != avatars.StatusProcessing || f.announced(in.UploadID) != 1 {
		t.Fatalf("after events: %s, announced %d", v.Status, f.announced(in.UploadID))
	}
	for _, key := range []string{"public/avatars/x.jpg", "uploads/mallory/" + in.UploadID, "uploads/alice/unknown", "Test-Bucket"} {
		if err := f.svc.ObjectCreated(ctx, key); err != nil {
			t.Fatalf("stray key %q: %v", key, err)
		}
	}
	if f.announced(in.UploadID) != 1 {
		t.Fatal("a stray event announced the upload again")
	}
}
