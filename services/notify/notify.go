// Package notify tells players about things that happened away from their game: it keeps their
// inbox, their Web Push subscriptions and one delivery record per (notification, subscription),
// and its Notifier turns durable bus events into inbox entries, in-band WebSocket frames and
// Web Push messages that survive restarts without being lost or sent twice.
package notify

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/webpush"
)

// TopicAvatar is the topic of avatar outcomes, in the payload and as the push Topic header, so a
// newer outcome replaces an older one still waiting on the device.
const TopicAvatar = "avatar"

// Notification is one inbox entry.
type Notification struct {
	ID        string          `json:"id"`
	PlayerID  string          `json:"-"`
	Topic     string          `json:"topic"`
	Title     string          `json:"title"`
	Body      string          `json:"body"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"createdAt"`
	ReadAt    *time.Time      `json:"readAt"`

	// Push options, kept with the entry so a delivery resumed after a restart sends what the
	// first attempt would have.
	TTL       time.Duration `json:"-"`
	Urgency   string        `json:"-"`
	PushTopic string        `json:"-"`
}

// Payload is what a push carries and what the in-band frame's data holds (API.md: Notifications).
type Payload struct {
	Topic string          `json:"topic"`
	Title string          `json:"title"`
	Body  string          `json:"body"`
	Data  json.RawMessage `json:"data"`
}

// Payload returns the push payload of n.
func (n *Notification) Payload() Payload {
	data := n.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	return Payload{Topic: n.Topic, Title: n.Title, Body: n.Body, Data: data}
}

// Frame returns the in-band WebSocket frame mirroring n.
func (n *Notification) Frame() ([]byte, error) {
	return json.Marshal(struct {
		Type string  `json:"type"`
		Data Payload `json:"data"`
	}{"notification", n.Payload()})
}

// Draft is what a Builder makes of an event: the notification to store for one player.
type Draft struct {
	PlayerID string
	Topic    string
	Title    string
	Body     string
	Data     any // marshalled to JSON
	// TTL bounds how long push services keep the message (and how long a retried delivery is
	// still worth sending); zero means DefaultTTL.
	TTL time.Duration
	// Urgency is a webpush.Urgency* value; empty means normal.
	Urgency string
	// PushTopic is the push Topic header (≤ 32 base64url characters); empty sends none.
	PushTopic string
}

// Builder turns one bus message into a notification. A nil Draft means the event notifies nobody;
// an error means the message can never make one (it is dead-lettered, not retried).
type Builder func(m services.Message) (*Draft, error)

// DefaultBuilders maps every notifiable subject to its builder. Adding a notifiable event is one
// line here and one builder function. cdn is the base URL the events' image keys resolve under.
func DefaultBuilders(cdn string) map[string]Builder {
	return map[string]Builder{
		services.SubjectAvatarProcessed:  AvatarProcessed(cdn),
		services.SubjectModerationAction: ModerationAction,
	}
}

// Size limits keep every payload under webpush.MaxPayload whatever an event carries.
const (
	maxTitle  = 120
	maxBody   = 600
	maxReason = 600
	maxURL    = 1024
)

// AvatarProcessed notifies the uploader of an upload's outcome (an avatar or a question image);
// the event's thumbnail key is resolved under cdn, here at the edge.
func AvatarProcessed(cdn string) Builder {
	return func(m services.Message) (*Draft, error) { return avatarProcessed(m, cdn) }
}

func avatarProcessed(m services.Message, cdn string) (*Draft, error) {
	var e services.AvatarProcessed
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return nil, fmt.Errorf("avatar.processed: %w", err)
	}
	if e.PlayerID == "" {
		return nil, fmt.Errorf("avatar.processed %s has no playerId", e.UploadID)
	}
	d := &Draft{
		PlayerID: e.PlayerID, Topic: TopicAvatar, TTL: 24 * time.Hour,
		Urgency: webpush.UrgencyNormal, PushTopic: TopicAvatar,
	}
	reason := services.Truncate(e.Reason, maxReason)
	if e.Purpose == services.PurposeQuestionImage {
		d.Topic, d.PushTopic = TopicQuestionImage, TopicQuestionImage
		uploadText(d, questionImageWords, e.Status, reason)
	} else {
		uploadText(d, avatarWords, e.Status, reason)
	}
	thumb := services.PublicURL(cdn, e.ThumbKey)
	if len(thumb) > maxURL {
		thumb = "" // a cut URL is worse than none: the client falls back to the status endpoint
	}
	d.Data = map[string]string{"uploadId": services.Truncate(e.UploadID, 128), "status": services.Truncate(string(e.Status), 40), "reason": reason, "thumbnailUrl": thumb}
	return d, nil
}

