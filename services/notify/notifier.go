package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/webpush"
)

// ConsumerName is the notifier's durable consumer on the bus.
const ConsumerName = "notifier"

// Defaults for Config's zero values.
const (
	DefaultWorkers       = 8
	DefaultMaxAttempts   = 8
	DefaultBackoffBase   = 5 * time.Second
	DefaultBackoffMax    = 30 * time.Minute
	DefaultSweepInterval = time.Second
	// DefaultLease is how long a claimed delivery is reserved for the sender that claimed it; a
	// sender that dies mid-push leaves its claim, and the delivery is retried when it expires.
	// It must exceed the push sender's timeout (webpush.DefaultTimeout).
	DefaultLease         = 2 * time.Minute
	DefaultShutdownGrace = 5 * time.Second
	DefaultTTL           = 24 * time.Hour
	DefaultRetention     = 30 * 24 * time.Hour
)

// Sender sends one push; *webpush.Sender implements it.
type Sender interface {
	Send(ctx context.Context, sub webpush.Subscription, payload []byte, opts webpush.Options) webpush.Result
}

var _ Sender = (*webpush.Sender)(nil)

// Config configures a Notifier. Store and Sender are required.
type Config struct {
	Store  DeliveryStore
	Sender Sender
	// Now is the clock deliveries come due by; default time.Now. Give it the store's clock.
	Now func() time.Time
	// Mirror sends a frame to the player's open WebSockets without blocking (gateway.Server's
	// SendToPlayer); nil when no gateway runs in this process.
	Mirror func(playerID string, frame []byte) int
	// Builders maps each notifiable subject to its builder; default DefaultBuilders(CDNURL).
	Builders map[string]Builder
	// CDNURL is the base URL events' image keys resolve under (for the default builders).
	CDNURL string
	Logger *slog.Logger
	// Workers bounds concurrent pushes. Default DefaultWorkers.
	Workers int
	// MaxAttempts is how many times a delivery is tried before it is dropped. Default DefaultMaxAttempts.
	MaxAttempts int
	// BackoffBase doubles per failed attempt up to BackoffMax (±20% jitter) when a push service
	// gives no Retry-After. Defaults DefaultBackoffBase, DefaultBackoffMax.
	BackoffBase, BackoffMax time.Duration
	// SweepInterval is how often due deliveries are looked for between kicks. Default DefaultSweepInterval.
	SweepInterval time.Duration
	// Lease: see DefaultLease.
	Lease time.Duration
	// ShutdownGrace is how long in-flight pushes may finish (and be recorded) after the context
	// ends. Default DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// Retention is how long finished delivery records are kept. Default DefaultRetention.
	Retention time.Duration
	// Jitter is the backoff's services.Backoff.Rand (nil: math/rand/v2.Float64).
	Jitter func() float64
	// BeforeSend is a fault-injection hook for tests, called before a delivery is claimed; an
	// error stops this notifier as a crash would: nothing more is claimed and Deliver returns it.
	BeforeSend func(k DeliveryKey) error
}

// Notifier turns notifiable events into inbox entries, in-band frames and Web Push deliveries.
type Notifier struct {
	cfg      Config
	store    DeliveryStore
	log      *slog.Logger
	builders map[string]Builder
	kick     chan struct{}

	mu     sync.Mutex
	queued map[DeliveryKey]bool // handed to a worker and not finished yet
}

// New checks cfg and returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.Store == nil || cfg.Sender == nil {
		return nil, errors.New("notify: Store and Sender are required")
	}
	if cfg.Builders == nil {
		cfg.Builders = DefaultBuilders(cfg.CDNURL)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{cfg: cfg, store: cfg.Store, log: cfg.Logger, builders: cfg.Builders,
		kick: make(chan struct{}, 1), queued: map[DeliveryKey]bool{}}, nil
}

// Subjects are the subjects the notifier consumes, sorted.
func (n *Notifier) Subjects() []string {
	var out []string
	for s := range n.builders {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Run consumes notifiable events from bus and delivers pushes until ctx ends.
func (n *Notifier) Run(ctx context.Context, bus services.Bus) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.Deliver(ctx) })
	g.Go(func() error {
		return bus.Consume(ctx, services.ConsumerConfig{Name: ConsumerName, Subjects: n.Subjects()}, n.Handle)
	})
	return g.Wait()
}

