package games

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Results records finished games (in the database, with their durable events).
type Results interface {
	GameFinished(ctx context.Context, r services.GameFinished) error
}

// Defaults of ManagerConfig.
const (
	DefaultInboxSize = 4096
	DefaultLinger    = 10 * time.Minute
	// EmptyLinger is how long a game that finished without players stays (its host's socket is
	// closed then).
	EmptyLinger = time.Minute
	// DefaultMaxGamesPerHost and DefaultMaxGames: one account cannot fill the server's memory
	// with games (each costs a few KiB idle; a full room much more).
	DefaultMaxGamesPerHost = 5
	DefaultMaxGames        = 20000
	DefaultRetryMin        = 100 * time.Millisecond
	DefaultRetryMax        = 30 * time.Second
	CodeAlphabet           = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	CodeLength             = 6
	maxCodeAttempts        = 100
)

// ManagerConfig configures a Manager; zero values take the defaults.
type ManagerConfig struct {
	Clock     Clock        // RealClock{}
	Results   Results      // required in production; nil discards results
	Logger    *slog.Logger // discards
	InboxSize int          // DefaultInboxSize
	Linger    time.Duration
	NewID     func() string // services.NewID
	// RetryMin and RetryMax bound the backoff between attempts to record a result.
	RetryMin, RetryMax time.Duration
	// MaxGamesPerHost bounds the unfinished games one account hosts here (DefaultMaxGamesPerHost);
	// MaxGames bounds all of them (DefaultMaxGames).
	MaxGamesPerHost, MaxGames int
	// Cluster spreads games over several nodes; nil keeps every game in this process.
	Cluster Cluster
	// Journal is the durable game log: every accepted command is in it before its ack leaves,
	// and games are restored from it after a restart or a failover. nil keeps games in memory
	// only (benchmarks and engine tests).
	Journal Journal
}

// Manager creates, finds and removes rooms.
type Manager struct {
	cfg     ManagerConfig
	ctx     context.Context // cancelled by Close: stops result retries
	cancel  context.CancelFunc
	writers sync.WaitGroup
	closing chan struct{} // closed when Close starts: writers stop backing off

	mu      sync.Mutex
	rooms   map[string]*Room   // by code
	proxies map[string]*Room   // by code: games another node runs (cluster only)
	lingers map[string]Timer   // by code
	lookups map[string]*lookup // by code: lookups waiting on the cluster or the log
	claimed map[string]bool    // codes of games being created
	// creating counts games being created, by host, and creatingAll all of them: they count
	// against the caps like running games.
	creating    map[string]int
	creatingAll int
	closed      bool
}

// lookup is a lookup of a game with no Room here, in flight. It asks the cluster or reads the
// log without m.mu, so a slow answer holds up only the lookups of that one code, which wait for
// it instead of asking again.
type lookup struct {
	done    chan struct{} // closed once room and ok are set
	room    *Room
	ok      bool
	waiters int // other lookups waiting for this one (m.mu)
}

type discardResults struct{}

func (discardResults) GameFinished(context.Context, services.GameFinished) error { return nil }

