package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/games"
)

// chatAnswerWait bounds how long a report or a delete_chat waits for the game's room.
const chatAnswerWait = 5 * time.Second

// gameChat adapts the games to moderation.Chat: it submits the server-only chat commands to a
// game's room (here or, through the manager's link, on the node that runs it) and waits for
// the one answer.
type gameChat struct{ games *games.Manager }

var _ moderation.Chat = gameChat{}

func (g gameChat) ChatMessage(ctx context.Context, code, messageID, reporterID string) (moderation.ChatMessage, error) {
	f, err := g.ask(ctx, code, games.CmdChatMessage, reporterID, messageID)
	if err != nil {
		return moderation.ChatMessage{}, err
	}
	var look games.ChatLookup
	if err := json.Unmarshal(f.Data, &look); err != nil {
		return moderation.ChatMessage{}, err
	}
	if !look.Found || !look.Participant {
		// Only players of the game saw its chat: to anyone else it does not exist.
		return moderation.ChatMessage{}, services.Errorf(services.ENotFound, "no such chat message in game %s", code)
	}
	m := look.Message
	return moderation.ChatMessage{GameID: look.GameID, Code: code, ID: m.ID, AuthorID: m.From.ID,
		AuthorName: m.From.DisplayName, Text: m.Text, At: m.At}, nil
}

func (g gameChat) DeleteChat(ctx context.Context, code, gameID, messageID string) error {
	if room, ok := g.games.Lookup(code); !ok || (room.ID() != "" && room.ID() != gameID) {
		// The game is over and gone, or its code now names another game.
		return services.Errorf(services.ENotFound, "game %s is gone", code)
	}
	_, err := g.ask(ctx, code, games.CmdDeleteChat, "", messageID)
	return err
}

// replyFrame is the part of a room's answer the adapter reads.
type replyFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (g gameChat) ask(ctx context.Context, code, cmd, playerID, messageID string) (replyFrame, error) {
	room, ok := g.games.Lookup(code)
	if !ok {
		return replyFrame{}, services.Errorf(services.ENotFound, "no game with code %s", code)
	}
	data, _ := json.Marshal(map[string]string{"id": messageID})
	rc := &replyClient{id: playerID, frames: make(chan []byte, 1)}
	if !room.Submit(games.Command{Type: cmd, Ref: "moderation", Client: rc, Player: games.PlayerInfo{ID: playerID}, Data: data}) {
		return replyFrame{}, services.Errorf(services.EBusy, "the game is busy; try again")
	}
	// The one-off client leaves afterwards, so a cluster node forgets the connection it named.
	defer room.Submit(games.Command{Type: games.CmdDisconnect, Client: rc})
	wait := time.NewTimer(chatAnswerWait)
	defer wait.Stop()
	var raw []byte
	select {
	case raw = <-rc.frames:
	case <-wait.C:
		return replyFrame{}, services.Errorf(services.EUnavailable, "game %s did not answer", code)
	case <-ctx.Done():
		return replyFrame{}, ctx.Err()
	}
	var f replyFrame
	if err := json.Unmarshal(raw, &f); err != nil {
		return replyFrame{}, err
	}
	if f.Type == games.FrameError {
		var e games.ErrorData
		_ = json.Unmarshal(f.Data, &e)
		return replyFrame{}, services.Errorf(e.Code, "%s", e.Message)
	}
	return f, nil
}

// replyClient is the room's client for one server-side command: it keeps the first frame.
type replyClient struct {
	id     string
	frames chan []byte
}

func (c *replyClient) PlayerID() string { return c.id }

func (c *replyClient) Send(frame []byte) bool {
	select {
	case c.frames <- frame:
	default: // only the first answer matters
	}
	return true
}

func (c *replyClient) Close(int, string) {}

func handleReportCreate(log *slog.Logger, wf *moderation.Workflow, chat moderation.Chat) http.Handler {
	type request struct {
		Kind     string `json:"kind"`
		TargetID string `json:"targetId"`
		Reason   string `json:"reason"`
	}
	return replyTo(log, http.StatusAccepted, func(r *http.Request, req request) (services.Report, error) {
		return wf.ReportContent(r.Context(), identity(r).Player, req.Kind, req.TargetID, req.Reason, chat)
	})
}

func handlePlayerReport(log *slog.Logger, wf *moderation.Workflow) http.Handler {
	type request struct {
		Reason string `json:"reason"`
	}
	return replyTo(log, http.StatusAccepted, func(r *http.Request, req request) (map[string]string, error) {
		err := wf.Report(r.Context(), identity(r).Player.ID, chi.URLParam(r, "id"), req.Reason)
		return map[string]string{"status": "reported"}, err
	})
}

func handleModerationCases(log *slog.Logger, wf *moderation.Workflow) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (moderation.CasePage, error) {
		q := r.URL.Query()
		limit, err := pageLimit(q.Get("limit"))
		if err != nil {
			return moderation.CasePage{}, err
		}
		return wf.Cases(r.Context(), q.Get("status"), q.Get("kind"), q.Get("cursor"), limit)
	})
}

func handleModerationCase(log *slog.Logger, wf *moderation.Workflow) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (moderation.CaseView, error) {
		return wf.Case(r.Context(), chi.URLParam(r, "id"))
	})
}

func handleModerationDecision(log *slog.Logger, wf *moderation.Workflow) http.Handler {
	type request struct {
		Decision string `json:"decision"`
		Note     string `json:"note"`
	}
	return replyTo(log, http.StatusOK, func(r *http.Request, req request) (moderation.CaseView, error) {
		return wf.Decide(r.Context(), chi.URLParam(r, "id"), identity(r).Player.ID, req.Decision, req.Note)
	})
}

func handleModerationAction(log *slog.Logger, wf *moderation.Workflow, chat moderation.Chat) http.Handler {
	return replyTo(log, http.StatusOK, func(r *http.Request, req moderation.ActionRequest) (moderation.CaseView, error) {
		return wf.Act(r.Context(), chi.URLParam(r, "id"), identity(r).Player.ID, req, chat)
	})
}

func handleModerationAudit(log *slog.Logger, wf *moderation.Workflow) http.Handler {
	return reply(log, http.StatusOK, func(r *http.Request) (moderation.AuditPage, error) {
		q := r.URL.Query()
		limit, err := pageLimit(q.Get("limit"))
		if err != nil {
			return moderation.AuditPage{}, err
		}
		return wf.Audit(r.Context(), q.Get("cursor"), limit)
	})
}

// pageLimit reads an optional limit for the moderation lists; 0 (absent) lets the workflow pick
// its default, and the workflow clamps the rest.
func pageLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, services.Invalid(map[string]string{"limit": "must be a number"})
	}
	return n, nil
}