// Handle is the bus handler: it stores the event's notification and its pending deliveries in one
// transaction, mirrors it in-band and wakes the senders. Pushes are sent by Deliver, never here, so
// a slow push service holds up neither the bus nor anything on the game path. A repeated event
// (same message id) changes nothing.
func (n *Notifier) Handle(ctx context.Context, m services.Message) error {
	build := n.builders[m.Subject]
	if build == nil {
		return nil
	}
	d, err := build(m)
	if err != nil {
		return services.Permanent(err)
	}
	if d == nil {
		return nil
	}
	data, err := json.Marshal(d.Data)
	if err != nil {
		return services.Permanent(fmt.Errorf("%s data: %w", m.Subject, err))
	}
	if string(data) == "null" {
		data = []byte("{}")
	}
	ttl := d.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	nt := &Notification{
		PlayerID: d.PlayerID, Topic: d.Topic, Title: services.Truncate(d.Title, maxTitle), Body: services.Truncate(d.Body, maxBody),
		Data: data, TTL: ttl, Urgency: d.Urgency, PushTopic: d.PushTopic,
	}
	source := m.ID
	if source == "" {
		sum := sha256.Sum256(m.Data)
		source = m.Subject + ":" + hex.EncodeToString(sum[:])
	}
	stored, created, err := n.store.AddNotification(ctx, source, nt)
	if err != nil {
		return err
	}
	if !created {
		return nil
	}
	// In-band copies go out once, when the entry is first written; a crash right here loses only
	// this courtesy copy — the inbox and the pushes are already recorded.
	if n.cfg.Mirror != nil {
		if frame, err := stored.Frame(); err == nil {
			n.cfg.Mirror(stored.PlayerID, frame)
		}
	}
	n.Kick()
	return nil
}

// Kick makes the sweeper look for due deliveries now.
func (n *Notifier) Kick() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Deliver sends pending deliveries with at most Workers pushes in flight until ctx ends: at start
// every pending delivery left by an earlier run, then whatever Handle records and whatever comes
// due for a retry. Pushes in flight when ctx ends get ShutdownGrace to finish and be recorded.
func (n *Notifier) Deliver(parent context.Context) error {
	ctx, stop := context.WithCancelCause(parent)
	defer stop(nil)
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(parent))
	defer cancelSends()
	grace := context.AfterFunc(ctx, func() { time.AfterFunc(n.cfg.ShutdownGrace, cancelSends) })
	defer grace()

	jobs := make(chan DeliveryKey)
	var wg sync.WaitGroup
	for range n.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				if err := n.deliver(ctx, sendCtx, k); err != nil {
					stop(err)
				}
				n.mu.Lock()
				delete(n.queued, k)
				n.mu.Unlock()
			}
		}()
	}
	n.sweep(ctx, jobs)
	close(jobs)
	wg.Wait()
	if parent.Err() != nil {
		return nil
	}
	return context.Cause(ctx)
}

// sweep feeds due deliveries to the workers until ctx ends.
func (n *Notifier) sweep(ctx context.Context, jobs chan<- DeliveryKey) {
	tick := time.NewTicker(n.cfg.SweepInterval)
	defer tick.Stop()
	batch := n.cfg.Workers * 4
	var pruned time.Time
	for {
		keys, err := n.store.DueDeliveries(ctx, batch)
		if err != nil && ctx.Err() == nil {
			n.log.Warn("notify: list due deliveries", "err", err)
		}
		fresh := 0
		for _, k := range keys {
			n.mu.Lock()
			busy := n.queued[k]
			n.queued[k] = true
			n.mu.Unlock()
			if busy {
				continue
			}
			fresh++
			select {
			case jobs <- k:
			case <-ctx.Done():
				n.mu.Lock()
				delete(n.queued, k)
				n.mu.Unlock()
				return
			}
		}
		if now := n.cfg.Now(); now.Sub(pruned) > time.Hour {
			pruned = now
			if _, err := n.store.PruneDeliveries(ctx, now.Add(-n.cfg.Retention)); err != nil && ctx.Err() == nil {
				n.log.Warn("notify: prune deliveries", "err", err)
			}
		}
		if len(keys) == batch && fresh > 0 {
			continue // more may be due right now
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-n.kick:
		}
	}
}

