package services

import (
	"encoding/json"
	"time"
)

// What a moderation case is about (ModerationCase.ContentKind).
const (
	ContentAvatar        = "avatar"         // an uploaded avatar the image screen sent to review
	ContentQuestionImage = "question_image" // an uploaded question image the screen sent to review
	ContentQuiz          = "quiz"           // a quiz's text (target: the quiz id)
	ContentChat          = "chat"           // a chat message (target: "GAMECODE/messageId")
	ContentPlayerName    = "player_name"    // a player's display name (target: the player id)
	ContentPlayerAvatar  = "player_avatar"  // a player's published avatar (target: the player id)
)

// ModerationCase is one item of the moderators' queue. Kind is its origin ("upload": a screen
// flagged it; "report": a player did), ContentKind what it is about, TargetID which one,
// PlayerID whose content it is and Snapshot the content as it was when the case opened.
type ModerationCase struct {
	ID          string
	Kind        string
	ContentKind string
	TargetID    string
	Dedupe      string // one case per dedupe key: a repeated report or redelivered upload joins it
	UploadID    string
	PlayerID    string
	ReporterID  string
	ImageKey    string
	ThumbKey    string
	Labels      json.RawMessage
	Snapshot    json.RawMessage
	Reason      string
	Status      string
	Decision    string
	Note        string
	ModeratorID string
	DecidedAt   time.Time
	CreatedAt   time.Time
}

// CaseFilter selects a page of cases, oldest first after (AfterCreated, AfterID).
type CaseFilter struct {
	Status       string
	ContentKind  string // empty: every kind
	AfterCreated int64  // Unix ms; -1 from the start
	AfterID      string
	Limit        int
}

// Report is one player's report of content; a reporter has one open report per target.
type Report struct {
	ID          string    `json:"id"`
	CaseID      string    `json:"caseId"`
	ReporterID  string    `json:"reporterId"`
	ContentKind string    `json:"kind"`
	TargetID    string    `json:"targetId"`
	Reason      string    `json:"reason"`
	CreatedAt   time.Time `json:"createdAt"`
}

// AuditEntry records one moderator action.
type AuditEntry struct {
	ID          int64     `json:"id"`
	CaseID      string    `json:"caseId"`
	ModeratorID string    `json:"moderatorId"`
	Action      string    `json:"action"`
	PlayerID    string    `json:"playerId"`
	ContentKind string    `json:"kind"`
	TargetID    string    `json:"targetId"`
	Reason      string    `json:"reason"`
	Detail      string    `json:"detail"`
	CreatedAt   time.Time `json:"createdAt"`
}

// CaseDecisionWrite is what deciding a case writes, all in one transaction: the case's decision
// (only if it is still pending), the audit entry, the reports it closes and the outbox event
// that notifies the affected player (nil: none). For an upload case the upload's moderation job
// moves to decided with JobOutcome and JobReason.
type CaseDecisionWrite struct {
	CaseID      string
	Decision    string
	Note        string
	ModeratorID string
	Audit       AuditEntry
	Event       *OutboxEvent
	JobOutcome  string
	JobReason   string
}

// SubjectModerationAction announces a moderator action to the affected player (through the inbox).
const SubjectModerationAction = "notify.moderation"

// ModerationAction is the payload of notify.moderation.
type ModerationAction struct {
	CaseID      string `json:"caseId"`
	PlayerID    string `json:"playerId"`
	Action      string `json:"action"`
	ContentKind string `json:"kind"`
	TargetID    string `json:"targetId"`
	Reason      string `json:"reason"`
	Until       string `json:"until,omitempty"` // RFC 3339, for a suspension
}
