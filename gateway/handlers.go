package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/moderation/textscreen"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
	"github.com/trivium-game/trivium/services/games"
	"github.com/trivium-game/trivium/services/quizzes"
)

// present resolves a player's avatar URLs for the response.
func present(p *services.Player, cdn string) *services.Player {
	cp := *p
	cp.Avatar.Resolve(cdn)
	return &cp
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func handleRegister(log *slog.Logger, acc *accounts.Service, cdn string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[credentials](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		a, err := acc.Register(r.Context(), req.Username, req.Password)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		a.Player = present(a.Player, cdn)
		encode(w, http.StatusCreated, a)
	})
}

func handleLogin(log *slog.Logger, acc *accounts.Service, cdn string, proxies TrustedProxies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[credentials](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		a, err := acc.Login(r.Context(), req.Username, req.Password, addressKey(clientIP(r, proxies)))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		a.Player = present(a.Player, cdn)
		encode(w, http.StatusOK, a)
	})
}

func handleGuest(log *slog.Logger, acc *accounts.Service, cdn string, text *moderation.TextGuard) http.Handler {
	type request struct {
		Nickname string `json:"nickname"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[request](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		var hits []textscreen.FieldHit
		if text != nil {
			if hits, err = text.ScreenName("nickname", strings.TrimSpace(req.Nickname)); err != nil {
				fail(log, w, r, err)
				return
			}
		}
		a, err := acc.Guest(r.Context(), req.Nickname)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		if len(hits) > 0 {
			if err := text.FlagName(r.Context(), a.Player.ID, a.Player.DisplayName, hits); err != nil {
				fail(log, w, r, err)
				return
			}
		}
		a.Player = present(a.Player, cdn)
		encode(w, http.StatusCreated, a)
	})
}

// LogoutHook runs after a token is revoked (push subscriptions of that token are dropped there).
type LogoutHook func(r *http.Request, id *accounts.Identity)

func handleLogout(log *slog.Logger, acc *accounts.Service, hooks ...LogoutHook) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := identity(r)
		if err := acc.Logout(r.Context(), id.SessionID); err != nil {
			fail(log, w, r, err)
			return
		}
		for _, h := range hooks {
			h(r, id)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleMe(log *slog.Logger, cdn string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, present(identity(r).Player, cdn))
	})
}

func handleMeUpdate(log *slog.Logger, players services.PlayerStore, cdn string, changed func(playerID string), text *moderation.TextGuard) http.Handler {
	type request struct {
		DisplayName string `json:"displayName"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[request](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		name := strings.TrimSpace(req.DisplayName)
		if err := accounts.ValidateDisplayName(name, "displayName"); err != nil {
			fail(log, w, r, err)
			return
		}
		p := identity(r).Player
		var hits []textscreen.FieldHit
		if text != nil {
			if hits, err = text.ScreenName("displayName", name); err != nil {
				fail(log, w, r, err)
				return
			}
		}
		if err := players.UpdateDisplayName(r.Context(), p.ID, name); err != nil {
			fail(log, w, r, err)
			return
		}
		if len(hits) > 0 {
			if err := text.FlagName(r.Context(), p.ID, name, hits); err != nil {
				fail(log, w, r, err)
				return
			}
		}
		if changed != nil {
			changed(p.ID)
		}
		p.DisplayName = name
		encode(w, http.StatusOK, present(p, cdn))
	})
}

func handlePlayer(log *slog.Logger, players services.PlayerStore, progress services.ProgressStore, cdn string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := players.PlayerByID(r.Context(), chi.URLParam(r, "id"))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		pp := present(p, cdn).Profile()
		if progress != nil {
			levels, err := progress.Levels(r.Context(), []string{p.ID})
			if err != nil {
				fail(log, w, r, err)
				return
			}
			if l, ok := levels[p.ID]; ok {
				pp.Level = l
			}
		}
		encodePublic(w, r, time.Minute, pp)
	})
}

// quizView hides answers from everyone but the owner.
func quizView(q *services.Quiz, owner bool) any {
	if owner {
		return q
	}
	out := *q
	out.Questions = make([]services.Question, len(q.Questions))
	for i, qq := range q.Questions {
		qq.Answer, qq.Alternatives = services.Answer{}, nil // an unset answer is omitted from JSON
		out.Questions[i] = qq
	}
	return &out
}

// quizInput is the writable part of a quiz.
type quizInput struct {
	Title       string              `json:"title"`
	Description string              `json:"description"`
	Mode        string              `json:"mode"`
	Scoring     string              `json:"scoring"`
	Public      bool                `json:"public"`
	Questions   []services.Question `json:"questions"`
}

func (q quizInput) quiz() services.Quiz {
	return services.Quiz{Title: q.Title, Description: q.Description, Mode: q.Mode, Scoring: q.Scoring,
		Public: q.Public, Questions: q.Questions}
}

func handleQuizCreate(log *slog.Logger, qs *quizzes.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[quizInput](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		q, err := qs.Create(r.Context(), identity(r).Player, req.quiz())
		if err != nil {
			fail(log, w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/quizzes/"+q.ID)
		encode(w, http.StatusCreated, q)
	})
}

func handleQuizUpdate(log *slog.Logger, qs *quizzes.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[quizInput](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		q, err := qs.Update(r.Context(), identity(r).Player, chi.URLParam(r, "id"), req.quiz())
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, q)
	})
}