// deliver claims one delivery, sends it and records the outcome right away, so a restart neither
// loses it nor pushes it again. Only a BeforeSend fault is returned.
func (n *Notifier) deliver(ctx, sendCtx context.Context, k DeliveryKey) error {
	if ctx.Err() != nil {
		return nil
	}
	if n.cfg.BeforeSend != nil {
		if err := n.cfg.BeforeSend(k); err != nil {
			return err
		}
	}
	// From the claim on, the shutdown grace applies: a claim interrupted half-way would hold the
	// delivery until its lease ends.
	d, ok, err := n.store.ClaimDelivery(sendCtx, k, n.cfg.Lease)
	if err != nil {
		n.log.Warn("notify: claim delivery", "notification", k.NotificationID, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	if err := n.send(sendCtx, d); err != nil {
		// The claim stays until its lease ends; the delivery is retried then.
		n.log.Error("notify: record delivery", "notification", k.NotificationID, "err", err)
	}
	return nil
}

func (n *Notifier) send(ctx context.Context, d *Delivery) error {
	nt := d.Notification
	if d.Subscription == nil {
		return n.store.DropUnsent(ctx, d.DeliveryKey, "subscription removed before sending")
	}
	ttl := nt.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	// A retried push keeps only what is left of its TTL: an outcome is not worth showing a day late.
	left := nt.CreatedAt.Add(ttl).Sub(n.cfg.Now())
	if left < time.Second {
		return n.store.DropUnsent(ctx, d.DeliveryKey, "expired before it could be delivered")
	}
	left = (left + time.Second - 1).Truncate(time.Second)
	res := n.cfg.Sender.Send(ctx, *d.Subscription, pushPayload(nt),
		webpush.Options{TTL: left, Urgency: nt.Urgency, Topic: nt.PushTopic})
	reason := ""
	if res.Err != nil {
		reason = res.Err.Error()
	}
	switch res.Outcome {
	case webpush.Delivered:
		return n.store.FinishDelivery(ctx, d.DeliveryKey, StatusDelivered, res.Status, "")
	case webpush.Gone:
		return n.store.GoneDelivery(ctx, d.DeliveryKey, *d.Subscription, res.Status, reason)
	case webpush.Retry:
		attempt := d.Attempts + 1
		if attempt >= n.cfg.MaxAttempts {
			n.log.Warn("notify: push dropped after the last attempt", "notification", nt.ID, "attempts", attempt, "err", res.Err)
			return n.store.FinishDelivery(ctx, d.DeliveryKey, StatusDropped, res.Status, reason)
		}
		wait := res.RetryAfter
		if wait <= 0 {
			wait = services.Backoff{Base: n.cfg.BackoffBase, Max: n.cfg.BackoffMax, Rand: n.cfg.Jitter}.Delay(attempt)
		}
		return n.store.RetryDelivery(ctx, d.DeliveryKey, n.cfg.Now().Add(wait), res.Status, reason)
	default:
		n.log.Warn("notify: push refused, dropped", "notification", nt.ID, "status", res.Status, "err", res.Err)
		return n.store.FinishDelivery(ctx, d.DeliveryKey, StatusDropped, res.Status, reason)
	}
}

// pushPayload is the JSON a push carries. Builders keep it small; should an event still push it
// over webpush.MaxPayload, the push goes without data and with a shortened body (the inbox entry
// keeps everything).
func pushPayload(nt *Notification) []byte {
	p := nt.Payload()
	b := marshal(p)
	if len(b) <= webpush.MaxPayload {
		return b
	}
	p.Data = json.RawMessage("{}")
	for b = marshal(p); len(b) > webpush.MaxPayload && p.Body != ""; b = marshal(p) {
		p.Body = services.Truncate(p.Body, len(p.Body)/2)
	}
	return b
}

// marshal encodes without HTML escaping, which would make every < > & six bytes long.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a Payload always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
