package moderation

import (
	"fmt"
	"math"
	"strconv"

	"github.com/trivium-game/trivium/services"
)

// Decision is the outcome of moderation: the upload status the player sees, one vocabulary.
type Decision = services.UploadStatus

// Decisions.
const (
	DecisionAccepted = services.UploadAccepted
	DecisionInReview = services.UploadInReview
	DecisionRejected = services.UploadRejected
)

// Defaults for Policy.
const (
	DefaultRejectAt = 90.0
	DefaultReviewAt = 50.0
)

// Policy turns labels into a decision. A label at or above RejectAt rejects the image; one at or
// above ReviewAt sends it to a human. Zero fields take the defaults (so "review everything" is
// not expressible as ReviewAt 0; use a tiny positive value).
type Policy struct {
	RejectAt float64
	ReviewAt float64
}

func (p Policy) withDefaults() Policy {
	if p.RejectAt <= 0 {
		p.RejectAt = DefaultRejectAt
	}
	if p.ReviewAt <= 0 {
		p.ReviewAt = DefaultReviewAt
	}
	return p
}

// Decide judges by the most confident label (ties go to the alphabetically first name, so the
// reason is deterministic). The reason names that label and its confidence. A confidence that is
// not a number between 0 and 100 sends the image to review: a broken classifier must not wave
// images through.
func (p Policy) Decide(labels []Label) (Decision, string) {
	p = p.withDefaults()
	var top *Label
	for i := range labels {
		l := &labels[i]
		if math.IsNaN(l.Confidence) || l.Confidence < 0 || l.Confidence > 100 {
			return DecisionInReview, fmt.Sprintf("%s has an invalid confidence (%v); a moderator must look", l.Name, l.Confidence)
		}
		if top == nil || l.Confidence > top.Confidence || (l.Confidence == top.Confidence && l.Name < top.Name) {
			top = l
		}
	}
	if top == nil {
		return DecisionAccepted, "no moderation labels"
	}
	switch {
	case top.Confidence >= p.RejectAt:
		return DecisionRejected, fmt.Sprintf("%s at %s%% (rejected at %s%%)", top.Name, pct(top.Confidence), pct(p.RejectAt))
	case top.Confidence >= p.ReviewAt:
		return DecisionInReview, fmt.Sprintf("%s at %s%% (reviewed from %s%%)", top.Name, pct(top.Confidence), pct(p.ReviewAt))
	}
	return DecisionAccepted, fmt.Sprintf("%s at %s%% is below the review threshold of %s%%", top.Name, pct(top.Confidence), pct(p.ReviewAt))
}

func pct(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) }
