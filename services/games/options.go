package games

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Team modes.
const (
	TeamsAuto   = "auto"   // the game balances the teams
	TeamsChoose = "choose" // players pick their team in the lobby (auto-assigned until they do)
	MinTeams    = 2
	MaxTeams    = 8
	// HistogramBins is how many bars a number question's histogram has.
	HistogramBins = 10
)

// TeamNames name teams 1..MaxTeams.
var teamNames = [MaxTeams]string{"Red", "Blue", "Green", "Yellow", "Purple", "Orange", "Pink", "Teal"}

// Options are a game's options, chosen at creation or by the host in the lobby.
type Options struct {
	ShuffleQuestions bool         `json:"shuffleQuestions"`
	ShuffleChoices   bool         `json:"shuffleChoices"`
	LockLobby        bool         `json:"lockLobby"`
	LateJoin         bool         `json:"lateJoin"`
	Teams            *TeamOptions `json:"teams"`
}

// TeamOptions turn teams on.
type TeamOptions struct {
	Mode  string `json:"mode"`
	Count int    `json:"count"`
}

// DefaultOptions: no shuffles, open lobby, late joiners welcome, no teams.
func DefaultOptions() Options { return Options{LateJoin: true} }

// OptionsPatch is the options object of POST /games and of the options command: the fields
// present replace the current ones ("teams": null turns teams off).
type OptionsPatch struct {
	ShuffleQuestions *bool           `json:"shuffleQuestions"`
	ShuffleChoices   *bool           `json:"shuffleChoices"`
	LockLobby        *bool           `json:"lockLobby"`
	LateJoin         *bool           `json:"lateJoin"`
	Teams            json.RawMessage `json:"teams"`
}

// Apply returns o with the patch applied, or per-field problems (keys prefixed by prefix).
func (p OptionsPatch) Apply(o Options, prefix string) (Options, map[string]string) {
	f := map[string]string{}
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&o.ShuffleQuestions, p.ShuffleQuestions)
	set(&o.ShuffleChoices, p.ShuffleChoices)
	set(&o.LockLobby, p.LockLobby)
	set(&o.LateJoin, p.LateJoin)
	if len(p.Teams) > 0 {
		if string(p.Teams) == "null" {
			o.Teams = nil
		} else {
			var t TeamOptions
			if err := json.Unmarshal(p.Teams, &t); err != nil {
				f[prefix+"teams"] = "must be {mode, count} or null"
			} else {
				if t.Mode != TeamsAuto && t.Mode != TeamsChoose {
					f[prefix+"teams.mode"] = "must be auto or choose"
				}
				if t.Count < MinTeams || t.Count > MaxTeams {
					f[prefix+"teams.count"] = fmt.Sprintf("must be %d–%d", MinTeams, MaxTeams)
				}
				o.Teams = &t
			}
		}
	}
	if len(f) > 0 {
		return o, f
	}
	return o, nil
}

func sameTeams(a, b *TeamOptions) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// SetOptions replaces the game's options (host, lobby only) and tells everyone. Changing the
// teams setting deals every player into the new teams again, balanced, in join order.
func (g *Game) SetOptions(_ time.Time, by string, o Options) ([]Event, error) {
	if err := g.requireHost(by); err != nil {
		return nil, err
	}
	if g.phase != PhaseLobby {
		return nil, errf(services.EInvalid, "options are set in the lobby")
	}
	if t := o.Teams; t != nil && ((t.Mode != TeamsAuto && t.Mode != TeamsChoose) || t.Count < MinTeams || t.Count > MaxTeams) {
		return nil, errf(services.EInvalid, "teams must be {mode: auto|choose, count: %d–%d}", MinTeams, MaxTeams)
	}
	regroup := !sameTeams(g.opts.Teams, o.Teams)
	g.opts = o
	if o.Teams != nil {
		t := *o.Teams
		g.opts.Teams = &t
	}
	evs := []Event{g.emit(EventOptions, g.opts, nil)}
	if regroup {
		for i, p := range g.order {
			p.team = 0
			if g.opts.Teams != nil {
				p.team = i%g.opts.Teams.Count + 1
			}
		}
		evs = append(evs, g.emit(EventTeams, TeamsData{Teams: g.teamViews()}, nil))
	}
	return evs, nil
}

