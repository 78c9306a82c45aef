package services

import "encoding/json"

// ModerationJob is one upload's progress through the moderation workflow, as its store keeps it
// (moderation_jobs). Labels and Info are the workflow's own JSON; the store does not read them.
type ModerationJob struct {
	UploadID    string
	PlayerID    string
	Purpose     string // PurposeAvatar or PurposeQuestionImage
	Key         string // the private original
	ContentType string
	Size        int64
	Step        string
	Outcome     UploadStatus
	Reason      string
	Labels      json.RawMessage
	Info        json.RawMessage
	SHA256      string // of the validated original
	AvatarKey   string // the large derived image
	ThumbKey    string // the small derived image
}

// UploadOutcome is what the workflow tells the uploader about an upload (and announces), written
// in the same transaction as the step or decision that decided it.
type UploadOutcome struct {
	// UploadID, when set, has its status, reason and image keys recorded; an upload whose record
	// is gone is not an error (the events still go).
	UploadID string
	Status   UploadStatus
	Reason   string
	Avatar   Avatar
	Events   []OutboxEvent // relayed to the bus after commit
}
