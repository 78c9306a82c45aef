package moderation

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trivium-game/trivium/services"
)

// Decisions a moderator can make.
const (
	Approve = "approve"
	Reject  = "reject"
)

// Limits of what moderators and reporters write.
const (
	MaxNote         = 1000
	MaxReportReason = 500
	DefaultPageSize = 50
	MaxPageSize     = 100
	// MaxReportsPerHour bounds the reports one player files in an hour (both report routes).
	MaxReportsPerHour = 20
)

// CaseView is a review case as moderators see it (GET /api/v1/moderation/cases).
type CaseView struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // upload (flagged by the image screen), report (by a player), screen (by the text screen)
	// ContentKind is what the case is about: avatar, question_image, quiz, chat, player_name,
	// player_avatar; TargetID which one; Snapshot the content as it was when the case opened.
	ContentKind string          `json:"contentKind"`
	TargetID    string          `json:"targetId"`
	Snapshot    json.RawMessage `json:"snapshot"`
	Status      string          `json:"status"`
	UploadID    string          `json:"uploadId"`
	Player      CasePlayer      `json:"player"`
	// ImageURL is a short-lived signed URL of the image under review, while the case is pending.
	ImageURL  string        `json:"imageUrl"`
	Labels    []Label       `json:"labels"`
	Reason    string        `json:"reason"`
	CreatedAt time.Time     `json:"createdAt"`
	Decision  *CaseDecision `json:"decision"`
	// Reports and History (the audit entries) come with GET /moderation/cases/{id} only.
	Reports []services.Report     `json:"reports,omitempty"`
	History []services.AuditEntry `json:"history,omitempty"`
}

// CasePlayer is the player whose image is under review.
type CasePlayer struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
}

// CaseDecision is kept with who decided and when.
type CaseDecision struct {
	Decision    string    `json:"decision"`
	Note        string    `json:"note"`
	ModeratorID string    `json:"moderatorId"`
	DecidedAt   time.Time `json:"decidedAt"`
}

// CasePage is one page of cases; Next is the cursor of the following page, empty at the end.
type CasePage struct {
	Items []CaseView `json:"items"`
	Next  string     `json:"next"`
}

// Cases lists cases of status (pending or decided), oldest first, limit per page (0 means
// DefaultPageSize).
func (w *Workflow) Cases(ctx context.Context, status, contentKind, cursor string, limit int) (CasePage, error) {
	if status == "" {
		status = CasePending
	}
	problems := map[string]string{}
	if status != CasePending && status != CaseDecided {
		problems["status"] = "must be pending or decided"
	}
	if contentKind != "" && !contentKinds[contentKind] {
		problems["kind"] = "must be avatar, question_image, quiz, chat, player_name or player_avatar"
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		problems["limit"] = fmt.Sprintf("must be 1 to %d", MaxPageSize)
	}
	afterCreated, afterID, ok := parseCursor(cursor)
	if !ok {
		problems["cursor"] = "is not a cursor this server issued"
	}
	if err := services.Invalid(problems); err != nil {
		return CasePage{}, err
	}
	rows, err := w.cfg.Cases.ListCases(ctx, services.CaseFilter{Status: status, ContentKind: contentKind,
		AfterCreated: afterCreated, AfterID: afterID, Limit: limit + 1})
	if err != nil {
		return CasePage{}, err
	}
	page := CasePage{Items: []CaseView{}}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		page.Next = makeCursor(last.CreatedAt.UnixMilli(), last.ID)
	}
	ids := make([]string, 0, len(rows))
	for _, c := range rows {
		ids = append(ids, c.PlayerID)
	}
	players, err := w.cfg.Players.PlayersByID(ctx, ids)
	if err != nil {
		return CasePage{}, err
	}
	for _, c := range rows {
		v, err := w.view(ctx, c, players[c.PlayerID])
		if err != nil {
			return CasePage{}, err
		}
		page.Items = append(page.Items, v)
	}
	return page, nil
}

func makeCursor(created int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(created, 10) + ":" + id))
}

func parseCursor(c string) (int64, string, bool) {
	if c == "" {
		return -1, "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", false
	}
	ms, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	return n, id, ok && err == nil
}

var contentKinds = map[string]bool{services.ContentAvatar: true, services.ContentQuestionImage: true,
	services.ContentQuiz: true, services.ContentChat: true, services.ContentPlayerName: true, services.ContentPlayerAvatar: true}