// ChooseTeam moves a player to team (teams mode choose, lobby only).
func (g *Game) ChooseTeam(_ time.Time, playerID string, team int) ([]Event, error) {
	if g.Finished() {
		return nil, errf(CodeFinished, "the game is over")
	}
	pl := g.players[playerID]
	if pl == nil || pl.left {
		return nil, errf(services.EForbidden, "not a player in this game")
	}
	t := g.opts.Teams
	if t == nil || t.Mode != TeamsChoose {
		return nil, errf(services.EInvalid, "the host has not let players choose teams")
	}
	if g.phase != PhaseLobby {
		return nil, errf(services.EInvalid, "teams are chosen in the lobby")
	}
	if team < 1 || team > t.Count {
		return nil, errf(services.EInvalid, "team must be 1–%d", t.Count)
	}
	if pl.team == team {
		return nil, nil
	}
	pl.team = team
	return []Event{g.emit(EventTeams, TeamsData{Teams: g.teamViews()}, nil)}, nil
}

// smallestTeam is the team with the fewest members (the lowest ID on a tie).
func (g *Game) smallestTeam() int {
	n := make([]int, g.opts.Teams.Count+1)
	for _, p := range g.order {
		if p.team > 0 && p.team < len(n) {
			n[p.team]++
		}
	}
	best := 1
	for id := 2; id < len(n); id++ {
		if n[id] < n[best] {
			best = id
		}
	}
	return best
}

// teamViews lists the teams by ID, nil without teams. A team's score is the mean of its
// members' scores, rounded (so a bigger team has no edge); an empty team scores 0.
func (g *Game) teamViews() []TeamView {
	t := g.opts.Teams
	if t == nil {
		return nil
	}
	out := make([]TeamView, t.Count)
	sums := make([]int, t.Count)
	for i := range out {
		out[i] = TeamView{ID: i + 1, Name: teamNames[i], Members: []string{}}
	}
	for _, p := range g.order {
		if p.team >= 1 && p.team <= t.Count {
			out[p.team-1].Members = append(out[p.team-1].Members, p.info.ID)
			sums[p.team-1] += p.score
		}
	}
	for i := range out {
		if n := len(out[i].Members); n > 0 {
			out[i].Score = int(math.Round(float64(sums[i]) / float64(n)))
		}
	}
	return out
}

// rankedTeams is teamViews ordered by score (ties by ID) with ranks.
func (g *Game) rankedTeams() []TeamView {
	ts := g.teamViews()
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Score > ts[j].Score })
	for i := range ts {
		ts[i].Rank = i + 1
	}
	return ts
}

// prepare applies the game's shuffles once, before the first question: the question order
// (within each group in competitive mode, where groups stay in order), the choices of every
// question when shuffleChoices is on, and always the items of order questions. Every shuffle is
// derived from the game's secret, so the log replays to the same order.
func (g *Game) prepare() {
	if g.prepared {
		return
	}
	g.prepared = true
	if g.opts.ShuffleQuestions {
		if g.quiz.Mode == services.ModeCompetitive {
			for gi, grp := range g.groups {
				p := services.Permutation(g.secret, "group/"+strconv.Itoa(gi), len(grp))
				ng := make([]int, len(grp))
				for i, from := range p {
					ng[i] = grp[from]
				}
				g.groups[gi] = ng
			}
		} else {
			p := services.Permutation(g.secret, "questions", len(g.groups))
			ng := make([][]int, len(g.groups))
			for i, from := range p {
				ng[i] = g.groups[from]
			}
			g.groups = ng
		}
	}
	for i, q := range g.quiz.Questions {
		label := "choices/" + strconv.Itoa(i)
		switch {
		case q.Kind == services.KindOrder:
			g.quiz.Questions[i] = q.Presented(services.OrderPermutation(g.secret, label, len(q.Choices)))
		case g.opts.ShuffleChoices && q.HasChoices():
			g.quiz.Questions[i] = q.Presented(services.Permutation(g.secret, label, len(q.Choices)))
		}
	}
}

// revealData is the shared part of a question's reveal.
func (g *Game) revealData(oq *openQuestion) RevealData {
	d := RevealData{Index: oq.index, Kind: oq.q.Kind, CorrectAnswer: oq.q.Answer, Counts: g.counts(oq)}
	d.Stats, d.Accuracy = g.stats(oq)
	return d
}

// stats is a question's answer statistics and accuracy (correct ÷ answered; nil for a poll or
// when nobody answered).
func (g *Game) stats(oq *openQuestion) (any, *float64) {
	var acc *float64
	if n := len(oq.answers); n > 0 && oq.q.Scores() {
		right := 0
		for _, rec := range oq.answers {
			if rec.correct {
				right++
			}
		}
		a := math.Round(float64(right)/float64(n)*10000) / 10000
		acc = &a
	}
	c := g.counts(oq)
	switch oq.q.Kind {
	case services.KindNumber:
		oc := c.(OpenCounts)
		return NumberStats{Histogram: histogram(oq), OpenCounts: oc}, acc
	case services.KindOpen, services.KindOrder:
		return c, acc
	}
	return ChoiceStats{Counts: c.([]int)}, acc
}

