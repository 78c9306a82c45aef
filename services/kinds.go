package services

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"unicode/utf8"
)

// Limits of the question kinds.
const (
	MaxChoices      = 4  // choice
	MaxManyChoices  = 10 // multi, poll
	MaxOrderItems   = 6  // order
	MaxNumberAbs    = 1e12
	MaxAnswerRunes  = 200 // open answers given by players
	MaxStreakSteps  = 5   // the streak bonus grows for 5 steps beyond the first, up to +50%
	StreakStepPct   = 10  // percent of the question's points per streak step
	trueFalseChoice = 2
)

// Scores reports whether the question kind has a right answer (a poll has none).
func (q Question) Scores() bool { return q.Kind != KindPoll }

// HasChoices reports whether players answer q by choice indexes.
func (q Question) HasChoices() bool {
	switch q.Kind {
	case KindChoice, KindTrueFalse, KindMulti, KindPoll, KindOrder, "":
		return true
	}
	return false
}

func validateKind(f map[string]string, p string, qq Question) {
	a := qq.Answer
	if qq.Kind != KindNumber && (qq.Tolerance != 0 || qq.Min != nil || qq.Max != nil || qq.Step != 0) {
		f[p+"kind"] = "only number questions have tolerance, min, max and step"
	}
	if qq.Kind != KindOpen && len(qq.Alternatives) > 0 {
		f[p+"alternatives"] = "only open questions have alternatives"
	}
	switch qq.Kind {
	case KindChoice:
		validateChoices(f, p, qq, MaxChoices)
		if !a.index(false) || a.Index < 0 || a.Index >= len(qq.Choices) {
			f[p+"answer"] = "must be the index of the right choice"
		}
	case KindTrueFalse:
		if len(qq.Choices) != trueFalseChoice || qq.Choices[0] != "True" || qq.Choices[1] != "False" {
			f[p+"choices"] = "true/false questions have no choices (they are True and False)"
		}
		if !a.index(true) || a.Index < 0 || a.Index > 1 {
			f[p+"answer"] = "must be true or false"
		}
	case KindMulti:
		validateChoices(f, p, qq, MaxManyChoices)
		if !a.IsList || len(a.List) < 1 || !distinctIn(a.List, len(qq.Choices)) {
			f[p+"answer"] = "must be an array of one or more distinct indexes of the right choices"
		}
	case KindPoll:
		validateChoices(f, p, qq, MaxManyChoices)
		if a.Set {
			f[p+"answer"] = "polls have no answer"
		}
	case KindOrder:
		validateChoices(f, p, qq, MaxOrderItems)
		if a.Set {
			f[p+"answer"] = "order questions have no answer: the choices are written in the right order"
		}
	case KindNumber:
		if len(qq.Choices) > 0 {
			f[p+"choices"] = "number questions have no choices"
		}
		finite := func(v float64) bool { return !math.IsNaN(v) && math.Abs(v) <= MaxNumberAbs }
		if qq.Min == nil || !finite(*qq.Min) {
			f[p+"min"] = fmt.Sprintf("required: a number within ±%g", MaxNumberAbs)
		}
		if qq.Max == nil || !finite(*qq.Max) {
			f[p+"max"] = fmt.Sprintf("required: a number within ±%g", MaxNumberAbs)
		} else if qq.Min != nil && *qq.Min >= *qq.Max {
			f[p+"max"] = "must be greater than min"
		}
		switch {
		case !a.numeric():
			f[p+"answer"] = "must be a number"
		case qq.Min != nil && qq.Max != nil && *qq.Min < *qq.Max && (a.Number() < *qq.Min || a.Number() > *qq.Max):
			f[p+"answer"] = "must be within min and max"
		}
		if qq.Tolerance < 0 || !finite(qq.Tolerance) {
			f[p+"tolerance"] = "must be ≥ 0"
		}
		if qq.Step < 0 || !finite(qq.Step) {
			f[p+"step"] = "must be > 0 when given"
		}
	case KindOpen:
		if len(qq.Choices) > 0 {
			f[p+"choices"] = "open questions have no choices"
		}
		if !a.Set || !a.IsText || NormalizeAnswer(a.Text) == "" {
			f[p+"answer"] = "must be the answer text"
		} else if len([]rune(a.Text)) > 200 {
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
		f[p+"kind"] = "must be choice, open, truefalse, multi, poll, number or order"
	}
}

// distinctIn reports whether l holds distinct indexes in [0, n).
func distinctIn(l []int, n int) bool {
	seen := make(map[int]bool, len(l))
	for _, i := range l {
		if i < 0 || i >= n || seen[i] {
			return false
		}
		seen[i] = true
	}
	return true
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func equalInts(a, b []int) bool { return slices.Equal(a, b) }

// orderAnswer is the right sequence of displayed indexes of an order question: the Presented
// one carries it in Answer; as authored the choices are in the right order.
func (q Question) orderAnswer() []int {
	if q.Answer.IsList {
		return q.Answer.List
	}
	out := make([]int, len(q.Choices))
	for i := range out {
		out[i] = i
	}
	return out
}

// CheckAnswer returns what is wrong with the shape of a player's answer to q ("" when it fits):
// an index for choice, truefalse and poll, a text for open, distinct indexes for multi, a number
// within min..max for number, a permutation of the displayed indexes for order.
func (q Question) CheckAnswer(a Answer) string {
	if !a.Set {
		return "an answer is required"
	}
	n := len(q.Choices)
	switch q.Kind {
	case KindChoice, KindPoll, KindTrueFalse, "":
		if !a.index(q.Kind == KindTrueFalse) || a.Index < 0 || a.Index >= n {
			return fmt.Sprintf("answer must be a choice index from 0 to %d", n-1)
		}
	case KindMulti:
		if !a.IsList || len(a.List) < 1 || !distinctIn(a.List, n) {
			return fmt.Sprintf("answer must be an array of distinct choice indexes from 0 to %d", n-1)
		}
	case KindOrder:
		if !a.IsList || len(a.List) != n || !distinctIn(a.List, n) {
			return fmt.Sprintf("answer must be the %d displayed indexes in your order", n)
		}
	case KindNumber:
		if !a.numeric() {
			return "answer must be a number"
		}
		if q.Min != nil && q.Max != nil && (a.Number() < *q.Min || a.Number() > *q.Max) {
			return fmt.Sprintf("answer must be between %g and %g", *q.Min, *q.Max)
		}
	default:
		if !a.IsText {
			return "answer must be a text"
		}
		if utf8.RuneCountInString(a.Text) > MaxAnswerRunes || !utf8.ValidString(a.Text) {
			return fmt.Sprintf("answer must be valid text of at most %d characters", MaxAnswerRunes)
		}
	}
	return ""
}

// Permutation is a random permutation of n derived from seed and label: the same arguments give
// the same order (a game's shuffles follow from its secret, so its log replays to the same order).
func Permutation(seed []byte, label string, n int) []int {
	m := hmac.New(sha256.New, seed)
	m.Write([]byte(label))
	var s [32]byte
	copy(s[:], m.Sum(nil))
	r := rand.New(rand.NewChaCha8(s))
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// Presented returns q as players see it when its choices are shown in the order perm (display
// position i shows choice perm[i]); the answer is remapped to displayed indexes, and an order
// question's Answer becomes the right sequence of displayed indexes. A true/false question keeps
// its order; nil perm keeps the authored order.
func (q Question) Presented(perm []int) Question {
	if !q.HasChoices() || q.Kind == KindTrueFalse || len(perm) != len(q.Choices) {
		return q
	}
	inv := make([]int, len(perm))
	choices := make([]string, len(perm))
	for i, from := range perm {
		choices[i] = q.Choices[from]
		inv[from] = i
	}
	out := q
	out.Choices = choices
	switch q.Kind {
	case KindChoice, "":
		out.Answer.Index = inv[q.Answer.Index]
	case KindMulti:
		l := make([]int, len(q.Answer.List))
		for k, i := range q.Answer.List {
			l[k] = inv[i]
		}
		slices.Sort(l)
		out.Answer = Answer{Set: true, IsList: true, List: l}
	case KindOrder:
		right := q.orderAnswer()
		l := make([]int, len(right))
		for k, i := range right {
			l[k] = inv[i]
		}
		out.Answer = Answer{Set: true, IsList: true, List: l}
	}
	return out
}

// OrderPermutation is Permutation for an order question: never the right order itself, which
// would give the answer away.
func OrderPermutation(seed []byte, label string, n int) []int {
	p := Permutation(seed, label, n)
	identity := true
	for i, v := range p {
		identity = identity && v == i
	}
	if identity && n > 1 {
		p = append(p[1:], p[0])
	}
	return p
}

// StreakBonus is the bonus on points for a correct answer that makes a streak of streak
// consecutive correct answers: StreakStepPct percent of points per step beyond the first,
// capped at MaxStreakSteps steps (+50%).
func StreakBonus(points, streak int) int {
	steps := min(max(streak-1, 0), MaxStreakSteps)
	return points * steps * StreakStepPct / 100
}
