package moderation

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trivium-game/trivium/moderation/textscreen"
	"github.com/trivium-game/trivium/services"
)

// Moderator actions on a case (POST /api/v1/moderation/cases/{id}/actions).
const (
	ActDismiss     = "dismiss"      // nothing wrong: the case closes
	ActHideQuiz    = "hide_quiz"    // the quiz leaves listings and cannot be hosted or played
	ActResetName   = "reset_name"   // the display name becomes "Player NNNN"
	ActResetAvatar = "reset_avatar" // the published avatar is taken down
	ActSuspend     = "suspend"      // no sign-in, no token, sockets closed, for a time
	ActDeleteChat  = "delete_chat"  // the message leaves its game's history and every connected client
	ActMute        = "mute"         // the player's chat is refused (error code muted), for a time
)

// Limits of actions and reports.
const (
	MaxSuspension  = 365 * 24 * time.Hour // and the longest mute
	MaxTargetID    = 200
	DefaultAuditPg = 50
)

// actionKinds says which content kinds each action applies to (nil: every kind).
var actionKinds = map[string]map[string]bool{
	ActDismiss:     nil,
	ActHideQuiz:    {services.ContentQuiz: true},
	ActResetName:   {services.ContentPlayerName: true},
	ActResetAvatar: {services.ContentPlayerAvatar: true},
	ActSuspend:     nil,
	ActDeleteChat:  {services.ContentChat: true},
	ActMute:        nil,
}

// actionNames lists the actions for the 422.
const actionNames = "dismiss, hide_quiz, reset_name, reset_avatar, suspend, delete_chat or mute"

// ChatMessage is a chat message a game still keeps, as a report snapshots it.
type ChatMessage struct {
	GameID     string `json:"gameId"`
	Code       string `json:"code"`
	ID         string `json:"messageId"`
	AuthorID   string `json:"authorId"`
	AuthorName string `json:"authorName"`
	Text       string `json:"text"`
	At         string `json:"at"`
}

// Chat is what moderation needs of the live games (the gateway adapts services/games): a kept
// message for a report, and its deletion. Both are ENotFound when the game or the message is
// gone; ChatMessage also when the reporter did not take part in the game.
type Chat interface {
	ChatMessage(ctx context.Context, code, messageID, reporterID string) (ChatMessage, error)
	DeleteChat(ctx context.Context, code, gameID, messageID string) error
}

// ReportContent files reporter's report of content: a quiz, a player's name or avatar, or a
// chat message (targetId CODE/messageId, found through chat). It opens or joins the case about
// that content as it is now (a later edit opens a new case), with a snapshot. One open report
// per reporter and target (EConflict), MaxReportsPerHour an hour.
func (w *Workflow) ReportContent(ctx context.Context, reporter *services.Player, kind, targetID, reason string, chat Chat) (services.Report, error) {
	reason = strings.TrimSpace(reason)
	problems := map[string]string{}
	switch kind {
	case services.ContentQuiz, services.ContentPlayerName, services.ContentPlayerAvatar:
	case services.ContentChat:
		if chat == nil {
			problems["kind"] = "chat reports are not available on this server"
		} else if code, id, ok := strings.Cut(targetID, "/"); !ok || code == "" || id == "" {
			problems["targetId"] = "is GAMECODE/messageId for a chat message"
		}
	default:
		problems["kind"] = "must be quiz, chat, player_name or player_avatar"
	}
	if targetID == "" || len(targetID) > MaxTargetID {
		problems["targetId"] = fmt.Sprintf("must be 1 to %d characters", MaxTargetID)
	}
	if reason == "" || utf8.RuneCountInString(reason) > MaxReportReason {
		problems["reason"] = fmt.Sprintf("must be 1 to %d characters", MaxReportReason)
	}
	if err := services.Invalid(problems); err != nil {
		return services.Report{}, err
	}
	var c *services.ModerationCase
	switch kind {
	case services.ContentChat:
		code, id, _ := strings.Cut(targetID, "/")
		m, err := chat.ChatMessage(ctx, strings.ToUpper(code), id, reporter.ID)
		if err != nil {
			return services.Report{}, err
		}
		snap, err := json.Marshal(m)
		if err != nil {
			return services.Report{}, err
		}
		c = &services.ModerationCase{ContentKind: kind, TargetID: m.Code + "/" + m.ID, PlayerID: m.AuthorID, Snapshot: snap,
			Dedupe: CaseReport + ":chat:" + m.GameID + "/" + m.ID}
	case services.ContentQuiz:
		q, err := w.cfg.Cases.QuizByID(ctx, targetID)
		if err != nil {
			return services.Report{}, err
		}
		if (!q.Public || q.HiddenReason != "") && q.OwnerID != reporter.ID {
			return services.Report{}, services.Errorf(services.ENotFound, "quiz not found")
		}
		snap, err := json.Marshal(quizSnapshot(q))
		if err != nil {
			return services.Report{}, err
		}
		c = &services.ModerationCase{ContentKind: kind, TargetID: q.ID, PlayerID: q.OwnerID, Snapshot: snap,
			Dedupe: CaseReport + ":quiz:" + q.ID + ":" + strconv.FormatInt(q.UpdatedAt.UnixMilli(), 10)}
	case services.ContentPlayerName:
		p, err := w.cfg.Players.PlayerByID(ctx, targetID)
		if err != nil {
			return services.Report{}, err
		}
		snap, _ := json.Marshal(map[string]string{"displayName": p.DisplayName})
		c = &services.ModerationCase{ContentKind: kind, TargetID: p.ID, PlayerID: p.ID, Snapshot: snap,
			Dedupe: CaseReport + ":name:" + p.ID + ":" + p.DisplayName}
	case services.ContentPlayerAvatar:
		p, err := w.cfg.Players.PlayerByID(ctx, targetID)
		if err != nil {
			return services.Report{}, err
		}
		if c, err = w.avatarCase(ctx, p); err != nil {
			return services.Report{}, err
		}
	}
	if c.PlayerID == reporter.ID {
		return services.Report{}, services.Invalid(map[string]string{"targetId": "is your own: you cannot report yourself"})
	}
	c.Kind, c.ReporterID, c.Reason = CaseReport, reporter.ID, reason
	r := &services.Report{ReporterID: reporter.ID, ContentKind: kind, TargetID: c.TargetID, Reason: reason}
	if err := w.cfg.Cases.AddReport(ctx, r, c, w.cfg.Now().Add(-time.Hour), MaxReportsPerHour); err != nil {
		return services.Report{}, err
	}
	return *r, nil
}