// NewManager returns a manager with no rooms.
func NewManager(cfg ManagerConfig) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Results == nil {
		cfg.Results = discardResults{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = DefaultInboxSize
	}
	if cfg.Linger <= 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.MaxGamesPerHost <= 0 {
		cfg.MaxGamesPerHost = DefaultMaxGamesPerHost
	}
	if cfg.MaxGames <= 0 {
		cfg.MaxGames = DefaultMaxGames
	}
	if cfg.NewID == nil {
		cfg.NewID = services.NewID
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{cfg: cfg, ctx: ctx, cancel: cancel, closing: make(chan struct{}),
		rooms: map[string]*Room{}, proxies: map[string]*Room{}, lingers: map[string]Timer{},
		lookups: map[string]*lookup{}, claimed: map[string]bool{}, creating: map[string]int{}}
}

// NewCode returns a random join code of CodeLength characters from CodeAlphabet.
func NewCode() string {
	const n = len(CodeAlphabet)
	out := make([]byte, 0, CodeLength)
	var b [1]byte
	for len(out) < CodeLength {
		_, _ = rand.Read(b[:])
		// Reject the top of the byte range so every character is equally likely.
		if int(b[0]) >= 256/n*n {
			continue
		}
		out = append(out, CodeAlphabet[int(b[0])%n])
	}
	return string(out)
}

// Create starts a room for quiz hosted by host with the default options. Single-player quizzes
// are refused (EInvalid).
func (m *Manager) Create(quiz services.Quiz, host PlayerInfo) (*Room, error) {
	return m.CreateWith(quiz, host, nil)
}

// CreateWith is Create with the game's options (nil: DefaultOptions).
func (m *Manager) CreateWith(quiz services.Quiz, host PlayerInfo, opts *Options) (*Room, error) {
	switch quiz.Mode {
	case services.ModeCasual, services.ModeCompetitive, services.ModeLive:
	case services.ModeSingle:
		return nil, services.Errorf(services.EInvalid, "a single-player quiz is played alone, not hosted")
	default:
		return nil, services.Errorf(services.EInvalid, "unknown quiz mode %q", quiz.Mode)
	}
	if len(quiz.Questions) == 0 {
		return nil, services.Errorf(services.EInvalid, "the quiz has no questions")
	}
	if host.ID == "" {
		return nil, services.Errorf(services.EInvalid, "a host is required")
	}
	if err := m.reserveGame(host.ID); err != nil {
		return nil, err
	}
	defer m.unreserveGame(host.ID)
	// The code's claim and the log's first entry are network round trips in a cluster: they are
	// made without m.mu, so lookups and other creations go on meanwhile.
	for range maxCodeAttempts {
		code, err := m.claimCode()
		if err != nil {
			return nil, err
		}
		now := m.cfg.Clock.Now()
		g := NewGame(GameConfig{ID: m.cfg.NewID(), Code: code, HostID: host.ID, Quiz: quiz, Now: now, Options: opts})
		var pos uint64
		if m.cfg.Journal != nil {
			first, err := createEntry(g, now)
			if err != nil {
				m.unclaimCode(code)
				return nil, err
			}
			ctx, cancel := context.WithTimeout(m.ctx, journalTimeout)
			pos, err = m.cfg.Journal.Create(ctx, code, first)
			cancel()
			if errors.Is(err, ErrLogExists) {
				// The code's log from an earlier game is still kept: its code is not reused yet.
				m.unclaimCode(code)
				continue
			}
			if err != nil {
				m.unclaimCode(code)
				return nil, services.Errorf(services.EUnavailable, "the game log is unavailable: %v", err)
			}
		}
		m.mu.Lock()
		delete(m.claimed, code)
		if m.closed {
			m.mu.Unlock()
			m.abandon(code)
			return nil, services.Errorf(services.EUnavailable, "the game server is shutting down")
		}
		r := m.newRoomLocked(g, pos, false)
		m.mu.Unlock()
		return r, nil
	}
	return nil, fmt.Errorf("create game: no join code without a kept log after %d attempts", maxCodeAttempts)
}

// reserveGame counts a game being created for hostID against the caps, or says which cap it
// would pass. Games being created count like running ones, so concurrent creations cannot
// overshoot.
func (m *Manager) reserveGame(hostID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return services.Errorf(services.EUnavailable, "the game server is shutting down")
	}
	open, mine := m.creatingAll, m.creating[hostID]
	for _, r := range m.rooms {
		if !r.Finished() {
			open++
			if r.host == hostID {
				mine++
			}
		}
	}
	if mine >= m.cfg.MaxGamesPerHost {
		return services.Errorf(services.ERateLimited, "you already host %d games that are not finished: end one first", mine)
	}
	if open >= m.cfg.MaxGames {
		return services.Errorf(services.EUnavailable, "the server runs as many games as it can (%d); try again later", open)
	}
	m.creating[hostID]++
	m.creatingAll++
	return nil
}

func (m *Manager) unreserveGame(hostID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.creating[hostID]--; m.creating[hostID] <= 0 {
		delete(m.creating, hostID)
	}
	m.creatingAll--
}

// abandon gives up a game created while the manager closed: nobody was told its code.
func (m *Manager) abandon(code string) {
	if m.cfg.Journal != nil {
		ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
		if err := m.cfg.Journal.CloseGame(ctx, code); err != nil {
			m.cfg.Logger.Warn("close the log of a game created at shutdown", "code", code, "err", err)
		}
		cancel()
	}
	if m.cfg.Cluster != nil {
		m.cfg.Cluster.Release(code)
	}
}

