package redis_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/leaderboard/leaderboardtest"
	"github.com/trivium-game/trivium/leaderboard/redis"
)

var flushOnce sync.Once

// testClient connects to TRIVIUM_TEST_REDIS and empties that database once per test binary.
func testClient(t *testing.T) goredis.UniversalClient {
	t.Helper()
	url := os.Getenv("TRIVIUM_TEST_REDIS")
	if url == "" {
		url = "redis://127.0.0.1:6379/15"
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatalf("TRIVIUM_TEST_REDIS=%q: %v", url, err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s is unreachable (set TRIVIUM_TEST_REDIS): %v", url, err)
	}
	var ferr error
	flushOnce.Do(func() { ferr = c.FlushDB(ctx).Err() })
	if ferr != nil {
		t.Fatal(ferr)
	}
	return c
}

var engines struct {
	sync.Mutex
	n int
}

func newEngine(t *testing.T) leaderboard.Engine {
	c := testClient(t)
	engines.Lock()
	engines.n++
	prefix := fmt.Sprintf("test:%d:%d:", os.Getpid(), engines.n)
	engines.Unlock()
	e, err := redis.New(redis.Config{Client: c, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConformance(t *testing.T) { leaderboardtest.Run(t, newEngine) }

// TestOrderIsExactBeyondFloat64 checks scores and times that a float64 sorted-set score would
// round together still order exactly.
func TestOrderIsExactBeyondFloat64(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	const big = int64(1) << 60
	when := time.UnixMilli(1_900_000_000_000)
	for i, u := range []leaderboard.Update{
		{PlayerID: "a", Points: big, At: when},
		{PlayerID: "b", Points: big + 1, At: when},
		{PlayerID: "c", Points: big, At: when.Add(-time.Millisecond)},
		{PlayerID: "d", Points: 9223372036854775807, At: when},
	} {
		u.Board, u.EventKey, u.Mode = "global", fmt.Sprint(i), leaderboard.Best
		if _, err := e.Apply(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.After(ctx, "global", nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	var order string
	for _, s := range got {
		order += fmt.Sprintf("%s=%d ", s.PlayerID, s.Score)
	}
	if want := fmt.Sprintf("d=9223372036854775807 b=%d c=%d a=%d ", big+1, big, big); order != want {
		t.Errorf("order %s, want %s", order, want)
	}
	for i, u := range []leaderboard.Update{
		{Group: "q1", Points: 9223372036854775807},
		{Group: "q2", Points: big},
		{Group: "q3", Points: big + 1},
	} {
		u.Board, u.EventKey, u.PlayerID, u.Mode, u.At = "sums", fmt.Sprint(i), "e", leaderboard.SumOfBests, when
		if _, err := e.Apply(ctx, u); i > 0 && err == nil {
			t.Errorf("update %d: a total beyond MaxInt64 was accepted", i)
		}
	}
}

// TestPrefixesKeepEnginesApart checks two prefixes on one database never see each other's boards.
func TestPrefixesKeepEnginesApart(t *testing.T) {
	a, b := newEngine(t), newEngine(t)
	ctx := context.Background()
	if _, err := a.Apply(ctx, leaderboard.Update{Board: "global", EventKey: "k", PlayerID: "p", Points: 1, At: time.UnixMilli(0)}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.After(ctx, "global", nil, 10); err != nil || len(got) != 0 {
		t.Errorf("other prefix sees %v, %v", got, err)
	}
}