// quizSnapshot is what moderators see of a reported or flagged quiz.
func quizSnapshot(q *services.Quiz) map[string]any {
	type question struct {
		Text    string   `json:"text"`
		Choices []string `json:"choices"`
	}
	qs := make([]question, 0, len(q.Questions))
	for _, x := range q.Questions {
		qs = append(qs, question{Text: x.Text, Choices: x.Choices})
	}
	return map[string]any{"title": q.Title, "description": q.Description, "public": q.Public, "questions": qs}
}

// QuizFields are the texts of a quiz the text screen reads, named as the 422 names them.
func QuizFields(q *services.Quiz) []textscreen.Field {
	f := []textscreen.Field{{Name: "title", Text: q.Title}, {Name: "description", Text: q.Description}}
	for i, x := range q.Questions {
		f = append(f, textscreen.Field{Name: fmt.Sprintf("questions[%d].text", i), Text: x.Text})
		for j, c := range x.Choices {
			f = append(f, textscreen.Field{Name: fmt.Sprintf("questions[%d].choices[%d]", i, j), Text: c})
		}
	}
	return f
}

// TextGuard applies the text screen to what players write and opens a case for what it flags.
type TextGuard struct {
	Screen *textscreen.Screen
	Cases  interface {
		OpenCase(ctx context.Context, c *services.ModerationCase) (bool, error)
	}
	// Players, if set, is read per chat message for a mute (as every API request reads the
	// player for a suspension): a mute bites at once on every gateway.
	Players interface {
		PlayerByID(ctx context.Context, id string) (*services.Player, error)
	}
	Now func() time.Time // time.Now when nil
}

// ScreenQuiz refuses a quiz with a refused text (EInvalid naming each field) and returns the
// flagged fields, for FlagQuiz once the quiz is stored.
func (g *TextGuard) ScreenQuiz(q *services.Quiz) ([]textscreen.FieldHit, error) {
	return g.screen(QuizFields(q))
}

// ScreenName does the same for a display name or nickname in field.
func (g *TextGuard) ScreenName(field, name string) ([]textscreen.FieldHit, error) {
	return g.screen([]textscreen.Field{{Name: field, Text: name}})
}

// ScreenChat refuses chat from a muted player (EMuted) and a message a refuse rule matches;
// flag rules let chat through (a case per message would be a write on the game path; players
// report what they see).
func (g *TextGuard) ScreenChat(playerID, text string) error {
	if g.Players != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		p, err := g.Players.PlayerByID(ctx, playerID)
		cancel()
		now := time.Now()
		if g.Now != nil {
			now = g.Now()
		}
		if err == nil && p.Muted(now) {
			return services.Errorf(services.EMuted, "a moderator muted you in chat until %s", p.MutedUntil.UTC().Format(time.RFC3339))
		}
	}
	h, ok := g.Screen.Check(text)
	if ok && h.Action == textscreen.Refuse {
		return services.Invalid(map[string]string{"text": "contains language that is not allowed here"})
	}
	return nil
}

