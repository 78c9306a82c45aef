// Package games is Trivium's authoritative multiplayer engine: Game, a pure clock-injected state
// machine; Room, the actor goroutine that owns one Game and fans its events out to clients; and
// Manager, the registry of rooms.
package games

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trivium-game/trivium/services"
)

// Phases of a game.
const (
	PhaseLobby      = "lobby"
	PhaseQuestion   = "question"
	PhaseReveal     = "reveal"
	PhaseScoreboard = "scoreboard"
	PhaseFinished   = "finished"
	// PhaseFailed is the phase of a game whose log could not be read back (see CodeGameFailed).
	PhaseFailed = "failed"
)

// Error codes of the game protocol, beyond the shared services codes (invalid, not_found,
// forbidden) that the engine also uses.
const (
	CodeAlreadyAnswered = "already_answered"
	CodeTooLate         = "too_late"
	CodeNotOpen         = "not_open"
	CodePaused          = "paused"
	CodeFinished        = "finished"
	CodeResumeExpired   = "resume_expired"
	CodeBusy            = "busy"
	CodeGameFailed      = "game_failed"
	CodeNotJoined       = "not_joined"
	CodeLocked          = "locked"
)

// Rules of the game protocol.
const (
	// ProgressInterval is the least time between two progress events of one question.
	ProgressInterval = 250 * time.Millisecond
	// ResumeWindow is how long after a disconnect a resume token still restores the player.
	ResumeWindow = 2 * time.Minute
	// HostTimeout is how long the host may be away before the game ends.
	HostTimeout = 5 * time.Minute
	// EmptyLobbyTimeout ends sooner a game nobody came to: still in the lobby, no player joined
	// and the host not connected.
	EmptyLobbyTimeout = 2 * time.Minute
	// RingSize is how many broadcast events are kept for replay to resuming clients.
	RingSize = 256
	// ChatHistory is how many chat messages a (re)joining participant gets in its state.
	ChatHistory = 20
	// ChatKept is how many recent chat messages a game keeps (in its snapshot too), so that a
	// player can report one and a moderator delete it while the game lasts.
	ChatKept = 100
	// MaxChatRunes is the longest chat message.
	MaxChatRunes = 280
	// MaxOpenAnswerRunes is the longest open answer accepted.
	MaxOpenAnswerRunes = 200
)

// PlayerInfo is a participant's identity, taken from the auth token, never from frame data.
type PlayerInfo struct {
	ID           string
	DisplayName  string
	ThumbnailURL string
	Guest        bool
}

// GameConfig creates a Game. Now is the creation time: the host has HostTimeout from then to
// connect.
type GameConfig struct {
	ID     string
	Code   string
	HostID string
	Quiz   services.Quiz
	Now    time.Time
	// Secret derives the resume tokens, so that replaying the game's log issues the same tokens
	// again; random when empty. It is as secret as the tokens themselves. It also seeds the
	// game's shuffles (questions, choices), so a replay asks them in the same order.
	Secret []byte
	// Options are the game's options; nil: DefaultOptions.
	Options *Options
}

// Game is the state of one multiplayer game. It has no goroutines, no clock and no channels:
// every method takes the current time and returns the events it produced, so it must be used
// from one goroutine (the Room's) and tests drive it with fixed times.
type Game struct {
	id, code string
	hostID   string
	host     PlayerInfo
	quiz     services.Quiz
	groups   [][]int // question indices asked together by one next
	asked    int     // groups asked so far
	phase    string

	players   map[string]*player
	order     []*player // join order, for stable listings
	tokens    map[string]*player
	connected int // connected players, host excluded

	hostConnected bool
	hostGoneAt    time.Time
	paused        bool
	pausedAt      time.Time
	remaining     time.Duration

	round *round

	arrival int64 // orders joins and answers: "who reached a score first"
	secret  []byte
	tokenN  uint64 // tokens issued so far
	seq     int64
	ring    []Event // RingSize slots, made at the first event: a quiet lobby does not pay for it
	ringLen int

	finishedAt time.Time
	final      []Entry
	finalTeams []TeamView
	chat       []ChatData // the last ChatKept messages: the newest ChatHistory go in state

	opts     Options
	prepared bool            // the shuffles are applied to quiz (at the first question)
	history  []*openQuestion // every question closed so far, in the order asked (the report)
}

type player struct {
	info           PlayerInfo
	score          int
	boardScore     int   // score at the last scoreboard, for deltas
	reached        int64 // arrival of the answer that brought the current score (or of the join)
	connected      bool
	left           bool
	disconnectedAt time.Time
	token          string
	base           string // the display name asked for; info.DisplayName may carry " (2)"
	streak         int    // consecutive correct answers to scoring questions
	team           int    // 1..teams count; 0: no teams
}

