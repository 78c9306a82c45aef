// Package gamelog is the durable game log (games.Journal) on NATS JetStream: the embedded server
// of the default install and a NATS cluster when scaled out, one code path.
//
// Each game's log is the subject trivium.gamelog.<code> of one stream; one message is one batch
// of a room's entries. Every append names the stream sequence of the last message on its
// subject (Nats-Expected-Last-Subject-Sequence), so only the writer that read the log last can
// extend it: a paused old owner that wakes up after a takeover is refused and cannot fork the
// game. Snapshots (compaction points) and the set of open games live in a key-value bucket: a
// key per open game, whose value is the position and state of its latest snapshot.
package gamelog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/games"
)

// Names and defaults.
const (
	StreamName       = "TRIVIUM_GAMELOG"
	SubjectPrefix    = "trivium.gamelog."
	SnapshotBucket   = "trivium_gamelog_snapshots"
	DefaultRetention = 7 * 24 * time.Hour
	DefaultRetryFor  = 10 * time.Second
	requestTimeout   = 5 * time.Second
)

// Config of a Log; zero values take the defaults.
type Config struct {
	Conn *nats.Conn // required; JetStream enabled
	// Prefix namespaces the stream, its subjects and the bucket so tests can share a server.
	Prefix string
	// Retention is how long a game's log is kept after its last entry (it feeds reports).
	Retention time.Duration
	// Replicas of the stream and bucket in a cluster (1 on a single server).
	Replicas int
	// RetryFor is how long an append retries transient failures before it reports one.
	RetryFor time.Duration
	Logger   *slog.Logger
}

// Log is a games.Journal on JetStream.
type Log struct {
	cfg      Config
	js       jetstream.JetStream
	stream   jetstream.Stream
	snaps    jetstream.KeyValue
	log      *slog.Logger
	maxBatch int
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu      sync.Mutex
	pending map[string]snapshot // latest snapshot per game not yet written
	wake    chan struct{}
}

type snapshot struct {
	pos   uint64
	state []byte
}

var _ games.Journal = (*Log)(nil)

// Open creates (or updates) the stream and bucket and starts the snapshot writer.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.Conn == nil {
		return nil, errors.New("gamelog: Conn is required")
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = DefaultRetryFor
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("gamelog: jetstream: %w", err)
	}
	name := strings.NewReplacer(".", "_", "*", "_", ">", "_").Replace(cfg.Prefix)
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: name + StreamName, Subjects: []string{cfg.Prefix + SubjectPrefix + "*"},
		Storage: jetstream.FileStorage, MaxAge: cfg.Retention, Replicas: cfg.Replicas,
		Duplicates: 2 * time.Minute, AllowDirect: true,
	})
	if err != nil {
		return nil, fmt.Errorf("gamelog: stream: %w", err)
	}
	snaps, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name + SnapshotBucket, History: 1, TTL: cfg.Retention, Replicas: cfg.Replicas,
		Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("gamelog: snapshot bucket: %w", err)
	}
	// A batch must fit in one message, headers included: larger ones are split at entries.
	maxBatch := int(cfg.Conn.MaxPayload()) - 4096
	cctx, cancel := context.WithCancel(context.Background())
	l := &Log{cfg: cfg, js: js, stream: stream, snaps: snaps, log: cfg.Logger, maxBatch: maxBatch,
		ctx: cctx, cancel: cancel, pending: map[string]snapshot{}, wake: make(chan struct{}, 1)}
	l.wg.Add(1)
	go l.writeSnapshots()
	return l, nil
}

// Close stops the snapshot writer after writing what is pending; appends still in flight finish
// or fail on their own.
func (l *Log) Close() {
	l.cancel()
	l.wg.Wait()
}

func (l *Log) subject(code string) string { return l.cfg.Prefix + SubjectPrefix + code }

