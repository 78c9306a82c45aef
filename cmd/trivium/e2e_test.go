package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trivium-game/trivium/internal/testwait"
)

type entry struct {
	PlayerID string
	Score    int
	Rank     int
}

func standings(t testing.TB, f frame) []entry {
	t.Helper()
	var d struct{ Entries []entry }
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d.Entries
}

func scoreOf(es []entry, id string) int {
	for _, e := range es {
		if e.PlayerID == id {
			return e.Score
		}
	}
	return -1
}

func createQuiz(t testing.TB, s *server, owner *account, mode string, questions []map[string]any) string {
	t.Helper()
	var q struct{ ID string }
	expect(t, call(t, "POST", s.URL+"/api/v1/quizzes", owner.Token, map[string]any{
		"title": "E2E " + mode, "description": "", "mode": mode, "scoring": "flat", "public": false, "questions": questions,
	}), 201).decode(t, &q)
	return q.ID
}

func createGame(t testing.TB, s *server, host *account, quizID string) string {
	t.Helper()
	var g struct{ GameID, Code string }
	expect(t, call(t, "POST", s.URL+"/api/v1/games", host.Token, map[string]string{"quizId": quizID}), 201).decode(t, &g)
	if len(g.Code) != 6 || strings.ContainsAny(g.Code, "0O1IL") {
		t.Fatalf("bad join code %q", g.Code)
	}
	return g.Code
}

func joinAll(t testing.TB, s *server, code string, as ...*account) {
	t.Helper()
	for _, a := range as {
		c := dial(t, s, a)
		// Codes are case-insensitive on input.
		ref := c.send("join", map[string]string{"code": strings.ToLower(code)})
		if f := c.reply(ref); f.Type != "state" {
			t.Fatalf("%s join: %s %s", a.Name, f.Type, f.Data)
		}
	}
}

