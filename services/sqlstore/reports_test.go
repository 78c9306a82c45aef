package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
)

func TestReportsAreRecordedWithTheResultAndPageTheHostsHistory(t *testing.T) {
	ctx := context.Background()
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			at := time.UnixMilli(1_700_000_000_000).UTC()
			// Three hosted games; the middle two finished, the newest is still running.
			for i := 0; i < 4; i++ {
				id := fmt.Sprintf("g%d", i)
				if err := db.RecordHost(ctx, id, "host", "quiz", ""); err != nil {
					t.Fatal(err)
				}
				if i == 0 || i == 3 {
					continue
				}
				rep := &services.GameReport{Game: services.ReportGame{GameID: id, Code: "ABCD", HostID: "host", FinishedAt: at.Add(time.Duration(i) * time.Minute)},
					Players: []services.ReportPlayer{{PlayerID: "p", Score: 10 * i, Rank: 1}}}
				res := services.GameFinished{GameID: id, QuizID: "quiz", Mode: services.ModeCasual, FinishedAt: rep.Game.FinishedAt, Report: rep}
				for range 2 { // recording twice keeps the first
					if err := db.RecordGame(ctx, res); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := db.GameReport(ctx, "g1")
			if err != nil || got.Players[0].Score != 10 {
				t.Fatalf("report by id: %+v %v", got, err)
			}
			if got, err := db.GameReport(ctx, "ABCD"); err != nil || got.Game.GameID != "g2" {
				t.Fatalf("report by code must be the newest game of that code: %+v %v", got, err)
			}
			if _, err := db.GameReport(ctx, "g3"); services.ErrorCode(err) != services.ENotFound {
				t.Fatalf("unfinished game's report: %v", err)
			}
			var all []services.HostedGame
			cursor := ""
			for page := 0; page < 5; page++ {
				items, next, err := db.HostedGames(ctx, "host", cursor, 3)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, items...)
				if cursor = next; cursor == "" {
					break
				}
			}
			if len(all) != 4 {
				t.Fatalf("history %+v", all)
			}
			phases := map[string]string{}
			for _, g := range all {
				phases[g.GameID] = g.Phase
			}
			if phases["g1"] != "finished" || phases["g2"] != "finished" || phases["g0"] != "unfinished" || phases["g3"] != "unfinished" {
				t.Fatalf("phases %v", phases)
			}
			if items, _, _ := db.HostedGames(ctx, "someone else", "", 10); len(items) != 0 {
				t.Fatalf("another host's history: %+v", items)
			}
		})
	}
}
