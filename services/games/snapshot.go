package games

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/trivium-game/trivium/services"
)

// SnapshotVersion is the format of MarshalSnapshot; RestoreGame refuses any other.
// Version 3 added options, shuffles, teams, streaks and the question history; RestoreGame
// still reads version 2 (a game without any of them).
const SnapshotVersion = 3

// The snapshot types mirror Game field by field with exported, JSON-tagged fields. They are kept
// apart from Game so the engine's own fields stay unexported and free to change: only this file
// has to follow.
type gameSnap struct {
	Version       int           `json:"v"`
	ID            string        `json:"id"`
	Code          string        `json:"code"`
	HostID        string        `json:"hostId"`
	Host          PlayerInfo    `json:"host"`
	Quiz          services.Quiz `json:"quiz"`
	Groups        [][]int       `json:"groups"`
	Asked         int           `json:"asked"`
	Phase         string        `json:"phase"`
	Players       []playerSnap  `json:"players"` // join order
	HostConnected bool          `json:"hostConnected"`
	HostGoneAt    time.Time     `json:"hostGoneAt"`
	Paused        bool          `json:"paused"`
	PausedAt      time.Time     `json:"pausedAt"`
	Remaining     time.Duration `json:"remaining"`
	Round         *roundSnap    `json:"round,omitempty"`
	Arrival       int64         `json:"arrival"`
	Secret        []byte        `json:"secret"`
	TokenN        uint64        `json:"tokenN"`
	Seq           int64         `json:"seq"`
	FinishedAt    time.Time     `json:"finishedAt"`
	Final         []Entry       `json:"final,omitempty"`
	Chat          []ChatData    `json:"chat,omitempty"`
	// Version 3.
	Options    *Options           `json:"options,omitempty"`
	Prepared   bool               `json:"prepared,omitempty"`
	History    []openQuestionSnap `json:"history,omitempty"`
	FinalTeams []TeamView         `json:"finalTeams,omitempty"`
}

type playerSnap struct {
	Info           PlayerInfo `json:"info"`
	Score          int        `json:"score"`
	BoardScore     int        `json:"boardScore"`
	Reached        int64      `json:"reached"`
	Connected      bool       `json:"connected"`
	Left           bool       `json:"left"`
	DisconnectedAt time.Time  `json:"disconnectedAt"`
	Token          string     `json:"token,omitempty"`
	Base           string     `json:"base,omitempty"`
	Streak         int        `json:"streak,omitempty"`
	Team           int        `json:"team,omitempty"`
}

type roundSnap struct {
	Questions []openQuestionSnap `json:"questions"`
	Start     time.Time          `json:"start"`
	Total     time.Duration      `json:"total"`
	Deadline  time.Time          `json:"deadline"`
	Closed    bool               `json:"closed"`
}

type openQuestionSnap struct {
	Index        int                   `json:"index"`
	Answers      map[string]answerSnap `json:"answers"`
	ProgressSent bool                  `json:"progressSent"`
	LastProgress time.Time             `json:"lastProgress"`
	Pending      bool                  `json:"pending"`
}

type answerSnap struct {
	Answer  services.Answer `json:"answer"`
	Correct bool            `json:"correct"`
	Elapsed time.Duration   `json:"elapsed"`
	Arrival int64           `json:"arrival"`
	Points  int             `json:"points,omitempty"`
	Bonus   int             `json:"bonus,omitempty"`
	Streak  int             `json:"streak,omitempty"`
}

// MarshalSnapshot serializes the whole state of the game, resume tokens included, so that
// RestoreGame on another node continues it where it was: same scores, same phase, same open
// question and deadline, same sequence numbers. The replay ring is left out (it is large and only
// spares a reconnecting client a full state frame): a restored game sends state frames instead.
// The snapshot holds the correct answers and resume tokens: store it where only servers read.
func (g *Game) MarshalSnapshot() ([]byte, error) {
	s := gameSnap{
		Version: SnapshotVersion, ID: g.id, Code: g.code, HostID: g.hostID, Host: g.host, Quiz: g.quiz,
		Groups: g.groups, Asked: g.asked, Phase: g.phase,
		HostConnected: g.hostConnected, HostGoneAt: g.hostGoneAt, Paused: g.paused, PausedAt: g.pausedAt,
		Remaining: g.remaining, Arrival: g.arrival, Secret: g.secret, TokenN: g.tokenN, Seq: g.seq,
		FinishedAt: g.finishedAt, Final: g.final, Chat: g.chat,
		Options: &g.opts, Prepared: g.prepared, FinalTeams: g.finalTeams,
	}
	for _, p := range g.order {
		s.Players = append(s.Players, playerSnap{Info: p.info, Score: p.score, BoardScore: p.boardScore, Reached: p.reached,
			Connected: p.connected, Left: p.left, DisconnectedAt: p.disconnectedAt, Token: p.token, Base: p.base,
			Streak: p.streak, Team: p.team})
	}
	if r := g.round; r != nil {
		rs := &roundSnap{Start: r.start, Total: r.total, Deadline: r.deadline, Closed: r.closed}
		for _, oq := range r.qs {
			rs.Questions = append(rs.Questions, snapQuestion(oq))
		}
		s.Round = rs
	}
	for _, oq := range g.history {
		s.History = append(s.History, snapQuestion(oq))
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("game snapshot: %w", err)
	}
	return b, nil
}

