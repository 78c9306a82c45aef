package moderation_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"image"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/avatars"
	"github.com/trivium-game/trivium/services/localblob"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/outbox"
	"github.com/trivium-game/trivium/services/s3blob"
	"github.com/trivium-game/trivium/services/sqlite"
	"github.com/trivium-game/trivium/services/sqlstore"
)

// fixture is the workflow on real engines: SQLite, a real blob store (local, or S3 through
// newFixtureOn), embedded JetStream.
type fixture struct {
	t       testing.TB
	db      *sqlstore.DB
	blob    services.BlobStore
	bus     *natsbus.Bus
	uploads *sqlstore.DB
	relay   *outbox.Relay // carries the workflow's events to the bus, as in serve
	wf      *moderation.Workflow
	player  *services.Player
	// fault, when set, is consulted at every step point; it returns an error to crash there.
	fault atomic.Pointer[func(step string, recorded bool) error]
}

func newFixture(t testing.TB, mutate func(*moderation.Config)) *fixture {
	return newFixtureOn(t, "local", mutate)
}

// blobDrivers are the blob stores newFixtureOn opens.
var blobDrivers = []string{"local", "s3"}

// newFixtureOn is newFixture on the named blob driver: "local", or "s3" on the S3 API named by
// TRIVIUM_TEST_S3 (versitygw in CI; the test fails without it rather than skip). Keys never
// collide across runs sharing the bucket: they hold fresh player and upload ids.
func newFixtureOn(t testing.TB, driver string, mutate func(*moderation.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	f := &fixture{t: t}
	var err error
	if f.db, err = sqlite.Open(ctx, filepath.Join(dir, "t.db"), time.Now); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	switch driver {
	case "local":
		f.blob, err = localblob.New(localblob.Config{Dir: filepath.Join(dir, "blobs"), BaseURL: "http://127.0.0.1:1",
			Secret: bytes.Repeat([]byte("k"), 32)})
	case "s3":
		raw := os.Getenv("TRIVIUM_TEST_S3")
		if raw == "" {
			t.Fatal("TRIVIUM_TEST_S3 is not set; eval \"$(infra/test-env.sh)\"")
		}
		var st *s3blob.Store
		if st, err = s3blob.Open(ctx, raw); err == nil {
			err = st.EnsureBucket(ctx)
		}
		f.blob = st
	default:
		t.Fatalf("unknown blob driver %q", driver)
	}
	if err != nil {
		t.Fatalf("blob store %s: %v", driver, err)
	}
	if f.bus, err = natsbus.OpenEmbedded(ctx, filepath.Join(dir, "nats"), natsbus.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.bus.Close() })
	f.uploads = f.db
	f.relay = outbox.New(f.db, f.bus, slog.New(slog.DiscardHandler))
	relayCtx, stopRelay := context.WithCancel(context.Background())
	relayDone := make(chan struct{})
	go func() { defer close(relayDone); f.relay.Run(relayCtx) }()
	t.Cleanup(func() { stopRelay(); <-relayDone })
	cfg := moderation.Config{Jobs: f.db, Blob: f.blob, Bus: f.bus, Players: f.db, Uploads: f.uploads, Cases: f.db, Kick: f.relay.Kick,
		AfterStep: func(step string, recorded bool) error {
			if fn := f.fault.Load(); fn != nil {
				return (*fn)(step, recorded)
			}
			return nil
		}}
	if mutate != nil {
		mutate(&cfg)
	}
	if f.wf, err = moderation.NewWorkflow(cfg); err != nil {
		t.Fatal(err)
	}
	f.player = f.newPlayer("ada")
	return f
}