func (g *TextGuard) screen(fields []textscreen.Field) ([]textscreen.FieldHit, error) {
	v := g.Screen.Fields(fields)
	if err := services.Invalid(v.Refused); err != nil {
		return nil, err
	}
	return v.Flagged, nil
}

// FlagQuiz opens a case on a stored quiz the text screen flagged (one per quiz version).
func (w *TextGuard) FlagQuiz(ctx context.Context, q *services.Quiz, hits []textscreen.FieldHit) error {
	snap, err := json.Marshal(map[string]any{"quiz": quizSnapshot(q), "hits": hits})
	if err != nil {
		return err
	}
	_, err = w.Cases.OpenCase(ctx, &services.ModerationCase{Kind: CaseScreen, ContentKind: services.ContentQuiz,
		TargetID: q.ID, PlayerID: q.OwnerID, Snapshot: snap, Reason: screenReason(hits),
		Dedupe: CaseScreen + ":quiz:" + q.ID + ":" + strconv.FormatInt(q.UpdatedAt.UnixMilli(), 10)})
	return err
}

// FlagName opens a case on a display name the text screen flagged.
func (w *TextGuard) FlagName(ctx context.Context, playerID, name string, hits []textscreen.FieldHit) error {
	snap, err := json.Marshal(map[string]any{"displayName": name, "hits": hits})
	if err != nil {
		return err
	}
	_, err = w.Cases.OpenCase(ctx, &services.ModerationCase{Kind: CaseScreen, ContentKind: services.ContentPlayerName,
		TargetID: playerID, PlayerID: playerID, Snapshot: snap, Reason: screenReason(hits),
		Dedupe: CaseScreen + ":name:" + playerID + ":" + name})
	return err
}

func screenReason(hits []textscreen.FieldHit) string {
	parts := make([]string, 0, len(hits))
	for _, h := range hits {
		parts = append(parts, fmt.Sprintf("%s matched %q (%s)", h.Field, h.Rule, h.Source))
	}
	s := "text screen: " + strings.Join(parts, "; ")
	if len(s) > MaxNote {
		s = s[:MaxNote]
	}
	return s
}

// Case returns one case with its reports and history (the audit entries).
func (w *Workflow) Case(ctx context.Context, id string) (CaseView, error) {
	c, err := w.cfg.Cases.CaseByID(ctx, id)
	if err != nil {
		return CaseView{}, err
	}
	return w.fullView(ctx, c)
}

func (w *Workflow) fullView(ctx context.Context, c *services.ModerationCase) (CaseView, error) {
	p, err := w.cfg.Players.PlayerByID(ctx, c.PlayerID)
	if err != nil && services.ErrorCode(err) != services.ENotFound {
		return CaseView{}, err
	}
	v, err := w.view(ctx, c, p)
	if err != nil {
		return CaseView{}, err
	}
	if v.Reports, err = w.cfg.Cases.CaseReports(ctx, c.ID); err != nil {
		return CaseView{}, err
	}
	if v.History, err = w.cfg.Cases.CaseAudit(ctx, c.ID); err != nil {
		return CaseView{}, err
	}
	return v, nil
}

// ActionRequest is a moderator's action on a case.
type ActionRequest struct {
	Action string `json:"action"`
	Reason string `json:"reason"`
	// DurationHours is how long a suspension or a mute lasts (1 to 8760).
	DurationHours int `json:"durationHours"`
}