// Create implements games.Journal.
func (l *Log) Create(ctx context.Context, code string, entry []byte) (uint64, error) {
	ack, err := l.js.Publish(ctx, l.subject(code), append(append([]byte(nil), entry...), '\n'),
		jetstream.WithExpectLastSequencePerSubject(0), jetstream.WithMsgID(msgID(code, 0)))
	if isWrongSequence(err) {
		return 0, games.ErrLogExists
	}
	if err != nil {
		return 0, fmt.Errorf("gamelog: create %s: %w", code, err)
	}
	// The open marker: a key without a snapshot yet (replay from the create entry).
	if _, err := l.snaps.Put(ctx, code, encodeSnapshot(0, nil)); err != nil {
		return 0, fmt.Errorf("gamelog: open %s: %w", code, err)
	}
	return ack.Sequence, nil
}

// msgID names one append: its retries share it (and are deduplicated), any other append, by
// this writer or another one, never does.
func msgID(code string, after uint64) string {
	return code + ":" + strconv.FormatUint(after, 10) + ":" + strconv.FormatUint(rand.Uint64(), 36)
}

// Append implements games.Journal: the batch goes out at once (asynchronously) and done is
// called from a goroutine of its own once JetStream has stored it.
func (l *Log) Append(code string, after uint64, batch []byte, done func(uint64, error)) {
	parts := split(batch, l.maxBatch)
	go func() {
		pos := after
		for _, p := range parts {
			var err error
			if pos, err = l.appendOne(code, pos, p, msgID(code, pos)); err != nil {
				done(0, err)
				return
			}
		}
		done(pos, nil)
	}()
}

// appendOne publishes one message after position after, retrying transient failures with
// backoff for RetryFor. A retry whose first attempt was stored (its ack was lost) finds its own
// message last on the subject and succeeds with it.
func (l *Log) appendOne(code string, after uint64, data []byte, id string) (uint64, error) {
	subj := l.subject(code)
	deadline := time.Now().Add(l.cfg.RetryFor)
	backoff := services.Backoff{Base: 20 * time.Millisecond, Max: time.Second}
	for attempt := 1; ; attempt++ {
		fut, err := l.js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: data, Header: nats.Header{}},
			jetstream.WithExpectLastSequencePerSubject(after), jetstream.WithMsgID(id))
		if err == nil {
			select {
			case ack := <-fut.Ok():
				return ack.Sequence, nil
			case err = <-fut.Err():
			case <-time.After(requestTimeout):
				err = errors.New("no acknowledgement")
			}
		}
		if isWrongSequence(err) {
			if seq, ok := l.lastIsOurs(subj, id); ok {
				return seq, nil
			}
			return 0, games.ErrFenced
		}
		wait := backoff.Delay(attempt)
		if time.Now().Add(wait).After(deadline) {
			return 0, fmt.Errorf("gamelog: append to %s: %d attempts: %w", code, attempt, err)
		}
		l.log.Warn("game log append failed; retrying", "code", code, "attempt", attempt, "err", err)
		select {
		case <-time.After(wait):
		case <-l.ctx.Done():
			return 0, fmt.Errorf("gamelog: append to %s: closed: %w", code, err)
		}
	}
}

func (l *Log) lastIsOurs(subj, id string) (uint64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	m, err := l.stream.GetLastMsgForSubject(ctx, subj)
	if err != nil || m.Header.Get(jetstream.MsgIDHeader) != id {
		return 0, false
	}
	return m.Sequence, true
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// split cuts a batch of newline-terminated entries into parts of at most max bytes (an entry
// longer than max stays whole: the server refuses it and the append fails).
func split(batch []byte, max int) [][]byte {
	var parts [][]byte
	for len(batch) > max {
		cut := bytes.LastIndexByte(batch[:max], '\n')
		if cut < 0 {
			cut = bytes.IndexByte(batch, '\n')
			if cut < 0 {
				break
			}
		}
		parts = append(parts, batch[:cut+1])
		batch = batch[cut+1:]
	}
	if len(batch) > 0 {
		parts = append(parts, batch)
	}
	return parts
}

// Snapshot implements games.Journal: the writer goroutine stores the latest one per game.
func (l *Log) Snapshot(code string, pos uint64, state []byte) {
	l.mu.Lock()
	l.pending[code] = snapshot{pos, state}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Log) writeSnapshots() {
	defer l.wg.Done()
	for {
		select {
		case <-l.ctx.Done():
			l.flushSnapshots()
			return
		case <-l.wake:
			l.flushSnapshots()
		}
	}
}

func (l *Log) flushSnapshots() {
	l.mu.Lock()
	jobs := l.pending
	l.pending = map[string]snapshot{}
	l.mu.Unlock()
	for code, s := range jobs {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		// Only over an open game's key: a closed game stays closed.
		e, err := l.snaps.Get(ctx, code)
		if err == nil {
			_, err = l.snaps.Update(ctx, code, encodeSnapshot(s.pos, s.state), e.Revision())
		}
		cancel()
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			// Compaction only: the log still holds everything, a restore just replays more.
			l.log.Warn("write game snapshot", "code", code, "err", err)
		}
	}
}

