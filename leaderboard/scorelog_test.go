package leaderboard_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trivium-game/trivium/leaderboard"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

// TestSQLLog runs the score log's behaviours on every SQL driver (the log lives in
// services/sqlstore; the upgrade of logs made by older releases is tested there).
func TestSQLLog(t *testing.T) {
	t.Run("AppendIsNewOnlyOncePerSourceAndPlayer", func(t *testing.T) {
		sqltest.Run(t, nil, func(t *testing.T, db *sqlstore.DB) { testAppendOnce(t, db.ScoreLog()) })
	})
	t.Run("ReplayStreamsEveryRowOldestFirst", func(t *testing.T) {
		sqltest.Run(t, nil, func(t *testing.T, db *sqlstore.DB) { testReplayOrder(t, db.ScoreLog()) })
	})
}

func testAppendOnce(t *testing.T, log leaderboard.Log) {
	ctx := context.Background()
	s := services.ScoreRecorded{Source: "game", SourceID: "g1", QuizID: "q1", PlayerID: "alice", Score: 10, At: time.UnixMilli(1_800_000_000_123)}
	for i, want := range []bool{true, false} {
		if got, err := log.Append(ctx, s); err != nil || got != want {
			t.Fatalf("Append #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
	s.Score = 99
	if got, err := log.Append(ctx, s); err != nil || got {
		t.Fatalf("Append of the same key with another score = %v, %v; want not new", got, err)
	}
	for _, other := range []services.ScoreRecorded{
		{Source: "play", SourceID: "g1", PlayerID: "alice", At: s.At},
		{Source: "game", SourceID: "g2", PlayerID: "alice", At: s.At},
		{Source: "game", SourceID: "g1", PlayerID: "bob", At: s.At},
	} {
		if got, err := log.Append(ctx, other); err != nil || !got {
			t.Fatalf("Append %+v = %v, %v; want new", other, got, err)
		}
	}
}

func testReplayOrder(t *testing.T, log leaderboard.Log) {
	ctx := context.Background()
	in := []services.ScoreRecorded{
		{Source: "game", SourceID: "g3", QuizID: "q1", QuizPublic: true, QuizOwnerID: "author", PlayerID: "p1", DisplayName: "P One", Score: 3, At: time.UnixMilli(3000).UTC()},
		{Source: "game", SourceID: "g1", QuizID: "q2", PlayerID: "p2", Score: 1, At: time.UnixMilli(1000).UTC()},
		{Source: "play", SourceID: "s1", QuizID: "q1", PlayerID: "p1", Score: 2, At: time.UnixMilli(2000).UTC()},
	}
	for _, s := range in {
		if _, err := log.Append(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var got []services.ScoreRecorded
	if err := log.Replay(ctx, func(s services.ScoreRecorded) error { got = append(got, s); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []services.ScoreRecorded{in[1], in[2], in[0]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Replay = %v\nwant %v", got, want)
	}
	stop := fmt.Errorf("stop")
	n := 0
	if err := log.Replay(ctx, func(services.ScoreRecorded) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Replay with a failing fn = %v after %d rows; want its error after 1", err, n)
	}
}
