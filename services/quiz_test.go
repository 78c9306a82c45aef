package services

import (
	"encoding/json"
	"testing"
	"time"
)

func TestNormalizeAnswerFoldsCaseSpacesAndDiacritics(t *testing.T) {
	for in, want := range map[string]string{
		"  Paris ":      "paris",
		"São   Paulo":   "sao paulo",
		"CRÈME\tbrûlée": "creme brulee",
		"Reykjavík":     "reykjavik",
		"":              "",
	} {
		if got := NormalizeAnswer(in); got != want {
			t.Errorf("NormalizeAnswer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPointsRewardSpeed(t *testing.T) {
	limit := 20 * time.Second
	for _, c := range []struct {
		scoring string
		elapsed time.Duration
		want    int
	}{
		{ScoringSpeed, 0, 1000}, {ScoringSpeed, 10 * time.Second, 750}, {ScoringSpeed, limit, 500},
		{ScoringSpeed, 2 * limit, 500}, {ScoringFlat, 19 * time.Second, 1000},
	} {
		if got := Points(c.scoring, c.elapsed, limit); got != c.want {
			t.Errorf("Points(%s, %s) = %d, want %d", c.scoring, c.elapsed, got, c.want)
		}
	}
}

func TestAnswerJSONIsANumberOrAText(t *testing.T) {
	var q Question
	if err := json.Unmarshal([]byte(`{"text":"x","kind":"open","answer":"Mars","alternatives":["mars planet"]}`), &q); err != nil {
		t.Fatal(err)
	}
	if !q.Correct(Answer{Set: true, IsText: true, Text: " MARS "}) || q.Correct(Answer{Set: true, Index: 0}) {
		t.Fatal("open answer matching")
	}
	var a Answer
	if err := json.Unmarshal([]byte(`{"x":1}`), &a); err == nil {
		t.Fatal("object accepted as an answer")
	}
	b, _ := json.Marshal(Answer{Set: true, Index: 2})
	if string(b) != "2" {
		t.Fatalf("marshal %s", b)
	}
}

func TestQuizValidationNamesEveryBadField(t *testing.T) {
	q := Quiz{Title: "ok", Mode: ModeCompetitive, Scoring: ScoringFlat, Questions: []Question{
		{Text: "a", Kind: KindChoice, Choices: []string{"x", "y"}, Answer: Answer{Set: true, Index: 0}, Group: 2},
		{Text: "b", Kind: KindChoice, Choices: []string{"x", "y"}, Answer: Answer{Set: true, Index: 0}, Group: 1},
		{Text: "c", Kind: KindOpen, Answer: Answer{Set: true, Index: 0}},
	}}
	q.Normalize()
	fields := ErrorFields(q.Validate())
	for _, f := range []string{"questions[1].group", "questions[2].answer", "questions[2].group"} {
		if fields[f] == "" {
			t.Errorf("no error for %s: %v", f, fields)
		}
	}
}

func TestQuizTextIsCleanedOfInvisibleAndReorderingCharacters(t *testing.T) {
	q := Quiz{Title: "Cap\u202Eitals\x00", Description: "one\x1b[2J\r\ntwo", Mode: ModeCasual, Questions: []Question{
		{Text: "Which\u200B one?", Choices: []string{"Paris\u2066", "Par\u200Dis"}, Answer: Answer{Set: true}},
		{Text: "Capital of France?", Kind: KindOpen, Answer: Answer{Set: true, IsText: true, Text: "Pa\U000E0041ris"}, Alternatives: []string{"\u00ADparis"}},
	}}
	q.Normalize()
	if q.Title != "Capitals" || q.Description != "one[2J\ntwo" || q.Questions[0].Text != "Which one?" ||
		q.Questions[1].Answer.Text != "Paris" || q.Questions[1].Alternatives[0] != "paris" {
		t.Fatalf("not cleaned: %+v", q)
	}
	// "Paris" and "Par\u200Dis" look the same, so they are not distinct choices.
	err := q.Validate()
	if got := ErrorFields(err)["questions[0].choices[1]"]; got != "choices must be distinct" {
		t.Fatalf("look-alike choices: %v %v", err, ErrorFields(err))
	}
}
