// Package natsbus implements services.Bus on NATS JetStream: embedded in the process (file store
// in the data directory) for the default deployment, or an external nats:// server for scale-out.
// The code path is the same; only the connection differs.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/trivium-game/trivium/services"
)

// Stream names and defaults.
const (
	EventsStream      = "TRIVIUM_EVENTS"
	DeadLetterStream  = "TRIVIUM_DLQ"
	DefaultMaxDeliver = 6
	DefaultAckWait    = 30 * time.Second
	DefaultWorkers    = 4
	DuplicateWindow   = time.Hour
)

// DefaultBackoff is the retry schedule; each step gets ±20% jitter.
var DefaultBackoff = []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second, 10 * time.Second, 30 * time.Second}

// EventSubjects are the subjects the events stream keeps.
var EventSubjects = []string{"game.*", "score.*", "avatar.*", "notify.*", "purchase.*"}

// Config of a bus. Prefix namespaces stream names and subjects so tests and deployments can share
// one server.
type Config struct {
	Logger *slog.Logger
	Prefix string // subject prefix, e.g. "trivium."; empty for none
	// Replicas for the streams on a clustered server; 1 otherwise.
	Replicas int
}

// Bus is a JetStream-backed services.Bus.
type Bus struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	embedded *server.Server
	log      *slog.Logger
	cfg      Config
	events   jetstream.Stream
	dlq      jetstream.Stream
	closed   chan struct{}
}

var _ services.Bus = (*Bus)(nil)

// OpenEmbedded starts an in-process JetStream server storing under dir and connects to it
// without opening a port.
func OpenEmbedded(ctx context.Context, dir string, cfg Config) (*Bus, error) {
	ns, err := server.NewServer(&server.Options{
		JetStream: true, StoreDir: dir, DontListen: true, ServerName: "trivium-embedded",
		NoSigs: true, NoLog: true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded nats: not ready after 10s")
	}
	closed := make(chan struct{})
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Name("trivium"), onClosed(closed))
	if err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats connect: %w", err)
	}
	b, err := setup(ctx, nc, cfg, closed)
	if err != nil {
		nc.Close()
		ns.Shutdown()
		return nil, err
	}
	b.embedded = ns
	return b, nil
}

// Open connects to an external NATS server (nats://host:port).
func Open(ctx context.Context, url string, cfg Config) (*Bus, error) {
	closed := make(chan struct{})
	nc, err := nats.Connect(url, nats.Name("trivium"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond), onClosed(closed))
	if err != nil {
		return nil, fmt.Errorf("connect nats %s: %w", url, err)
	}
	b, err := setup(ctx, nc, cfg, closed)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

func onClosed(ch chan struct{}) nats.Option {
	return nats.ClosedHandler(func(*nats.Conn) { close(ch) })
}

func setup(ctx context.Context, nc *nats.Conn, cfg Config, closed chan struct{}) (*Bus, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	b := &Bus{nc: nc, js: js, log: cfg.Logger, cfg: cfg, closed: closed}
	subjects := make([]string, len(EventSubjects))
	for i, s := range EventSubjects {
		subjects[i] = cfg.Prefix + s
	}
	b.events, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: b.streamName(EventsStream), Subjects: subjects, Storage: jetstream.FileStorage,
		Duplicates: DuplicateWindow, Replicas: cfg.Replicas, MaxAge: 7 * 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("events stream: %w", err)
	}
	b.dlq, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: b.streamName(DeadLetterStream), Subjects: []string{cfg.Prefix + "dlq.>"}, Storage: jetstream.FileStorage,
		Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("dead-letter stream: %w", err)
	}
	return b, nil
}

func (b *Bus) streamName(s string) string {
	if b.cfg.Prefix == "" {
		return s
	}
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(b.cfg.Prefix)) + s
}

// Conn exposes the NATS connection for real-time fan-out between nodes.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Publish stores an event durably; a repeated msgID within the duplicate window is dropped by the server.
func (b *Bus) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	_, err := b.js.Publish(ctx, b.cfg.Prefix+subject, data, jetstream.WithMsgID(msgID))
	if err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}

