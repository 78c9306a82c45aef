package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/notify"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
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

// newStore returns the notification store on a fresh database of driver d with clock now.
func newStore(t *testing.T, d sqlstore.Dialect, now func() time.Time) *sqlstore.NotifyStore {
	t.Helper()
	return sqltest.Open(t, d, now).NotifyStore()
}

// rig is a notifier on SQLite with a test clock, pushing to a protocol-checking push service.
type rig struct {
	t      *testing.T
	clock  *clock
	store  *sqlstore.NotifyStore
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
	r.store = newStore(t, sqlstore.SQLite, r.clock.Now)
	keys, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	r.push.SetVAPIDKey(t, keys.Public)
	wcfg := webpush.Config{Keys: keys, Subscriber: "mailto:ops@trivium.example", AllowPrivate: true, Timeout: 5 * time.Second}
	r.cfg = notify.Config{
		CDNURL: testCDN, Store: r.store, Now: r.clock.Now, Workers: 4, SweepInterval: 5 * time.Millisecond, BackoffBase: time.Second, BackoffMax: time.Minute,
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

// testCDN is the CDN base the rig's notifier resolves image keys under.
const testCDN = "https://cdn.trivium.example"

func avatarEvent(playerID, uploadID, status, reason string) services.Message {
	data, _ := json.Marshal(services.AvatarProcessed{UploadID: uploadID, PlayerID: playerID, Status: services.UploadStatus(status), Reason: reason,
		ThumbKey: "public/avatars/" + uploadID + "-64.jpg"})
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
	testwait.For(r.t, what, 10*time.Second, func() bool {
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
