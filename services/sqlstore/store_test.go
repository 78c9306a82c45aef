package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

// stores returns the same store on every driver (sqltest.Stores).
func stores(t *testing.T) map[string]*sqlstore.DB { return sqltest.Stores(t) }

func TestStoresBehaveAlikeOnEveryDriver(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("second migrate must be a no-op: %v", err)
			}
			p := &services.Player{Username: "ann", DisplayName: "Ann", PasswordHash: "h"}
			if err := db.CreatePlayer(ctx, p); err != nil {
				t.Fatal(err)
			}
			if err := db.CreatePlayer(ctx, &services.Player{Username: "ann", DisplayName: "x"}); services.ErrorCode(err) != services.EConflict {
				t.Fatalf("duplicate username: %v", err)
			}
			for i := 0; i < 2; i++ { // guests have no username; many may exist
				if err := db.CreatePlayer(ctx, &services.Player{DisplayName: "g", Guest: true}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.PlayerByID(ctx, "missing"); services.ErrorCode(err) != services.ENotFound {
				t.Fatalf("missing player: %v", err)
			}
			if err := db.SetRole(ctx, "ann", services.RoleModerator); err != nil {
				t.Fatal(err)
			}
			got, _ := db.PlayerByUsername(ctx, "ann")
			if got.Role != services.RoleModerator || got.Avatar.Status != services.AvatarNone {
				t.Fatalf("player %+v", got)
			}

			// Tickets are single use.
			if err := db.CreateTicket(ctx, services.Ticket{ID: "tk", PlayerID: p.ID, SessionID: "s", ExpiresAt: time.Now().Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.UseTicket(ctx, "tk"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.UseTicket(ctx, "tk"); services.ErrorCode(err) != services.EUnauthenticated {
				t.Fatalf("reused ticket: %v", err)
			}

			// Keyset paging returns every public quiz once, newest first.
			for i := 0; i < 5; i++ {
				q := &services.Quiz{OwnerID: p.ID, Title: fmt.Sprint("q", i), Mode: "casual", Scoring: "flat", Public: i != 2,
					Questions: []services.Question{{Text: "t", Kind: "choice", Choices: []string{"a", "b"}, Answer: services.Answer{Set: true, Index: 1}}}}
				if err := db.CreateQuiz(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[string]bool{}
			cursor := ""
			for {
				items, next, err := db.ListQuizzes(ctx, services.QuizFilter{Cursor: cursor, Limit: 2})
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range items {
					if seen[q.ID] || !q.Public {
						t.Fatalf("repeat or private quiz %s", q.Title)
					}
					seen[q.ID] = true
					if q.Questions[0].Answer.Index != 1 {
						t.Fatal("answer lost in storage")
					}
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if len(seen) != 4 {
				t.Fatalf("paged %d public quizzes, want 4", len(seen))
			}

			// A finished game is recorded once with one event per player plus game.finished.
			res := services.GameFinished{GameID: "g1", QuizID: "q", Mode: "casual", FinishedAt: time.Now().UTC(),
				Entries: []services.ResultEntry{{PlayerID: p.ID, Score: 10, Rank: 1}, {PlayerID: "other", Score: 5, Rank: 2}}}
			for i := 0; i < 2; i++ {
				if err := db.RecordGame(ctx, res); err != nil {
					t.Fatal(err)
				}
			}
			evs, err := db.PendingEvents(ctx, 100)
			if err != nil || len(evs) != 3 {
				t.Fatalf("outbox %d events, err %v", len(evs), err)
			}
			ids := []int64{}
			for _, e := range evs {
				ids = append(ids, e.ID)
			}
			if err := db.DeleteEvents(ctx, ids); err != nil {
				t.Fatal(err)
			}
			if evs, _ := db.PendingEvents(ctx, 100); len(evs) != 0 {
				t.Fatalf("outbox not emptied")
			}

			// A play advances only from the index it was read at.
			play := &services.Play{QuizID: "q", PlayerID: p.ID, AskedAt: time.Now()}
			if err := db.CreatePlay(ctx, play); err != nil {
				t.Fatal(err)
			}
			play.Index = 1
			if err := db.AdvancePlay(ctx, play, 0, nil); err != nil {
				t.Fatal(err)
			}
			if err := db.AdvancePlay(ctx, play, 0, nil); services.ErrorCode(err) != services.EConflict {
				t.Fatalf("second advance from 0: %v", err)
			}
		})
	}
}

// TestScoresCarryTheirQuizsVisibility checks every score.recorded of a game says whether its quiz
// was public and who wrote it, read when the game is recorded, so the leaderboard can leave
// private and self-written quizzes off the global boards; a missing quiz counts as private.
func TestScoresCarryTheirQuizsVisibility(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			author := &services.Player{Username: "author", DisplayName: "Author", PasswordHash: "h"}
			if err := db.CreatePlayer(ctx, author); err != nil {
				t.Fatal(err)
			}
			quiz := func(public bool) string {
				q := &services.Quiz{OwnerID: author.ID, Title: "q", Mode: "casual", Scoring: "flat", Public: public,
					Questions: []services.Question{{Text: "t", Kind: "choice", Choices: []string{"a", "b"}, Answer: services.Answer{Set: true, Index: 1}}}}
				if err := db.CreateQuiz(ctx, q); err != nil {
					t.Fatal(err)
				}
				return q.ID
			}
			want := map[string]string{}
			for i, quizID := range []string{quiz(true), quiz(false), "deleted"} {
				g := fmt.Sprint("vis", i)
				res := services.GameFinished{GameID: g, QuizID: quizID, Mode: "casual", FinishedAt: time.Now().UTC(),
					Entries: []services.ResultEntry{{PlayerID: "p", Score: 1, Rank: 1}}}
				if err := db.RecordGame(ctx, res); err != nil {
					t.Fatal(err)
				}
				want[g] = [...]string{"true " + author.ID, "false " + author.ID, "false "}[i]
			}
			evs, err := db.PendingEvents(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range evs {
				if e.Subject != services.SubjectScoreRecorded {
					continue
				}
				var sr services.ScoreRecorded
				if err := json.Unmarshal(e.Data, &sr); err != nil {
					t.Fatal(err)
				}
				got[sr.SourceID] = fmt.Sprint(sr.QuizPublic, " ", sr.QuizOwnerID)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("scores say %v, want %v", got, want)
			}
		})
	}
}

func TestAvatarKeyInUseSeesOtherPlayersOnly(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ann, bob := &services.Player{DisplayName: "Ann", Guest: true}, &services.Player{DisplayName: "Bob", Guest: true}
			for _, p := range []*services.Player{ann, bob} {
				if err := db.CreatePlayer(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.SetAvatar(ctx, ann.ID, services.Avatar{Key: "public/avatars/a.jpg", ThumbKey: "public/avatars/t.jpg"}); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				key, except string
				want        bool
			}{
				{"public/avatars/a.jpg", bob.ID, true},
				{"public/avatars/t.jpg", bob.ID, true},
				{"public/avatars/a.jpg", ann.ID, false},
				{"public/avatars/other.jpg", bob.ID, false},
			}
			for _, tc := range tests {
				got, err := db.AvatarKeyInUse(ctx, tc.key, tc.except)
				if err != nil || got != tc.want {
					t.Errorf("AvatarKeyInUse(%q, except %s) = %v, %v; want %v", tc.key, tc.except, got, err, tc.want)
				}
			}
		})
	}
}
