package notify_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/webpush"
	"github.com/trivium-game/trivium/services/webpush/pushtest"
)

// clock is a test clock: deliveries come due only when the test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openSQLite opens a fresh SQLite database with the pragmas the server uses.
func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "notify.db")+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(8)
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgres opens TRIVIUM_TEST_POSTGRES inside a schema of its own, dropped afterwards.
func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	dsn := os.Getenv("TRIVIUM_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("postgres at %s is unreachable (set TRIVIUM_TEST_POSTGRES): %v", dsn, err)
	}
	schema := fmt.Sprintf("notify_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := sql.Open("pgx", dsn+sep+"search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newStore(t *testing.T, db *sql.DB, now func() time.Time) *notify.Store {
	t.Helper()
	s := notify.NewStore(db, now)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Twice: Migrate runs on every start.
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-time.After(5 * time.Millisecond)
	}
}

// rig is a notifier on SQLite with a test clock, pushing to a protocol-checking push service.
type rig struct {
	t      *testing.T
	clock  *clock
	store  *notify.Store
	push   *pushtest.Server
	sender *webpush.Sender
	cfg    notify.Config
	n      *notify.Notifier

	mu     sync.Mutex
	frames []mirrored
}

type mirrored struct {
	PlayerID string
	Frame    []byte
}

func newRig(t *testing.T, mutate ...func(*webpush.Config, *notify.Config)) *rig {
	t.Helper()
	r := &rig{t: t, clock: newClock(), push: pushtest.New(t)}
	r.store = newStore(t, openSQLite(t), r.clock.Now)
	keys, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	r.push.SetVAPIDKey(t, keys.Public)
	wcfg := webpush.Config{Keys: keys, Subscriber: "mailto:ops@trivium.example", AllowPrivate: true, Timeout: 5 * time.Second}
	r.cfg = notify.Config{
		Store: r.store, Workers: 4, SweepInterval: 5 * time.Millisecond, BackoffBase: time.Second, BackoffMax: time.Minute,
		Jitter: func() float64 { return 0.5 }, // exactly the nominal backoff
		Mirror: func(playerID string, frame []byte) int {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.frames = append(r.frames, mirrored{playerID, frame})
			return 1
		},
	}
	for _, m := range mutate {
		m(&wcfg, &r.cfg)
	}
	r.sender, err = webpush.NewSender(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	r.cfg.Sender = r.sender
	r.n = r.notifier(r.cfg)
	return r
}

func (r *rig) notifier(cfg notify.Config) *notify.Notifier {
	r.t.Helper()
	n, err := notify.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// deliver runs n's senders until the test ends; the returned function stops them and returns
// Deliver's result.
func (r *rig) deliver(n *notify.Notifier) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Deliver(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				r.t.Errorf("Deliver did not stop")
			}
		})
		return err
	}
	r.t.Cleanup(func() { stop() })
	return stop
}

func (r *rig) subscribe(playerID string) pushtest.Subscription {
	r.t.Helper()
	sub := r.push.NewSubscription()
	if err := r.store.SaveSubscription(context.Background(), playerID, "session-"+playerID, webpush.Subscription(sub), 0); err != nil {
		r.t.Fatal(err)
	}
	return sub
}

func avatarEvent(playerID, uploadID, status, reason string) services.Message {
	data, _ := json.Marshal(services.AvatarProcessed{UploadID: uploadID, PlayerID: playerID, Status: services.UploadStatus(status), Reason: reason,
		ThumbnailURL: "https://cdn.trivium.example/avatars/" + uploadID + "-64.jpg"})
	return services.Message{Subject: services.SubjectAvatarProcessed, ID: "avatar.processed:" + uploadID, Data: data, Delivered: 1}
}

// publish hands an avatar outcome to the notifier as the bus would and returns its inbox entry.
func (r *rig) publish(n *notify.Notifier, playerID, uploadID, status string) notify.Notification {
	r.t.Helper()
	if err := n.Handle(context.Background(), avatarEvent(playerID, uploadID, status, "")); err != nil {
		r.t.Fatal(err)
	}
	page, _, err := r.store.Notifications(context.Background(), playerID, "", 100)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, it := range page {
		if strings.Contains(string(it.Data), `"uploadId":"`+uploadID+`"`) {
			return it
		}
	}
	r.t.Fatalf("no inbox entry for upload %s", uploadID)
	return notify.Notification{}
}

// state returns the recorded delivery of notification nid to endpoint.
func (r *rig) state(nid, endpoint string) notify.DeliveryState {
	r.t.Helper()
	ds, err := r.store.Deliveries(context.Background(), nid)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, d := range ds {
		if d.Endpoint == endpoint {
			return d
		}
	}
	r.t.Fatalf("no delivery of %s to %s", nid, endpoint)
	return notify.DeliveryState{}
}

// waitState waits until the delivery satisfies cond.
func (r *rig) waitState(nid, endpoint, what string, cond func(notify.DeliveryState) bool) notify.DeliveryState {
	r.t.Helper()
	var d notify.DeliveryState
	waitFor(r.t, what, 10*time.Second, func() bool {
		d = r.state(nid, endpoint)
		return cond(d)
	})
	return d
}

func (r *rig) mirroredFrames() []mirrored {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mirrored(nil), r.frames...)
}