func (w *Workflow) view(ctx context.Context, c *services.ModerationCase, p *services.Player) (CaseView, error) {
	v := CaseView{ID: c.ID, Kind: c.Kind, ContentKind: c.ContentKind, TargetID: c.TargetID, Snapshot: c.Snapshot,
		Status: c.Status, UploadID: c.UploadID, Player: CasePlayer{ID: c.PlayerID}, Reason: c.Reason, CreatedAt: c.CreatedAt}
	if len(v.Snapshot) == 0 {
		v.Snapshot = json.RawMessage("{}")
	}
	if len(c.Labels) > 0 {
		if err := json.Unmarshal(c.Labels, &v.Labels); err != nil {
			return CaseView{}, fmt.Errorf("case %s labels: %w", c.ID, err)
		}
	}
	if v.Labels == nil {
		v.Labels = []Label{}
	}
	if p != nil {
		v.Player.Username, v.Player.DisplayName = p.Username, p.DisplayName
	}
	if c.Status == CaseDecided {
		v.Decision = &CaseDecision{Decision: c.Decision, Note: c.Note, ModeratorID: c.ModeratorID, DecidedAt: c.DecidedAt}
		// A decided case's original is deleted; its URL would only answer 404.
		return v, nil
	}
	if c.ImageKey == "" {
		return v, nil
	}
	u, err := w.cfg.Blob.PresignGet(ctx, c.ImageKey, w.cfg.ImageURLTTL)
	if err != nil {
		return CaseView{}, fmt.Errorf("sign case image: %w", err)
	}
	v.ImageURL = u
	return v, nil
}

// caseToJudge refuses the request's problems (a 422 names each field), then reads the case for
// moderatorID to decide or act on. Nobody judges their own content: a moderator's goes to
// another moderator.
func (w *Workflow) caseToJudge(ctx context.Context, caseID, moderatorID string, problems map[string]string) (*services.ModerationCase, error) {
	if err := services.Invalid(problems); err != nil {
		return nil, err
	}
	c, err := w.cfg.Cases.CaseByID(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if c.PlayerID == moderatorID {
		return nil, services.Errorf(services.EForbidden, "this case is about your own content: another moderator must decide it")
	}
	return c, nil
}

// Decide records a moderator's decision on a pending case; deciding a decided case is a
// conflict. On an upload case, approve resumes the workflow at the publish step and reject
// deletes the original and announces the rejection. On a report case, approve keeps the avatar
// and reject takes it down (the player's avatar is cleared and its published images deleted).
func (w *Workflow) Decide(ctx context.Context, caseID, moderatorID, decision, note string) (CaseView, error) {
	problems := map[string]string{}
	if decision != Approve && decision != Reject {
		problems["decision"] = "must be approve or reject"
	}
	if utf8.RuneCountInString(note) > MaxNote {
		problems["note"] = fmt.Sprintf("must be at most %d characters", MaxNote)
	}
	own, err := w.caseToJudge(ctx, caseID, moderatorID, problems)
	if err != nil {
		return CaseView{}, err
	}
	dw := services.CaseDecisionWrite{CaseID: caseID, Decision: decision, Note: note, ModeratorID: moderatorID,
		Audit: services.AuditEntry{Action: decision, Reason: note}}
	if own.Kind == CaseUpload {
		dw.JobOutcome, dw.JobReason = string(DecisionAccepted), "approved by a moderator"
		if decision == Reject {
			dw.JobOutcome, dw.JobReason = string(DecisionRejected), "rejected by a moderator"
		}
		if dw.Event, err = w.requeue(ctx, own); err != nil {
			return CaseView{}, err
		}
	}
	c, err := w.cfg.Cases.DecideCase(ctx, dw)
	if err != nil {
		return CaseView{}, err
	}
	// The decision is committed: what follows must not stop because the moderator's request ends.
	ctx = context.WithoutCancel(ctx)
	switch {
	case c.Kind == CaseUpload:
		w.resumeOrRequeue(ctx, c)
	case decision == Reject:
		if err := w.takeDown(ctx, c); err != nil {
			return CaseView{}, err
		}
	}
	p, err := w.cfg.Players.PlayerByID(ctx, c.PlayerID)
	if err != nil && services.ErrorCode(err) != services.ENotFound {
		return CaseView{}, err
	}
	return w.view(ctx, c, p)
}

// requeue is the avatar.uploaded event a decision on an upload case commits with itself: the
// consumer resumes the job from it should the resume below not finish it (a crash, a failing
// store); once the job is done a delivery changes nothing.
func (w *Workflow) requeue(ctx context.Context, c *services.ModerationCase) (*services.OutboxEvent, error) {
	j, err := w.job(ctx, c.UploadID)
	if services.ErrorCode(err) == services.ENotFound {
		return nil, nil // no job to resume
	}
	if err != nil {
		return nil, fmt.Errorf("requeue decided upload: %w", err)
	}
	data, err := json.Marshal(services.AvatarUploaded{UploadID: j.UploadID, PlayerID: j.PlayerID, Purpose: j.Purpose, Key: j.Key,
		ContentType: j.ContentType, Size: j.Size})
	if err != nil {
		return nil, err
	}
	return &services.OutboxEvent{Subject: services.SubjectAvatarUploaded, MsgID: "avatar.review:" + c.ID, Data: data}, nil
}

// resumeOrRequeue finishes a decided upload now, so the moderator's next view is current. If
// that fails, the requeue event committed with the decision hands the job to the consumer,
// whose retries and dead letters cover it.
func (w *Workflow) resumeOrRequeue(ctx context.Context, c *services.ModerationCase) {
	w.cfg.Kick()
	if err := w.resume(ctx, c.UploadID); err != nil {
		w.log.Warn("moderation: resume after decision; the consumer takes it over", "upload", c.UploadID, "err", err)
	}
}

// takeDown removes a reported avatar: the player's avatar is cleared if it is still the reported
// one, the published images are deleted unless another player's avatar uses them (CDN caches may
// keep them until they expire) and the player is told through avatar.processed. Each action is
// idempotent.
func (w *Workflow) takeDown(ctx context.Context, c *services.ModerationCase) error {
	p, err := w.cfg.Players.PlayerByID(ctx, c.PlayerID)
	if err != nil && services.ErrorCode(err) != services.ENotFound {
		return err
	}
	if p != nil && p.Avatar.Key == c.ImageKey {
		if err := w.cfg.Players.SetAvatar(ctx, c.PlayerID, services.Avatar{}); err != nil {
			return fmt.Errorf("clear reported avatar: %w", err)
		}
	}
	for _, k := range []string{c.ImageKey, c.ThumbKey} {
		if k == "" {
			continue
		}
		// Images published before keys were per player are named by content alone and may be
		// another player's accepted avatar too: those stay.
		shared, err := w.cfg.Players.AvatarKeyInUse(ctx, k, c.PlayerID)
		if err != nil {
			return fmt.Errorf("check reported image: %w", err)
		}
		if shared {
			w.log.Info("moderation: reported image is another player's avatar too; kept", "key", k, "case", c.ID)
			continue
		}
		if err := w.cfg.Blob.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete reported image: %w", err)
		}
	}
	reason := "your avatar was removed after a report"
	data, err := json.Marshal(services.AvatarProcessed{UploadID: c.UploadID, PlayerID: c.PlayerID,
		Status: DecisionRejected, Reason: reason})
	if err != nil {
		return err
	}
	// The upload's status and the announcement commit together (the outbox relays it).
	if err := w.cfg.Jobs.RecordUploadOutcome(ctx, &services.UploadOutcome{UploadID: c.UploadID, Status: DecisionRejected,
		Reason: reason, Events: []services.OutboxEvent{{Subject: services.SubjectAvatarProcessed,
			MsgID: "avatar.processed:report:" + c.ID, Data: data}}}); err != nil {
		return err
	}
	w.cfg.Kick()
	return nil
}

