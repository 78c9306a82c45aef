package games

import "github.com/trivium-game/trivium/services"

// Event types the engine broadcasts (the WebSocket frame "type").
const (
	EventPlayerJoined = "player_joined"
	EventPlayerLeft   = "player_left"
	EventQuestion     = "question"
	EventProgress     = "progress"
	EventReveal       = "reveal"
	EventBuzz         = "buzz"
	EventScoreboard   = "scoreboard"
	EventFinished     = "finished"
	EventChat         = "chat"
	EventChatDeleted  = "chat_deleted"
	EventPaused       = "paused"
	EventResumed      = "resumed"
	EventOptions      = "options"
	EventTeams        = "teams"
)

// Reasons in player_left.
const (
	ReasonDisconnected = "disconnected"
	ReasonLeft         = "left"
)

// Event is one sequenced thing that happened in a game, sent to every subscriber.
//
// Data is the part every recipient shares and must marshal to a JSON object. You, when not nil,
// maps a player ID to that player's personal "you" value, added as a field of Data for that
// player only; recipients without an entry (the host, spectators) get Data alone. Keeping the
// two apart lets the room encode the shared part once however many players there are.
type Event struct {
	Type string
	Seq  int64
	Data any
	You  map[string]any
	// HostOnly events go to the host alone (answer progress, for the projector): in a large
	// room they would otherwise be most of the frames sent while a question is open.
	HostOnly bool
}

// PlayerRef identifies a player in events.
type PlayerRef struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	ThumbnailURL string `json:"thumbnailUrl"`
}

// PlayerName identifies a chat sender or a buzz winner.
type PlayerName struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// PlayerJoinedData is the data of player_joined (also sent when a player reconnects).
type PlayerJoinedData struct {
	Player PlayerRef `json:"player"`
}

// PlayerLeftData is the data of player_left.
type PlayerLeftData struct {
	Player PlayerRef `json:"player"`
	Reason string    `json:"reason"`
}

// ProgressData is the data of progress: how many answered, never what.
type ProgressData struct {
	Index    int `json:"index"`
	Answered int `json:"answered"`
	Total    int `json:"total"`
}

// OpenCounts are the reveal counts of an open question.
type OpenCounts struct {
	Correct int `json:"correct"`
	Wrong   int `json:"wrong"`
	None    int `json:"none"`
}

// RevealData is the shared data of reveal; Counts is []int for the kinds answered by choice
// (choice, truefalse, multi, poll), OpenCounts for the others (open, number, order). Stats is
// ChoiceStats, NumberStats or OpenCounts by kind; Accuracy is correct ÷ answered (null for a
// poll or when nobody answered). CorrectAnswer is in displayed indexes (null for a poll).
type RevealData struct {
	Index         int             `json:"index"`
	Kind          string          `json:"kind"`
	CorrectAnswer services.Answer `json:"correctAnswer"`
	Counts        any             `json:"counts"`
	Stats         any             `json:"stats"`
	Accuracy      *float64        `json:"accuracy"`
}

// ChoiceStats are the reveal statistics of choice, truefalse, multi and poll questions: how many
// picked each displayed choice.
type ChoiceStats struct {
	Counts []int `json:"counts"`
}

// NumberStats are the reveal statistics of a number question.
type NumberStats struct {
	Histogram []Bin `json:"histogram"`
	OpenCounts
}

// Bin is one bar of a number question's histogram: answers in [From, To) (the last bin
// includes To).
type Bin struct {
	From  float64 `json:"from"`
	To    float64 `json:"to"`
	Count int     `json:"count"`
}

// RevealState is a revealed question as the state frame carries it: the reveal event's data, the
// question, and the recipient's own result (players only).
type RevealState struct {
	RevealData
	Question services.PublicQuestion `json:"question"`
	You      *RevealYou              `json:"you,omitempty"`
}

// RevealYou is the personal part of reveal.
type RevealYou struct {
	Correct  bool `json:"correct"`
	Points   int  `json:"points"` // streak bonus included
	Answered bool `json:"answered"`
	// Streak is the player's run of consecutive correct answers after this question;
	// StreakBonus the part of Points it earned.
	Streak      int `json:"streak"`
	StreakBonus int `json:"streakBonus"`
}

// BuzzData is the data of buzz (live mode).
type BuzzData struct {
	Index         int             `json:"index"`
	Winner        PlayerName      `json:"winner"`
	CorrectAnswer services.Answer `json:"correctAnswer"`
}

