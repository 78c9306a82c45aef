package services

import (
	"context"
	"errors"
	"time"
)

// Durable event subjects.
const (
	SubjectGameFinished    = "game.finished"
	SubjectScoreRecorded   = "score.recorded"
	SubjectAvatarUploaded  = "avatar.uploaded"
	SubjectAvatarProcessed = "avatar.processed"
)

// GameFinished is the payload of game.finished.
type GameFinished struct {
	GameID     string        `json:"gameId"`
	QuizID     string        `json:"quizId"`
	Mode       string        `json:"mode"`
	FinishedAt time.Time     `json:"finishedAt"`
	Entries    []ResultEntry `json:"entries"`
	// Report is the host's report, recorded with the result (not part of the event).
	Report *GameReport `json:"-"`
}

// ResultEntry is one line of final standings.
type ResultEntry struct {
	PlayerID    string `json:"playerId"`
	DisplayName string `json:"displayName"`
	Guest       bool   `json:"guest"`
	Score       int    `json:"score"`
	Rank        int    `json:"rank"`
}

// ScoreRecorded sources.
const (
	SourceGame = "game" // a multiplayer game
	SourcePlay = "play" // a single-player run
)

// ScoreRecorded is the payload of score.recorded: one player's final score in one game or play.
// (Source, SourceID, PlayerID) identifies it; consumers must treat a repeat as a no-op.
type ScoreRecorded struct {
	Source   string `json:"source"` // SourceGame or SourcePlay
	SourceID string `json:"sourceId"`
	QuizID   string `json:"quizId"`
	// QuizPublic and QuizOwnerID describe the quiz as it was when the score was made: only
	// results on public quizzes the player did not write count toward the global and weekly
	// boards (see package leaderboard), and a later edit must not change a recorded fact.
	QuizPublic  bool      `json:"quizPublic"`
	QuizOwnerID string    `json:"quizOwnerId"`
	PlayerID    string    `json:"playerId"`
	DisplayName string    `json:"displayName"`
	Guest       bool      `json:"guest"`
	Score       int       `json:"score"`
	At          time.Time `json:"at"`
}

// AvatarUploaded is the payload of avatar.uploaded.
type AvatarUploaded struct {
	UploadID    string `json:"uploadId"`
	PlayerID    string `json:"playerId"`
	Purpose     string `json:"purpose,omitempty"` // PurposeAvatar (also when empty) or PurposeQuestionImage
	Key         string `json:"key"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

// AvatarProcessed is the payload of avatar.processed: an upload's outcome (an avatar's or a
// question image's). It carries blob keys, never URLs: whoever shows the images resolves them
// under the CDN base (PublicURL), so a change of CDN does not strand events already sent.
type AvatarProcessed struct {
	UploadID string       `json:"uploadId"`
	PlayerID string       `json:"playerId"`
	Purpose  string       `json:"purpose,omitempty"` // PurposeAvatar (also when empty) or PurposeQuestionImage
	Status   UploadStatus `json:"status"`
	Reason   string       `json:"reason"`
	ImageKey string       `json:"imageKey,omitempty"` // the large image, once accepted
	ThumbKey string       `json:"thumbKey,omitempty"` // the small image, once accepted
}

// OutboxEvent is an event written in the same transaction as the change it announces and
// relayed to the bus after commit, so no event escapes a rolled-back write and none is lost.
type OutboxEvent struct {
	ID      int64
	Subject string
	MsgID   string // bus dedupe id
	Data    []byte
}

// Outbox is the store side of the relay.
type Outbox interface {
	PendingEvents(ctx context.Context, limit int) ([]OutboxEvent, error)
	DeleteEvents(ctx context.Context, ids []int64) error
}

// Message is one delivery of a durable event.
type Message struct {
	Subject   string
	ID        string // the publisher's dedupe id
	Data      []byte
	Delivered int // 1 on first delivery
}

// Handler processes one message. Returning nil acks it; an error retries it with backoff until
// the consumer's attempts run out, then it is dead-lettered. A Permanent error dead-letters at once.
type Handler func(ctx context.Context, m Message) error

// ConsumerConfig describes a durable consumer. Zero values take the bus's defaults.
type ConsumerConfig struct {
	Name       string   // durable name; one per role
	Subjects   []string // filter
	MaxDeliver int      // attempts before dead-lettering
	Backoff    []time.Duration
	AckWait    time.Duration
	Workers    int // handlers run concurrently
}

// DeadLetter is a message that exhausted its attempts.
type DeadLetter struct {
	Seq      uint64    `json:"seq"`
	Consumer string    `json:"consumer"`
	Subject  string    `json:"subject"`
	MsgID    string    `json:"msgId"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	At       time.Time `json:"at"`
	Data     []byte    `json:"data"`
}

// Bus carries durable events: at-least-once, deduplicated by message id on publish, redelivered
// with backoff, dead-lettered after the last attempt.
type Bus interface {
	Publish(ctx context.Context, subject, msgID string, data []byte) error
	// Consume runs h for each message until ctx ends.
	Consume(ctx context.Context, cfg ConsumerConfig, h Handler) error
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	// Redrive republishes a dead letter to its subject and removes it from the dead-letter stream.
	Redrive(ctx context.Context, seq uint64) error
	Ready(ctx context.Context) error
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks an error that retrying cannot fix.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