type round struct {
	qs       []*openQuestion
	start    time.Time // shifted by pauses so that now-start is the answering time used
	total    time.Duration
	deadline time.Time
	closed   bool
}

type openQuestion struct {
	index           int
	q               services.Question
	answers         map[string]*answerRec
	answeredAwaited int // answers by players the round still waits for (see awaited)
	progressSent    bool
	lastProgress    time.Time
	pending         bool // a progress is due but throttled
}

type answerRec struct {
	answer  services.Answer
	correct bool
	elapsed time.Duration
	arrival int64
	// Set when the question closes: the points given (streak bonus included), the bonus and
	// the streak the answer made.
	points, bonus, streak int
}

func errf(code, format string, args ...any) error { return services.Errorf(code, format, args...) }

// NewGame returns a game in the lobby. The quiz is copied and normalized; a competitive quiz is
// asked group by group (consecutive questions with the same group), any other one question at
// a time.
func NewGame(cfg GameConfig) *Game {
	q := cfg.Quiz
	q.Questions = append([]services.Question(nil), cfg.Quiz.Questions...)
	q.Normalize()
	secret := cfg.Secret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // crypto/rand.Read never fails since Go 1.24
	}
	g := &Game{
		id: cfg.ID, code: cfg.Code, hostID: cfg.HostID, quiz: q, phase: PhaseLobby,
		players: map[string]*player{}, tokens: map[string]*player{},
		host:       PlayerInfo{ID: cfg.HostID},
		hostGoneAt: wall(cfg.Now),
		secret:     secret,
		opts:       DefaultOptions(),
	}
	if cfg.Options != nil {
		g.opts = *cfg.Options
	}
	for i, qq := range q.Questions {
		if q.Mode == services.ModeCompetitive && i > 0 && qq.Group == q.Questions[i-1].Group {
			last := len(g.groups) - 1
			g.groups[last] = append(g.groups[last], i)
			continue
		}
		g.groups = append(g.groups, []int{i})
	}
	return g
}

// ID returns the game ID.
func (g *Game) ID() string { return g.id }

// Code returns the join code.
func (g *Game) Code() string { return g.code }

// Mode returns the quiz mode.
func (g *Game) Mode() string { return g.quiz.Mode }

// HostID returns the host's player ID.
func (g *Game) HostID() string { return g.hostID }

// Phase returns the current phase.
func (g *Game) Phase() string { return g.phase }

// Seq returns the seq of the last broadcast event (0 before any).
func (g *Game) Seq() int64 { return g.seq }

// Finished reports whether the game is over.
func (g *Game) Finished() bool { return g.phase == PhaseFinished }

// Paused reports whether the host is away and the game waits for it.
func (g *Game) Paused() bool { return g.paused }

func (g *Game) emit(typ string, data any, you map[string]any) Event {
	g.seq++
	ev := Event{Type: typ, Seq: g.seq, Data: data, You: you}
	if g.ring == nil {
		g.ring = make([]Event, RingSize)
	}
	g.ring[g.seq%RingSize] = ev
	if g.ringLen < RingSize {
		g.ringLen++
	}
	return ev
}

// EventsSince returns the broadcast events after lastSeq, oldest first. ok is false when some of
// them are no longer in the ring (or lastSeq is not from this game): send a snapshot only.
func (g *Game) EventsSince(lastSeq int64) (events []Event, ok bool) {
	if lastSeq < 0 || lastSeq > g.seq || lastSeq < g.seq-int64(g.ringLen) {
		return nil, false
	}
	for s := lastSeq + 1; s <= g.seq; s++ {
		events = append(events, g.ring[s%RingSize])
	}
	return events, true
}

func (g *Game) nextArrival() int64 {
	g.arrival++
	return g.arrival
}

func (p *player) ref() PlayerRef {
	return PlayerRef{ID: p.info.ID, DisplayName: p.info.DisplayName, ThumbnailURL: p.info.ThumbnailURL}
}

// wall is t as the game keeps it: wall-clock reading only, in UTC, so that a time taken from
// the log (Unix nanoseconds) is equal to the one the live game used.
func wall(t time.Time) time.Time { return t.Round(0).UTC() }

