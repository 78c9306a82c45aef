package leaderboard_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/leaderboard/memory"
	lbredis "github.com/trivium-game/trivium/leaderboard/redis"
)

// benchPlayers is N, from TRIVIUM_BENCH_PLAYERS (default 100000).
func benchPlayers(b *testing.B) int {
	n := 100_000
	if s := os.Getenv("TRIVIUM_BENCH_PLAYERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("TRIVIUM_BENCH_PLAYERS=%q: want a positive integer", s)
		}
		n = v
	}
	return n
}

var benchStart = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// populate gives N players a score on "global" (with plenty of ties), concurrently so a Redis
// engine fills in seconds rather than minutes of round trips.
func populate(b *testing.B, e leaderboard.Engine, n int) {
	b.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	const chunk = 1000
	for lo := 0; lo < n; lo += chunk {
		g.Go(func() error {
			for i := lo; i < min(lo+chunk, n); i++ {
				u := leaderboard.Update{
					Board: "global", EventKey: "seed" + strconv.Itoa(i), PlayerID: "p" + strconv.Itoa(i),
					Mode: leaderboard.SumOfBests, Group: "seed", Points: int64(i * 7919 % 5000), At: benchStart.Add(time.Duration(i%3600) * time.Second),
				}
				if _, err := e.Apply(context.Background(), u); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

type benchEngine struct {
	name string
	open func(b *testing.B) leaderboard.Engine
}

func benchEngines() []benchEngine {
	return []benchEngine{
		{"memory", func(*testing.B) leaderboard.Engine { return memory.New() }},
		{"redis", openBenchRedis},
	}
}

func openBenchRedis(b *testing.B) leaderboard.Engine {
	url := os.Getenv("TRIVIUM_TEST_REDIS")
	if url == "" {
		url = "redis://127.0.0.1:6379/15"
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	c := goredis.NewClient(opt)
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		b.Fatalf("redis at %s is unreachable (set TRIVIUM_TEST_REDIS): %v", url, err)
	}
	prefix := fmt.Sprintf("bench:%d:%d:", os.Getpid(), time.Now().UnixNano())
	b.Cleanup(func() {
		defer c.Close()
		it := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for it.Next(ctx) {
			c.Unlink(ctx, it.Val())
		}
	})
	e, err := lbredis.New(lbredis.Config{Client: c, Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func runBench(b *testing.B, fn func(b *testing.B, e leaderboard.Engine, n int)) {
	n := benchPlayers(b)
	for _, be := range benchEngines() {
		b.Run(fmt.Sprintf("%s/players=%d", be.name, n), func(b *testing.B) {
			e := be.open(b)
			populate(b, e, n)
			b.ResetTimer()
			fn(b, e, n)
		})
	}
}

func BenchmarkRank(b *testing.B) {
	runBench(b, func(b *testing.B, e leaderboard.Engine, n int) {
		r := rand.New(rand.NewPCG(1, 1))
		for b.Loop() {
			if _, _, err := e.Around(context.Background(), "global", "p"+strconv.Itoa(r.IntN(n)), 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkTop10(b *testing.B) {
	runBench(b, func(b *testing.B, e leaderboard.Engine, n int) {
		for b.Loop() {
			if got, err := e.After(context.Background(), "global", nil, 10); err != nil || len(got) != min(10, n) {
				b.Fatal(len(got), err)
			}
		}
	})
}

func BenchmarkUpdate(b *testing.B) {
	runBench(b, func(b *testing.B, e leaderboard.Engine, n int) {
		r := rand.New(rand.NewPCG(2, 2))
		var seq atomic.Int64
		for b.Loop() {
			i := seq.Add(1)
			u := leaderboard.Update{
				Board: "global", EventKey: "bench" + strconv.FormatInt(i, 10), PlayerID: "p" + strconv.Itoa(r.IntN(n)),
				// Up to 200 quizzes per player: each update re-adds that player's bests.
				Mode: leaderboard.SumOfBests, Group: "q" + strconv.FormatInt(i%200, 10), Points: int64(r.IntN(100)), At: benchStart.Add(time.Duration(i) * time.Millisecond),
			}
			if _, err := e.Apply(context.Background(), u); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRawRedis is the anchor: the plain sorted-set calls a hand-written Redis leaderboard
// would make (ZREVRANK, ZREVRANGE 0 9, ZINCRBY) on the same N players, through the same client,
// with none of the engine's tie order, idempotency or paging.
func BenchmarkRawRedis(b *testing.B) {
	n := benchPlayers(b)
	url := os.Getenv("TRIVIUM_TEST_REDIS")
	if url == "" {
		url = "redis://127.0.0.1:6379/15"
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	c := goredis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	key := fmt.Sprintf("bench:raw:%d:%d", os.Getpid(), time.Now().UnixNano())
	defer c.Unlink(ctx, key)
	for lo := 0; lo < n; lo += 10_000 {
		pipe := c.Pipeline()
		for i := lo; i < min(lo+10_000, n); i++ {
			pipe.ZAdd(ctx, key, goredis.Z{Score: float64(i * 7919 % 5000), Member: "p" + strconv.Itoa(i)})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Run(fmt.Sprintf("rank/players=%d", n), func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 1))
		for b.Loop() {
			if err := c.ZRevRank(ctx, key, "p"+strconv.Itoa(r.IntN(n))).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("top10/players=%d", n), func(b *testing.B) {
		for b.Loop() {
			if err := c.ZRevRangeWithScores(ctx, key, 0, 9).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("update/players=%d", n), func(b *testing.B) {
		r := rand.New(rand.NewPCG(2, 2))
		for b.Loop() {
			if err := c.ZIncrBy(ctx, key, float64(r.IntN(100)), "p"+strconv.Itoa(r.IntN(n))).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