// Report opens a case on playerID's current avatar for reporterID (POST /players/{id}/report).
// Reporting the same avatar again adds nothing: one case per published avatar, one open report
// per reporter.
func (w *Workflow) Report(ctx context.Context, reporterID, playerID, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > MaxReportReason {
		return services.Invalid(map[string]string{"reason": fmt.Sprintf("must be 1 to %d characters", MaxReportReason)})
	}
	p, err := w.cfg.Players.PlayerByID(ctx, playerID)
	if err != nil {
		return err
	}
	c, err := w.avatarCase(ctx, p)
	if err != nil {
		return err
	}
	c.ReporterID, c.Reason = reporterID, reason
	r := &services.Report{ReporterID: reporterID, ContentKind: services.ContentPlayerAvatar, TargetID: p.ID, Reason: reason}
	err = w.cfg.Cases.AddReport(ctx, r, c, w.cfg.Now().Add(-time.Hour), MaxReportsPerHour)
	if services.ErrorCode(err) == services.EConflict {
		return nil // this route always answered a repeat with 202
	}
	return err
}

// avatarCase is the case a report of p's published avatar opens or joins.
func (w *Workflow) avatarCase(ctx context.Context, p *services.Player) (*services.ModerationCase, error) {
	if p.Avatar.Key == "" {
		return nil, services.Errorf(services.ENotFound, "this player has no avatar to report")
	}
	uploadID, err := w.cfg.Jobs.UploadOfAvatar(ctx, p.ID, p.Avatar.Key)
	if err != nil {
		return nil, fmt.Errorf("find reported upload: %w", err)
	}
	snap, _ := json.Marshal(map[string]string{"displayName": p.DisplayName, "avatarKey": p.Avatar.Key})
	return &services.ModerationCase{Kind: CaseReport, ContentKind: services.ContentPlayerAvatar, TargetID: p.ID,
		Dedupe: CaseReport + ":" + p.ID + ":" + p.Avatar.Key, UploadID: uploadID, PlayerID: p.ID,
		ImageKey: p.Avatar.Key, ThumbKey: p.Avatar.ThumbKey, Snapshot: snap}, nil
}