// uploadWords are what an upload's outcome says, per purpose.
type uploadWords struct {
	noun, acceptedTitle, acceptedBody, reviewBody, chooseAnother string
}

var (
	avatarWords = uploadWords{noun: "avatar", acceptedTitle: "Your new avatar is live",
		acceptedBody:  "It passed moderation and now shows on your profile.",
		reviewBody:    "A moderator will look at it soon. Keep playing: we will tell you the outcome.",
		chooseAnother: "Please choose another image."}
	questionImageWords = uploadWords{noun: "question image", acceptedTitle: "Your question image is ready",
		acceptedBody:  "It passed moderation: quizzes that use it can be hosted.",
		reviewBody:    "A moderator will look at it soon; the quiz can be hosted once it is accepted.",
		chooseAnother: "Please choose another image for the question."}
)

func uploadText(d *Draft, w uploadWords, status services.UploadStatus, reason string) {
	switch status {
	case services.UploadAccepted:
		d.Title, d.Body = w.acceptedTitle, w.acceptedBody
	case services.UploadInReview:
		d.Title, d.Body = "Your "+w.noun+" is being reviewed", w.reviewBody
	case services.UploadRejected:
		d.Title, d.Body = "Your "+w.noun+" was not accepted", w.chooseAnother
		if reason != "" {
			d.Body = "Reason: " + reason + ". " + w.chooseAnother
		}
	case services.UploadFailed:
		d.Title, d.Body = "We could not process your "+w.noun, "Please try again, or upload a different image."
	default:
		d.Title, d.Body = "Your "+w.noun+" was updated", "Its status is now "+services.Truncate(string(status), 40)+"."
	}
}

// TopicQuestionImage is the topic of a question image's outcome.
const TopicQuestionImage = "question_image"

// TopicModeration is the topic of moderator actions on a player's content or account.
const TopicModeration = "moderation"

// ModerationAction tells a player what a moderator did about their content, and why.
func ModerationAction(m services.Message) (*Draft, error) {
	var e services.ModerationAction
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return nil, fmt.Errorf("notify.moderation: %w", err)
	}
	if e.PlayerID == "" {
		return nil, fmt.Errorf("notify.moderation %s has no playerId", e.CaseID)
	}
	d := &Draft{PlayerID: e.PlayerID, Topic: TopicModeration, TTL: 7 * 24 * time.Hour, Urgency: webpush.UrgencyNormal,
		PushTopic: TopicModeration}
	switch e.Action {
	case "hide_quiz":
		d.Title, d.Body = "A moderator hid your quiz", "It no longer shows in listings and cannot be hosted or played."
	case "reset_name":
		d.Title, d.Body = "A moderator reset your display name", "You can choose a new one in your profile."
	case "reset_avatar":
		d.Title, d.Body = "A moderator removed your avatar", "Please choose another image."
	case "delete_chat":
		d.Title, d.Body = "A moderator deleted your chat message", "It was removed for everyone in the game."
	case "mute":
		d.Title, d.Body = "You are muted in chat", "You cannot chat in games until "+services.Truncate(e.Until, 40)+"."
	case "suspend":
		d.Title, d.Body = "Your account is suspended", "You cannot sign in until "+services.Truncate(e.Until, 40)+"."
	default:
		d.Title, d.Body = "A moderator acted on your content", "Action: "+services.Truncate(e.Action, 40)+"."
	}
	reason := services.Truncate(e.Reason, maxReason)
	if reason != "" {
		d.Body += " Reason: " + reason
	}
	d.Data = map[string]string{"caseId": services.Truncate(e.CaseID, 128), "action": services.Truncate(e.Action, 40),
		"kind": services.Truncate(e.ContentKind, 40), "targetId": services.Truncate(e.TargetID, 256), "reason": reason, "until": services.Truncate(e.Until, 40)}
	return d, nil
}