// Entry is one line of a scoreboard or of the final standings.
type Entry struct {
	PlayerID     string `json:"playerId"`
	DisplayName  string `json:"displayName"`
	ThumbnailURL string `json:"thumbnailUrl"`
	Score        int    `json:"score"`
	Rank         int    `json:"rank"`
	Delta        int    `json:"delta"`
	Team         int    `json:"team,omitempty"` // the player's team ID in a team game
}

// StandingsData is the data of scoreboard and finished; Teams (ranked) only in a team game.
type StandingsData struct {
	Entries []Entry    `json:"entries"`
	Teams   []TeamView `json:"teams,omitempty"`
}

// TeamView is one team as state, teams, scoreboard and finished show it. Score is the mean of
// its members' scores, rounded; Rank is set in the scoreboard and finished frames.
type TeamView struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
	Score   int      `json:"score"`
	Rank    int      `json:"rank,omitempty"`
}

// TeamsData is the data of teams.
type TeamsData struct {
	Teams []TeamView `json:"teams"`
}

// ChatData is the data of chat. ID is the server's id of the message in its game (the seq of
// its chat event), what a report names; messages logged before ids existed have none.
type ChatData struct {
	ID   string     `json:"id,omitempty"`
	From PlayerName `json:"from"`
	Text string     `json:"text"`
	At   string     `json:"at"` // RFC 3339, UTC, milliseconds
}

// ChatDeletedData is the data of chat_deleted: a moderator removed message ID.
type ChatDeletedData struct {
	ID string `json:"id"`
}

// PausedData is the data of paused.
type PausedData struct{}

// ResumedData is the data of resumed; Deadline (Unix ms) is set when a question is open.
type ResumedData struct {
	Deadline int64 `json:"deadline,omitempty"`
}

// AnswerAck is the data of the ack to an accepted answer. Correct is set only in live mode,
// where a wrong answer locks the player out anyway; elsewhere correctness waits for reveal.
type AnswerAck struct {
	Index    int   `json:"index"`
	Accepted bool  `json:"accepted"`
	Correct  *bool `json:"correct,omitempty"`
}

// PlayerView is a player as listed in state and game info.
type PlayerView struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	ThumbnailURL string `json:"thumbnailUrl"`
	Score        int    `json:"score"`
	Connected    bool   `json:"connected"`
}

// State is the data of the state frame: a full snapshot for one recipient.
type State struct {
	GameID  string       `json:"gameId"`
	QuizID  string       `json:"quizId"` // the final standings link to the quiz's leaderboard
	Code    string       `json:"code"`
	Mode    string       `json:"mode"`
	Phase   string       `json:"phase"`
	Players []PlayerView `json:"players"`
	// Question is the open question (the first of the group in competitive mode); Questions
	// lists the whole open group in competitive mode.
	Question  *services.PublicQuestion  `json:"question,omitempty"`
	Questions []services.PublicQuestion `json:"questions,omitempty"`
	// Paused is true while the host is away; RemainingMs is the frozen answering time left.
	Paused      bool  `json:"paused,omitempty"`
	RemainingMs int64 `json:"remainingMs,omitempty"`
	// Entries are the final standings once finished, the current ones on the scoreboard.
	Entries []Entry `json:"entries,omitempty"`
	// Revealed are the questions just revealed, with their answer, counts and the recipient's
	// own result, during the reveal phase.
	Reveals []RevealState `json:"reveals,omitempty"`
	// Round is the questions of the round just closed, in the reveal and scoreboard phases.
	Round []services.PublicQuestion `json:"round,omitempty"`
	// Chat is the last ChatHistory messages, oldest first.
	Chat        []ChatData `json:"chat,omitempty"`
	Options     Options    `json:"options"`
	Teams       []TeamView `json:"teams,omitempty"`
	You         StateYou   `json:"you"`
	ResumeToken string     `json:"resumeToken,omitempty"`
	Seq         int64      `json:"seq"`
}

// StateYou is the recipient's own part of state. Answered is true when the recipient answered
// every open question; AnsweredIndexes lists which ones it answered.
type StateYou struct {
	PlayerID        string `json:"playerId"`
	Host            bool   `json:"host"`
	Score           int    `json:"score"`
	Answered        bool   `json:"answered"`
	AnsweredIndexes []int  `json:"answeredIndexes,omitempty"`
	Team            int    `json:"team,omitempty"`
	Streak          int    `json:"streak"`
}

// GameInfo is the public summary served by GET /api/v1/games/{code}.
type GameInfo struct {
	GameID  string       `json:"gameId"`
	Code    string       `json:"code"`
	Title   string       `json:"title"`
	Mode    string       `json:"mode"`
	Phase   string       `json:"phase"`
	Players []PlayerView `json:"players"`
}