func handleQuizDelete(log *slog.Logger, qs *quizzes.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := qs.Delete(r.Context(), identity(r).Player, chi.URLParam(r, "id")); err != nil {
			fail(log, w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func viewer(r *http.Request) *services.Player {
	if id := identity(r); id != nil {
		return id.Player
	}
	return nil
}

func handleQuizGet(log *slog.Logger, qs *quizzes.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, owner, err := qs.Get(r.Context(), viewer(r), chi.URLParam(r, "id"))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, quizView(q, owner))
	})
}

func handleQuizList(log *slog.Logger, qs *quizzes.Service) http.Handler {
	type response struct {
		Items []any  `json:"items"`
		Next  string `json:"next"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := services.QuizFilter{Cursor: r.URL.Query().Get("cursor"), Limit: 20}
		if l := r.URL.Query().Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > 100 {
				fail(log, w, r, services.Invalid(map[string]string{"limit": "must be 1–100"}))
				return
			}
			f.Limit = n
		}
		mine := r.URL.Query().Get("owner") == "me"
		if mine {
			v := viewer(r)
			if v == nil {
				writeProblem(w, http.StatusUnauthorized, services.EUnauthenticated, "owner=me needs a token", nil)
				return
			}
			f.OwnerID = v.ID
		}
		items, next, err := qs.List(r.Context(), f)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		resp := response{Items: make([]any, 0, len(items)), Next: next}
		for i := range items {
			resp.Items = append(resp.Items, quizView(&items[i], mine))
		}
		if mine {
			encode(w, http.StatusOK, resp)
			return
		}
		encodePublic(w, r, time.Minute, resp)
	})
}

func handlePlayStart(log *slog.Logger, qs *quizzes.Service) http.Handler {
	type response struct {
		PlayID   string                  `json:"playId"`
		Question services.PublicQuestion `json:"question"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		play, q, err := qs.StartPlay(r.Context(), identity(r).Player, chi.URLParam(r, "id"))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusCreated, response{PlayID: play.ID, Question: q})
	})
}

type answerInput struct {
	Index  *int            `json:"index"`
	Answer services.Answer `json:"answer"`
}

func (a *answerInput) Valid() map[string]string {
	f := map[string]string{}
	if a.Index == nil || *a.Index < 0 {
		f["index"] = "required: the question index"
	}
	if !a.Answer.Set {
		f["answer"] = "required: a choice index or a text"
	}
	return f
}

func handlePlayAnswer(log *slog.Logger, qs *quizzes.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[answerInput](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		res, err := qs.Answer(r.Context(), identity(r).Player, chi.URLParam(r, "playId"), *req.Index, req.Answer)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusOK, res)
	})
}

func handleGameCreate(log *slog.Logger, qs *quizzes.Service, gm *games.Manager, cdn string) http.Handler {
	type request struct {
		QuizID  string              `json:"quizId"`
		Options *games.OptionsPatch `json:"options"`
	}
	type response struct {
		GameID string `json:"gameId"`
		Code   string `json:"code"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[request](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		if req.QuizID == "" {
			fail(log, w, r, services.Invalid(map[string]string{"quizId": "required"}))
			return
		}
		opts := games.DefaultOptions()
		if req.Options != nil {
			var f map[string]string
			if opts, f = req.Options.Apply(opts, "options."); f != nil {
				fail(log, w, r, services.Invalid(f))
				return
			}
		}
		host := identity(r).Player
		q, licence, err := qs.Host(r.Context(), host, req.QuizID)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		room, err := gm.CreateWith(*q, playerInfo(host, cdn), &opts)
		if err != nil {
			if uerr := qs.Unhost(r.Context(), licence); uerr != nil {
				log.Warn("give back a licence play", "licence", licence, "err", uerr)
			}
			fail(log, w, r, err)
			return
		}
		// The game exists and will run; a lost record only costs the host their hosting reward.
		if err := qs.Hosted(r.Context(), room.ID(), host, q.ID, licence); err != nil {
			log.Warn("record the host of a game", "game", room.ID(), "err", err)
		}
		encode(w, http.StatusCreated, response{GameID: room.ID(), Code: room.Code()})
	})
}

func playerInfo(p *services.Player, cdn string) games.PlayerInfo {
	return games.PlayerInfo{ID: p.ID, DisplayName: p.DisplayName, ThumbnailURL: services.PublicURL(cdn, p.Avatar.ThumbKey), Guest: p.Guest}
}

func handleGameGet(gm *games.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, ok := gm.Info(chi.URLParam(r, "code"))
		if !ok {
			writeProblem(w, http.StatusNotFound, services.ENotFound, "no game with that code", nil)
			return
		}
		encode(w, http.StatusOK, info)
	})
}

func handleTicket(log *slog.Logger, acc *accounts.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := acc.IssueTicket(r.Context(), identity(r))
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, http.StatusCreated, t)
	})
}
