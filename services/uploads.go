package services

import "time"

// UploadStatus is where an upload (an avatar or a question image) stands, as
// GET /api/v1/avatars/uploads/{id} reports it, as avatar.processed carries it and as the
// moderation workflow records it. It is the one vocabulary for all of them.
type UploadStatus string

// Upload statuses.
const (
	UploadAwaiting   UploadStatus = "awaiting_upload" // presigned; no bytes yet
	UploadProcessing UploadStatus = "processing"      // the bytes arrived; the workflow runs
	UploadInReview   UploadStatus = "in_review"       // a moderator must decide
	UploadAccepted   UploadStatus = "accepted"
	UploadRejected   UploadStatus = "rejected"
	UploadFailed     UploadStatus = "failed" // processing failed, or the URL expired without bytes
)

// UploadStatuses lists every status, in the order an upload passes through them.
func UploadStatuses() []UploadStatus {
	return []UploadStatus{UploadAwaiting, UploadProcessing, UploadInReview, UploadAccepted, UploadRejected, UploadFailed}
}

// Valid reports a known status.
func (s UploadStatus) Valid() bool {
	for _, k := range UploadStatuses() {
		if s == k {
			return true
		}
	}
	return false
}

// Final reports an outcome that will not change by itself.
func (s UploadStatus) Final() bool {
	return s == UploadAccepted || s == UploadRejected || s == UploadFailed
}

// UploadLimits are what an upload may declare. They are defined once (DefaultUploadLimits),
// enforced when presigning, by the blob stores' signatures and by the workflow's validation,
// and served to the web client (GET /api/v1/uploads/limits, and the js/contract.js module it
// imports) so it never retypes them.
type UploadLimits struct {
	MaxBytes     int64    `json:"maxBytes"`
	ContentTypes []string `json:"contentTypes"`
}

// UploadMaxBytes is the largest upload (5 MiB), for the presign and the workflow's read alike.
const UploadMaxBytes = 5 << 20

// DefaultUploadLimits are the limits of avatar and question-image uploads.
func DefaultUploadLimits() UploadLimits {
	return UploadLimits{MaxBytes: UploadMaxBytes, ContentTypes: []string{"image/jpeg", "image/png", "image/webp"}}
}

// Accepts reports whether ct is one of the accepted types.
func (l UploadLimits) Accepts(ct string) bool {
	for _, t := range l.ContentTypes {
		if t == ct {
			return true
		}
	}
	return false
}

// Upload purposes: what an uploaded image becomes once accepted.
const (
	PurposeAvatar        = "avatar"
	PurposeQuestionImage = "question_image"
)

// Upload is the record of an upload whose bytes arrived (before that, the signed intent is
// all there is). Avatar holds the published images' keys once accepted.
type Upload struct {
	ID            string
	PlayerID      string
	Purpose       string // PurposeAvatar or PurposeQuestionImage
	Key           string // the private original
	ContentType   string
	ContentLength int64
	Status        UploadStatus
	Reason        string
	Avatar        Avatar // keys of the published images once accepted
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UpdatedAt     time.Time
}
