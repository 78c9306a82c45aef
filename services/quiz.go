package services

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Quiz modes.
const (
	ModeSingle      = "single"
	ModeCasual      = "casual"
	ModeCompetitive = "competitive"
	ModeLive        = "live"
)

// Scoring rules.
const (
	ScoringSpeed = "speed"
	ScoringFlat  = "flat"
)

// Question kinds.
const (
	KindChoice    = "choice"
	KindOpen      = "open"
	KindTrueFalse = "truefalse"
	KindMulti     = "multi"
	KindPoll      = "poll"
	KindNumber    = "number"
	KindOrder     = "order"
)

// Limits of a quiz.
const (
	MaxQuestions        = 100
	MinTimeLimitSec     = 5
	MaxTimeLimitSec     = 120
	DefaultTimeLimitSec = 20
	MaxPoints           = 1000
)

// Quiz is a set of questions a player can play alone or a host can run as a game.
type Quiz struct {
	ID          string     `json:"id"`
	OwnerID     string     `json:"ownerId"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Mode        string     `json:"mode"`
	Scoring     string     `json:"scoring"`
	Public      bool       `json:"public"`
	Questions   []Question `json:"questions"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	// HiddenReason is set when a moderator hid the quiz: it is gone from listings, only its
	// owner sees it, and nobody can host or play it.
	HiddenReason string `json:"hiddenReason,omitempty"`
}

