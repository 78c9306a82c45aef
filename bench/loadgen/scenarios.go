package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// room is one game under load: a host bot and its players.
type room struct {
	code    string
	host    *bot
	players []*bot
	reveals atomic.Int64 // reveal frames seen by the host
	joined  atomic.Int64
}

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// world sets up games and connects players to them; hooks let scenarios react to frames.
type world struct {
	o       options
	srv     *server
	rooms   []*room
	onFrame func(r *room, b **bot, f frame, at time.Time)
	redials atomic.Int64 // handshakes that failed and were tried again
	// Phases of build: the guest sign-ups, then the sockets dialled and joined.
	signupTime, dialTime time.Duration
}

func (w *world) build(ctx context.Context, mode string) error {
	hostTok, quizID, err := setupHost(ctx, w.srv.url, 0, w.o.questions, mode)
	if err != nil {
		return err
	}
	w.rooms = make([]*room, w.o.games)
	for i := range w.rooms {
		code, err := createGame(ctx, w.srv.url, hostTok, quizID)
		if err != nil {
			return err
		}
		r := &room{code: code}
		w.rooms[i] = r
		r.host, err = dialBot(ctx, w.srv.url, hostTok, "127.0.0.1", func(f frame, at time.Time) {
			if f.Type == "reveal" {
				r.reveals.Add(1)
			}
		})
		if err != nil {
			return fmt.Errorf("host dial: %w", err)
		}
		if _, err := r.host.send("join", map[string]string{"code": code}); err != nil {
			return err
		}
	}
	t0 := time.Now()
	toks, err := guests(ctx, w.srv.url, w.o.players, 16)
	if err != nil {
		return fmt.Errorf("guests: %w", err)
	}
	w.signupTime = time.Since(t0)
	t0 = time.Now()
	defer func() { w.dialTime = time.Since(t0) }()
	for _, r := range w.rooms {
		r.players = make([]*bot, 0, w.o.players/w.o.games+1)
	}
	type slot struct {
		r *room
		b **bot
	}
	slots := make([]slot, w.o.players)
	for i := range slots {
		r := w.rooms[i%len(w.rooms)]
		r.players = append(r.players, nil)
		slots[i] = slot{r, &r.players[len(r.players)-1]}
	}
	sem := make(chan struct{}, w.o.dialConcur)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for i, s := range slots {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			onFrame := func(f frame, at time.Time) {
				if f.Type == "state" {
					s.r.joined.Add(1)
				}
				if w.onFrame != nil {
					w.onFrame(s.r, s.b, f, at)
				}
			}
			// A starved machine times out a few handshakes: try again, as a client would, and
			// count it.
			b, err := dialBot(ctx, w.srv.url, toks[i], sourceFor(i, w.o.sourceBase, w.o.sources), onFrame)
			for try := 1; err != nil && try < 3 && ctx.Err() == nil; try++ {
				w.redials.Add(1)
				b, err = dialBot(ctx, w.srv.url, toks[i], sourceFor(i, w.o.sourceBase, w.o.sources), onFrame)
			}
			if err != nil {
				select {
				case errc <- fmt.Errorf("player %d: %w", i, err):
				default:
				}
				return
			}
			*s.b = b
			_, _ = b.send("join", map[string]string{"code": s.r.code})
		}()
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	return waitUntil(ctx, func() bool {
		n := int64(0)
		for _, r := range w.rooms {
			n += r.joined.Load()
		}
		return n >= int64(w.o.players)
	})
}

// disconnected counts players whose sockets have closed.
func (w *world) disconnected() int {
	n := 0
	for _, r := range w.rooms {
		for _, p := range r.players {
			if p == nil {
				continue
			}
			select {
			case <-p.closed:
				n++
			default:
			}
		}
	}
	return n
}

// revealed says whether every room has revealed at least n questions.
func (w *world) revealed(n int) bool {
	for _, r := range w.rooms {
		if r.reveals.Load() < int64(n) {
			return false
		}
	}
	return true
}

func (w *world) close() {
	for _, r := range w.rooms {
		if r == nil {
			continue
		}
		for _, p := range r.players {
			if p != nil {
				p.close()
			}
		}
		if r.host != nil {
			r.host.close()
		}
	}
}

