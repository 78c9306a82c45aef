package gamelog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/services/games"
)

var runID = fmt.Sprintf("t%d", time.Now().UnixNano())

// conns are the two engines the log runs on: the embedded JetStream of the default install and
// the external NATS server of a scaled-out one (TRIVIUM_TEST_NATS, which make test sets).
func conns(t *testing.T) map[string]*nats.Conn {
	t.Helper()
	ns, err := server.NewServer(&server.Options{JetStream: true, StoreDir: t.TempDir(), DontListen: true, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("embedded NATS not ready")
	}
	t.Cleanup(ns.Shutdown)
	emb, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	url := os.Getenv("TRIVIUM_TEST_NATS")
	if url == "" {
		t.Fatal("TRIVIUM_TEST_NATS is not set (make test sets it)")
	}
	ext, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("NATS at %s: %v", url, err)
	}
	t.Cleanup(ext.Close)
	return map[string]*nats.Conn{"embedded": emb, "external": ext}
}

func openLog(t *testing.T, nc *nats.Conn, prefix string) *Log {
	t.Helper()
	l, err := Open(context.Background(), Config{Conn: nc, Prefix: prefix, RetryFor: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func appendSync(l *Log, code string, after uint64, batch string) (uint64, error) {
	type res struct {
		pos uint64
		err error
	}
	ch := make(chan res, 1)
	l.Append(code, after, []byte(batch), func(pos uint64, err error) { ch <- res{pos, err} })
	r := <-ch
	return r.pos, r.err
}

func TestLogAppendsLoadsFencesAndCloses(t *testing.T) {
	for name, nc := range conns(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l := openLog(t, nc, runID+name+"a.")
			p0, err := l.Create(ctx, "ABCDEF", []byte(`{"op":"create"}`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Create(ctx, "ABCDEF", []byte(`{"op":"create"}`)); !errors.Is(err, games.ErrLogExists) {
				t.Fatalf("second create: %v, want ErrLogExists", err)
			}
			p1, err := appendSync(l, "ABCDEF", p0, "a\nb\n")
			if err != nil {
				t.Fatal(err)
			}
			// A writer that read the log before p1 (an old owner) is refused.
			if _, err := appendSync(l, "ABCDEF", p0, "fork\n"); !errors.Is(err, games.ErrFenced) {
				t.Fatalf("append after a stale position: %v, want ErrFenced", err)
			}
			// Another game's appends do not move this one's position.
			q0, _ := l.Create(ctx, "GHJKMN", []byte(`{"op":"create"}`))
			if _, err := appendSync(l, "GHJKMN", q0, "x\n"); err != nil {
				t.Fatal(err)
			}
			p2, err := appendSync(l, "ABCDEF", p1, "c\n")
			if err != nil {
				t.Fatal(err)
			}
			rec, err := l.Load(ctx, "ABCDEF")
			if err != nil {
				t.Fatal(err)
			}
			if rec.Snapshot != nil || len(rec.Batches) != 3 || rec.Last() != p2 || string(rec.Batches[1].Data) != "a\nb\n" {
				t.Fatalf("load: %+v", rec)
			}
			// A snapshot at p1: the load starts after it.
			l.Snapshot("ABCDEF", p1, []byte("STATE"))
			testwait.Until(t, "the snapshot", func() bool {
				rec, err = l.Load(ctx, "ABCDEF")
				return err == nil && string(rec.Snapshot) == "STATE"
			})
			if rec.SnapshotPos != p1 || len(rec.Batches) != 1 || string(rec.Batches[0].Data) != "c\n" || rec.Last() != p2 {
				t.Fatalf("load after the snapshot: %+v", rec)
			}
			open, err := l.Open(ctx)
			if err != nil || len(open) != 2 {
				t.Fatalf("open games: %v %v", open, err)
			}
			if err := l.CloseGame(ctx, "ABCDEF"); err != nil {
				t.Fatal(err)
			}
			if ok, _ := l.Exists(ctx, "ABCDEF"); ok {
				t.Fatal("a closed game still exists")
			}
			if _, err := l.Load(ctx, "ABCDEF"); !errors.Is(err, games.ErrNoLog) {
				t.Fatalf("load of a closed game: %v", err)
			}
			// Its log is kept for the retention period: the code is not reused meanwhile.
			if _, err := l.Create(ctx, "ABCDEF", []byte(`{"op":"create"}`)); !errors.Is(err, games.ErrLogExists) {
				t.Fatalf("create over a kept log: %v", err)
			}
		})
	}
}

// A retried append whose first attempt was stored but whose ack was lost finds its own message
// and succeeds, instead of mistaking itself for another writer.
func TestARetriedAppendWhoseAckWasLostSucceeds(t *testing.T) {
	for name, nc := range conns(t) {
		t.Run(name, func(t *testing.T) {
			l := openLog(t, nc, runID+name+"b.")
			p0, err := l.Create(context.Background(), "ABCDEF", []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			id := msgID("ABCDEF", p0)
			p1, err := l.appendOne("ABCDEF", p0, []byte("a\n"), id)
			if err != nil {
				t.Fatal(err)
			}
			again, err := l.appendOne("ABCDEF", p0, []byte("a\n"), id)
			if err != nil || again != p1 {
				t.Fatalf("retry of a stored append: %d %v, want %d", again, err, p1)
			}
			rec, _ := l.Load(context.Background(), "ABCDEF")
			if len(rec.Batches) != 2 {
				t.Fatalf("the retry stored the batch twice: %+v", rec.Batches)
			}
		})
	}
}

func TestABatchLargerThanAMessageIsSplitAtEntries(t *testing.T) {
	for name, nc := range conns(t) {
		t.Run(name, func(t *testing.T) {
			l := openLog(t, nc, runID+name+"c.")
			l.maxBatch = 1000
			p0, _ := l.Create(context.Background(), "ABCDEF", []byte(`{}`))
			var b strings.Builder
			for i := range 100 {
				fmt.Fprintf(&b, `{"op":"tick","n":%d}`+"\n", i)
			}
			if _, err := appendSync(l, "ABCDEF", p0, b.String()); err != nil {
				t.Fatal(err)
			}
			rec, _ := l.Load(context.Background(), "ABCDEF")
			var all []byte
			for _, bt := range rec.Batches[1:] {
				if len(bt.Data) > 1000 || !bytes.HasSuffix(bt.Data, []byte("\n")) {
					t.Fatalf("part of %d bytes, ending %q", len(bt.Data), bt.Data[len(bt.Data)-1:])
				}
				all = append(all, bt.Data...)
			}
			if len(rec.Batches) < 3 || string(all) != b.String() {
				t.Fatalf("%d parts; joined equal: %v", len(rec.Batches)-1, string(all) == b.String())
			}
		})
	}
}