// newToken derives the next resume token from the game's secret: unguessable without it, and
// the same again when the log is replayed.
func (g *Game) newToken() string {
	g.tokenN++
	m := hmac.New(sha256.New, g.secret)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], g.tokenN)
	m.Write(n[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// rotateToken gives p a fresh resume token; the old one stops working so a token seen by
// someone else is useless after the next join. A player who had no token (it expired, or the
// player left) becomes awaited again: its answers to the open questions count once more.
func (g *Game) rotateToken(p *player) {
	if p.token != "" {
		delete(g.tokens, p.token)
	} else {
		g.awaitAnswers(p, 1)
	}
	p.token = g.newToken()
	g.tokens[p.token] = p
}

// clearToken invalidates p's resume token: the round stops waiting for p.
func (g *Game) clearToken(p *player) {
	if p.token == "" {
		return
	}
	delete(g.tokens, p.token)
	p.token = ""
	g.awaitAnswers(p, -1)
}

// awaitAnswers adds d to the awaited-answer count of every open question p answered.
func (g *Game) awaitAnswers(p *player, d int) {
	for _, oq := range g.openQuestions() {
		if _, ok := oq.answers[p.info.ID]; ok {
			oq.answeredAwaited += d
		}
	}
}

func (g *Game) openQuestions() []*openQuestion {
	if g.phase != PhaseQuestion || g.round == nil || g.round.closed {
		return nil
	}
	return g.round.qs
}

// Join adds a player (or reconnects one already in the game with the same ID) in any phase but
// finished. A join with the host's ID is the host (re)connecting, which resumes a paused game.
func (g *Game) Join(now time.Time, p PlayerInfo) ([]Event, error) {
	if g.Finished() {
		return nil, errf(CodeFinished, "the game is over")
	}
	if p.ID == "" {
		return nil, errf(services.EInvalid, "a player ID is required")
	}
	p.DisplayName = services.CleanText(p.DisplayName)
	if p.ID == g.hostID {
		g.host = p
		return g.hostBack(now), nil
	}
	if pl, ok := g.players[p.ID]; ok {
		if services.NormalizeAnswer(p.DisplayName) != services.NormalizeAnswer(pl.base) {
			pl.base, pl.info.DisplayName = p.DisplayName, g.uniqueName(p.DisplayName, pl)
		}
		pl.info.ThumbnailURL = p.ThumbnailURL
		return g.reconnect(pl), nil
	}
	if g.opts.LockLobby {
		return nil, errf(CodeLocked, "the host has locked the game: no new players")
	}
	if !g.opts.LateJoin && g.phase != PhaseLobby {
		return nil, errf(CodeLocked, "the game has started and takes no late joiners")
	}
	pl := &player{info: p, connected: true, reached: g.nextArrival(), base: p.DisplayName}
	pl.info.DisplayName = g.uniqueName(p.DisplayName, nil)
	if g.opts.Teams != nil {
		pl.team = g.smallestTeam()
	}
	g.players[p.ID] = pl
	g.order = append(g.order, pl)
	g.connected++
	g.rotateToken(pl)
	return []Event{g.emit(EventPlayerJoined, PlayerJoinedData{Player: pl.ref()}, nil)}, nil
}

// uniqueName is name, or name with " (2)", " (3)"… when another player of the game (not self)
// already shows it, compared without case, accents or extra spaces: two guests called Bob can
// be told apart in the lobby, the scoreboard and the podium.
func (g *Game) uniqueName(name string, self *player) string {
	taken := map[string]bool{}
	for _, o := range g.order {
		if o != self {
			taken[services.NormalizeAnswer(o.info.DisplayName)] = true
		}
	}
	name = strings.TrimSpace(name)
	candidate := name
	for n := 2; taken[services.NormalizeAnswer(candidate)]; n++ {
		candidate = fmt.Sprintf("%s (%d)", name, n)
	}
	return candidate
}

// Resume restores the player a resume token was issued to, whoever presents it: the token is a
// bearer secret. It returns the restored player's ID, which the caller must use from then on.
// A token is refused once its player has been disconnected for ResumeWindow, or has left.
func (g *Game) Resume(now time.Time, token string, _ PlayerInfo) (string, []Event, error) {
	if g.Finished() {
		return "", nil, errf(CodeFinished, "the game is over")
	}
	pl := g.tokens[token]
	if pl == nil || g.tokenExpired(pl, now) {
		return "", nil, errf(CodeResumeExpired, "the resume token is unknown or expired; join again")
	}
	return pl.info.ID, g.reconnect(pl), nil
}

func (g *Game) tokenExpired(p *player, now time.Time) bool {
	return p.left || (!p.connected && !now.Before(p.disconnectedAt.Add(ResumeWindow)))
}

func (g *Game) reconnect(pl *player) []Event {
	g.rotateToken(pl)
	pl.left = false
	if pl.connected {
		return nil
	}
	pl.connected = true
	g.connected++
	return []Event{g.emit(EventPlayerJoined, PlayerJoinedData{Player: pl.ref()}, nil)}
}

func (g *Game) hostBack(now time.Time) []Event {
	if g.hostConnected {
		return nil
	}
	g.hostConnected = true
	if !g.paused {
		return nil
	}
	g.paused = false
	var d ResumedData
	if r := g.round; g.phase == PhaseQuestion && r != nil && !r.closed {
		r.start = r.start.Add(now.Sub(g.pausedAt))
		r.deadline = now.Add(g.remaining)
		d.Deadline = r.deadline.UnixMilli()
	}
	return []Event{g.emit(EventResumed, d, nil)}
}

// Disconnect marks a participant's connection lost. A player stays in the standings and may
// resume; the host's absence pauses the game (freezing the answering time left).
func (g *Game) Disconnect(now time.Time, playerID string) []Event {
	if g.Finished() {
		return nil
	}
	if playerID == g.hostID {
		return g.hostGone(now)
	}
	pl := g.players[playerID]
	if pl == nil || !pl.connected {
		return nil
	}
	// The round keeps waiting for the player through its resume window (a reload or a second
	// without signal must not close the question for everyone): no early close here.
	g.drop(now, pl)
	return []Event{g.emit(EventPlayerLeft, PlayerLeftData{Player: pl.ref(), Reason: ReasonDisconnected}, nil)}
}

func (g *Game) drop(now time.Time, pl *player) {
	pl.connected = false
	pl.disconnectedAt = now
	g.connected--
}

func (g *Game) hostGone(now time.Time) []Event {
	if !g.hostConnected {
		return nil
	}
	g.hostConnected = false
	g.hostGoneAt = now
	var evs []Event
	// The deadline is authoritative: a question already due closes before the pause so the
	// pause cannot lengthen it.
	if r := g.round; g.phase == PhaseQuestion && r != nil && !r.closed && !now.Before(r.deadline) {
		evs = g.closeRound(now)
	}
	g.paused = true
	g.pausedAt = now
	if r := g.round; g.phase == PhaseQuestion && r != nil && !r.closed {
		g.remaining = r.deadline.Sub(now)
	}
	return append(evs, g.emit(EventPaused, PausedData{}, nil))
}

// restored marks every participant disconnected after the game was read back from its log: their
// sockets were on a process that is gone, and they come back with join or their resume token.
// The host's absence does not pause the game here: an open question keeps its deadline (one that
// passed during the outage is revealed at once), and the host has HostTimeout to come back.
func (g *Game) restored(now time.Time) []Event {
	if g.Finished() {
		return nil
	}
	var evs []Event
	if g.hostConnected {
		g.hostConnected = false
		g.hostGoneAt = now
	}
	for _, pl := range g.order {
		if pl.connected {
			g.drop(now, pl)
			evs = append(evs, g.emit(EventPlayerLeft, PlayerLeftData{Player: pl.ref(), Reason: ReasonDisconnected}, nil))
		}
	}
	return evs
}

// Leave removes a player on purpose: it stays in the standings with its points, but its resume
// token is invalidated. The host leaving is treated as a disconnect (the game pauses and ends if
// the host does not come back within HostTimeout).
func (g *Game) Leave(now time.Time, playerID string) ([]Event, error) {
	if g.Finished() {
		return nil, errf(CodeFinished, "the game is over")
	}
	if playerID == g.hostID {
		return g.hostGone(now), nil
	}
	pl := g.players[playerID]
	if pl == nil {
		return nil, errf(services.ENotFound, "not in this game")
	}
	if pl.left {
		return nil, nil
	}
	g.clearToken(pl)
	if pl.connected {
		g.drop(now, pl)
	}
	pl.left = true
	evs := []Event{g.emit(EventPlayerLeft, PlayerLeftData{Player: pl.ref(), Reason: ReasonLeft}, nil)}
	return append(evs, g.checkAllAnswered(now)...), nil
}

func (g *Game) requireHost(by string) error {
	if g.Finished() {
		return errf(CodeFinished, "the game is over")
	}
	if by != g.hostID {
		return errf(services.EForbidden, "only the host drives the game")
	}
	return nil
}

// Start leaves the lobby by asking the first question (or group).
func (g *Game) Start(now time.Time, by string) ([]Event, error) {
	if err := g.requireHost(by); err != nil {
		return nil, err
	}
	if g.phase != PhaseLobby {
		return nil, errf(services.EInvalid, "the game has already started")
	}
	return g.ask(now), nil
}

// Next asks the next question (casual, live) or group (competitive), from the lobby, a reveal or
// a scoreboard; after the last one it finishes the game.
func (g *Game) Next(now time.Time, by string) ([]Event, error) {
	if err := g.requireHost(by); err != nil {
		return nil, err
	}
	if g.phase == PhaseQuestion {
		return nil, errf(services.EInvalid, "reveal the open question first")
	}
	return g.ask(now), nil
}

// Reveal closes answering early and reveals.
func (g *Game) Reveal(now time.Time, by string) ([]Event, error) {
	if err := g.requireHost(by); err != nil {
		return nil, err
	}
	if g.phase != PhaseQuestion {
		return nil, errf(services.EInvalid, "no question is open")
	}
	return g.closeRound(now), nil
}

// Scoreboard shows the standings after a reveal.
func (g *Game) Scoreboard(_ time.Time, by string) ([]Event, error) {
	if err := g.requireHost(by); err != nil {
		return nil, err
	}
	if g.phase != PhaseReveal {
		return nil, errf(services.EInvalid, "the scoreboard follows a reveal")
	}
	g.phase = PhaseScoreboard
	return []Event{g.scoreboard()}, nil
}

// End finishes the game now. A question still open is dropped unscored.
func (g *Game) End(now time.Time, by string) ([]Event, error) {
	if err := g.requireHost(by); err != nil {
		return nil, err
	}
	return g.finish(now), nil
}

func (g *Game) ask(now time.Time) []Event {
	if g.asked >= len(g.groups) {
		return g.finish(now)
	}
	g.prepare()
	idx := g.groups[g.asked]
	g.asked++
	r := &round{start: now}
	for _, i := range idx {
		r.total += g.quiz.Questions[i].TimeLimit()
	}
	r.deadline = now.Add(r.total)
	g.round = r
	g.phase = PhaseQuestion
	evs := make([]Event, 0, len(idx))
	for _, i := range idx {
		q := g.quiz.Questions[i]
		r.qs = append(r.qs, &openQuestion{index: i, q: q, answers: map[string]*answerRec{}})
		// In competitive mode timeLimitMs is the group's shared budget, matching the deadline.
		evs = append(evs, g.emit(EventQuestion, q.Public(i, r.deadline, r.total), nil))
	}
	return evs
}

// Answer records a player's answer. The ack never tells correctness except in live mode.
func (g *Game) Answer(now time.Time, playerID string, index int, a services.Answer) (AnswerAck, []Event, error) {
	var none AnswerAck
	if g.Finished() {
		return none, nil, errf(CodeFinished, "the game is over")
	}
	if playerID == g.hostID {
		return none, nil, errf(services.EForbidden, "the host does not answer")
	}
	pl := g.players[playerID]
	if pl == nil || pl.left {
		return none, nil, errf(services.EForbidden, "not a player in this game")
	}
	var oq *openQuestion
	for _, q := range g.openQuestions() {
		if q.index == index {
			oq = q
		}
	}
	if oq == nil {
		return none, nil, errf(CodeNotOpen, "question %d is not open", index)
	}
	if msg := oq.q.CheckAnswer(a); msg != "" {
		return none, nil, errf(services.EInvalid, "%s", msg)
	}
	if g.paused {
		return none, nil, errf(CodePaused, "the game is paused until the host is back")
	}
	r := g.round
	if !now.Before(r.deadline) {
		return none, nil, errf(CodeTooLate, "the time for question %d is up", index)
	}
	if _, dup := oq.answers[playerID]; dup {
		return none, nil, errf(CodeAlreadyAnswered, "question %d is already answered", index)
	}
	rec := &answerRec{answer: a, correct: oq.q.Correct(a), elapsed: now.Sub(r.start), arrival: g.nextArrival()}
	oq.answers[playerID] = rec
	if pl.token != "" {
		oq.answeredAwaited++
	}
	ack := AnswerAck{Index: index, Accepted: true}
	if g.quiz.Mode == services.ModeLive {
		c := rec.correct
		ack.Correct = &c
		if c {
			return ack, g.buzz(oq, pl, rec), nil
		}
	}
	var evs []Event
	if ev, ok := g.progress(now, oq, g.everyoneAnswered(oq)); ok {
		evs = append(evs, ev)
	}
	return ack, append(evs, g.checkAllAnswered(now)...), nil
}

// everyoneAnswered: every awaited player answered oq. A player is awaited while it holds a
// resume token: connected, or disconnected for less than ResumeWindow (and not left).
func (g *Game) everyoneAnswered(oq *openQuestion) bool {
	return len(oq.answers) > 0 && oq.answeredAwaited >= len(g.tokens)
}

// progress emits a progress event unless one went out less than ProgressInterval ago, in which
// case it is left pending for Tick; force sends it regardless.
func (g *Game) progress(now time.Time, oq *openQuestion, force bool) (Event, bool) {
	if !force && oq.progressSent && now.Sub(oq.lastProgress) < ProgressInterval {
		oq.pending = true
		return Event{}, false
	}
	oq.progressSent, oq.lastProgress, oq.pending = true, now, false
	d := ProgressData{Index: oq.index, Answered: len(oq.answers), Total: len(oq.answers) + len(g.tokens) - oq.answeredAwaited}
	ev := g.emit(EventProgress, d, nil)
	ev.HostOnly = true
	g.ring[ev.Seq%RingSize] = ev
	return ev, true
}

// checkAllAnswered closes the round once every connected player answered every open question
// (in live mode: answered wrong, since a right answer closes at once).
func (g *Game) checkAllAnswered(now time.Time) []Event {
	qs := g.openQuestions()
	if len(qs) == 0 || g.paused {
		return nil
	}
	var evs []Event
	all := true
	for _, oq := range qs {
		if !g.everyoneAnswered(oq) {
			all = false
			continue
		}
		if oq.pending {
			ev, _ := g.progress(now, oq, true)
			evs = append(evs, ev)
		}
	}
	if all {
		evs = append(evs, g.closeRound(now)...)
	}
	return evs
}

func (g *Game) buzz(oq *openQuestion, pl *player, rec *answerRec) []Event {
	r := g.round
	r.closed = true
	pts := services.Points(g.quiz.Scoring, rec.elapsed, r.total)
	pl.score += pts
	pl.reached = rec.arrival
	rec.points = pts
	g.history = append(g.history, oq)
	g.phase = PhaseScoreboard
	buzz := g.emit(EventBuzz, BuzzData{Index: oq.index, Winner: PlayerName{ID: pl.info.ID, DisplayName: pl.info.DisplayName},
		CorrectAnswer: oq.q.Answer}, nil)
	return []Event{buzz, g.scoreboard()}
}

// closeRound ends answering and reveals each question of the round, scoring it (in live mode
// nobody was right, so nobody scores).
func (g *Game) closeRound(now time.Time) []Event {
	r := g.round
	if r == nil || r.closed {
		return nil
	}
	r.closed = true
	g.phase = PhaseReveal
	live := g.quiz.Mode == services.ModeLive
	evs := make([]Event, 0, len(r.qs))
	for _, oq := range r.qs {
		you := make(map[string]any, len(g.order))
		scores := oq.q.Scores() && !live
		for _, pl := range g.order {
			rec := oq.answers[pl.info.ID]
			if scores {
				if rec != nil && rec.correct {
					pl.streak++
					base := services.Points(g.quiz.Scoring, rec.elapsed, r.total)
					rec.bonus = services.StreakBonus(base, pl.streak)
					rec.points = base + rec.bonus
					pl.score += rec.points
					pl.reached = max(pl.reached, rec.arrival)
				} else {
					pl.streak = 0
				}
			}
			if rec != nil {
				rec.streak = pl.streak
			}
			you[pl.info.ID] = revealYou(rec, pl.streak)
		}
		g.history = append(g.history, oq)
		evs = append(evs, g.emit(EventReveal, g.revealData(oq), you))
	}
	return evs
}

func revealYou(rec *answerRec, streak int) RevealYou {
	y := RevealYou{Answered: rec != nil, Streak: streak}
	if rec != nil {
		y.Correct, y.Points, y.StreakBonus, y.Streak = rec.correct, rec.points, rec.bonus, rec.streak
	}
	return y
}

func (g *Game) counts(oq *openQuestion) any {
	if oq.q.HasChoices() && oq.q.Kind != services.KindOrder {
		c := make([]int, len(oq.q.Choices))
		for _, rec := range oq.answers {
			if rec.answer.IsList {
				for _, i := range rec.answer.List {
					c[i]++
				}
			} else {
				c[rec.answer.Index]++
			}
		}
		return c
	}
	var c OpenCounts
	for _, rec := range oq.answers {
		if rec.correct {
			c.Correct++
		} else {
			c.Wrong++
		}
	}
	for _, pl := range g.order {
		if _, ok := oq.answers[pl.info.ID]; !ok && !pl.left {
			c.None++
		}
	}
	return c
}

// standings orders players by score, ties by who reached the score first.
func (g *Game) standings() []Entry {
	ps := append([]*player(nil), g.order...)
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].score != ps[j].score {
			return ps[i].score > ps[j].score
		}
		return ps[i].reached < ps[j].reached
	})
	out := make([]Entry, len(ps))
	for i, p := range ps {
		out[i] = Entry{PlayerID: p.info.ID, DisplayName: p.info.DisplayName, ThumbnailURL: p.info.ThumbnailURL,
			Score: p.score, Rank: i + 1, Delta: p.score - p.boardScore, Team: p.team}
	}
	return out
}