func waitUntil(ctx context.Context, cond func() bool) error {
	for !cond() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

func idle(ctx context.Context, o options, srv *server) (*report, error) {
	w := &world{o: o, srv: srv}
	srv.collectGarbage()
	before := sample(srv.pid)
	goBefore := goMemory(srv.url)
	start := time.Now()
	err := w.build(ctx, "casual")
	defer w.close()
	if err != nil {
		return nil, err
	}
	connectTime := time.Since(start)
	// Let the server settle, then collect its garbage (twice: the first GC shrinks goroutine
	// stacks, the second frees what that released) before reading its memory.
	time.Sleep(2 * time.Second)
	srv.collectGarbage()
	srv.collectGarbage()
	after := sample(srv.pid)
	goAfter := goMemory(srv.url)
	rep := newReport("idle", o)
	rep.add("connected players", float64(o.players), "")
	rep.add("connect time", connectTime.Seconds(), "s")
	rep.add("server RSS before", float64(before.rssKB)/1024, "MiB")
	rep.add("server RSS after", float64(after.rssKB)/1024, "MiB")
	rep.add("server RSS per connection", float64(after.rssKB-before.rssKB)/float64(o.players), "KiB")
	rep.add("server Go heap+stack in use per connection", (goAfter-goBefore)/1024/float64(o.players), "KiB")
	rep.add("loadgen RSS", float64(sample(0).rssKB)/1024, "MiB")
	return rep, nil
}

// questionAt is the server's ask time of a question frame: its deadline less its time limit.
func questionAt(data json.RawMessage) (index int, at time.Time, ok bool) {
	var q struct {
		Index       int
		Deadline    int64
		TimeLimitMs int64
	}
	if json.Unmarshal(data, &q) != nil || q.Deadline == 0 {
		return 0, time.Time{}, false
	}
	return q.Index, time.UnixMilli(q.Deadline - q.TimeLimitMs), true
}

func fanout(ctx context.Context, o options, srv *server) (*report, error) {
	var lat latencies
	var got atomic.Int64
	w := &world{o: o, srv: srv, onFrame: func(r *room, b **bot, f frame, at time.Time) {
		if f.Type == "question" {
			if _, asked, ok := questionAt(f.Data); ok {
				lat.add(at.Sub(asked))
				got.Add(1)
			}
		}
	}}
	if err := w.build(ctx, "casual"); err != nil {
		w.close()
		return nil, err
	}
	defer w.close()
	if err := o.wait(ctx, "connected"); err != nil {
		return nil, err
	}
	s0 := sample(srv.pid)
	l0 := sample(0)
	for q := 0; q < o.questions; q++ {
		want := int64((q + 1) * o.players)
		for _, r := range w.rooms {
			if _, err := r.host.send("next", struct{}{}); err != nil {
				return nil, err
			}
		}
		if err := waitUntil(ctx, func() bool { return got.Load() >= want }); err != nil {
			return nil, err
		}
		for _, r := range w.rooms {
			_, _ = r.host.send("reveal", struct{}{})
		}
		if err := waitUntil(ctx, func() bool { return w.revealed(q + 1) }); err != nil {
			return nil, err
		}
	}
	s1, l1 := sample(srv.pid), sample(0)
	rep := newReport("fanout", o)
	rep.add("players per room", float64(o.players/o.games), "")
	rep.latencies("question fan-out", lat.d)
	rep.add("server CPU", cpuPercent(s0, s1), "% of a core")
	rep.add("loadgen CPU", cpuPercent(l0, l1), "% of a core")
	rep.add("server CPU per 1,000 questions delivered", perThousand(s1.cpuSec-s0.cpuSec, got.Load()), "CPU-s")
	return rep, nil
}

// perThousand is cpu seconds per 1,000 of n.
func perThousand(cpu float64, n int64) float64 {
	if n == 0 {
		return 0
	}
	return cpu * 1000 / float64(n)
}

func answers(ctx context.Context, o options, srv *server) (*report, error) {
	var ackLat, fanLat latencies
	var acked, errorsN atomic.Int64
	// inFlight counts answers scheduled (think time running) or sent and not yet acked or
	// refused. A host seeing the reveal does not mean every player has read its ack: the
	// acks of a busy load generator sit in its sockets behind the reveal (run B of the
	// 50,000 run stopped counting at 47,506 that way), so the run drains them before reading.
	var inFlight atomic.Int64
	// Each question's answering window runs from its first answer sent to its last ack; the
	// accepted rate is answers over the sum of those windows (the server idles in between,
	// waiting for the host bots, which is not what is measured).
	var wmu sync.Mutex
	first, last := map[int]time.Time{}, map[int]time.Time{}
	var sent sync.Map // *bot+ref → send time
	type key struct {
		b   *bot
		ref string
	}
	type pending struct {
		at  time.Time
		idx int
	}
	w := &world{o: o, srv: srv}
	srv.collectGarbage()
	before := sample(srv.pid)
	buildStart := time.Now()
	w.onFrame = func(r *room, bp **bot, f frame, at time.Time) {
		switch f.Type {
		case "question":
			idx, asked, ok := questionAt(f.Data)
			if !ok {
				return
			}
			fanLat.add(at.Sub(asked))
			think := time.Duration(rand.ExpFloat64() * float64(o.think))
			inFlight.Add(1)
			time.AfterFunc(think, func() {
				b := *bp
				if b == nil {
					inFlight.Add(-1)
					return
				}
				t := time.Now()
				wmu.Lock()
				if f, ok := first[idx]; !ok || t.Before(f) {
					first[idx] = t
				}
				wmu.Unlock()
				// Recorded before the write: an ack faster than the bookkeeping would be lost
				// (it was: the quickest acks went uncounted).
				ref, err := b.sendRef("answer", map[string]any{"index": idx, "answer": rand.IntN(4)}, func(ref string) {
					sent.Store(key{b, ref}, pending{t, idx})
				})
				if err != nil {
					if _, ok := sent.LoadAndDelete(key{b, ref}); ok {
						inFlight.Add(-1)
						errorsN.Add(1)
					}
				}
			})
		case "ack", "error":
			if v, ok := sent.LoadAndDelete(key{*bp, f.Ref}); ok {
				inFlight.Add(-1)
				p := v.(pending)
				if f.Type == "ack" {
					ackLat.add(at.Sub(p.at))
					acked.Add(1)
					wmu.Lock()
					if at.After(last[p.idx]) {
						last[p.idx] = at
					}
					wmu.Unlock()
				} else {
					errorsN.Add(1)
				}
			}
		}
	}
	if err := w.build(ctx, "casual"); err != nil {
		w.close()
		return nil, err
	}
	defer w.close()
	connectTime := time.Since(buildStart)
	if err := o.wait(ctx, "connected"); err != nil {
		return nil, err
	}
	srv.collectGarbage()
	conn := sample(srv.pid)
	s0, l0 := sample(srv.pid), sample(0)
	start := time.Now()
	for q := 0; q < o.questions; q++ {
		for _, r := range w.rooms {
			if _, err := r.host.send("next", struct{}{}); err != nil {
				return nil, err
			}
		}
		// Everyone answering closes the question and reveals it on its own.
		if err := waitUntil(ctx, func() bool { return w.revealed(q + 1) }); err != nil {
			return nil, err
		}
	}
	// Every answer acked or refused, or its player's socket gone; whatever is left after the
	// drain is reported, not silently dropped.
	drain := time.Now()
	dctx, dcancel := context.WithTimeout(ctx, 2*time.Minute)
	_ = waitUntil(dctx, func() bool {
		n := inFlight.Load() // the players are scanned only while something is outstanding
		return n == 0 || n <= int64(w.disconnected())
	})
	dcancel()
	drained := time.Since(drain)
	elapsed := time.Since(start)
	s1, l1 := sample(srv.pid), sample(0)
	var windows time.Duration
	var firstSent, lastAck time.Time
	wmu.Lock()
	for idx, f := range first {
		windows += last[idx].Sub(f)
		if firstSent.IsZero() || f.Before(firstSent) {
			firstSent = f
		}
		if last[idx].After(lastAck) {
			lastAck = last[idx]
		}
	}
	wmu.Unlock()
	rep := newReport("answers", o)
	rep.add("connect time (players joined)", connectTime.Seconds(), "s")
	rep.add("handshakes tried again", float64(w.redials.Load()), "")
	rep.add("guest sign-ups", w.signupTime.Seconds(), "s")
	rep.add("sockets dialled and joined", w.dialTime.Seconds(), "s")
	if before.rssKB > 0 {
		rep.add("server RSS per connection", float64(conn.rssKB-before.rssKB)/float64(o.players+o.games), "KiB")
	}
	rep.add("answers acked", float64(acked.Load()), "")
	rep.add("answer errors", float64(errorsN.Load()), "")
	rep.add("answers unacknowledged after the drain", float64(inFlight.Load()), "")
	rep.add("players disconnected", float64(w.disconnected()), "")
	rep.add("acks drained after the last reveal", drained.Seconds(), "s")
	rep.add("answers per second while answering", float64(acked.Load())/windows.Seconds(), "/s")
	rep.add("answers per second overall", float64(acked.Load())/elapsed.Seconds(), "/s")
	rep.latencies("answer ack", ackLat.d)
	rep.latencies("question fan-out", fanLat.d)
	rep.add("server CPU", cpuPercent(s0, s1), "% of a core")
	rep.add("loadgen CPU", cpuPercent(l0, l1), "% of a core")
	rep.add("server CPU per 1,000 answers", perThousand(s1.cpuSec-s0.cpuSec, acked.Load()), "CPU-s")
	rep.add("loadgen CPU per 1,000 answers", perThousand(l1.cpuSec-l0.cpuSec, acked.Load()), "CPU-s")
	rep.add("server RSS", float64(s1.rssKB)/1024, "MiB")
	// Wall-clock bounds, so the answers of several load generators can be added up.
	rep.add("first answer sent at", float64(firstSent.UnixMicro())/1000, "unix ms")
	rep.add("last ack at", float64(lastAck.UnixMicro())/1000, "unix ms")
	return rep, nil
}

func startup(ctx context.Context, o options) (*report, error) {
	rep := newReport("startup", o)
	var first, warm []time.Duration
	for i := 0; i < 5; i++ {
		data, err := os.MkdirTemp("", "trivium-start-")
		if err != nil {
			return nil, err
		}
		s, d, err := startServer(ctx, o.server, data, false) // first start: creates database, keys, streams
		if err != nil {
			return nil, err
		}
		first = append(first, d)
		s.data = ""
		s.stop()
		s, d, err = startServer(ctx, o.server, data, false) // restart on existing data
		if err != nil {
			return nil, err
		}
		warm = append(warm, d)
		s.stop()
	}
	rep.spread("start → /readyz, fresh data dir", first)
	rep.spread("start → /readyz, existing data dir", warm)
	return rep, nil
}