func histogram(oq *openQuestion) []Bin {
	q := oq.q
	if q.Min == nil || q.Max == nil || *q.Max <= *q.Min {
		return []Bin{}
	}
	lo, hi := *q.Min, *q.Max
	w := (hi - lo) / HistogramBins
	bins := make([]Bin, HistogramBins)
	for i := range bins {
		bins[i] = Bin{From: lo + float64(i)*w, To: lo + float64(i+1)*w}
	}
	bins[HistogramBins-1].To = hi
	for _, rec := range oq.answers {
		v := rec.answer.Number()
		i := int((v - lo) / w)
		i = min(max(i, 0), HistogramBins-1)
		bins[i].Count++
	}
	return bins
}

// describe renders an answer to q as report text: the choice(s) picked, the number, the order.
func describe(q services.Question, a services.Answer) string {
	pick := func(i int) string {
		if i >= 0 && i < len(q.Choices) {
			return q.Choices[i]
		}
		return strconv.Itoa(i)
	}
	switch {
	case !a.Set:
		return ""
	case a.IsText:
		return a.Text
	case a.IsList:
		parts := make([]string, len(a.List))
		for k, i := range a.List {
			parts[k] = pick(i)
		}
		sep := "; "
		if q.Kind == services.KindOrder {
			sep = " > "
		}
		return strings.Join(parts, sep)
	case q.Kind == services.KindNumber:
		return strconv.FormatFloat(a.Number(), 'g', -1, 64)
	}
	return pick(a.Index)
}

// Report is the game's report so far (complete once finished): the questions in the order
// asked with their statistics, and one row per player per question.
func (g *Game) Report() services.GameReport {
	rep := services.GameReport{
		Game: services.ReportGame{GameID: g.id, Code: g.code, QuizID: g.quiz.ID, Title: g.quiz.Title, Mode: g.quiz.Mode,
			HostID: g.hostID, FinishedAt: g.finishedAt},
		Players: []services.ReportPlayer{}, Questions: []services.ReportQuestion{}, Answers: []services.ReportAnswer{},
	}
	entries := g.final
	if !g.Finished() {
		entries = g.standings()
	}
	for _, e := range entries {
		rep.Players = append(rep.Players, services.ReportPlayer{PlayerID: e.PlayerID, DisplayName: e.DisplayName,
			Team: e.Team, Score: e.Score, Rank: e.Rank})
	}
	teams := g.finalTeams
	if !g.Finished() {
		teams = g.rankedTeams()
	}
	for _, t := range teams {
		rep.Teams = append(rep.Teams, services.ReportTeam{ID: t.ID, Name: t.Name, Score: t.Score, Rank: t.Rank, Members: len(t.Members)})
	}
	for _, oq := range g.history {
		st, acc := g.stats(oq)
		raw, _ := json.Marshal(st) // the engine's own stats types always marshal
		rep.Questions = append(rep.Questions, services.ReportQuestion{Index: oq.index, Kind: oq.q.Kind, Text: oq.q.Text,
			Choices: oq.q.Choices, Accuracy: acc, Stats: raw})
		for _, pl := range g.order {
			row := services.ReportAnswer{PlayerID: pl.info.ID, DisplayName: pl.info.DisplayName, Team: pl.team, QuestionIndex: oq.index}
			if rec := oq.answers[pl.info.ID]; rec != nil {
				row.Answered, row.Answer, row.Correct = true, describe(oq.q, rec.answer), rec.correct
				row.TimeMs, row.Points, row.StreakBonus, row.Streak = rec.elapsed.Milliseconds(), rec.points, rec.bonus, rec.streak
			}
			rep.Answers = append(rep.Answers, row)
		}
	}
	return rep
}

// Options returns the game's options.
func (g *Game) Options() Options { return g.opts }

// patchOptions decodes an options command's data onto the current options.
func (g *Game) patchOptions(raw json.RawMessage) (*Options, error) {
	var p OptionsPatch
	if err := decodeData(raw, &p); err != nil {
		return nil, err
	}
	o, f := p.Apply(g.opts, "")
	if f != nil {
		return nil, services.Invalid(f)
	}
	return &o, nil
}
