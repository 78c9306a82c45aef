package moderation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/trivium-game/trivium/services"
)

// Jobs keeps the workflow's progress per upload (services/sqlstore implements it, on every SQL
// driver). A step and what it tells the uploader are written in one transaction.
type Jobs interface {
	// EnsureModerationJob records j unless its upload has a job and returns the stored one;
	// created reports a new job.
	EnsureModerationJob(ctx context.Context, j *services.ModerationJob) (stored *services.ModerationJob, created bool, err error)
	// ModerationJob loads a job; ENotFound when there is none.
	ModerationJob(ctx context.Context, uploadID string) (*services.ModerationJob, error)
	// AdvanceModerationJob records j if its job is still at step from (EConflict otherwise),
	// with o (nil: none) in the same transaction.
	AdvanceModerationJob(ctx context.Context, from string, j *services.ModerationJob, o *services.UploadOutcome) error
	// RecordUploadOutcome writes o in a transaction of its own.
	RecordUploadOutcome(ctx context.Context, o *services.UploadOutcome) error
	// UploadOfAvatar finds the upload whose job published a player's avatar key ("" if none).
	UploadOfAvatar(ctx context.Context, playerID, avatarKey string) (string, error)
}

// job is one upload's progress through the workflow, with the workflow's own types.
type job struct {
	UploadID    string
	PlayerID    string
	Purpose     string
	Key         string
	ContentType string
	Size        int64
	Step        string
	Outcome     Decision
	Reason      string
	Labels      []Label
	Info        ImageInfo
	SHA256      string // of the validated original, so a replaced object is noticed
	AvatarKey   string
	ThumbKey    string
}

// question reports a question image (anything else is an avatar).
func (j *job) question() bool { return j.Purpose == services.PurposeQuestionImage }

func fromStored(s *services.ModerationJob) (*job, error) {
	j := &job{UploadID: s.UploadID, PlayerID: s.PlayerID, Purpose: s.Purpose, Key: s.Key, ContentType: s.ContentType,
		Size: s.Size, Step: s.Step, Outcome: s.Outcome, Reason: s.Reason, SHA256: s.SHA256, AvatarKey: s.AvatarKey,
		ThumbKey: s.ThumbKey}
	if len(s.Labels) > 0 {
		if err := json.Unmarshal(s.Labels, &j.Labels); err != nil {
			return nil, fmt.Errorf("job %s labels: %w", j.UploadID, err)
		}
	}
	if len(s.Info) > 0 {
		if err := json.Unmarshal(s.Info, &j.Info); err != nil {
			return nil, fmt.Errorf("job %s info: %w", j.UploadID, err)
		}
	}
	return j, nil
}

func (j *job) stored() (*services.ModerationJob, error) {
	labels, err := json.Marshal(j.Labels)
	if err != nil {
		return nil, err
	}
	if j.Labels == nil {
		labels = []byte("[]")
	}
	info, err := json.Marshal(j.Info)
	if err != nil {
		return nil, err
	}
	return &services.ModerationJob{UploadID: j.UploadID, PlayerID: j.PlayerID, Purpose: j.Purpose, Key: j.Key,
		ContentType: j.ContentType, Size: j.Size, Step: j.Step, Outcome: j.Outcome, Reason: j.Reason, Labels: labels,
		Info: info, SHA256: j.SHA256, AvatarKey: j.AvatarKey, ThumbKey: j.ThumbKey}, nil
}

// ensureJob records a job for ev if there is none and returns the stored one, so a redelivery
// resumes where the last attempt stopped. created reports a new job.
func (w *Workflow) ensureJob(ctx context.Context, ev services.AvatarUploaded) (*job, bool, error) {
	purpose := ev.Purpose
	if purpose == "" {
		purpose = services.PurposeAvatar
	}
	s, created, err := w.cfg.Jobs.EnsureModerationJob(ctx, &services.ModerationJob{UploadID: ev.UploadID, PlayerID: ev.PlayerID,
		Purpose: purpose, Key: ev.Key, ContentType: ev.ContentType, Size: ev.Size, Step: StepReceived})
	if err != nil {
		return nil, false, err
	}
	j, err := fromStored(s)
	return j, created, err
}

func (w *Workflow) job(ctx context.Context, uploadID string) (*job, error) {
	s, err := w.cfg.Jobs.ModerationJob(ctx, uploadID)
	if err != nil {
		return nil, err
	}
	return fromStored(s)
}

// errMoved reports that another runner recorded a step first; the caller reloads and goes on.
var errMoved = errors.New("job moved on")

// advance records j's new state, with o, if the job is still at step from.
func (w *Workflow) advance(ctx context.Context, from string, j *job, o *services.UploadOutcome) error {
	s, err := j.stored()
	if err != nil {
		return err
	}
	err = w.cfg.Jobs.AdvanceModerationJob(ctx, from, s, o)
	if services.ErrorCode(err) == services.EConflict {
		return errMoved
	}
	return err
}

// Case kinds: where a case came from.
const (
	CaseUpload = "upload" // the image screen flagged a new upload
	CaseReport = "report" // a player reported content
	CaseScreen = "screen" // the text screen flagged what a player wrote
)

// Case statuses.
const (
	CasePending = "pending"
	CaseDecided = "decided"
)
