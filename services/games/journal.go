package games

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Journal is the durable log of games: the source of truth of every game in progress. A game's
// log starts with its creation and holds, in order, every change the engine accepted (joins,
// answers, host commands, disconnects, timer firings); replaying it through the same engine
// gives the live state again. Snapshots are compaction only.
//
// Positions are the log's own sequence numbers, increasing in a game's log; Append names the
// position it follows so that only one writer (the game's owner) can extend a log.
type Journal interface {
	// Create starts the log of a new game with its first entry; ErrLogExists when a log of that
	// code is still kept (the caller picks another code).
	Create(ctx context.Context, code string, entry []byte) (pos uint64, err error)
	// Append adds a batch of entries after position after without blocking and calls done, from
	// any goroutine, once the batch is durable (pos is its position) or failed: ErrFenced when
	// someone else appended after that position. It retries transient failures itself.
	Append(code string, after uint64, batch []byte, done func(pos uint64, err error))
	// Snapshot records, in the background, that state is the game after every batch up to pos.
	Snapshot(code string, pos uint64, state []byte)
	// Load reads a game's latest snapshot (nil before the first) and the batches after it.
	// ErrNoLog when the game has no open log.
	Load(ctx context.Context, code string) (Recovered, error)
	// Open lists the codes of games whose log is open (not yet Closed).
	Open(ctx context.Context) ([]string, error)
	// Exists reports whether a game has an open log.
	Exists(ctx context.Context, code string) (bool, error)
	// CloseGame marks a finished game's log closed: it is no longer restored, and it is kept for
	// the retention period only.
	CloseGame(ctx context.Context, code string) error
}

// Errors of a Journal.
var (
	ErrFenced    = errors.New("game log: another writer appended first")
	ErrLogExists = errors.New("game log: a log with this code exists")
	ErrNoLog     = errors.New("game log: no open log")
)

// Recovered is what Load read: a snapshot and the batches logged after it.
type Recovered struct {
	Snapshot    []byte // MarshalSnapshot output; nil: replay from the first entry
	SnapshotPos uint64
	Batches     []Batch
}

// Batch is one appended batch of entries, newline-separated JSON.
type Batch struct {
	Pos  uint64
	Data []byte
}

// Last is the position of the last batch read (where the next Append goes after).
func (r Recovered) Last() uint64 {
	if n := len(r.Batches); n > 0 {
		return r.Batches[n-1].Pos
	}
	return r.SnapshotPos
}

// Ops of log entries: the engine calls they stand for.
const (
	opCreate     = "create"
	opJoin       = "join"
	opResume     = "resume"
	opDisconnect = "disconnect"
	opLeave      = "leave"
	opStart      = "start"
	opNext       = "next"
	opReveal     = "reveal"
	opScoreboard = "scoreboard"
	opEnd        = "end"
	opAnswer     = "answer"
	opChat       = "chat"
	opDeleteChat = "delete_chat"
	opTick       = "tick"
	opRestore    = "restore"
	opOptions    = "options"
	opTeam       = "team"
)

// entry is one logged engine call. Only calls that succeeded are logged, so replaying an entry
// that fails means the log and the engine disagree: the game is marked failed.
type entry struct {
	Op     string          `json:"op"`
	At     int64           `json:"t"` // Unix nanoseconds: the time the live call used
	By     string          `json:"by,omitempty"`
	Player *PlayerInfo     `json:"player,omitempty"`
	Token  string          `json:"token,omitempty"`
	Index  int             `json:"index,omitempty"`
	Answer services.Answer `json:"answer,omitzero"`
	Text   string          `json:"text,omitempty"`
	// options: the game's new options, whole; team: Index is the team chosen.
	Options *Options        `json:"options,omitempty"`
	Game    json.RawMessage `json:"game,omitempty"` // create: the new game's snapshot
}

func (e entry) at() time.Time { return time.Unix(0, e.At).UTC() }

// appliedCall is what one entry did: the identity it acted as, the answer ack and the events.
type appliedCall struct {
	identity string
	ack      AnswerAck
	events   []Event
}

// apply runs e against g. The live room and the replay both come through here: one engine.
func (g *Game) apply(e entry) (appliedCall, error) {
	now := e.at()
	var (
		res appliedCall
		err error
	)
	res.identity = e.By
	switch e.Op {
	case opJoin:
		if e.Player == nil {
			return res, errors.New("join without a player")
		}
		res.identity = e.Player.ID
		res.events, err = g.Join(now, *e.Player)
	case opResume:
		var p PlayerInfo
		if e.Player != nil {
			p = *e.Player
		}
		res.identity, res.events, err = g.Resume(now, e.Token, p)
	case opDisconnect:
		res.events = g.Disconnect(now, e.By)
	case opLeave:
		res.events, err = g.Leave(now, e.By)
	case opStart:
		res.events, err = g.Start(now, e.By)
	case opNext:
		res.events, err = g.Next(now, e.By)
	case opReveal:
		res.events, err = g.Reveal(now, e.By)
	case opScoreboard:
		res.events, err = g.Scoreboard(now, e.By)
	case opEnd:
		res.events, err = g.End(now, e.By)
	case opAnswer:
		res.ack, res.events, err = g.Answer(now, e.By, e.Index, e.Answer)
	case opChat:
		res.events, err = g.Chat(now, e.By, e.Text)
	case opDeleteChat:
		res.events, err = g.DeleteChat(e.Text)
	case opTick:
		res.events = g.Tick(now)
	case opRestore:
		res.events = g.restored(now)
	case opOptions:
		if e.Options == nil {
			return res, errors.New("options without options")
		}
		res.events, err = g.SetOptions(now, e.By, *e.Options)
	case opTeam:
		res.events, err = g.ChooseTeam(now, e.By, e.Index)
	default:
		return res, fmt.Errorf("unknown op %q", e.Op)
	}
	return res, err
}

// createEntry is the first entry of g's log.
func createEntry(g *Game, now time.Time) ([]byte, error) {
	snap, err := g.MarshalSnapshot()
	if err != nil {
		return nil, err
	}
	return json.Marshal(entry{Op: opCreate, At: wall(now).UnixNano(), Game: snap})
}

// Replay rebuilds a game from what Load read: the snapshot (or the create entry) and every
// entry after it, applied in order through the engine.
func Replay(rec Recovered) (*Game, error) {
	var g *Game
	if rec.Snapshot != nil {
		var err error
		if g, err = RestoreGame(rec.Snapshot); err != nil {
			return nil, err
		}
	}
	for _, b := range rec.Batches {
		if err := replayBatch(&g, b); err != nil {
			return nil, err
		}
	}
	if g == nil {
		return nil, errors.New("replay game: the log has no create entry")
	}
	return g, nil
}

func replayBatch(g **Game, b Batch) error {
	data := b.Data
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		if len(line) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("replay game: batch at %d, entry %d: %w", b.Pos, n, err)
		}
		if e.Op == opCreate {
			if *g != nil {
				return fmt.Errorf("replay game: batch at %d: a second create entry", b.Pos)
			}
			ng, err := RestoreGame(e.Game)
			if err != nil {
				return fmt.Errorf("replay game: create entry: %w", err)
			}
			*g = ng
			continue
		}
		if *g == nil {
			return fmt.Errorf("replay game: batch at %d: %s before the create entry", b.Pos, e.Op)
		}
		if _, err := (*g).apply(e); err != nil {
			return fmt.Errorf("replay game: batch at %d, entry %d (%s): %w", b.Pos, n, e.Op, err)
		}
	}
	return nil
}
