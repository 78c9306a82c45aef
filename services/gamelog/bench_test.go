package gamelog

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/games"
)

// embedded starts an embedded JetStream in dir, as `trivium serve` does, and connects to it.
func embedded(b testing.TB, dir string) (*nats.Conn, func()) {
	b.Helper()
	ns, err := server.NewServer(&server.Options{JetStream: true, StoreDir: dir, DontListen: true, NoSigs: true, NoLog: true})
	if err != nil {
		b.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		b.Fatal("embedded NATS not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		b.Fatal(err)
	}
	return nc, func() { nc.Close(); ns.Shutdown(); ns.WaitForShutdown() }
}

// benchClient is a connection that keeps nothing but counts acks.
type benchClient struct {
	id   string
	mu   sync.Mutex
	acks int
	cond *sync.Cond
}

func newBenchClient(id string) *benchClient {
	c := &benchClient{id: id}
	c.cond = sync.NewCond(&c.mu)
	return c
}
func (c *benchClient) PlayerID() string { return c.id }
func (c *benchClient) Send(f []byte) bool {
	var h struct{ Type string }
	_ = json.Unmarshal(f, &h)
	if h.Type == games.FrameAck || h.Type == games.FrameState || h.Type == games.FrameError {
		c.mu.Lock()
		c.acks++
		c.cond.Broadcast()
		c.mu.Unlock()
	}
	return true
}
func (c *benchClient) Close(int, string) {}
func (c *benchClient) waitAcks(n int) {
	c.mu.Lock()
	for c.acks < n {
		c.cond.Wait()
	}
	c.mu.Unlock()
}

func benchQuiz(n int) services.Quiz {
	q := services.Quiz{ID: "q", Title: "Bench", Mode: services.ModeCasual, Scoring: services.ScoringSpeed}
	for range n {
		q.Questions = append(q.Questions, services.Question{Text: "Which?", Kind: services.KindChoice,
			Choices: []string{"a", "b", "c", "d"}, Answer: services.Answer{Set: true, Index: 1}, TimeLimitSec: 120})
	}
	return q
}

func submit(r *games.Room, c *benchClient, typ string, data string) {
	for !r.Submit(games.Command{Type: typ, Ref: typ, Client: c, Player: games.PlayerInfo{ID: c.id, DisplayName: c.id}, Data: json.RawMessage(data)}) {
		runtime.Gosched() // inbox full: let the room drain it
	}
}

// playGame creates a game on m with players joined, asks the first question and has every
// player answer it (each waits for its ack), leaving it open.
func playGame(b testing.TB, m *games.Manager, players int) string {
	b.Helper()
	r, err := m.Create(benchQuiz(5), games.PlayerInfo{ID: "host"})
	if err != nil {
		b.Fatal(err)
	}
	code := r.Code()
	join := `{"code":"` + code + `"}`
	host := newBenchClient("host")
	submit(r, host, games.CmdJoin, join)
	cs := make([]*benchClient, players)
	for i := range cs {
		cs[i] = newBenchClient(fmt.Sprintf("player-%04d-%s", i, code))
		submit(r, cs[i], games.CmdJoin, join)
	}
	for _, c := range cs {
		c.waitAcks(1)
	}
	host.waitAcks(1)
	submit(r, host, games.CmdStart, `{}`)
	host.waitAcks(2)
	for i, c := range cs {
		if i == len(cs)-1 {
			break // one answer short: the question stays open
		}
		submit(r, c, games.CmdAnswer, `{"index":0,"answer":1}`)
	}
	for _, c := range cs[:len(cs)-1] {
		c.waitAcks(2)
	}
	return code
}

// BenchmarkRecover1000PlayerGame: a game of 1,000 players who joined and answered, read back
// from the embedded JetStream log and replayed (goal ≤ 1 s). Also reports the log's bytes per
// answer.
func BenchmarkRecover1000PlayerGame(b *testing.B) {
	dir := b.TempDir()
	nc, stop := embedded(b, dir)
	defer stop()
	l, err := Open(context.Background(), Config{Conn: nc})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	m := games.NewManager(games.ManagerConfig{Journal: l, MaxGamesPerHost: 1000})
	before := streamBytes(b, l)
	code := playGame(b, m, 1000)
	after := streamBytes(b, l)
	_ = m.Close(context.Background())
	b.ResetTimer()
	for range b.N {
		rec, err := l.Load(context.Background(), code)
		if err != nil {
			b.Fatal(err)
		}
		g, err := games.Replay(rec)
		if err != nil {
			b.Fatal(err)
		}
		if len(g.Connected()) == 0 {
			b.Fatal("nobody in the replayed game")
		}
	}
	b.ReportMetric(float64(after-before)/1999, "logB/command") // 1,000 joins + 999 answers
}

func streamBytes(b testing.TB, l *Log) uint64 {
	b.Helper()
	info, err := l.stream.Info(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return info.State.Bytes
}

// BenchmarkRestart100Games: 100 games of 20 players in progress, the process stops, a new one
// on the same data directory restores all of them (goal: serving all in ≤ 3 s).
func BenchmarkRestart100Games(b *testing.B) {
	dir := b.TempDir()
	nc, stop := embedded(b, dir)
	l, err := Open(context.Background(), Config{Conn: nc})
	if err != nil {
		b.Fatal(err)
	}
	m := games.NewManager(games.ManagerConfig{Journal: l, MaxGamesPerHost: 1000})
	for range 100 {
		playGame(b, m, 20)
	}
	l.Close()
	stop() // no graceful close of the games: as after kill -9
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		nc, stop := embedded(b, dir)
		b.StartTimer()
		start := time.Now()
		l, err := Open(context.Background(), Config{Conn: nc})
		if err != nil {
			b.Fatal(err)
		}
		m2 := games.NewManager(games.ManagerConfig{Journal: l, MaxGamesPerHost: 1000})
		n, err := m2.Recover(context.Background())
		if err != nil || n != 100 {
			b.Fatalf("recovered %d games: %v", n, err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/restart")
		b.StopTimer()
		// Stop without logging anything more, so every iteration restores the same games.
		l.Close()
		stop()
		b.StartTimer()
	}
}