func (f *fixture) newPlayer(name string) *services.Player {
	p := &services.Player{Username: name, DisplayName: name}
	if err := f.db.CreatePlayer(context.Background(), p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) setFault(fn func(step string, recorded bool) error) { f.fault.Store(&fn) }
func (f *fixture) clearFault()                                        { f.fault.Store(nil) }

// upload stores data as player's original, records the upload as the avatars service would
// once the bytes arrived, and returns the avatar.uploaded delivery.
func (f *fixture) upload(p *services.Player, data []byte, contentType string) services.Message {
	f.t.Helper()
	return f.uploadFor(services.PurposeAvatar, p, data, contentType)
}

// uploadFor is upload for an upload of purpose (an avatar or a question image).
func (f *fixture) uploadFor(purpose string, p *services.Player, data []byte, contentType string) services.Message {
	f.t.Helper()
	ctx := context.Background()
	u := &services.Upload{ID: newUploadID(), PlayerID: p.ID, Purpose: purpose, ContentType: contentType,
		ContentLength: int64(len(data)), Status: services.UploadProcessing, ExpiresAt: time.Now().Add(time.Minute)}
	u.Key = avatars.ObjectKey(p.ID, u.ID)
	if err := f.blob.Put(ctx, u.Key, bytes.NewReader(data), int64(len(data)), contentType, ""); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.uploads.RecordArrival(ctx, u, nil); err != nil {
		f.t.Fatal(err)
	}
	b, _ := json.Marshal(services.AvatarUploaded{UploadID: u.ID, PlayerID: p.ID, Purpose: purpose, Key: u.Key, ContentType: contentType,
		Size: int64(len(data))})
	return services.Message{Subject: services.SubjectAvatarUploaded, ID: "avatar.uploaded:" + u.ID, Data: b, Delivered: 1}
}

func newUploadID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func uploadID(m services.Message) string {
	var ev services.AvatarUploaded
	_ = json.Unmarshal(m.Data, &ev)
	return ev.UploadID
}

func (f *fixture) status(id string) *services.Upload {
	f.t.Helper()
	u, err := f.uploads.Upload(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// processed reads every avatar.processed message in the stream, in order, once the outbox has
// relayed what the workflow committed.
func (f *fixture) processed() []services.AvatarProcessed {
	f.t.Helper()
	ctx := context.Background()
	if err := f.relay.Flush(ctx); err != nil {
		f.t.Fatal(err)
	}
	js, err := jetstream.New(f.bus.Conn())
	if err != nil {
		f.t.Fatal(err)
	}
	st, err := js.Stream(ctx, natsbus.EventsStream)
	if err != nil {
		f.t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []services.AvatarProcessed
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			f.t.Fatal(err)
		}
		if m.Subject != services.SubjectAvatarProcessed {
			continue
		}
		var ev services.AvatarProcessed
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// uploadedFor returns the avatar.uploaded messages of one upload in the stream, as deliveries.
func (f *fixture) uploadedFor(id string) []services.Message {
	f.t.Helper()
	ctx := context.Background()
	js, err := jetstream.New(f.bus.Conn())
	if err != nil {
		f.t.Fatal(err)
	}
	st, err := js.Stream(ctx, natsbus.EventsStream)
	if err != nil {
		f.t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []services.Message
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			f.t.Fatal(err)
		}
		var ev services.AvatarUploaded
		if m.Subject != services.SubjectAvatarUploaded || json.Unmarshal(m.Data, &ev) != nil || ev.UploadID != id {
			continue
		}
		out = append(out, services.Message{Subject: m.Subject, ID: m.Header.Get("Nats-Msg-Id"), Data: m.Data, Delivered: 1})
	}
	return out
}

// processedFor returns the avatar.processed events of one upload.
func (f *fixture) processedFor(id string) []services.AvatarProcessed {
	var out []services.AvatarProcessed
	for _, ev := range f.processed() {
		if ev.UploadID == id {
			out = append(out, ev)
		}
	}
	return out
}

func (f *fixture) exists(key string) bool {
	f.t.Helper()
	_, err := f.blob.Head(context.Background(), key)
	if err != nil && services.ErrorCode(err) != services.ENotFound {
		f.t.Fatal(err)
	}
	return err == nil
}

// object reads a stored object and its info.
func (f *fixture) object(key string) ([]byte, services.BlobInfo) {
	f.t.Helper()
	rc, info, err := f.blob.Get(context.Background(), key)
	if err != nil {
		f.t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b, info
}

func decodeImage(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return img
}

// classifier is an HTTP classifier stub answering every image with labels.
func classifier(t *testing.T, labels string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"labels":`+labels+`}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// classifierFunc is an HTTP classifier stub whose answer fn decides at each call.
func classifierFunc(t *testing.T, fn func() (status int, body string)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		status, body := fn()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(5 * time.Millisecond)
	}
}
