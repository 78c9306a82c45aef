package services

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	KindChoice = "choice"
	KindOpen   = "open"
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
}

// Answer is a choice index or an open text; in JSON it is a number or a string.
type Answer struct {
	Index  int
	Text   string
	IsText bool
	Set    bool
}

// MarshalJSON writes a number for a choice and a string for an open answer.
func (a Answer) MarshalJSON() ([]byte, error) {
	if !a.Set {
		return []byte("null"), nil
	}
	if a.IsText {
		return json.Marshal(a.Text)
	}
	return []byte(strconv.Itoa(a.Index)), nil
}

// UnmarshalJSON accepts a number, a string or null.
func (a *Answer) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*a = Answer{}
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		a.Set, a.IsText = true, true
		return json.Unmarshal(b, &a.Text)
	default:
		var n int
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("answer must be a choice index or a text")
		}
		a.Set, a.Index = true, n
		return nil
	}
}

// String renders the answer for messages.
func (a Answer) String() string {
	if a.IsText {
		return a.Text
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
	if q.Kind == KindChoice {
		return !a.IsText && a.Index == q.Answer.Index
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
		switch qq.Kind {
		case KindChoice:
			validateChoices(f, p, qq)
		case KindOpen:
			if len(qq.Choices) > 0 {
				f[p+"choices"] = "open questions have no choices"
			}
			if !qq.Answer.Set || !qq.Answer.IsText || NormalizeAnswer(qq.Answer.Text) == "" {
				f[p+"answer"] = "must be the answer text"
			} else if len([]rune(qq.Answer.Text)) > 200 {
				f[p+"answer"] = "must be at most 200 characters"
			}
			if len(qq.Alternatives) > 10 {
				f[p+"alternatives"] = "at most 10 alternatives"
			}
			for j, alt := range qq.Alternatives {
				if NormalizeAnswer(alt) == "" || len([]rune(alt)) > 200 {
					f[fmt.Sprintf("%salternatives[%d]", p, j)] = "must be 1–200 characters"
				}
			}
		default:
			f[p+"kind"] = "must be choice or open"
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

func validateChoices(f map[string]string, p string, qq Question) {
	if n := len(qq.Choices); n < 2 || n > 4 {
		f[p+"choices"] = "must have 2–4 choices"
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
	if !qq.Answer.Set || qq.Answer.IsText || qq.Answer.Index < 0 || qq.Answer.Index >= len(qq.Choices) {
		f[p+"answer"] = "must be the index of the right choice"
	}
}

// PublicQuestion is a question as sent to players: never the answer.
type PublicQuestion struct {
	Index       int      `json:"index"`
	Group       int      `json:"group"`
	Text        string   `json:"text"`
	Kind        string   `json:"kind"`
	Choices     []string `json:"choices,omitempty"`
	Deadline    int64    `json:"deadline"`
	TimeLimitMs int64    `json:"timeLimitMs"`
}

// Public returns the player view of question i with the given deadline.
func (q Question) Public(i int, deadline time.Time, limit time.Duration) PublicQuestion {
	return PublicQuestion{Index: i, Group: q.Group, Text: q.Text, Kind: q.Kind, Choices: q.Choices,
		Deadline: deadline.UnixMilli(), TimeLimitMs: limit.Milliseconds()}
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
