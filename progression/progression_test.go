package progression_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/progression"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

// TestAResultDeliveredTwiceIsCreditedOnce publishes the same game result twice under different
// message ids (as a republish after the bus's duplicate window would) on the real bus.
func TestAResultDeliveredTwiceIsCreditedOnce(t *testing.T) {
	for name, db := range sqltest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			bus, err := natsbus.OpenEmbedded(ctx, filepath.Join(t.TempDir(), "nats"), natsbus.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer bus.Close()
			if err := db.RecordHost(ctx, "g1", "host", "q1", ""); err != nil {
				t.Fatal(err)
			}
			svc := &progression.Service{Store: db}
			var handled atomic.Int32
			done := make(chan error, 1)
			go func() {
				done <- bus.Consume(ctx, services.ConsumerConfig{Name: progression.ConsumerName, Subjects: progression.Subjects},
					func(ctx context.Context, m services.Message) error {
						err := svc.Handle(ctx, m)
						if err == nil {
							handled.Add(1)
						}
						return err
					})
			}()
			game, _ := json.Marshal(services.GameFinished{GameID: "g1", QuizID: "q1", Mode: "casual", FinishedAt: time.Now(),
				Entries: []services.ResultEntry{{PlayerID: "ann", Score: 2500, Rank: 1}, {PlayerID: "bob", Score: 900, Rank: 2},
					{PlayerID: "guest", Guest: true, Score: 5000, Rank: 3}}})
			score, _ := json.Marshal(services.ScoreRecorded{Source: "game", SourceID: "g1", PlayerID: "ann", Score: 2500})
			play, _ := json.Marshal(services.ScoreRecorded{Source: "play", SourceID: "p1", PlayerID: "ann", Score: 3000})
			for id, ev := range map[string]struct {
				subject string
				data    []byte
			}{
				"game:g1": {services.SubjectGameFinished, game}, "game:g1:again": {services.SubjectGameFinished, game},
				"score:g1:ann": {services.SubjectScoreRecorded, score}, "play:p1": {services.SubjectScoreRecorded, play},
				"play:p1:again": {services.SubjectScoreRecorded, play},
			} {
				if err := bus.Publish(ctx, ev.subject, id, ev.data); err != nil {
					t.Fatal(err)
				}
			}
			testwait.Until(t, "five deliveries handled", func() bool { return handled.Load() == 5 })

			gameXP, gameCoins := services.GameAward(2500, 1, 3)
			playXP, playCoins := services.PlayAward(3000)
			want := map[string][2]int64{ // xp, coins
				"ann":   {gameXP + playXP, gameCoins + playCoins},
				"bob":   pair(services.GameAward(900, 2, 3)),
				"host":  pair(services.HostAward(2, 3)),
				"guest": {0, 0},
			}
			for player, w := range want {
				p, err := db.Progress(ctx, player)
				if err != nil {
					t.Fatal(err)
				}
				coins, _ := db.Balance(ctx, services.PlayerAccount(player))
				if p.XP != w[0] || coins != w[1] {
					t.Errorf("%s: %d XP and %d coins, want %d and %d", player, p.XP, coins, w[0], w[1])
				}
			}
			if p, _ := db.Progress(ctx, "ann"); p.GamesPlayed != 2 {
				t.Errorf("ann played %d, want 2 (one game, one run)", p.GamesPlayed)
			}
			if p, _ := db.Progress(ctx, "host"); p.GamesPlayed != 0 {
				t.Errorf("hosting counted as %d games played", p.GamesPlayed)
			}
			cancel()
			<-done
		})
	}
}

func pair(xp, coins int64) [2]int64 { return [2]int64{xp, coins} }

func TestMalformedResultsAreDeadLetteredAtOnce(t *testing.T) {
	svc := &progression.Service{Store: nil}
	for _, m := range []services.Message{
		{Subject: services.SubjectGameFinished, Data: []byte(`{`)},
		{Subject: services.SubjectScoreRecorded, Data: []byte(`{"source":"play"}`)},
	} {
		if err := svc.Handle(context.Background(), m); !services.IsPermanent(err) {
			t.Errorf("%s %s: %v, want a permanent error", m.Subject, m.Data, err)
		}
	}
}