func (g *Game) scoreboard() Event {
	entries := g.standings()
	for _, p := range g.order {
		p.boardScore = p.score
	}
	return g.emit(EventScoreboard, StandingsData{Entries: entries, Teams: g.rankedTeams()}, nil)
}

func (g *Game) finish(now time.Time) []Event {
	if g.Finished() {
		return nil
	}
	if g.round != nil {
		g.round.closed = true
	}
	g.phase = PhaseFinished
	g.paused = false
	g.finishedAt = now
	g.final = g.standings()
	g.finalTeams = g.rankedTeams()
	for _, p := range g.order {
		p.boardScore = p.score
	}
	return []Event{g.emit(EventFinished, StandingsData{Entries: g.final, Teams: g.finalTeams}, nil)}
}

// Result is the outcome to record; meaningful once Finished.
func (g *Game) Result() services.GameFinished {
	res := services.GameFinished{GameID: g.id, QuizID: g.quiz.ID, Mode: g.quiz.Mode, FinishedAt: g.finishedAt,
		Entries: make([]services.ResultEntry, 0, len(g.final))}
	for _, e := range g.final {
		res.Entries = append(res.Entries, services.ResultEntry{PlayerID: e.PlayerID, DisplayName: e.DisplayName,
			Guest: g.players[e.PlayerID].info.Guest, Score: e.Score, Rank: e.Rank})
	}
	rep := g.Report()
	res.Report = &rep
	return res
}

