package services_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trivium-game/trivium/services"
)

// FuzzQuizValidate decodes arbitrary JSON as a quiz the way the API does (unknown fields
// refused), normalizes and validates it. Properties: Normalize is idempotent; Validate answers
// nil or an EInvalid error naming at least one field, each a known path; an accepted quiz keeps
// every documented limit, every question accepts its own answer (and alternatives) and refuses
// no-answer, and the quiz survives a JSON round trip unchanged and still valid.
func FuzzQuizValidate(f *testing.F) {
	for _, s := range []string{
		`{"title":"Capitals","mode":"casual","scoring":"flat","questions":[{"text":"Capital of France?","kind":"choice","choices":["Paris","Rome"],"answer":0}]}`,
		`{"title":"Solo","mode":"single","questions":[{"text":"Largest Swiss city?","kind":"open","answer":"Zürich","alternatives":["Zurich"],"timeLimitSec":60}]}`,
		`{"title":"Groups","mode":"competitive","scoring":"speed","questions":[{"text":"a","choices":["x","y","z"],"answer":2,"group":1},{"text":"b","choices":["x","y"],"answer":1,"group":1},{"text":"c","kind":"open","answer":"ok","group":2}]}`,
		`{"title":"Bad","mode":"live","questions":[{"text":"a","choices":["x","X "],"answer":1}]}`,
		`{"title":"  ","mode":"party","scoring":"fast","questions":[]}`,
		`{"title":"T","mode":"casual","questions":[{"text":"a","kind":"open","answer":" \u0301 ","choices":["x"]}]}`,
		`{"title":"T","mode":"casual","questions":[{"text":"a","choices":["x","y"],"answer":"x","timeLimitSec":4}]}`,
		`{"title":"T","mode":"casual","questions":[{"text":"a","choices":["x","y"],"answer":null,"group":-1}]}`,
		`{"title":"T","mode":"casual","questions":[{"text":"a","choices":["x","y"],"answer":1e3}]}`,
		`{"title":"T","mode":"casual","public":true,"questions":[{"text":"İstanbul?","kind":"open","answer":"İSTANBUL"}]}`,
		`{"title":"T","mode":"casual","owner":"me"}`,
		`[]`, `null`, `{"questions":[null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var q services.Quiz
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&q) != nil {
			return
		}
		q.Normalize()
		once := mustJSON(t, q)
		q.Normalize()
		if twice := mustJSON(t, q); !bytes.Equal(once, twice) {
			t.Fatalf("Normalize is not idempotent:\n%s\n%s", once, twice)
		}
		err := q.Validate()
		if err != nil {
			var e *services.Error
			if !errors.As(err, &e) || e.Code != services.EInvalid || len(e.Fields) == 0 {
				t.Fatalf("Validate = %#v, want an EInvalid error with fields", err)
			}
			for k, msg := range e.Fields {
				if !knownField(k) || msg == "" {
					t.Fatalf("problem %q: %q names no known field", k, msg)
				}
			}
			return
		}
		checkValidQuiz(t, &q)
		var back services.Quiz
		if err := json.Unmarshal(once, &back); err != nil {
			t.Fatalf("an accepted quiz does not decode again: %v\n%s", err, once)
		}
		back.Normalize()
		if err := back.Validate(); err != nil {
			t.Fatalf("an accepted quiz is refused after a JSON round trip: %v\n%s", err, once)
		}
		if again := mustJSON(t, back); !bytes.Equal(again, once) {
			t.Fatalf("JSON round trip changed the quiz:\n%s\n%s", once, again)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

var fieldNames = map[string]bool{"title": true, "description": true, "mode": true, "scoring": true, "questions": true}

// knownField accepts the field paths Validate may name: top-level fields and
// questions[i].{text,timeLimitSec,kind,choices,answer,alternatives,group}, choices[j] and
// alternatives[j].
func knownField(k string) bool {
	if fieldNames[k] {
		return true
	}
	rest, ok := strings.CutPrefix(k, "questions[")
	if !ok {
		return false
	}
	_, sub, ok := strings.Cut(rest, "].")
	if !ok {
		return false
	}
	switch sub {
	case "text", "timeLimitSec", "kind", "choices", "answer", "alternatives", "group":
		return true
	}
	return strings.HasPrefix(sub, "choices[") || strings.HasPrefix(sub, "alternatives[")
}

func checkValidQuiz(t *testing.T, q *services.Quiz) {
	t.Helper()
	if n := utf8.RuneCountInString(q.Title); n < 1 || n > 120 || len(q.Questions) < 1 || len(q.Questions) > services.MaxQuestions {
		t.Fatalf("accepted a quiz outside the limits: title %d runes, %d questions", n, len(q.Questions))
	}
	for i, qq := range q.Questions {
		if qq.TimeLimitSec < services.MinTimeLimitSec || qq.TimeLimitSec > services.MaxTimeLimitSec || qq.TimeLimit() <= 0 {
			t.Fatalf("question %d: time limit %d accepted", i, qq.TimeLimitSec)
		}
		if !qq.Correct(qq.Answer) {
			t.Fatalf("question %d does not accept its own answer %v: %+v", i, qq.Answer, qq)
		}
		if qq.Correct(services.Answer{}) {
			t.Fatalf("question %d accepts no answer at all", i)
		}
		switch qq.Kind {
		case services.KindChoice:
			if len(qq.Choices) < 2 || len(qq.Choices) > 4 || qq.Correct(services.Answer{Set: true, IsText: true, Text: qq.Choices[qq.Answer.Index]}) {
				t.Fatalf("question %d: choices %q accepted, or a choice's text counts as the answer", i, qq.Choices)
			}
			pub := qq.Public(i, q.CreatedAt, qq.TimeLimit())
			if len(pub.Choices) != len(qq.Choices) || pub.Text != qq.Text {
				t.Fatalf("question %d: public form %+v", i, pub)
			}
		case services.KindOpen:
			for _, alt := range qq.Alternatives {
				if !qq.Correct(services.Answer{Set: true, IsText: true, Text: alt}) {
					t.Fatalf("question %d does not accept its alternative %q", i, alt)
				}
			}
			if qq.Correct(services.Answer{Set: true, Index: 0}) {
				t.Fatalf("open question %d accepts a choice index", i)
			}
		default:
			t.Fatalf("question %d: kind %q accepted", i, qq.Kind)
		}
		if n := services.NormalizeAnswer(qq.Answer.Text); services.NormalizeAnswer(n) != n {
			t.Fatalf("NormalizeAnswer is not idempotent on %q: %q then %q", qq.Answer.Text, n, services.NormalizeAnswer(n))
		}
	}
}
