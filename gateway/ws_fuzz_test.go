package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/accounts"
	"github.com/trivium-game/trivium/services/games"
	"github.com/trivium-game/trivium/services/sqlite"
)

// wsErrorCodes are the codes docs/API.md lists for error frames.
var wsErrorCodes = map[string]bool{
	"already_answered": true, "too_late": true, "not_open": true, "paused": true, "finished": true,
	"resume_expired": true, "forbidden": true, "invalid": true, "not_found": true, "not_joined": true,
	"busy": true, "rate_limited": true, "too_large": true,
}

// maxReplyFrame bounds any frame the server sends in answer to one client frame: a refusal
// quotes at most the frame's type, so even fully escaped it stays far below this.
const maxReplyFrame = 64 << 10

// FuzzWSFrame sends one arbitrary frame — text or binary, optionally after joining a live game
// as its host, so the frame reaches the game engine — over a real WebSocket to a real gateway
// (accounts on SQLite, an in-process games manager), then a ping. Properties: the server never
// panics; a frame over the hard limit closes the socket with 1009 and any other frame leaves it
// answering the ping; every frame the server sends is a JSON object with a type, within
// maxReplyFrame, and error frames carry a documented code and a ref of at most 64 bytes (plus a
// replaced partial rune); binary, oversized, non-object, typeless and unknown-type frames are
// each refused with the error the docs promise, before the ping's pong.
func FuzzWSFrame(f *testing.F) {
	for _, s := range []struct {
		frame  string
		binary bool
		join   bool
	}{
		{`{"type":"ping","ref":"1"}`, false, false},
		{`{"type":"join","ref":"j","data":{"code":"ZZZZZZ"}}`, false, false},
		{`{"type":"join","data":{}}`, false, false},
		{`{"type":"join","data":"ABCDEF"}`, false, true},
		{`{"type":"answer","ref":"a","data":{"index":0,"answer":1}}`, false, false},
		{`{"type":"answer","ref":"a","data":{"index":0,"answer":"x"}}`, false, true},
		{`{"type":"start","ref":"s"}`, false, true},
		{`{"type":"next"}`, false, true},
		{`{"type":"reveal"}`, false, true},
		{`{"type":"scoreboard"}`, false, true},
		{`{"type":"chat","data":{"text":"hello"}}`, false, true},
		{`{"type":"chat","data":{"text":"` + strings.Repeat("\u202e", 300) + `"}}`, false, true},
		{`{"type":"leave"}`, false, true},
		{`{"type":"end"}`, false, true},
		{`{"type":"` + strings.Repeat("<", 4000) + `"}`, false, false},
		{`{"type":"x","ref":"` + strings.Repeat("é", 40) + `"}`, false, false},
		{`{"type":""}`, false, false},
		{`[1,2]`, false, false},
		{`{"type":"ping"}`, true, false},
		{"\xff\xfe", false, false},
		{`{"type":"chat","data":"` + strings.Repeat("x", 5000) + `"}`, false, true},
		{`{"type":"chat","data":"` + strings.Repeat("x", 17000) + `"}`, false, false},
	} {
		f.Add([]byte(s.frame), s.binary, s.join)
	}

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "ws.db"), time.Now)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	acc, err := accounts.New(accounts.Config{Store: db, TokenKey: []byte(strings.Repeat("k", 32))})
	if err != nil {
		f.Fatal(err)
	}
	host, err := acc.Guest(ctx, "Fuzzy")
	if err != nil {
		f.Fatal(err)
	}
	quiz := services.Quiz{Title: "F", Mode: services.ModeCasual, Scoring: services.ScoringFlat, Questions: []services.Question{
		{Text: "a", Kind: services.KindChoice, Choices: []string{"x", "y"}, Answer: services.Answer{Set: true, Index: 1}, TimeLimitSec: 20},
		{Text: "b", Kind: services.KindOpen, Answer: services.Answer{Set: true, IsText: true, Text: "ok"}, TimeLimitSec: 20},
	}}

	f.Fuzz(func(t *testing.T, frame []byte, binary, join bool) {
		// A server of its own per input, so no game or connection outlives it and every input
		// meets the same state: the fuzzer's findings then reproduce from the input alone.
		gm := games.NewManager(games.ManagerConfig{})
		srv := NewServer(Config{PublicURL: "http://fuzz.test"}, Deps{Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(),
			Metrics: NewMetrics(prometheus.NewRegistry()), Accounts: acc, Games: gm,
			Ready: func(context.Context) error { return nil }})
		ts := httptest.NewServer(srv)
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			_ = gm.Close(sctx)
			ts.Close()
		}()
		c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws",
			http.Header{"Authorization": {"Bearer " + host.Token}})
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, resp)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if join {
			room, err := gm.Create(quiz, games.PlayerInfo{ID: host.Player.ID, DisplayName: host.Player.DisplayName, Guest: true})
			if err != nil {
				t.Fatal(err)
			}
			send(t, c, websocket.TextMessage, []byte(`{"type":"join","ref":"join","data":{"code":"`+room.Code()+`"}}`))
			readUntil(t, c, func(typ, ref string) bool { return typ == "state" })
		}
		kind := websocket.TextMessage
		if binary {
			kind = websocket.BinaryMessage
		}
		send(t, c, kind, frame)
		send(t, c, websocket.TextMessage, []byte(`{"type":"ping","ref":"fuzz-sync"}`))

		var errs []string
		_, _, rerr := readFrames(t, c, func(typ, ref, code string) bool {
			if typ == "error" {
				errs = append(errs, code)
			}
			return typ == "pong" && ref == "fuzz-sync"
		})
		if int64(len(frame)) > srv.hub.cfg.HardMaxFrame {
			var ce *websocket.CloseError
			if !errors.As(rerr, &ce) || ce.Code != websocket.CloseMessageTooBig {
				t.Fatalf("a %d-byte frame: %v, want a 1009 close", len(frame), rerr)
			}
			return
		}
		if rerr != nil {
			t.Fatalf("no pong after the frame %.200q: %v (errors %v)", frame, rerr, errs)
		}
		if want := expectedRefusal(frame, binary, srv.hub.cfg.MaxFrame); want != "" && !slices.Contains(errs, want) {
			t.Fatalf("frame %.200q (binary %v) drew errors %v, want %q", frame, binary, errs, want)
		}
	})
}

