package services

import (
	"context"
	"encoding/json"
	"time"
)

// GameReport is a finished game's report for its host: per question the distribution and the
// accuracy, per player per question the answer, correctness, time, points, streak and team.
type GameReport struct {
	Game      ReportGame       `json:"game"`
	Players   []ReportPlayer   `json:"players"`
	Teams     []ReportTeam     `json:"teams,omitempty"`
	Questions []ReportQuestion `json:"questions"`
	Answers   []ReportAnswer   `json:"answers"`
}

// ReportGame is the game a report is about.
type ReportGame struct {
	GameID     string    `json:"gameId"`
	Code       string    `json:"code"`
	QuizID     string    `json:"quizId"`
	Title      string    `json:"title"`
	Mode       string    `json:"mode"`
	HostID     string    `json:"hostId"`
	FinishedAt time.Time `json:"finishedAt"`
}

// ReportPlayer is one line of the final standings.
type ReportPlayer struct {
	PlayerID    string `json:"playerId"`
	DisplayName string `json:"displayName"`
	Team        int    `json:"team,omitempty"`
	Score       int    `json:"score"`
	Rank        int    `json:"rank"`
}

// ReportTeam is one team of the final standings.
type ReportTeam struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Score   int    `json:"score"`
	Rank    int    `json:"rank"`
	Members int    `json:"members"`
}

// ReportQuestion is one question asked, in the order asked; Index is its index in the quiz
// (the one the frames used). Choices are as displayed. Stats is what reveal carried.
type ReportQuestion struct {
	Index    int             `json:"index"`
	Kind     string          `json:"kind"`
	Text     string          `json:"text"`
	Choices  []string        `json:"choices,omitempty"`
	Accuracy *float64        `json:"accuracy"`
	Stats    json.RawMessage `json:"stats"`
}

// ReportAnswer is one player's outcome on one question (Answered false: no answer in time).
// Answer is the answer as text: the choice(s) picked, the number or the order given.
type ReportAnswer struct {
	PlayerID      string `json:"playerId"`
	DisplayName   string `json:"displayName"`
	Team          int    `json:"team,omitempty"`
	QuestionIndex int    `json:"questionIndex"`
	Answered      bool   `json:"answered"`
	Answer        string `json:"answer"`
	Correct       bool   `json:"correct"`
	TimeMs        int64  `json:"timeMs"`
	Points        int    `json:"points"`
	StreakBonus   int    `json:"streakBonus"`
	Streak        int    `json:"streak"`
}

// HostedGame is one game in its host's history.
type HostedGame struct {
	GameID     string     `json:"gameId"`
	Code       string     `json:"code"`
	QuizID     string     `json:"quizId"`
	Title      string     `json:"title"`
	Mode       string     `json:"mode"`
	Phase      string     `json:"phase"`
	Players    int        `json:"players"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt"`
}

// ReportStore reads recorded game reports and the host's game history.
type ReportStore interface {
	// GameReport returns the report of a finished game by game ID or join code (the newest game
	// of that code); ENotFound when none is recorded.
	GameReport(ctx context.Context, idOrCode string) (*GameReport, error)
	// HostedGames pages the games hostID hosted, newest first.
	HostedGames(ctx context.Context, hostID, cursor string, limit int) ([]HostedGame, string, error)
}