// journalTimeout bounds the log reads and writes made on behalf of a request.
const journalTimeout = 5 * time.Second

// restore reads a game back from its log and starts its Room; call it without m.mu. A log that
// cannot be read back leaves a broken Room that tells players why. A Room that appeared
// meanwhile (restored by a takeover or at start) is kept and returned.
func (m *Manager) restore(code string) (*Room, error) {
	if m.cfg.Journal == nil {
		return nil, errf(services.ENotFound, "no game with code %q", code)
	}
	ctx, cancel := context.WithTimeout(m.ctx, journalTimeout)
	rec, err := m.cfg.Journal.Load(ctx, code)
	cancel()
	if err != nil {
		return nil, err
	}
	g, err := safeReplay(rec)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errf(services.EUnavailable, "the game server is shutting down")
	}
	if r := m.rooms[code]; r != nil {
		return r, nil
	}
	if err != nil {
		m.cfg.Logger.Error("game log cannot be replayed: the game is marked failed", "code", code, "err", err)
		r := brokenRoom(code, err)
		m.rooms[code] = r
		return r, nil
	}
	m.cfg.Logger.Info("game restored from its log", "code", code, "seq", g.Seq(), "batches", len(rec.Batches))
	return m.newRoomLocked(g, rec.Last(), true), nil
}

// safeReplay is Replay that turns an engine panic on bad data into an error, so that one bad
// log cannot take the server down (or into a crash loop at every start).
func safeReplay(rec Recovered) (g *Game, err error) {
	defer func() {
		if p := recover(); p != nil {
			g, err = nil, fmt.Errorf("replay game: %v", p)
		}
	}()
	return Replay(rec)
}

// Recover restores every game whose log is open and has no Room here: at start, so that a
// restarted server serves its games at once. It returns how many it restored.
func (m *Manager) Recover(ctx context.Context) (int, error) {
	if m.cfg.Journal == nil {
		return 0, nil
	}
	codes, err := m.cfg.Journal.Open(ctx)
	if err != nil {
		return 0, fmt.Errorf("recover games: %w", err)
	}
	n := 0
	var errs []error
	for _, code := range codes {
		m.mu.Lock()
		closed, here := m.closed, m.rooms[code] != nil
		m.mu.Unlock()
		if closed {
			break
		}
		if here {
			continue
		}
		if _, err := m.restore(code); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", code, err))
		} else {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// failed runs on the room goroutine when the log refused a batch: forget the Room, so that the
// next lookup restores the game from what the log holds.
func (m *Manager) failed(r *Room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms[r.code] == r {
		delete(m.rooms, r.code)
		if t := m.lingers[r.code]; t != nil {
			t.Stop()
			delete(m.lingers, r.code)
		}
	}
}

// Lookup finds a room by join code, case-insensitively. A game with no Room here is asked of the
// cluster (a Room that forwards to its node, or a takeover) or read back from its log; that
// wait holds up only the lookups of the same code.
func (m *Manager) Lookup(code string) (*Room, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	m.mu.Lock()
	r, ok := m.rooms[code]
	if ok || m.closed || code == "" || m.claimed[code] || (m.cfg.Cluster == nil && m.cfg.Journal == nil) {
		// A claimed code's game is being created here: it is not there yet.
		m.mu.Unlock()
		return r, ok
	}
	if l := m.lookups[code]; l != nil {
		l.waiters++
		m.mu.Unlock()
		<-l.done
		return l.room, l.ok
	}
	l := &lookup{done: make(chan struct{})}
	m.lookups[code] = l
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.lookups, code)
		m.mu.Unlock()
		close(l.done)
	}()
	l.room, l.ok = m.find(code)
	return l.room, l.ok
}

// find looks for a game that has no Room here (without m.mu): in the cluster, else in the log,
// where it may be after it stopped here for a while (its log failed).
func (m *Manager) find(code string) (*Room, bool) {
	if m.cfg.Cluster != nil {
		return m.locate(code)
	}
	ctx, cancel := context.WithTimeout(m.ctx, journalTimeout)
	open, err := m.cfg.Journal.Exists(ctx, code)
	cancel()
	if err != nil || !open {
		return nil, false
	}
	r, err := m.restore(code)
	return r, err == nil
}