// expectedRefusal is the error the docs promise for a frame the connection refuses before any
// game sees it, or "" when the frame is well-formed.
func expectedRefusal(frame []byte, binary bool, maxFrame int) string {
	if binary {
		return "invalid"
	}
	if len(frame) > maxFrame {
		return "too_large"
	}
	var f inFrame
	if json.Unmarshal(frame, &f) != nil || f.Type == "" {
		return "invalid"
	}
	switch f.Type {
	case "ping", "join", "chat", "start", "next", "reveal", "scoreboard", "end", "answer", "leave":
		return ""
	}
	return "invalid"
}

func send(t *testing.T, c *websocket.Conn, kind int, b []byte) {
	t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.WriteMessage(kind, b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func readUntil(t *testing.T, c *websocket.Conn, done func(typ, ref string) bool) {
	t.Helper()
	if _, _, err := readFrames(t, c, func(typ, ref, _ string) bool { return done(typ, ref) }); err != nil {
		t.Fatalf("read: %v", err)
	}
}

// readFrames reads and checks frames until done says stop or the connection fails.
func readFrames(t *testing.T, c *websocket.Conn, done func(typ, ref, code string) bool) (string, string, error) {
	t.Helper()
	for {
		kind, b, err := c.ReadMessage()
		if err != nil {
			return "", "", err
		}
		if kind != websocket.TextMessage || len(b) > maxReplyFrame {
			t.Fatalf("server sent a %d-byte frame of kind %d", len(b), kind)
		}
		var out struct {
			Type string `json:"type"`
			Ref  string `json:"ref"`
			Data struct {
				Code string `json:"code"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &out); err != nil || out.Type == "" {
			// Not every frame's data is an object; read the envelope alone then.
			var env inFrame
			if json.Unmarshal(b, &env) != nil || env.Type == "" {
				t.Fatalf("server sent a frame that is no {type} object: %s", b)
			}
			out.Type, out.Ref = env.Type, env.Ref
		}
		if out.Type == "error" && !wsErrorCodes[out.Data.Code] {
			t.Fatalf("error frame with undocumented code %q: %s", out.Data.Code, b)
		}
		if len(out.Ref) > 64+3 {
			t.Fatalf("reply ref of %d bytes: %s", len(out.Ref), b)
		}
		if done(out.Type, out.Ref, out.Data.Code) {
			return out.Type, out.Ref, nil
		}
	}
}