// RestoreGame rebuilds a game from MarshalSnapshot's output. The players keep the connection
// flags they had: the caller (the room taking the game over) disconnects them, since their
// sockets were on the node that is gone, and they come back with their resume tokens.
func RestoreGame(b []byte) (*Game, error) {
	var s gameSnap
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("restore game: %w", err)
	}
	if s.Version != SnapshotVersion && s.Version != 2 {
		return nil, fmt.Errorf("restore game: snapshot version %d, this build reads %d", s.Version, SnapshotVersion)
	}
	if s.ID == "" || s.Code == "" || s.HostID == "" {
		return nil, fmt.Errorf("restore game: snapshot lacks id, code or host")
	}
	g := &Game{
		id: s.ID, code: s.Code, hostID: s.HostID, host: s.Host, quiz: s.Quiz, groups: s.Groups, asked: s.Asked,
		phase: s.Phase, players: map[string]*player{}, tokens: map[string]*player{},
		hostConnected: s.HostConnected, hostGoneAt: s.HostGoneAt, paused: s.Paused, pausedAt: s.PausedAt,
		remaining: s.Remaining, arrival: s.Arrival, secret: s.Secret, tokenN: s.TokenN, seq: s.Seq,
		finishedAt: s.FinishedAt, final: s.Final, chat: s.Chat,
		opts: DefaultOptions(), prepared: s.Prepared, finalTeams: s.FinalTeams,
	}
	if s.Options != nil {
		g.opts = *s.Options
	}
	if len(g.secret) == 0 {
		return nil, fmt.Errorf("restore game: snapshot lacks the token secret")
	}
	for _, ps := range s.Players {
		p := &player{info: ps.Info, score: ps.Score, boardScore: ps.BoardScore, reached: ps.Reached, connected: ps.Connected,
			left: ps.Left, disconnectedAt: ps.DisconnectedAt, token: ps.Token, base: ps.Base, streak: ps.Streak, team: ps.Team}
		g.players[p.info.ID] = p
		g.order = append(g.order, p)
		if p.token != "" {
			g.tokens[p.token] = p
		}
		if p.connected {
			g.connected++
		}
	}
	if rs := s.Round; rs != nil {
		r := &round{start: rs.Start, total: rs.Total, deadline: rs.Deadline, closed: rs.Closed}
		for _, qs := range rs.Questions {
			if qs.Index < 0 || qs.Index >= len(g.quiz.Questions) {
				return nil, fmt.Errorf("restore game: question %d is not in the quiz", qs.Index)
			}
			oq := g.restoreQuestion(qs)
			for id := range qs.Answers {
				if p := g.players[id]; p != nil && p.token != "" {
					oq.answeredAwaited++
				}
			}
			r.qs = append(r.qs, oq)
		}
		g.round = r
	}
	for _, qs := range s.History {
		if qs.Index < 0 || qs.Index >= len(g.quiz.Questions) {
			return nil, fmt.Errorf("restore game: question %d is not in the quiz", qs.Index)
		}
		g.history = append(g.history, g.restoreQuestion(qs))
	}
	return g, nil
}

func snapQuestion(oq *openQuestion) openQuestionSnap {
	qs := openQuestionSnap{Index: oq.index, Answers: make(map[string]answerSnap, len(oq.answers)),
		ProgressSent: oq.progressSent, LastProgress: oq.lastProgress, Pending: oq.pending}
	for id, a := range oq.answers {
		qs.Answers[id] = answerSnap{Answer: a.answer, Correct: a.correct, Elapsed: a.elapsed, Arrival: a.arrival,
			Points: a.points, Bonus: a.bonus, Streak: a.streak}
	}
	return qs
}

func (g *Game) restoreQuestion(qs openQuestionSnap) *openQuestion {
	oq := &openQuestion{index: qs.Index, q: g.quiz.Questions[qs.Index], answers: make(map[string]*answerRec, len(qs.Answers)),
		progressSent: qs.ProgressSent, lastProgress: qs.LastProgress, pending: qs.Pending}
	for id, a := range qs.Answers {
		oq.answers[id] = &answerRec{answer: a.Answer, correct: a.Correct, elapsed: a.Elapsed, arrival: a.Arrival,
			points: a.Points, bonus: a.Bonus, streak: a.Streak}
	}
	return oq
}

// Connected lists the participants (the host included) whose connection the game counts as open.
func (g *Game) Connected() []string {
	var ids []string
	if g.hostConnected {
		ids = append(ids, g.hostID)
	}
	for _, p := range g.order {
		if p.connected {
			ids = append(ids, p.info.ID)
		}
	}
	return ids
}
