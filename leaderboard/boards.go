package leaderboard

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/trivium-game/trivium/services"
)

// Board names.
const (
	BoardGlobal = "global"
	BoardWeekly = "weekly"

	weeklyPrefix = "weekly:"
	quizPrefix   = "quiz:"
	maxQuizID    = 128
)

// WeekBoard returns the name of the weekly board holding scores made at t: the ISO week in UTC,
// which starts on Monday 00:00 UTC.
func WeekBoard(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%s%04d-W%02d", weeklyPrefix, y, w)
}

// QuizBoard returns the name of the best-score board of a quiz.
func QuizBoard(quizID string) string { return quizPrefix + quizID }

// QuizOfBoard returns the quiz id of a quiz board name, and false for any other board.
func QuizOfBoard(board string) (string, bool) {
	id, ok := strings.CutPrefix(board, quizPrefix)
	return id, ok
}

// ResolveBoard validates a board name from a client and returns the stored board it names:
// "weekly" becomes the current week's board by now.
func ResolveBoard(name string, now time.Time) (string, error) {
	switch {
	case name == BoardGlobal:
		return name, nil
	case name == BoardWeekly:
		return WeekBoard(now), nil
	case strings.HasPrefix(name, weeklyPrefix):
		if !validWeek(strings.TrimPrefix(name, weeklyPrefix)) {
			return "", services.Errorf(services.EInvalid, "board %q: weekly boards are named weekly:YYYY-Www", name)
		}
		return name, nil
	case strings.HasPrefix(name, quizPrefix):
		if !validQuizID(strings.TrimPrefix(name, quizPrefix)) {
			return "", services.Errorf(services.EInvalid, "board %q: bad quiz id", name)
		}
		return name, nil
	}
	return "", services.Errorf(services.EInvalid, "board %q: want global, weekly, weekly:YYYY-Www or quiz:{id}", name)
}

// validWeek accepts "YYYY-Www" only for weeks that exist (W53 only in long ISO years).
func validWeek(s string) bool {
	if len(s) != 8 || s[4:6] != "-W" {
		return false
	}
	y, err1 := strconv.Atoi(s[:4])
	w, err2 := strconv.Atoi(s[6:])
	if err1 != nil || err2 != nil || y < 1970 || w < 1 || w > 53 {
		return false
	}
	// January 4th is always in ISO week 1; step to that week's Monday, then w-1 weeks on.
	jan4 := time.Date(y, time.January, 4, 0, 0, 0, 0, time.UTC)
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	gy, gw := monday.AddDate(0, 0, 7*(w-1)).ISOWeek()
	return gy == y && gw == w
}

func validQuizID(id string) bool {
	if id == "" || len(id) > maxQuizID {
		return false
	}
	for _, r := range id {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// cursor is the last position a page showed. Paging resumes strictly after it, so writes between
// pages can neither skip nor repeat an entry (standings only ever move up), unlike an offset.
type cursor struct {
	Board    string `json:"b"`
	Score    int64  `json:"s"`
	AtMs     int64  `json:"t"`
	PlayerID string `json:"p"`
}

func encodeCursor(board string, p Position) string {
	b, _ := json.Marshal(cursor{Board: board, Score: p.Score, AtMs: p.ReachedAt.UnixMilli(), PlayerID: p.PlayerID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Board == "" || c.PlayerID == "" {
		return cursor{}, services.Errorf(services.EInvalid, "bad cursor")
	}
	return c, nil
}

func (c cursor) position() Position {
	return Position{Score: c.Score, ReachedAt: time.UnixMilli(c.AtMs).UTC(), PlayerID: c.PlayerID}
}