// Consume runs a durable consumer until ctx ends.
func (b *Bus) Consume(ctx context.Context, cfg services.ConsumerConfig, h services.Handler) error {
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = DefaultMaxDeliver
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	iters, err := b.consumers(ctx, cfg)
	if err != nil {
		return err
	}
	work := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				b.handle(ctx, cfg, h, m)
			}
		}()
	}
	var pumps sync.WaitGroup
	for _, it := range iters {
		stop := context.AfterFunc(ctx, it.Stop)
		pumps.Add(1)
		go func() {
			defer pumps.Done()
			defer stop()
			for {
				m, err := it.Next()
				if err != nil {
					if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
						return
					}
					b.log.Warn("bus: consumer next", "consumer", cfg.Name, "err", err)
					continue
				}
				select {
				case work <- m:
				case <-ctx.Done():
					_ = m.Nak()
					return
				}
			}
		}()
	}
	pumps.Wait()
	close(work)
	wg.Wait()
	return nil
}

// consumers creates the durable consumer of cfg and opens its message iterator. A consumer of
// several subjects is one consumer with several filters on NATS 2.10 and later; an older server
// refuses that, and then each subject gets its own durable consumer, named after the subject.
func (b *Bus) consumers(ctx context.Context, cfg services.ConsumerConfig) ([]jetstream.MessagesContext, error) {
	base := jetstream.ConsumerConfig{Durable: cfg.Name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: cfg.AckWait,
		MaxAckPending: cfg.Workers * 16}
	configs := []jetstream.ConsumerConfig{base}
	if len(cfg.Subjects) == 1 {
		configs[0].FilterSubject = b.cfg.Prefix + cfg.Subjects[0]
	} else {
		for _, s := range cfg.Subjects {
			configs[0].FilterSubjects = append(configs[0].FilterSubjects, b.cfg.Prefix+s)
		}
	}
	var iters []jetstream.MessagesContext
	for i := 0; i < len(configs); i++ {
		cc := configs[i]
		cons, err := b.events.CreateOrUpdateConsumer(ctx, cc)
		if errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported) && len(configs) == 1 {
			b.log.Info("bus: this NATS server takes one filter per consumer; one consumer per subject", "consumer", cfg.Name)
			configs = configs[:0]
			for _, s := range cfg.Subjects {
				one := base
				one.Durable = cfg.Name + "_" + durableSuffix(s)
				one.FilterSubject = b.cfg.Prefix + s
				configs = append(configs, one)
			}
			i = -1
			continue
		}
		if err != nil {
			stopAll(iters)
			return nil, fmt.Errorf("consumer %s: %w", cc.Durable, err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(cfg.Workers * 2))
		if err != nil {
			stopAll(iters)
			return nil, fmt.Errorf("consume %s: %w", cc.Durable, err)
		}
		iters = append(iters, it)
	}
	return iters, nil
}

func stopAll(iters []jetstream.MessagesContext) {
	for _, it := range iters {
		it.Stop()
	}
}

// durableSuffix turns a subject filter into characters a durable consumer name may hold.
func durableSuffix(subject string) string {
	return strings.NewReplacer(".", "_", "*", "any", ">", "all").Replace(subject)
}

func (b *Bus) handle(ctx context.Context, cfg services.ConsumerConfig, h services.Handler, m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		_ = m.Term()
		return
	}
	msg := services.Message{Subject: strings.TrimPrefix(m.Subject(), b.cfg.Prefix), ID: m.Headers().Get(jetstream.MsgIDHeader),
		Data: m.Data(), Delivered: int(md.NumDelivered)}
	herr := h(ctx, msg)
	if herr == nil {
		if err := m.DoubleAck(ctx); err != nil {
			b.log.Warn("bus: ack", "consumer", cfg.Name, "err", err)
		}
		return
	}
	if ctx.Err() != nil {
		// Shutting down: let the message be redelivered to whoever runs next.
		_ = m.Nak()
		return
	}
	if services.IsPermanent(herr) || msg.Delivered >= cfg.MaxDeliver {
		if err := b.deadLetter(ctx, cfg.Name, msg, herr); err != nil {
			b.log.Error("bus: dead-letter failed; will redeliver", "consumer", cfg.Name, "err", err)
			_ = m.NakWithDelay(time.Second)
			return
		}
		b.log.Warn("bus: dead-lettered", "consumer", cfg.Name, "subject", msg.Subject, "msgId", msg.ID, "attempts", msg.Delivered, "err", herr)
		_ = m.Term()
		return
	}
	_ = m.NakWithDelay(services.StepDelay(cfg.Backoff, msg.Delivered))
}