func encodeSnapshot(pos uint64, state []byte) []byte {
	b := make([]byte, 8, 8+len(state))
	binary.BigEndian.PutUint64(b, pos)
	return append(b, state...)
}

// Load implements games.Journal.
func (l *Log) Load(ctx context.Context, code string) (games.Recovered, error) {
	var rec games.Recovered
	e, err := l.snaps.Get(ctx, code)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return rec, games.ErrNoLog
	}
	if err != nil {
		return rec, fmt.Errorf("gamelog: load %s: %w", code, err)
	}
	v := e.Value()
	if len(v) < 8 {
		return rec, fmt.Errorf("gamelog: load %s: malformed snapshot entry", code)
	}
	rec.SnapshotPos = binary.BigEndian.Uint64(v)
	if len(v) > 8 {
		rec.Snapshot = v[8:]
	}
	last, err := l.stream.GetLastMsgForSubject(ctx, l.subject(code))
	if err != nil {
		return rec, fmt.Errorf("gamelog: load %s: last entry: %w", code, err)
	}
	if last.Sequence <= rec.SnapshotPos {
		return rec, nil
	}
	cons, err := l.js.OrderedConsumer(ctx, l.stream.CachedInfo().Config.Name, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{l.subject(code)}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq: rec.SnapshotPos + 1,
	})
	if err != nil {
		return rec, fmt.Errorf("gamelog: load %s: %w", code, err)
	}
	for {
		msgs, err := cons.Fetch(1000, jetstream.FetchMaxWait(requestTimeout))
		if err != nil {
			return rec, fmt.Errorf("gamelog: load %s: %w", code, err)
		}
		n := 0
		for m := range msgs.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return rec, fmt.Errorf("gamelog: load %s: %w", code, err)
			}
			rec.Batches = append(rec.Batches, games.Batch{Pos: md.Sequence.Stream, Data: m.Data()})
			if md.Sequence.Stream >= last.Sequence {
				return rec, nil
			}
		}
		if err := msgs.Error(); err != nil {
			return rec, fmt.Errorf("gamelog: load %s: %w", code, err)
		}
		if n == 0 {
			return rec, fmt.Errorf("gamelog: load %s: the log ends before its last entry %d", code, last.Sequence)
		}
	}
}

// Open implements games.Journal.
func (l *Log) Open(ctx context.Context) ([]string, error) {
	keys, err := l.snaps.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("gamelog: open games: %w", err)
	}
	var codes []string
	seen := map[string]bool{}
	for k := range keys.Keys() {
		if !seen[k] {
			seen[k] = true
			codes = append(codes, k)
		}
	}
	return codes, nil
}

// Exists implements games.Journal.
func (l *Log) Exists(ctx context.Context, code string) (bool, error) {
	_, err := l.snaps.Get(ctx, code)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// CloseGame implements games.Journal; its entries expire with the retention.
func (l *Log) CloseGame(ctx context.Context, code string) error {
	l.mu.Lock()
	delete(l.pending, code)
	l.mu.Unlock()
	if err := l.snaps.Purge(ctx, code); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("gamelog: close %s: %w", code, err)
	}
	return nil
}