func TestCasualGameEndToEnd(t *testing.T) {
	s := startServer(t, nil)
	host, alice, bob, g := register(t, s, "host1"), register(t, s, "alice"), register(t, s, "bob"), guest(t, s, "Gus")
	quiz := createQuiz(t, s, host, "casual", []map[string]any{
		{"text": "2+2?", "kind": "choice", "choices": []string{"3", "4"}, "answer": 1, "timeLimitSec": 30},
		{"text": "Capital of France?", "kind": "open", "answer": "Paris", "timeLimitSec": 30},
		{"text": "Sky colour?", "kind": "choice", "choices": []string{"blue", "green"}, "answer": 0, "timeLimitSec": 30},
	})
	code := createGame(t, s, host, quiz)
	joinAll(t, s, code, host, alice, bob, g)

	var info struct {
		Phase   string
		Players []struct{ ID string }
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/games/"+code, "", nil), 200).decode(t, &info)
	if info.Phase != "lobby" || len(info.Players) != 3 {
		t.Fatalf("game info %+v", info)
	}

	// Only the host drives.
	if f := alice.client.reply(alice.client.send("start", struct{}{})); f.Type != "error" || !strings.Contains(string(f.Data), "forbidden") {
		t.Fatalf("player start: %s %s", f.Type, f.Data)
	}
	host.client.reply(host.client.send("start", struct{}{}))
	host.client.send("next", struct{}{})
	for _, a := range []*account{alice, bob, g} {
		q := a.client.waitFrame("question", "")
		if strings.Contains(string(q.Data), `"answer"`) {
			t.Fatalf("question leaked the answer: %s", q.Data)
		}
	}
	// Q0: alice and the guest right, bob wrong; a repeat is refused.
	alice.client.reply(alice.client.send("answer", map[string]any{"index": 0, "answer": 1}))
	if f := alice.client.reply(alice.client.send("answer", map[string]any{"index": 0, "answer": 1})); !strings.Contains(string(f.Data), "already_answered") {
		t.Fatalf("repeat answer: %s %s", f.Type, f.Data)
	}
	bob.client.reply(bob.client.send("answer", map[string]any{"index": 0, "answer": 0}))
	g.client.reply(g.client.send("answer", map[string]any{"index": 0, "answer": 1}))
	// All answered → automatic reveal, with each player's own result.
	rv := alice.client.waitFrame("reveal", "")
	if !strings.Contains(string(rv.Data), `"correct":true`) || !strings.Contains(string(rv.Data), `"points":1000`) {
		t.Fatalf("alice reveal: %s", rv.Data)
	}
	host.client.send("scoreboard", struct{}{})
	sb := standings(t, bob.client.waitFrame("scoreboard", ""))
	if scoreOf(sb, alice.ID) != 1000 || scoreOf(sb, bob.ID) != 0 || scoreOf(sb, g.ID) != 1000 {
		t.Fatalf("scoreboard after Q0: %+v", sb)
	}

	// Q1: bob drops mid-question and resumes on a new connection with his score and state.
	host.client.send("next", struct{}{})
	st := bob.client.waitFrame("question", "")
	_ = st
	var bobState struct{ ResumeToken string }
	bob.client.mu.Lock()
	for _, f := range bob.client.frames {
		if f.Type == "state" {
			_ = json.Unmarshal(f.Data, &bobState)
		}
	}
	bob.client.mu.Unlock()
	if bobState.ResumeToken == "" {
		t.Fatal("no resume token in state")
	}
	bob.client.ws.Close()
	host.client.waitFrame("player_left", "")
	nb := dial(t, s, bob)
	f := nb.reply(nb.send("join", map[string]any{"code": code, "resume": bobState.ResumeToken}))
	var resumed struct {
		Phase    string
		Question *struct{ Index int }
		You      struct {
			PlayerID string
			Score    int
			Answered bool
		}
	}
	if err := json.Unmarshal(f.Data, &resumed); err != nil || f.Type != "state" {
		t.Fatalf("resume: %s %s", f.Type, f.Data)
	}
	if resumed.You.PlayerID != bob.ID || resumed.Phase != "question" || resumed.Question == nil || resumed.Question.Index != 1 {
		t.Fatalf("resumed state %+v", resumed)
	}
	nb.reply(nb.send("answer", map[string]any{"index": 1, "answer": "  paris "}))
	alice.client.reply(alice.client.send("answer", map[string]any{"index": 1, "answer": "London"}))
	g.client.reply(g.client.send("answer", map[string]any{"index": 1, "answer": "PÁRIS"}))
	nb.waitFrame("reveal", "")

	// Q2 and the end: the host asks next after the last question, which finishes the game.
	host.client.send("next", struct{}{})
	nb.waitFrame("question", "")
	nb.reply(nb.send("answer", map[string]any{"index": 2, "answer": 0}))
	alice.client.reply(alice.client.send("answer", map[string]any{"index": 2, "answer": 0}))
	g.client.reply(g.client.send("answer", map[string]any{"index": 2, "answer": 1}))
	nb.waitFrame("reveal", "")
	host.client.send("next", struct{}{})
	final := standings(t, nb.waitFrame("finished", ""))
	// Bob and the guest answered two in a row right: the second earns the 10% streak bonus.
	want := map[string]int{alice.ID: 2000, bob.ID: 2100, g.ID: 2100}
	for id, score := range want {
		if scoreOf(final, id) != score {
			t.Fatalf("final standings %+v, want %v", final, want)
		}
	}
	if final[0].Rank != 1 || final[2].Rank != 3 {
		t.Fatalf("ranks %+v", final)
	}
	checkReport(t, s, host, code, final, []*account{alice, bob, g}, 3)
	expectProblem(t, call(t, "GET", s.URL+"/api/v1/games/"+code+"/report", alice.Token, nil), 404, "")
}

// checkReport fetches the host's report of a finished game as JSON and as CSV and checks both
// against the final standings: every player's points add up to their score, one CSV row per
// player per question.
func checkReport(t *testing.T, s *server, host *account, code string, final []entry, players []*account, questions int) {
	t.Helper()
	url := s.URL + "/api/v1/games/" + code + "/report"
	var r apiResp
	testwait.For(t, "the report is recorded", 10*time.Second, func() bool {
		r = call(t, "GET", url, host.Token, nil)
		return r.Status == 200
	})
	var rep struct {
		Game    struct{ Code, HostID string }
		Players []struct {
			PlayerID string
			Score    int
		}
		Answers []struct {
			PlayerID      string
			QuestionIndex int
			Points        int
		}
	}
	r.decode(t, &rep)
	if rep.Game.Code != code || rep.Game.HostID != host.ID || len(rep.Players) != len(players) || len(rep.Answers) != len(players)*questions {
		t.Fatalf("report %s", r.Body)
	}
	sum := map[string]int{}
	for _, a := range rep.Answers {
		sum[a.PlayerID] += a.Points
	}
	for _, p := range rep.Players {
		if p.Score != scoreOf(final, p.PlayerID) || sum[p.PlayerID] != p.Score {
			t.Fatalf("report player %s: score %d, points %d, final %d", p.PlayerID, p.Score, sum[p.PlayerID], scoreOf(final, p.PlayerID))
		}
	}
	for _, via := range []apiResp{call(t, "GET", url+"?format=csv", host.Token, nil), call(t, "GET", url, host.Token, nil, "Accept", "text/csv")} {
		if via.Status != 200 || !strings.HasPrefix(via.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %q", via.Status, via.Header.Get("Content-Type"))
		}
		rows, err := csv.NewReader(bytes.NewReader(via.Body)).ReadAll()
		if err != nil || len(rows) != 1+len(players)*questions || rows[0][0] != "questionIndex" {
			t.Fatalf("csv rows %d, err %v: %s", len(rows), err, via.Body)
		}
		csvSum := map[string]int{}
		for _, row := range rows[1:] {
			pts, err := strconv.Atoi(row[10])
			if err != nil {
				t.Fatalf("csv points %q", row[10])
			}
			csvSum[row[3]] += pts
		}
		for id, n := range sum {
			if csvSum[id] != n {
				t.Fatalf("csv points of %s: %d, want %d", id, csvSum[id], n)
			}
		}
	}
	var hist struct {
		Items []struct{ Code, Phase string }
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/me/games", host.Token, nil), 200).decode(t, &hist)
	if len(hist.Items) == 0 || hist.Items[0].Code != code || hist.Items[0].Phase != "finished" {
		t.Fatalf("game history %+v", hist)
	}
}

func TestLiveGameFirstCorrectAnswerWins(t *testing.T) {
	s := startServer(t, nil)
	host, p1, p2 := register(t, s, "livehost"), register(t, s, "racer1"), register(t, s, "racer2")
	quiz := createQuiz(t, s, host, "live", []map[string]any{
		{"text": "Fastest?", "kind": "choice", "choices": []string{"a", "b"}, "answer": 1, "timeLimitSec": 30},
	})
	code := createGame(t, s, host, quiz)
	joinAll(t, s, code, host, p1, p2)
	host.client.reply(host.client.send("start", struct{}{}))
	host.client.send("next", struct{}{})
	p1.client.waitFrame("question", "")
	p2.client.waitFrame("question", "")
	// p2 answers wrong first and is locked out; p1 then wins.
	p2.client.reply(p2.client.send("answer", map[string]any{"index": 0, "answer": 0}))
	p1.client.reply(p1.client.send("answer", map[string]any{"index": 0, "answer": 1}))
	for _, c := range []*wsClient{p1.client, p2.client, host.client} {
		b := c.waitFrame("buzz", "")
		var d struct {
			Winner        struct{ ID string }
			CorrectAnswer int
		}
		_ = json.Unmarshal(b.Data, &d)
		if d.Winner.ID != p1.ID || d.CorrectAnswer != 1 {
			t.Fatalf("buzz %s", b.Data)
		}
		sb := standings(t, c.waitFrame("scoreboard", ""))
		if scoreOf(sb, p1.ID) != 1000 || scoreOf(sb, p2.ID) != 0 {
			t.Fatalf("live scoreboard %+v", sb)
		}
	}
	host.client.send("end", struct{}{})
	final := standings(t, p2.client.waitFrame("finished", ""))
	if final[0].PlayerID != p1.ID {
		t.Fatalf("winner %+v", final)
	}
}

func TestWebSocketRefusesBadInput(t *testing.T) {
	s := startServer(t, nil)
	a := register(t, s, "abuser")

	// A foreign Origin is refused before the upgrade.
	var tk struct{ Ticket string }
	expect(t, call(t, "POST", s.URL+"/api/v1/ws-tickets", a.Token, nil), 201).decode(t, &tk)
	wsURL := strings.Replace(s.URL, "http", "ws", 1) + "/ws?ticket=" + tk.Ticket
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, map[string][]string{"Origin": {"https://evil.example"}}); err == nil || resp.StatusCode != 403 {
		t.Fatalf("foreign origin: err=%v resp=%v", err, resp)
	}
	// No credentials: 401.
	if _, resp, err := websocket.DefaultDialer.Dial(strings.Replace(s.URL, "http", "ws", 1)+"/ws", nil); err == nil || resp.StatusCode != 401 {
		t.Fatalf("no ticket: %v %v", err, resp)
	}
	// A ticket works once.
	okDial := websocket.Dialer{Subprotocols: []string{"trivium.v1"}}
	first, _, err := okDial.Dial(wsURL, map[string][]string{"Origin": {s.URL}})
	if err != nil {
		t.Fatalf("first use of ticket: %v", err)
	}
	first.Close()
	if _, resp, err := okDial.Dial(wsURL, map[string][]string{"Origin": {s.URL}}); err == nil || resp.StatusCode != 401 {
		t.Fatalf("reused ticket: %v %v", err, resp)
	}
	cl := dial(t, s, &account{Token: a.Token})

	// Malformed, unknown and oversize frames get errors, never a crash.
	_ = cl.ws.WriteMessage(websocket.TextMessage, []byte("{not json"))
	if f := cl.waitFrame("error", ""); !strings.Contains(string(f.Data), "invalid") {
		t.Fatalf("malformed: %s", f.Data)
	}
	_ = cl.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"explode"}`))
	cl.waitFrame("error", "")
	// An unknown type is not echoed: escaped, 3,000 '<' would come back as an 18 KB frame.
	_ = cl.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"`+strings.Repeat("<", 3000)+`"}`))
	if f := cl.waitFrame("error", ""); len(f.Data) > 512 {
		t.Fatalf("the error for an unknown type is %d bytes", len(f.Data))
	}
	big := `{"type":"chat","data":{"text":"` + strings.Repeat("x", 5000) + `"}}`
	_ = cl.ws.WriteMessage(websocket.TextMessage, []byte(big))
	if f := cl.waitFrame("error", ""); !strings.Contains(string(f.Data), "too_large") {
		t.Fatalf("oversize: %s", f.Data)
	}
	// A flood ends with a policy-violation close.
	for i := 0; i < 200; i++ {
		if cl.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) != nil {
			break
		}
	}
	testwait.For(t, "flood close", 10*time.Second, func() bool { return cl.closeErr() != nil })
	if !websocket.IsCloseError(cl.closeErr(), websocket.ClosePolicyViolation) {
		t.Fatalf("flood closed with %v, want 1008", cl.closeErr())
	}
	// A frame past the hard limit closes with 1009.
	c3 := dial(t, s, &account{Token: a.Token})
	_ = c3.ws.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 20000)))
	testwait.For(t, "oversize close", 10*time.Second, func() bool { return c3.closeErr() != nil })
	if !websocket.IsCloseError(c3.closeErr(), websocket.CloseMessageTooBig) {
		t.Fatalf("huge frame closed with %v, want 1009", c3.closeErr())
	}
}

func TestShutdownClosesSocketsWithGoingAwayAndKeepsResults(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, map[string]string{"TRIVIUM_DATA": data})
	a := register(t, s, "leaver")
	c := dial(t, s, a)
	c.waitFrame("pong", c.send("ping", struct{}{}))
	s.Stop(t)
	testwait.For(t, "the socket to close", 10*time.Second, func() bool { return c.closeErr() != nil })
	if !websocket.IsCloseError(c.closeErr(), websocket.CloseGoingAway) {
		t.Fatalf("socket closed with %v, want 1001 going away", c.closeErr())
	}
	// Everything accepted before the stop is still there after a restart on the same data.
	s2 := startServer(t, map[string]string{"TRIVIUM_DATA": data})
	var me struct{ Username string }
	expect(t, call(t, "GET", s2.URL+"/api/v1/me", a.Token, nil), 200).decode(t, &me)
	if me.Username != "leaver" {
		t.Fatalf("after restart /me = %+v", me)
	}
}