func (b *Bus) deadLetter(ctx context.Context, consumer string, m services.Message, cause error) error {
	msg := nats.NewMsg(b.cfg.Prefix + "dlq." + consumer)
	msg.Data = m.Data
	msg.Header.Set("Trivium-Subject", m.Subject)
	msg.Header.Set("Trivium-Msg-Id", m.ID)
	msg.Header.Set("Trivium-Error", services.Truncate(cause.Error(), 1000))
	msg.Header.Set("Trivium-Attempts", strconv.Itoa(m.Delivered))
	msg.Header.Set(jetstream.MsgIDHeader, "dlq:"+consumer+":"+m.ID)
	_, err := b.js.PublishMsg(ctx, msg)
	return err
}

// DeadLetters lists parked messages, oldest first.
func (b *Bus) DeadLetters(ctx context.Context, limit int) ([]services.DeadLetter, error) {
	info, err := b.dlq.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("dlq info: %w", err)
	}
	var out []services.DeadLetter
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0 && len(out) < limit; seq++ {
		raw, err := b.dlq.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dlq get %d: %w", seq, err)
		}
		attempts, _ := strconv.Atoi(raw.Header.Get("Trivium-Attempts"))
		out = append(out, services.DeadLetter{Seq: seq, Consumer: strings.TrimPrefix(raw.Subject, b.cfg.Prefix+"dlq."),
			Subject: raw.Header.Get("Trivium-Subject"), MsgID: raw.Header.Get("Trivium-Msg-Id"),
			Error: raw.Header.Get("Trivium-Error"), Attempts: attempts, At: raw.Time, Data: raw.Data})
	}
	return out, nil
}

// Redrive republishes a dead letter to its subject under a fresh dedupe id and removes it.
func (b *Bus) Redrive(ctx context.Context, seq uint64) error {
	raw, err := b.dlq.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return services.Errorf(services.ENotFound, "no dead letter %d", seq)
	}
	if err != nil {
		return fmt.Errorf("dlq get %d: %w", seq, err)
	}
	id := raw.Header.Get("Trivium-Msg-Id") + ":redrive:" + strconv.FormatUint(seq, 10)
	if err := b.Publish(ctx, raw.Header.Get("Trivium-Subject"), id, raw.Data); err != nil {
		return err
	}
	return b.dlq.DeleteMsg(ctx, seq)
}

// Ready reports whether the server answers JetStream requests.
func (b *Bus) Ready(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return errors.New("nats: not connected")
	}
	_, err := b.js.AccountInfo(ctx)
	return err
}

// Close drains the connection (flushing pending publishes) and stops an embedded server.
func (b *Bus) Close() error {
	err := b.nc.Drain()
	// Drain is asynchronous; wait for it so buffered publishes reach the store.
	select {
	case <-b.closed:
	case <-time.After(10 * time.Second):
	}
	if b.embedded != nil {
		b.embedded.Shutdown()
		b.embedded.WaitForShutdown()
	}
	return err
}

// ListenRaw delivers plain (non-JetStream) NATS messages on subject (wildcards allowed) — such as
// an S3 API's object-created notifications — to h until ctx ends: to one member of queue per
// message, or to every listener when queue is empty.
// Core NATS does not keep messages nobody was listening for; callers must have another way to
// catch up (for uploads: the completion call and the status endpoint).
func (b *Bus) ListenRaw(ctx context.Context, subject, queue string, h func(ctx context.Context, data []byte, subject string) error) error {
	handle := func(m *nats.Msg) {
		if err := h(ctx, m.Data, m.Subject); err != nil && ctx.Err() == nil {
			b.log.Warn("bus: raw message handler", "subject", subject, "err", err)
		}
	}
	var sub *nats.Subscription
	var err error
	if queue == "" { // every listener gets every message
		sub, err = b.nc.Subscribe(subject, handle)
	} else { // one member of the group gets each message
		sub, err = b.nc.QueueSubscribe(subject, queue, handle)
	}
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", subject, err)
	}
	<-ctx.Done()
	return sub.Unsubscribe()
}

// PublishRaw sends a plain NATS message: fire-and-forget, for listeners that are up right now
// (in-band copies of notifications to whichever node holds the player's WebSocket).
func (b *Bus) PublishRaw(subject string, data []byte) error {
	return b.nc.Publish(subject, data)
}