// Act applies a moderator's action to a pending case, records it in the audit log, closes the
// case and its reports, and tells the affected player in their inbox (all but dismiss). The
// effect is applied first and is idempotent, so a failure leaves the case pending to retry.
// chat deletes chat messages (nil: delete_chat is refused).
func (w *Workflow) Act(ctx context.Context, caseID, moderatorID string, req ActionRequest, chat Chat) (CaseView, error) {
	req.Reason = strings.TrimSpace(req.Reason)
	problems := map[string]string{}
	kinds, known := actionKinds[req.Action]
	if !known {
		problems["action"] = "must be " + actionNames
	}
	if req.Reason == "" || utf8.RuneCountInString(req.Reason) > MaxNote {
		problems["reason"] = fmt.Sprintf("must be 1 to %d characters", MaxNote)
	}
	maxHours := int(MaxSuspension / time.Hour)
	timed := req.Action == ActSuspend || req.Action == ActMute
	if timed && (req.DurationHours < 1 || req.DurationHours > maxHours) {
		problems["durationHours"] = fmt.Sprintf("must be 1 to %d", maxHours)
	}
	c, err := w.caseToJudge(ctx, caseID, moderatorID, problems)
	if err != nil {
		return CaseView{}, err
	}
	if c.Status != CasePending {
		return CaseView{}, services.Errorf(services.EConflict, "this case was already decided (%s by %s)", c.Decision, c.ModeratorID)
	}
	if c.Kind == CaseUpload {
		return CaseView{}, services.Invalid(map[string]string{"action": "an upload under review is approved or rejected: POST .../decision"})
	}
	if kinds != nil && !kinds[c.ContentKind] {
		return CaseView{}, services.Invalid(map[string]string{"action": fmt.Sprintf("%s does not apply to a %s case", req.Action, c.ContentKind)})
	}
	ev := services.ModerationAction{CaseID: c.ID, PlayerID: c.PlayerID, Action: req.Action, ContentKind: c.ContentKind,
		TargetID: c.TargetID, Reason: req.Reason}
	var detail string
	switch req.Action {
	case ActHideQuiz:
		err = w.cfg.Cases.HideQuiz(ctx, c.TargetID, req.Reason)
	case ActResetName:
		name := "Player " + strings.ToUpper(c.PlayerID[max(0, len(c.PlayerID)-4):])
		detail = "display name reset to " + name
		err = w.cfg.Cases.UpdateDisplayName(ctx, c.PlayerID, name)
	case ActResetAvatar:
		err = w.takeDown(ctx, c)
	case ActDeleteChat:
		var m ChatMessage
		if jerr := json.Unmarshal(c.Snapshot, &m); jerr != nil || m.ID == "" {
			return CaseView{}, fmt.Errorf("case %s: chat snapshot %s: %v", c.ID, c.Snapshot, jerr)
		}
		if chat == nil {
			return CaseView{}, services.Errorf(services.EUnavailable, "this server cannot reach its games to delete chat")
		}
		detail = "message " + m.ID + " removed from game " + m.Code
		if err = chat.DeleteChat(ctx, m.Code, m.GameID, m.ID); services.ErrorCode(err) == services.ENotFound {
			detail = "game " + m.Code + " no longer keeps message " + m.ID
		}
	case ActMute:
		until := w.cfg.Now().Add(time.Duration(req.DurationHours) * time.Hour).UTC()
		ev.Until, detail = until.Format(time.RFC3339), "muted in chat until "+until.Format(time.RFC3339)
		err = w.cfg.Cases.MutePlayer(ctx, c.PlayerID, until)
	case ActSuspend:
		until := w.cfg.Now().Add(time.Duration(req.DurationHours) * time.Hour).UTC()
		ev.Until, detail = until.Format(time.RFC3339), "suspended until "+until.Format(time.RFC3339)
		if err = w.cfg.Cases.SuspendPlayer(ctx, c.PlayerID, until); err == nil && w.cfg.OnSuspend != nil {
			w.cfg.OnSuspend(c.PlayerID)
		}
	}
	if err != nil && services.ErrorCode(err) != services.ENotFound {
		return CaseView{}, err
	}
	dw := services.CaseDecisionWrite{CaseID: c.ID, Decision: req.Action, Note: req.Reason, ModeratorID: moderatorID,
		Audit: services.AuditEntry{Action: req.Action, Reason: req.Reason, Detail: detail}}
	if req.Action != ActDismiss {
		data, err := json.Marshal(ev)
		if err != nil {
			return CaseView{}, err
		}
		dw.Event = &services.OutboxEvent{Subject: services.SubjectModerationAction, MsgID: "moderation:" + c.ID, Data: data}
	}
	if c, err = w.cfg.Cases.DecideCase(ctx, dw); err != nil {
		return CaseView{}, err
	}
	if w.cfg.Kick != nil {
		w.cfg.Kick()
	}
	return w.fullView(ctx, c)
}

// AuditPage is one page of the audit log, newest first; Next is the cursor of the next page.
type AuditPage struct {
	Items []services.AuditEntry `json:"items"`
	Next  string                `json:"next"`
}

// Audit pages the audit log newest first (limit 0 means DefaultAuditPg).
func (w *Workflow) Audit(ctx context.Context, cursor string, limit int) (AuditPage, error) {
	problems := map[string]string{}
	if limit == 0 {
		limit = DefaultAuditPg
	}
	if limit < 1 || limit > MaxPageSize {
		problems["limit"] = fmt.Sprintf("must be 1 to %d", MaxPageSize)
	}
	var before int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 1 {
			problems["cursor"] = "is not a cursor this server issued"
		}
		before = n
	}
	if err := services.Invalid(problems); err != nil {
		return AuditPage{}, err
	}
	items, err := w.cfg.Cases.Audit(ctx, before, limit+1)
	if err != nil {
		return AuditPage{}, err
	}
	page := AuditPage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.Next = strconv.FormatInt(page.Items[limit-1].ID, 10)
	}
	return page, nil
}