// Question is one question of a quiz, answer included: never send it to players as is.
type Question struct {
	Text         string   `json:"text"`
	Kind         string   `json:"kind"`
	Choices      []string `json:"choices,omitempty"`
	Answer       Answer   `json:"answer,omitzero"`
	Alternatives []string `json:"alternatives,omitempty"`
	Group        int      `json:"group,omitempty"`
	TimeLimitSec int      `json:"timeLimitSec"`
	// Number questions: the answer is right within Tolerance (absolute) of Answer; Min and Max
	// bound the answers (and the client's slider), Step is the slider's step (0: any).
	Tolerance float64  `json:"tolerance,omitempty"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	Step      float64  `json:"step,omitempty"`
	// ImageID is an accepted question-image upload of the quiz's owner; ImageURL is its public
	// URL, resolved when the quiz is hosted or played (never stored with the quiz).
	ImageID  string `json:"imageId,omitempty"`
	ImageURL string `json:"imageUrl,omitempty"`
}

// MaxListAnswer is the most entries a list answer (multi, order) may have.
const MaxListAnswer = 10

// Answer is a choice index, an open text, a number or a list of choice indexes; in JSON it is a
// number, a string, true/false (true is index 0, false index 1) or an array of integers.
type Answer struct {
	Index  int
	Text   string
	IsText bool
	Set    bool
	// List is a multi or order answer (IsList).
	List   []int
	IsList bool
	// Num is a number that is not an integer (Frac); integers are in Index.
	Num  float64
	Frac bool
	// Bool: the JSON was true (Index 0) or false (Index 1).
	Bool bool
}

// Number is a numeric answer's value.
func (a Answer) Number() float64 {
	if a.Frac {
		return a.Num
	}
	return float64(a.Index)
}

// numeric reports whether a is a plain JSON number (not a text, list or boolean).
func (a Answer) numeric() bool { return a.Set && !a.IsText && !a.IsList && !a.Bool }

// index reports whether a is a choice index (an integer, or a boolean when bools is set).
func (a Answer) index(bools bool) bool {
	return a.Set && !a.IsText && !a.IsList && !a.Frac && (bools || !a.Bool)
}

// MarshalJSON writes a number for a choice or number, a string for an open answer and an array
// for a list.
func (a Answer) MarshalJSON() ([]byte, error) {
	switch {
	case !a.Set:
		return []byte("null"), nil
	case a.IsText:
		return json.Marshal(a.Text)
	case a.IsList:
		l := a.List
		if l == nil {
			l = []int{}
		}
		return json.Marshal(l)
	case a.Frac:
		return []byte(strconv.FormatFloat(a.Num, 'g', -1, 64)), nil
	}
	return []byte(strconv.Itoa(a.Index)), nil
}

// UnmarshalJSON accepts a number, a string, a boolean, an array of integers or null.
func (a *Answer) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*a = Answer{}
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		a.Set, a.IsText = true, true
		return json.Unmarshal(b, &a.Text)
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		a.Set, a.Bool = true, true
		if b[0] == 'f' {
			a.Index = 1
		}
		return nil
	case len(b) > 0 && b[0] == '[':
		var l []int
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("answer must be an array of choice indexes")
		}
		if len(l) > MaxListAnswer {
			return fmt.Errorf("answer must have at most %d indexes", MaxListAnswer)
		}
		a.Set, a.IsList, a.List = true, true, l
		return nil
	default:
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("answer must be a choice index, a number, a text or a list")
		}
		a.Set = true
		if f == math.Trunc(f) && math.Abs(f) <= 1<<52 {
			a.Index = int(f)
		} else {
			a.Num, a.Frac = f, true
		}
		return nil
	}
}

// String renders the answer for messages.
func (a Answer) String() string {
	switch {
	case a.IsText:
		return a.Text
	case a.IsList:
		parts := make([]string, len(a.List))
		for i, n := range a.List {
			parts[i] = strconv.Itoa(n)
		}
		return strings.Join(parts, ",")
	case a.Frac:
		return strconv.FormatFloat(a.Num, 'g', -1, 64)
	}
	return strconv.Itoa(a.Index)
}

// TimeLimit returns the question's time limit, defaulted.
func (q Question) TimeLimit() time.Duration {
	s := q.TimeLimitSec
	if s == 0 {
		s = DefaultTimeLimitSec
	}
	return time.Duration(s) * time.Second
}

// Correct reports whether a given answer is right for q.
func (q Question) Correct(a Answer) bool {
	if !a.Set {
		return false
	}
	switch q.Kind {
	case KindChoice, KindTrueFalse, "":
		return a.index(q.Kind == KindTrueFalse) && a.Index == q.Answer.Index
	case KindPoll:
		return false
	case KindMulti:
		return a.IsList && sameSet(a.List, q.Answer.List)
	case KindNumber:
		return a.numeric() && math.Abs(a.Number()-q.Answer.Number()) <= q.Tolerance+1e-9
	case KindOrder:
		return a.IsList && equalInts(a.List, q.orderAnswer())
	}
	if !a.IsText {
		return false
	}
	got := NormalizeAnswer(a.Text)
	if got == "" {
		return false
	}
	if got == NormalizeAnswer(q.Answer.Text) {
		return true
	}
	for _, alt := range q.Alternatives {
		if got == NormalizeAnswer(alt) {
			return true
		}
	}
	return false
}

// NormalizeAnswer trims, folds case, collapses spaces and strips diacritics.
func NormalizeAnswer(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.Join(strings.Fields(strings.ToLower(out)), " ")
}

// Points scores a correct answer given after elapsed of limit.
func Points(scoring string, elapsed, limit time.Duration) int {
	if scoring == ScoringFlat {
		return MaxPoints
	}
	if elapsed < 0 {
		elapsed = 0
	}
	if elapsed > limit {
		elapsed = limit
	}
	f := 1 - float64(elapsed)/float64(limit)/2
	return int(f*MaxPoints + 0.5)
}

// Normalize fills defaults in place (scoring speed, time limits 20 s, group 1 outside
// competitive) and cleans every text players will see (CleanText).
func (q *Quiz) Normalize() {
	q.Title = CleanText(q.Title)
	q.Description = CleanText(q.Description)
	if q.Scoring == "" {
		q.Scoring = ScoringSpeed
	}
	for i := range q.Questions {
		qq := &q.Questions[i]
		qq.Text = CleanText(qq.Text)
		for j := range qq.Choices {
			qq.Choices[j] = CleanText(qq.Choices[j])
		}
		for j := range qq.Alternatives {
			qq.Alternatives[j] = CleanText(qq.Alternatives[j])
		}
		if qq.Answer.IsText {
			qq.Answer.Text = CleanText(qq.Answer.Text)
		}
		if qq.Kind == "" {
			qq.Kind = KindChoice
		}
		if qq.Kind == KindTrueFalse && len(qq.Choices) == 0 {
			qq.Choices = []string{"True", "False"}
		}
		if qq.Kind == KindTrueFalse && qq.Answer.Bool {
			qq.Answer.Bool = false // stored as the index: 0 True, 1 False
		}
		qq.ImageID = strings.TrimSpace(qq.ImageID)
		if qq.TimeLimitSec == 0 {
			qq.TimeLimitSec = DefaultTimeLimitSec
		}
		if q.Mode != ModeCompetitive && qq.Group == 0 {
			qq.Group = 0
		}
	}
}

// Validate checks a normalized quiz and returns per-field problems as an EInvalid error.
func (q *Quiz) Validate() error {
	f := map[string]string{}
	if n := len([]rune(q.Title)); n < 1 || n > 120 {
		f["title"] = "must be 1–120 characters"
	}
	if len([]rune(q.Description)) > 1000 {
		f["description"] = "must be at most 1000 characters"
	}
	switch q.Mode {
	case ModeSingle, ModeCasual, ModeCompetitive, ModeLive:
	default:
		f["mode"] = "must be one of single, casual, competitive, live"
	}
	switch q.Scoring {
	case ScoringSpeed, ScoringFlat:
	default:
		f["scoring"] = "must be speed or flat"
	}
	if n := len(q.Questions); n < 1 || n > MaxQuestions {
		f["questions"] = fmt.Sprintf("must have 1–%d questions", MaxQuestions)
	}
	lastGroup := 0
	for i, qq := range q.Questions {
		p := fmt.Sprintf("questions[%d].", i)
		if n := len([]rune(qq.Text)); n < 1 || n > 500 {
			f[p+"text"] = "must be 1–500 characters"
		}
		if qq.TimeLimitSec < MinTimeLimitSec || qq.TimeLimitSec > MaxTimeLimitSec {
			f[p+"timeLimitSec"] = fmt.Sprintf("must be %d–%d", MinTimeLimitSec, MaxTimeLimitSec)
		}
		validateKind(f, p, qq)
		if len(qq.ImageID) > 64 {
			f[p+"imageId"] = "must be an upload ID"
		}
		if q.Mode == ModeCompetitive {
			if qq.Group < 1 {
				f[p+"group"] = "must be ≥ 1 in competitive mode"
			} else if qq.Group < lastGroup {
				f[p+"group"] = "groups must not decrease"
			}
			lastGroup = qq.Group
		} else if qq.Group != 0 {
			f[p+"group"] = "only competitive quizzes have groups"
		}
	}
	return Invalid(f)
}

func validateChoices(f map[string]string, p string, qq Question, most int) {
	if n := len(qq.Choices); n < 2 || n > most {
		f[p+"choices"] = fmt.Sprintf("must have 2–%d choices", most)
	} else {
		seen := map[string]bool{}
		for j, c := range qq.Choices {
			k := NormalizeAnswer(c)
			if k == "" || len([]rune(c)) > 200 {
				f[fmt.Sprintf("%schoices[%d]", p, j)] = "must be 1–200 characters"
			} else if seen[k] {
				f[fmt.Sprintf("%schoices[%d]", p, j)] = "choices must be distinct"
			}
			seen[k] = true
		}
	}
	if len(qq.Alternatives) > 0 {
		f[p+"alternatives"] = "only open questions have alternatives"
	}
}

// PublicQuestion is a question as sent to players: never the answer.
type PublicQuestion struct {
	Index       int          `json:"index"`
	Group       int          `json:"group"`
	Text        string       `json:"text"`
	Kind        string       `json:"kind"`
	Choices     []string     `json:"choices,omitempty"`
	Number      *NumberRange `json:"number,omitempty"`
	ImageURL    string       `json:"imageUrl,omitempty"`
	Deadline    int64        `json:"deadline"`
	TimeLimitMs int64        `json:"timeLimitMs"`
}

// NumberRange is what a player of a number question sees: the slider's bounds and step.
type NumberRange struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Step float64 `json:"step,omitempty"`
}

// Public returns the player view of question i with the given deadline: choices in the order
// given (for an order question, q must be the shuffled Presented one), never the answer, the
// tolerance or the correct order.
func (q Question) Public(i int, deadline time.Time, limit time.Duration) PublicQuestion {
	pq := PublicQuestion{Index: i, Group: q.Group, Text: q.Text, Kind: q.Kind, Choices: q.Choices, ImageURL: q.ImageURL,
		Deadline: deadline.UnixMilli(), TimeLimitMs: limit.Milliseconds()}
	if q.Kind == KindNumber && q.Min != nil && q.Max != nil {
		pq.Number = &NumberRange{Min: *q.Min, Max: *q.Max, Step: q.Step}
	}
	return pq
}

// QuizFilter selects quizzes for listing.
type QuizFilter struct {
	OwnerID string // empty: public quizzes
	Cursor  string
	Limit   int
}

// QuizStore persists quizzes.
type QuizStore interface {
	CreateQuiz(ctx context.Context, q *Quiz) error
	QuizByID(ctx context.Context, id string) (*Quiz, error)
	UpdateQuiz(ctx context.Context, q *Quiz) error
	DeleteQuiz(ctx context.Context, id string) error
	ListQuizzes(ctx context.Context, f QuizFilter) (items []Quiz, next string, err error)
}

// Play is one player's single-player run through a quiz.
type Play struct {
	ID        string
	QuizID    string
	PlayerID  string
	Index     int       // the question currently asked
	Score     int       // points so far
	AskedAt   time.Time // when Index was asked; its deadline is AskedAt + its time limit
	Finished  bool
	CreatedAt time.Time
}

// PlayStore persists single-player runs.
type PlayStore interface {
	CreatePlay(ctx context.Context, p *Play) error
	PlayByID(ctx context.Context, id string) (*Play, error)
	// AdvancePlay stores p if its stored index is still fromIndex (EConflict otherwise, so a
	// concurrent second answer loses); when p is finished, done is written to the outbox atomically.
	AdvancePlay(ctx context.Context, p *Play, fromIndex int, done *ScoreRecorded) error
}

// GameStore keeps finished games.
type GameStore interface {
	// RecordGame stores a result and its game.finished and score.recorded events atomically;
	// recording the same game twice is a no-op.
	RecordGame(ctx context.Context, r GameFinished) error
}
