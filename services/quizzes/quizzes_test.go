package quizzes_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/quizzes"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T, d sqlstore.Dialect, scoring string) (*quizzes.Service, *services.Player, *services.Quiz, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	db := sqltest.Open(t, d, c.now)
	s := &quizzes.Service{Quizzes: db, Plays: db, Now: c.now}
	p := &services.Player{Username: "owner", DisplayName: "Owner"}
	if err := db.CreatePlayer(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	q, err := s.Create(context.Background(), p, services.Quiz{Title: "T", Mode: services.ModeSingle, Scoring: scoring, Questions: []services.Question{
		{Text: "a", Kind: services.KindChoice, Choices: []string{"x", "y"}, Answer: services.Answer{Set: true, Index: 1}, TimeLimitSec: 10},
		{Text: "b", Kind: services.KindOpen, Answer: services.Answer{Set: true, IsText: true, Text: "Crème Brûlée"}, TimeLimitSec: 10},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s, p, q, c
}

func choice(i int) services.Answer { return services.Answer{Set: true, Index: i} }

func TestSpeedScoringFollowsElapsedTime(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, p, q, c := setup(t, d, services.ScoringSpeed)
		play, _, err := s.StartPlay(context.Background(), p, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(5 * time.Second) // half the limit → 1000 × (1 − 0.5/2) = 750
		res, err := s.Answer(context.Background(), p, play.ID, 0, choice(1))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Correct || res.Points != 750 || res.Next == nil || res.Next.Deadline != c.t.Add(10*time.Second).UnixMilli() {
			t.Fatalf("result %+v", res)
		}
		res, err = s.Answer(context.Background(), p, play.ID, 1, services.Answer{Set: true, IsText: true, Text: "  creme   brulee "})
		if err != nil || !res.Correct || res.Points != 1000 || !res.Finished || res.Score != 1750 {
			t.Fatalf("open answer %+v %v", res, err)
		}
	})
}

func TestAnswerAfterDeadlineScoresZeroAndSaysSo(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, p, q, c := setup(t, d, services.ScoringFlat)
		play, _, _ := s.StartPlay(context.Background(), p, q.ID)
		c.t = c.t.Add(10*time.Second + time.Millisecond)
		res, err := s.Answer(context.Background(), p, play.ID, 0, choice(1))
		if err != nil {
			t.Fatal(err)
		}
		if res.Correct || res.Points != 0 || !res.TooLate {
			t.Fatalf("late answer %+v", res)
		}
	})
}

func TestSecondAnswerToTheSameQuestionConflicts(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, p, q, _ := setup(t, d, services.ScoringFlat)
		play, _, _ := s.StartPlay(context.Background(), p, q.ID)
		if _, err := s.Answer(context.Background(), p, play.ID, 0, choice(0)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Answer(context.Background(), p, play.ID, 0, choice(1)); services.ErrorCode(err) != services.EConflict {
			t.Fatalf("repeat: %v", err)
		}
		if _, err := s.Answer(context.Background(), p, play.ID, 5, choice(1)); services.ErrorCode(err) != services.EInvalid {
			t.Fatalf("future index: %v", err)
		}
	})
}

func TestOnlyTheOwnerChangesAQuizAndPrivateOnesStayHidden(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, p, q, _ := setup(t, d, services.ScoringFlat)
		other := &services.Player{ID: "someone-else"}
		if _, _, err := s.Get(context.Background(), other, q.ID); services.ErrorCode(err) != services.ENotFound {
			t.Fatalf("private quiz visible: %v", err)
		}
		if err := s.Delete(context.Background(), other, q.ID); services.ErrorCode(err) != services.ENotFound {
			t.Fatalf("delete by other: %v", err)
		}
		if _, owner, err := s.Get(context.Background(), p, q.ID); err != nil || !owner {
			t.Fatalf("owner view: %v %v", owner, err)
		}
		guest := &services.Player{ID: "g", Guest: true}
		if _, err := s.Create(context.Background(), guest, *q); services.ErrorCode(err) != services.EForbidden {
			t.Fatalf("guest create: %v", err)
		}
	})
}

// TestFinishedRunsSayWhetherTheyMayRank checks the score.recorded of a finished run carries the
// quiz's visibility and author, which the leaderboard needs to keep private and self-written
// quizzes off the global boards.
func TestFinishedRunsSayWhetherTheyMayRank(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		s, p, q, _ := setup(t, d, services.ScoringFlat)
		ctx := context.Background()
		play, _, err := s.StartPlay(ctx, p, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Answer(ctx, p, play.ID, 0, choice(1)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Answer(ctx, p, play.ID, 1, services.Answer{Set: true, IsText: true, Text: "creme brulee"}); err != nil {
			t.Fatal(err)
		}
		evs, err := s.Plays.(services.Outbox).PendingEvents(ctx, 10)
		if err != nil || len(evs) != 1 {
			t.Fatalf("outbox %v, %v; want one score", evs, err)
		}
		var sr services.ScoreRecorded
		if err := json.Unmarshal(evs[0].Data, &sr); err != nil {
			t.Fatal(err)
		}
		if sr.Source != services.SourcePlay || sr.QuizID != q.ID || sr.QuizPublic || sr.QuizOwnerID != p.ID || sr.Score != 2000 {
			t.Errorf("score %+v, want a private run of %s by its owner %s worth 2000", sr, q.ID, p.ID)
		}
	})
}