// Info returns the public summary of a game; safe from any goroutine.
func (m *Manager) Info(code string) (GameInfo, bool) {
	r, ok := m.Lookup(code)
	if !ok {
		return GameInfo{}, false
	}
	if r.link != nil {
		return m.cfg.Cluster.Info(r.code)
	}
	return r.Info(), true
}

// Active counts rooms whose game is not finished.
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.rooms {
		if !r.Finished() {
			n++
		}
	}
	return n
}

// finished runs on the room goroutine once its game is over: record the result in the
// background and remove the room after the linger period.
func (m *Manager) finished(r *Room, res services.GameFinished) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		r.log.Error("game result not recorded: manager closed", "game", res.GameID)
		return
	}
	m.writers.Add(1)
	go m.record(r, res)
	if !m.closed {
		linger := m.cfg.Linger
		if len(res.Entries) == 0 {
			linger = EmptyLinger // nobody came: no standings for anyone to read
		}
		m.lingers[r.code] = m.cfg.Clock.AfterFunc(linger, func() { m.remove(r) })
	}
}

func (m *Manager) remove(r *Room) {
	m.mu.Lock()
	removed := m.rooms[r.code] == r
	if removed {
		delete(m.rooms, r.code)
		delete(m.lingers, r.code)
	}
	m.mu.Unlock()
	if removed && m.cfg.Cluster != nil {
		m.cfg.Cluster.Release(r.code)
	}
	r.shutdown(CloseNormal, ReasonGameRemoved)
}

// record calls Results until it succeeds or the manager closes, backing off exponentially with
// jitter so a struggling database is not hammered. When Close starts, a writer waiting to retry
// makes one last attempt at once instead of waiting.
func (m *Manager) record(r *Room, res services.GameFinished) {
	defer m.writers.Done()
	backoff := services.Backoff{Base: m.cfg.RetryMin, Max: m.cfg.RetryMax}
	last := false
	for attempt := 1; ; attempt++ {
		err := m.cfg.Results.GameFinished(m.ctx, res)
		if err == nil {
			m.closeLog(r)
			return
		}
		if last || m.ctx.Err() != nil {
			r.log.Error("game result not recorded: manager closed", "attempts", attempt, "err", err)
			return
		}
		wait := backoff.Delay(attempt)
		r.log.Warn("record game result", "attempt", attempt, "retry_in", wait, "err", err)
		fired := make(chan struct{})
		t := m.cfg.Clock.AfterFunc(wait, func() { close(fired) })
		select {
		case <-fired:
		case <-m.closing:
			t.Stop()
			last = true
		}
	}
}

// closeLog closes the log of a game whose result is recorded: it is not restored any more.
func (m *Manager) closeLog(r *Room) {
	if m.cfg.Journal == nil {
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, journalTimeout)
	defer cancel()
	if err := m.cfg.Journal.CloseGame(ctx, r.code); err != nil {
		r.log.Warn("close game log (the game is restored once more at the next start)", "err", err)
	}
}

// Close stops every room (their clients are closed with 1001 "server shutting down") and waits
// for result writers, each of which makes at most one more attempt; when ctx ends first their
// context is cancelled.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if !m.closed {
		close(m.closing)
	}
	m.closed = true
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	clear(m.rooms)
	for _, t := range m.lingers {
		t.Stop()
	}
	clear(m.lingers)
	m.mu.Unlock()

	for _, r := range rooms {
		r.shutdown(CloseGoingAway, ReasonShuttingDown)
	}
	var err error
	for _, r := range rooms {
		select {
		case <-r.done:
			continue
		case <-ctx.Done():
			err = fmt.Errorf("close games: %w", ctx.Err())
		}
		break
	}
	if err != nil {
		// A room still running may yet finish; cancelling under mu guarantees it starts no
		// writer once we wait for them.
		m.mu.Lock()
		m.cancel()
		m.mu.Unlock()
	}
	wrote := make(chan struct{})
	go func() {
		m.writers.Wait()
		close(wrote)
	}()
	select {
	case <-wrote:
	case <-ctx.Done():
		m.cancel()
		<-wrote
		if err == nil {
			err = fmt.Errorf("close games: result writers: %w", ctx.Err())
		}
	}
	m.cancel()
	return err
}
