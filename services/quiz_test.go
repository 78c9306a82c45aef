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

// Each kind is validated by its own rules, with the problem on the field at fault.
func TestEveryKindIsValidatedPerField(t *testing.T) {
	for _, c := range []struct {
		question string
		field    string // "" : valid
	}{
		{`{"text":"t","kind":"truefalse","answer":false}`, ""},
		{`{"text":"t","kind":"truefalse","answer":1}`, ""},
		{`{"text":"t","kind":"truefalse","answer":2}`, "answer"},
		{`{"text":"t","kind":"truefalse","choices":["Yes","No"],"answer":true}`, "choices"},
		{`{"text":"t","kind":"multi","choices":["a","b","c"],"answer":[0,2]}`, ""},
		{`{"text":"t","kind":"multi","choices":["a","b","c"],"answer":[]}`, "answer"},
		{`{"text":"t","kind":"multi","choices":["a","b","c"],"answer":[1,1]}`, "answer"},
		{`{"text":"t","kind":"multi","choices":["a","b","c"],"answer":1}`, "answer"},
		{`{"text":"t","kind":"multi","choices":["a"],"answer":[0]}`, "choices"},
		{`{"text":"t","kind":"poll","choices":["a","b","c","d","e","f","g","h","i","j"]}`, ""},
		{`{"text":"t","kind":"poll","choices":["a","b"],"answer":0}`, "answer"},
		{`{"text":"t","kind":"number","answer":3.5,"min":0,"max":10,"tolerance":0.5,"step":0.5}`, ""},
		{`{"text":"t","kind":"number","answer":3,"min":0,"max":10,"tolerance":-1}`, "tolerance"},
		{`{"text":"t","kind":"number","answer":30,"min":0,"max":10}`, "answer"},
		{`{"text":"t","kind":"number","answer":10,"min":10,"max":0}`, "max"},
		{`{"text":"t","kind":"number","answer":3,"max":10}`, "min"},
		{`{"text":"t","kind":"number","answer":"3","min":0,"max":10}`, "answer"},
		{`{"text":"t","kind":"number","answer":3,"min":0,"max":10,"step":-1}`, "step"},
		{`{"text":"t","kind":"order","choices":["a","b","c"]}`, ""},
		{`{"text":"t","kind":"order","choices":["a","b","c"],"answer":[0,1,2]}`, "answer"},
		{`{"text":"t","kind":"order","choices":["a","b","c","d","e","f","g"]}`, "choices"},
		{`{"text":"t","kind":"choice","choices":["a","b"],"answer":0,"tolerance":1}`, "kind"},
		{`{"text":"t","kind":"essay","answer":"x"}`, "kind"},
	} {
		var qq Question
		if err := json.Unmarshal([]byte(c.question), &qq); err != nil {
			t.Fatalf("%s: %v", c.question, err)
		}
		q := Quiz{Title: "T", Mode: ModeCasual, Questions: []Question{{Text: "ok", Kind: KindChoice, Choices: []string{"a", "b"}, Answer: Answer{Set: true}}, qq}}
		q.Normalize()
		fields := ErrorFields(q.Validate())
		if c.field == "" {
			if len(fields) != 0 {
				t.Errorf("%s: unexpected problems %v", c.question, fields)
			}
			continue
		}
		if _, ok := fields["questions[1]."+c.field]; !ok || len(fields) != 1 {
			t.Errorf("%s: problems %v, want questions[1].%s alone", c.question, fields, c.field)
		}
	}
}

// Answers round-trip through JSON in every shape.
func TestAnswerJSONShapes(t *testing.T) {
	for in, out := range map[string]string{`2`: `2`, `"x"`: `"x"`, `[1,0]`: `[1,0]`, `2.5`: `2.5`, `-3`: `-3`, `true`: `0`, `false`: `1`, `null`: `null`} {
		var a Answer
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if b, _ := json.Marshal(a); string(b) != out {
			t.Errorf("%s → %s, want %s", in, b, out)
		}
	}
	var a Answer
	if err := json.Unmarshal([]byte(`[1,2,3,4,5,6,7,8,9,10,11]`), &a); err == nil {
		t.Error("an 11-index list was accepted")
	}
}
