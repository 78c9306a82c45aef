package quizzes_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/quizzes"
	"github.com/trivium-game/trivium/services/sqlite"
)

// images is a tiny QuestionImages: upload "ok-<owner>" is the owner's accepted image.
type images struct{ calls int }

func (i *images) ImageURL(_ context.Context, owner, id string) (string, error) {
	i.calls++
	if id != "ok-"+owner {
		return "", services.Invalid(map[string]string{"imageId": "not an accepted image of yours"})
	}
	return "https://cdn.example/public/question-images/" + id + ".webp", nil
}

const kindsQuiz = `{"title":"Kinds","mode":"single","scoring":"flat","questions":[
 {"text":"Sky is blue","kind":"truefalse","answer":true,"timeLimitSec":10},
 {"text":"Primes","kind":"multi","choices":["2","4","5","9"],"answer":[0,2],"timeLimitSec":10},
 {"text":"Favourite","kind":"poll","choices":["a","b"],"timeLimitSec":10},
 {"text":"Boiling point","kind":"number","answer":100,"tolerance":2.5,"min":0,"max":300,"step":1,"timeLimitSec":10},
 {"text":"Order","kind":"order","choices":["one","two","three"],"timeLimitSec":10,"imageId":"IMG"}]}`

func kindsSetup(t *testing.T, img quizzes.QuestionImages, imageID string) (*quizzes.Service, *services.Player, *services.Quiz) {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"), now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &quizzes.Service{Quizzes: db, Plays: db, Now: now, Images: img}
	p := &services.Player{Username: "owner", DisplayName: "Owner"}
	if err := db.CreatePlayer(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	var in services.Quiz
	if err := json.Unmarshal([]byte(strings.ReplaceAll(kindsQuiz, "IMG", imageID)), &in); err != nil {
		t.Fatal(err)
	}
	q, err := s.Create(context.Background(), p, in)
	if err != nil {
		t.Fatal(err)
	}
	return s, p, q
}

func ans(t *testing.T, js string) services.Answer {
	t.Helper()
	var a services.Answer
	if err := json.Unmarshal([]byte(js), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// A single-player run plays every kind: right answers score (a poll never), the order question
// is shown shuffled, and its image URL is resolved through the port.
func TestSinglePlayerPlaysEveryKind(t *testing.T) {
	img := &images{}
	s, p, q := kindsSetup(t, img, "")
	q.Questions[4].ImageID = "ok-" + p.ID
	if _, err := s.Update(context.Background(), p, q.ID, *q); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	play, first, err := s.StartPlay(ctx, p, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	if first.Kind != services.KindTrueFalse || !slices.Equal(first.Choices, []string{"True", "False"}) {
		t.Fatalf("first = %+v", first)
	}
	if _, err := s.Answer(ctx, p, play.ID, 0, ans(t, `[0]`)); services.ErrorCode(err) != services.EInvalid {
		t.Fatalf("list answer to truefalse: %v", err)
	}
	steps := []struct {
		answer  string
		correct bool
	}{{`0`, true}, {`[2,0]`, true}, {`1`, false}, {`101.5`, true}}
	var res *quizzes.AnswerResult
	for i, st := range steps {
		if res, err = s.Answer(ctx, p, play.ID, i, ans(t, st.answer)); err != nil || res.Correct != st.correct {
			t.Fatalf("question %d: %+v %v", i, res, err)
		}
	}
	if res.Score != 3000 || res.Next == nil || res.Next.Kind != services.KindOrder {
		t.Fatalf("before order: %+v", res)
	}
	nq := res.Next
	if slices.Equal(nq.Choices, []string{"one", "two", "three"}) || nq.ImageURL != "https://cdn.example/public/question-images/ok-"+p.ID+".webp" {
		t.Fatalf("order question = %+v", nq)
	}
	right := make([]int, 3)
	for i, c := range nq.Choices {
		right[slices.Index([]string{"one", "two", "three"}, c)] = i
	}
	b, _ := json.Marshal(right)
	if res, err = s.Answer(ctx, p, play.ID, 4, ans(t, string(b))); err != nil || !res.Correct || !res.Finished || res.Score != 4000 {
		t.Fatalf("order: %+v %v", res, err)
	}
	if got, _ := json.Marshal(res.CorrectAnswer); string(got) != string(b) {
		t.Fatalf("correct answer %s, want %s", got, b)
	}
}

// Hosting or playing a quiz whose image is not an accepted upload of its owner is a 422 on that
// question's imageId, and so is an image with no port wired.
func TestQuestionImagesAreResolvedOrRefused(t *testing.T) {
	ctx := context.Background()
	s, p, q := kindsSetup(t, &images{}, "someone-elses")
	_, _, err := s.Host(ctx, p, q.ID)
	if services.ErrorCode(err) != services.EInvalid || !strings.Contains(services.ErrorMessage(err)+fieldsOf(err), "questions[4].imageId") {
		t.Fatalf("host with a foreign image: %v", err)
	}
	s.Images = nil
	if _, _, err := s.Host(ctx, p, q.ID); !strings.Contains(fieldsOf(err), "questions[4].imageId") {
		t.Fatalf("host without a port: %v", err)
	}
	s.Images = &images{}
	q.Questions[4].ImageID = "ok-" + p.ID
	q.Questions[4].ImageURL = "https://evil.example/x.png" // never stored
	if _, err := s.Update(ctx, p, q.ID, *q); err != nil {
		t.Fatal(err)
	}
	stored, _, _ := s.Get(ctx, p, q.ID)
	if stored.Questions[4].ImageURL != "" {
		t.Fatal("an imageUrl was stored with the quiz")
	}
	hosted, _, err := s.Host(ctx, p, q.ID)
	if err != nil || !strings.HasPrefix(hosted.Questions[4].ImageURL, "https://cdn.example/") {
		t.Fatalf("hosted: %v %+v", err, hosted)
	}
}

func fieldsOf(err error) string {
	var b strings.Builder
	for k := range services.ErrorFields(err) {
		b.WriteString(k + " ")
	}
	return b.String()
}

// ownedImages is images that also knows whose uploads are whose: "ok-<owner>" and
// "pending-<owner>" are the owner's.
type ownedImages struct{ images }

func (o *ownedImages) OwnsImage(owner, id string) error {
	if id != "ok-"+owner && id != "pending-"+owner {
		return services.Invalid(map[string]string{"imageId": "must be the uploadId of one of your question-image uploads"})
	}
	return nil
}

func (o *ownedImages) ImageURL(ctx context.Context, owner, id string) (string, error) {
	if id == "pending-"+owner {
		return "", services.Invalid(map[string]string{"imageId": "the image is in_review: a quiz can be hosted once every image is accepted"})
	}
	return o.images.ImageURL(ctx, owner, id)
}

// Saving a quiz refuses another player's image on that question (422); the author's pending
// image may be saved, but the quiz cannot be hosted until it is accepted.
func TestAnotherPlayersImageIsRefusedAndAPendingOneIsNotHostable(t *testing.T) {
	ctx := context.Background()
	s, p, q := kindsSetup(t, &ownedImages{}, "")
	q.Questions[4].ImageID = "ok-someone-else"
	_, err := s.Update(ctx, p, q.ID, *q)
	if services.ErrorCode(err) != services.EInvalid || !strings.Contains(services.ErrorFields(err)["questions[4].imageId"], "your question-image uploads") {
		t.Fatalf("update with another player's image: %v %v", err, services.ErrorFields(err))
	}
	in := *q
	in.ID = ""
	if _, err := s.Create(ctx, p, in); services.ErrorCode(err) != services.EInvalid {
		t.Fatalf("create with another player's image: %v", err)
	}
	q.Questions[4].ImageID = "pending-" + p.ID
	if _, err := s.Update(ctx, p, q.ID, *q); err != nil {
		t.Fatalf("the author's pending image must be saveable: %v", err)
	}
	_, _, err = s.Host(ctx, p, q.ID)
	if !strings.Contains(services.ErrorFields(err)["questions[4].imageId"], "in_review") {
		t.Fatalf("hosting with a pending image: %v %v", err, services.ErrorFields(err))
	}
}