// Chat broadcasts a message from a participant. The text is kept verbatim (trimmed): clients
// must render it as text.
func (g *Game) Chat(now time.Time, playerID, text string) ([]Event, error) {
	if g.Finished() {
		return nil, errf(CodeFinished, "the game is over")
	}
	var from PlayerName
	if playerID == g.hostID {
		from = PlayerName{ID: g.host.ID, DisplayName: g.host.DisplayName}
	} else if pl := g.players[playerID]; pl != nil && !pl.left {
		from = PlayerName{ID: pl.info.ID, DisplayName: pl.info.DisplayName}
	} else {
		return nil, errf(services.EForbidden, "not in this game")
	}
	text = services.CleanText(text)
	if !utf8.ValidString(text) {
		return nil, errf(services.EInvalid, "text must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(text); n < 1 || n > MaxChatRunes {
		return nil, errf(services.EInvalid, "text must be 1–%d characters", MaxChatRunes)
	}
	d := ChatData{ID: strconv.FormatInt(g.seq+1, 10), From: from, Text: text, At: now.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	g.chat = append(g.chat, d)
	if len(g.chat) > ChatKept {
		g.chat = append(g.chat[:0:0], g.chat[len(g.chat)-ChatKept:]...)
	}
	return []Event{g.emit(EventChat, d, nil)}, nil
}

// ChatMessage returns a kept chat message by id, and whether playerID took part in the game
// (its host or a player, even one who left): only they saw it, so only they may report it.
func (g *Game) ChatMessage(id, playerID string) (msg ChatData, found, participant bool) {
	participant = playerID == g.hostID || g.players[playerID] != nil
	for _, m := range g.chat {
		if m.ID != "" && m.ID == id {
			return m, true, participant
		}
	}
	return ChatData{}, false, participant
}

// DeleteChat removes a kept chat message (a moderator's delete_chat) and tells every client;
// ENotFound when no kept message has that id. A finished game's history is edited too.
func (g *Game) DeleteChat(id string) ([]Event, error) {
	for i, m := range g.chat {
		if m.ID != "" && m.ID == id {
			g.chat = append(g.chat[:i:i], g.chat[i+1:]...)
			return []Event{g.emit(EventChatDeleted, ChatDeletedData{ID: id}, nil)}, nil
		}
	}
	return nil, errf(services.ENotFound, "no chat message %q in this game", id)
}

// Tick fires whatever is due at now: the question deadline (reveal), throttled progress, the
// host timeout (finish) and resume-token expiry.
func (g *Game) Tick(now time.Time) []Event {
	if g.Finished() {
		return nil
	}
	var evs []Event
	if r := g.round; g.phase == PhaseQuestion && r != nil && !r.closed && !g.paused {
		if !now.Before(r.deadline) {
			evs = append(evs, g.closeRound(now)...)
		} else {
			for _, oq := range r.qs {
				if oq.pending && now.Sub(oq.lastProgress) >= ProgressInterval {
					ev, _ := g.progress(now, oq, true)
					evs = append(evs, ev)
				}
			}
		}
	}
	if !g.hostConnected && !now.Before(g.hostGoneAt.Add(g.hostTimeout())) {
		evs = append(evs, g.finish(now)...)
	}
	expired := false
	for _, pl := range g.tokens {
		if g.tokenExpired(pl, now) {
			g.clearToken(pl)
			expired = true
		}
	}
	if expired {
		// Whoever did not come back within the window no longer holds the round open.
		evs = append(evs, g.checkAllAnswered(now)...)
	}
	return evs
}

// hostTimeout is how long the game waits for an absent host.
func (g *Game) hostTimeout() time.Duration {
	if g.phase == PhaseLobby && len(g.order) == 0 {
		return EmptyLobbyTimeout
	}
	return HostTimeout
}

// Empty reports whether nobody ever joined as a player.
func (g *Game) Empty() bool { return len(g.order) == 0 }

// NextWake returns when Tick next has something to do.
func (g *Game) NextWake() (time.Time, bool) {
	var at time.Time
	found := false
	consider := func(t time.Time) {
		if !found || t.Before(at) {
			at, found = t, true
		}
	}
	if g.Finished() {
		return at, false
	}
	if r := g.round; g.phase == PhaseQuestion && r != nil && !r.closed && !g.paused {
		consider(r.deadline)
		for _, oq := range r.qs {
			if oq.pending {
				consider(oq.lastProgress.Add(ProgressInterval))
			}
		}
	}
	if !g.hostConnected {
		consider(g.hostGoneAt.Add(g.hostTimeout()))
	}
	// Every connected player holds a token: only when some holder is away is there a resume
	// window to watch. (NextWake runs after every command; the scan is O(players).)
	if len(g.tokens) > g.connected {
		for _, pl := range g.tokens {
			if !pl.connected {
				consider(pl.disconnectedAt.Add(ResumeWindow))
			}
		}
	}
	return at, found
}

func (g *Game) playerViews() []PlayerView {
	out := make([]PlayerView, 0, len(g.order))
	for _, p := range g.order {
		out = append(out, PlayerView{ID: p.info.ID, DisplayName: p.info.DisplayName, ThumbnailURL: p.info.ThumbnailURL,
			Score: p.score, Connected: p.connected})
	}
	return out
}

// Snapshot is the state frame for playerID (the host, a player, or anyone else as a spectator).
// It never holds the answer of an open question.
func (g *Game) Snapshot(playerID string) State {
	s := State{GameID: g.id, QuizID: g.quiz.ID, Code: g.code, Mode: g.quiz.Mode, Phase: g.phase, Players: g.playerViews(),
		Paused: g.paused, Seq: g.seq, You: StateYou{PlayerID: playerID, Host: playerID == g.hostID},
		Options: g.opts, Teams: g.teamViews()}
	pl := g.players[playerID]
	if pl != nil {
		s.You.Score = pl.score
		s.You.Team = pl.team
		s.You.Streak = pl.streak
		s.ResumeToken = pl.token
	}
	if qs := g.openQuestions(); len(qs) > 0 {
		r := g.round
		if g.paused {
			s.RemainingMs = g.remaining.Milliseconds()
		}
		all := pl != nil
		for _, oq := range qs {
			pq := oq.q.Public(oq.index, r.deadline, r.total)
			if s.Question == nil {
				s.Question = &pq
			}
			if g.quiz.Mode == services.ModeCompetitive {
				s.Questions = append(s.Questions, pq)
			}
			if pl != nil {
				if _, ok := oq.answers[playerID]; ok {
					s.You.AnsweredIndexes = append(s.You.AnsweredIndexes, oq.index)
				} else {
					all = false
				}
			}
		}
		s.You.Answered = all
	}
	if g.Finished() {
		s.Entries = g.final
		s.Teams = g.finalTeams
	}
	if g.phase == PhaseScoreboard {
		s.Entries = g.standings()
		s.Teams = g.rankedTeams()
	}
	if r := g.round; r != nil && r.closed && g.phase == PhaseReveal {
		// A player who comes back during a reveal sees the reveal, question included.
		for _, oq := range r.qs {
			rv := RevealState{Question: oq.q.Public(oq.index, r.deadline, r.total), RevealData: g.revealData(oq)}
			if pl != nil {
				y := revealYou(oq.answers[playerID], pl.streak)
				rv.You = &y
			}
			s.Reveals = append(s.Reveals, rv)
		}
	}
	if r := g.round; r != nil && r.closed && (g.phase == PhaseReveal || g.phase == PhaseScoreboard) {
		for _, oq := range r.qs {
			s.Round = append(s.Round, oq.q.Public(oq.index, r.deadline, r.total))
		}
	}
	s.Chat = g.chat[max(0, len(g.chat)-ChatHistory):]
	return s
}

// Info is the public summary of the game.
func (g *Game) Info() GameInfo {
	return GameInfo{GameID: g.id, Code: g.code, Title: g.quiz.Title, Mode: g.quiz.Mode, Phase: g.phase, Players: g.playerViews()}
}
