package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
)

type problemDoc struct {
	Type, Title, Detail, Code string
	Status                    int
	Errors                    map[string]string
}

func expectProblem(t *testing.T, r apiResp, status int, field string) problemDoc {
	t.Helper()
	expect(t, r, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q for %d", ct, status)
	}
	var p problemDoc
	r.decode(t, &p)
	if p.Status != status || p.Title == "" || p.Type == "" {
		t.Fatalf("problem %+v", p)
	}
	if field != "" && p.Errors[field] == "" {
		t.Fatalf("no error for field %q in %+v", field, p)
	}
	return p
}

func TestAPIRefusesBadInputWithProblems(t *testing.T) {
	s := startServer(t, nil)
	api := s.URL + "/api/v1"
	a := register(t, s, "carol")

	expectProblem(t, call(t, "POST", api+"/auth/register", "", `{"username":`), 400, "")
	expectProblem(t, call(t, "POST", api+"/auth/register", "", `{"username":"x","password":"y","admin":true}`), 422, "admin")
	expectProblem(t, call(t, "POST", api+"/auth/register", "", map[string]string{"username": "Bad Name!", "password": "short"}), 422, "password")
	expectProblem(t, call(t, "POST", api+"/auth/register", "", map[string]string{"username": "carol", "password": "long enough password"}), 409, "")
	expectProblem(t, call(t, "POST", api+"/auth/register", "", strings.Repeat(" ", 70<<10)+"{}"), 413, "")
	expectProblem(t, call(t, "POST", api+"/auth/login", "", "x", "Content-Type", "text/plain"), 415, "")
	expectProblem(t, call(t, "GET", api+"/me", "", nil), 401, "")
	expectProblem(t, call(t, "GET", api+"/me", "forged.token", nil), 401, "")
	expectProblem(t, call(t, "GET", api+"/quizzes/nope", "", nil), 404, "")

	// Wrong password and unknown user get the same answer; repeated failures are limited.
	wrong := call(t, "POST", api+"/auth/login", "", map[string]string{"username": "carol", "password": "wrong password!"})
	unknown := call(t, "POST", api+"/auth/login", "", map[string]string{"username": "nobody", "password": "wrong password!"})
	expectProblem(t, wrong, 401, "")
	if p1, p2 := string(wrong.Body), string(unknown.Body); p1 != p2 {
		t.Fatalf("login answers differ: %s vs %s", p1, p2)
	}
	var limited apiResp
	for i := 0; i < 10; i++ {
		limited = call(t, "POST", api+"/auth/login", "", map[string]string{"username": "carol", "password": "wrong password!"})
		if limited.Status == 429 {
			break
		}
	}
	expectProblem(t, limited, 429, "")
	if limited.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}

	// Quiz validation names each bad field.
	bad := map[string]any{"title": "", "mode": "weird", "scoring": "flat", "questions": []map[string]any{
		{"text": "Q", "kind": "choice", "choices": []string{"a", "a"}, "answer": 5, "timeLimitSec": 2},
	}}
	p := expectProblem(t, call(t, "POST", api+"/quizzes", a.Token, bad), 422, "title")
	for _, f := range []string{"mode", "questions[0].answer", "questions[0].timeLimitSec", "questions[0].choices[1]"} {
		if p.Errors[f] == "" {
			t.Errorf("missing field error %q: %+v", f, p.Errors)
		}
	}
	// Guests play but do not author; other players cannot change a quiz.
	g := guest(t, s, "Ghost")
	expectProblem(t, call(t, "POST", api+"/quizzes", g.Token, bad), 403, "")
	q := createQuiz(t, s, a, "casual", []map[string]any{{"text": "1+1?", "kind": "choice", "choices": []string{"2", "3"}, "answer": 0}})
	other := register(t, s, "dave")
	valid := map[string]any{"title": "Mine", "mode": "casual", "questions": []map[string]any{{"text": "1+1?", "kind": "choice", "choices": []string{"2", "3"}, "answer": 0}}}
	expectProblem(t, call(t, "PUT", api+"/quizzes/"+q, other.Token, valid), 404, "") // private: not even visible
	expect(t, call(t, "PUT", api+"/quizzes/"+q, a.Token, valid), 200)
	expectProblem(t, call(t, "GET", api+"/leaderboards/nonsense", "", nil), 422, "")
}

func TestCORSAllowsExactlyTheAllowlist(t *testing.T) {
	s := startServer(t, map[string]string{"TRIVIUM_ALLOWED_ORIGINS": "https://play.example"})
	api := s.URL + "/api/v1/quizzes"
	pre := call(t, "OPTIONS", api, "", nil, "Origin", "https://play.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type")
	if pre.Status != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "https://play.example" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", pre.Status, pre.Header)
	}
	foreign := call(t, "GET", api, "", nil, "Origin", "https://evil.example")
	if foreign.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin got CORS headers: %v", foreign.Header)
	}
	ok := call(t, "GET", api, "", nil, "Origin", "https://play.example")
	if got := ok.Header.Get("Access-Control-Allow-Origin"); got != "https://play.example" || got == "*" {
		t.Fatalf("allowed origin: %q", got)
	}
}

func TestPublicReadsAreCacheableAndPrivateOnesAreNot(t *testing.T) {
	s := startServer(t, nil)
	a := register(t, s, "erin")
	prof := expect(t, call(t, "GET", s.URL+"/api/v1/players/"+a.ID, "", nil), 200)
	if cc := prof.Header.Get("Cache-Control"); cc != "public, max-age=60" {
		t.Fatalf("profile Cache-Control %q", cc)
	}
	etag := prof.Header.Get("ETag")
	expect(t, call(t, "GET", s.URL+"/api/v1/players/"+a.ID, "", nil, "If-None-Match", etag), 304)
	list := expect(t, call(t, "GET", s.URL+"/api/v1/quizzes", "", nil), 200)
	if list.Header.Get("ETag") == "" || !strings.HasPrefix(list.Header.Get("Cache-Control"), "public") {
		t.Fatalf("public quiz list headers %v", list.Header)
	}
	var page struct{ Items []map[string]any }
	list.decode(t, &page)
	if len(page.Items) < 3 {
		t.Fatalf("seeded quizzes missing: %d", len(page.Items))
	}
	if strings.Contains(string(list.Body), `"answer"`) {
		t.Fatal("public quiz list leaks answers")
	}
	me := expect(t, call(t, "GET", s.URL+"/api/v1/me", a.Token, nil), 200)
	if cc := me.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Fatalf("me Cache-Control %q", cc)
	}
}

func TestAQuizViewGivesNoKindsAnswerAway(t *testing.T) {
	s := startServer(t, nil)
	owner := register(t, s, "olga")
	var q struct{ ID string }
	expect(t, call(t, "POST", s.URL+"/api/v1/quizzes", owner.Token, map[string]any{
		"title": "Kinds", "description": "", "mode": "single", "scoring": "flat", "public": true,
		"questions": []map[string]any{
			{"text": "Oldest first", "kind": "order", "choices": []string{"Rome", "Paris", "Berlin"}},
			{"text": "How many?", "kind": "number", "answer": 42, "tolerance": 1, "min": 0, "max": 100},
		}}), 201).decode(t, &q)
	var view struct{ Questions []map[string]any }
	expect(t, call(t, "GET", s.URL+"/api/v1/quizzes/"+q.ID, register(t, s, "peter").Token, nil), 200).decode(t, &view)
	if got := fmt.Sprint(view.Questions[0]["choices"]); got != "[Berlin Paris Rome]" {
		t.Fatalf("order items shown as %s, want them sorted (not in the correct order)", got)
	}
	if _, ok := view.Questions[1]["tolerance"]; ok || view.Questions[1]["answer"] != nil {
		t.Fatalf("number question shows its answer or tolerance: %v", view.Questions[1])
	}
	var own struct{ Questions []map[string]any }
	expect(t, call(t, "GET", s.URL+"/api/v1/quizzes/"+q.ID, owner.Token, nil), 200).decode(t, &own)
	if got := fmt.Sprint(own.Questions[0]["choices"]); got != "[Rome Paris Berlin]" || own.Questions[1]["tolerance"] != 1.0 {
		t.Fatalf("the owner's view lost the quiz as written: %v", own.Questions)
	}
}

func TestSinglePlayerOverHTTP(t *testing.T) {
	s := startServer(t, nil)
	a := register(t, s, "frank")
	q := createQuiz(t, s, a, "single", []map[string]any{
		{"text": "1+1?", "kind": "choice", "choices": []string{"2", "3"}, "answer": 0},
		{"text": "Say hi", "kind": "open", "answer": "Hello", "alternatives": []string{"hi"}},
	})
	var start struct {
		PlayID   string
		Question map[string]any
	}
	r := expect(t, call(t, "POST", s.URL+"/api/v1/quizzes/"+q+"/plays", a.Token, nil), 201)
	r.decode(t, &start)
	if _, leaked := start.Question["answer"]; leaked || start.Question["deadline"] == nil {
		t.Fatalf("first question %v", start.Question)
	}
	ans := s.URL + "/api/v1/plays/" + start.PlayID + "/answers"
	var res struct {
		Correct  bool
		Points   int
		Score    int
		Next     map[string]any
		Finished bool
	}
	expect(t, call(t, "POST", ans, a.Token, map[string]any{"index": 0, "answer": 0}), 200).decode(t, &res)
	if !res.Correct || res.Points < 500 || res.Next == nil {
		t.Fatalf("answer 0: %+v", res)
	}
	expectProblem(t, call(t, "POST", ans, a.Token, map[string]any{"index": 0, "answer": 0}), 409, "")
	expectProblem(t, call(t, "POST", ans, register(t, s, "mallory").Token, map[string]any{"index": 1, "answer": "hi"}), 404, "")
	expect(t, call(t, "POST", ans, a.Token, map[string]any{"index": 1, "answer": " HI "}), 200).decode(t, &res)
	if !res.Correct || !res.Finished || res.Next != nil {
		t.Fatalf("answer 1: %+v", res)
	}
}

// publicQuiz creates a public single-player quiz of n one-choice questions (answer 0) and
// returns its id.
func publicQuiz(t *testing.T, s *server, owner *account, n int) string {
	t.Helper()
	qs := make([]map[string]any, n)
	for i := range qs {
		qs[i] = map[string]any{"text": fmt.Sprint("question ", i), "kind": "choice", "choices": []string{"yes", "no"}, "answer": 0}
	}
	var q struct{ ID string }
	expect(t, call(t, "POST", s.URL+"/api/v1/quizzes", owner.Token, map[string]any{
		"title": "Public", "description": "", "mode": "single", "scoring": "flat", "public": true, "questions": qs}), 201).decode(t, &q)
	return q.ID
}

// playThrough runs quiz q alone, answering every question with answer, and returns the score.
func playThrough(t *testing.T, s *server, a *account, q string, answer int) int {
	t.Helper()
	var st struct{ PlayID string }
	expect(t, call(t, "POST", s.URL+"/api/v1/quizzes/"+q+"/plays", a.Token, nil), 201).decode(t, &st)
	var res struct {
		Score    int
		Finished bool
	}
	for i := 0; !res.Finished; i++ {
		expect(t, call(t, "POST", s.URL+"/api/v1/plays/"+st.PlayID+"/answers", a.Token, map[string]any{"index": i, "answer": answer}), 200).decode(t, &res)
	}
	return res.Score
}

type boardDoc struct {
	Board   string
	Entries []struct {
		Rank        int
		PlayerID    string
		DisplayName string
		Score       int64
	}
}

func (b boardDoc) String() string {
	var parts []string
	for _, e := range b.Entries {
		parts = append(parts, fmt.Sprintf("%d:%s=%d", e.Rank, e.DisplayName, e.Score))
	}
	return strings.Join(parts, " ")
}

func readBoard(t *testing.T, s *server, token, board string) boardDoc {
	t.Helper()
	var b boardDoc
	expect(t, call(t, "GET", s.URL+"/api/v1/leaderboards/"+board, token, nil), 200).decode(t, &b)
	return b
}

// waitBoard waits until board reads want (scores reach boards asynchronously), tolerating the
// rate limiter while it polls, and fails with the last reading.
func waitBoard(t *testing.T, s *server, token, board, want string) {
	t.Helper()
	var last string
	deadline := time.Now().Add(10 * time.Second)
	for last != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s board reads %q, want %q", board, last, want)
		}
		var b boardDoc
		if r := call(t, "GET", s.URL+"/api/v1/leaderboards/"+board, token, nil); r.Status == 200 && json.Unmarshal(r.Body, &b) == nil {
			last = b.String()
		}
		<-time.After(20 * time.Millisecond)
	}
}

func TestLeaderboardsFromPlayedGames(t *testing.T) {
	s := startServer(t, nil)
	author, alice, bob, g := register(t, s, "lb_author"), register(t, s, "lb_alice"), register(t, s, "lb_bob"), guest(t, s, "Guesty")
	q := publicQuiz(t, s, author, 1)
	playThrough(t, s, bob, q, 0)   // 1000, 500 on global and weekly (a solo run)
	playThrough(t, s, alice, q, 1) // 0
	playThrough(t, s, alice, q, 0) // 1000, reached after bob
	playThrough(t, s, g, q, 0)     // guests never appear
	var global boardDoc
	testwait.For(t, "global board", 10*time.Second, func() bool {
		r := call(t, "GET", s.URL+"/api/v1/leaderboards/global", "", nil)
		_ = json.Unmarshal(r.Body, &global)
		return r.Status == 200 && len(global.Entries) == 2 && global.Entries[1].Score == 500
	})
	if global.Entries[0].PlayerID != bob.ID || global.Entries[1].PlayerID != alice.ID || global.Entries[0].DisplayName != "lb_bob" {
		t.Fatalf("global board %+v", global)
	}
	var quiz boardDoc
	r := expect(t, call(t, "GET", s.URL+"/api/v1/leaderboards/quiz:"+q+"?limit=1", "", nil), 200)
	r.decode(t, &quiz)
	if len(quiz.Entries) != 1 || quiz.Entries[0].Score != 1000 || r.Header.Get("Cache-Control") != "public, max-age=5" {
		t.Fatalf("quiz board %+v %v", quiz, r.Header)
	}
	var me struct {
		Rank    int
		Score   int64
		Entries []struct{ PlayerID string }
	}
	expect(t, call(t, "GET", s.URL+"/api/v1/leaderboards/weekly/me?around=1", alice.Token, nil), 200).decode(t, &me)
	if me.Rank != 2 || me.Score != 500 || len(me.Entries) != 2 {
		t.Fatalf("me %+v", me)
	}
	expectProblem(t, call(t, "GET", s.URL+"/api/v1/leaderboards/global/me", g.Token, nil), 404, "")
	if strings.Contains(string(call(t, "GET", s.URL+"/api/v1/leaderboards/global", "", nil).Body), g.ID) {
		t.Fatal("guest on a board")
	}
}

// TestFarmingOneQuizDoesNotClimbTheGlobalBoard replays the attack from issue 14: playing one's
// own private long quiz again and again gave 500,000 points and rank 1. Own and private quizzes
// now stay off global and weekly, a quiz counts once (its best), and solo runs count half.
func TestFarmingOneQuizDoesNotClimbTheGlobalBoard(t *testing.T) {
	s := startServer(t, nil)
	author, mallory, honest, stranger := register(t, s, "fa_author"), register(t, s, "fa_mallory"), register(t, s, "fa_honest"), register(t, s, "fa_stranger")

	own := createQuiz(t, s, mallory, "single", []map[string]any{
		{"text": "a", "kind": "choice", "choices": []string{"x", "y"}, "answer": 0},
		{"text": "b", "kind": "choice", "choices": []string{"x", "y"}, "answer": 0},
	})
	for range 5 {
		if got := playThrough(t, s, mallory, own, 0); got != 2000 {
			t.Fatalf("a farming run scored %d, want 2000", got)
		}
	}
	// Someone else's public quiz, repeated: only the best run counts, at half for a solo run.
	pub := publicQuiz(t, s, author, 3)
	for range 4 {
		playThrough(t, s, mallory, pub, 0)
	}
	playThrough(t, s, honest, pub, 0)
	other := publicQuiz(t, s, author, 2)
	playThrough(t, s, honest, other, 0)

	for _, board := range []string{"global", "weekly"} {
		waitBoard(t, s, "", board, "1:fa_honest=2500 2:fa_mallory=1500")
	}
	// The private quiz's own board keeps the raw best, for the owner's eyes only.
	waitBoard(t, s, mallory.Token, "quiz:"+own, "1:fa_mallory=2000")
	r := expect(t, call(t, "GET", s.URL+"/api/v1/leaderboards/quiz:"+own, mallory.Token, nil), 200)
	var b boardDoc
	r.decode(t, &b)
	if b.String() != "1:fa_mallory=2000" || !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("owner's view of the private board: %s, Cache-Control %q", b, r.Header.Get("Cache-Control"))
	}
	for _, token := range []string{"", stranger.Token} {
		expectProblem(t, call(t, "GET", s.URL+"/api/v1/leaderboards/quiz:"+own, token, nil), 404, "")
	}
	// A quiz that never existed answers the same, so the 404 reveals nothing.
	expectProblem(t, call(t, "GET", s.URL+"/api/v1/leaderboards/quiz:no-such-quiz", stranger.Token, nil), 404, "")

	// A public quiz made private: the players on its board still see it, strangers do not.
	expect(t, call(t, "PUT", s.URL+"/api/v1/quizzes/"+other, author.Token, map[string]any{"title": "Now private", "mode": "single", "scoring": "flat", "public": false,
		"questions": []map[string]any{{"text": "q", "kind": "choice", "choices": []string{"yes", "no"}, "answer": 0}}}), 200)
	if got := readBoard(t, s, honest.Token, "quiz:"+other).String(); got != "1:fa_honest=2000" {
		t.Errorf("a player's view of a board they are on: %s", got)
	}
	expectProblem(t, call(t, "GET", s.URL+"/api/v1/leaderboards/quiz:"+other, stranger.Token, nil), 404, "")
	expectProblem(t, call(t, "GET", s.URL+"/api/v1/leaderboards/quiz:"+other, "", nil), 404, "")
}

func TestStartRefusesSettingsThatCannotWorkTogether(t *testing.T) {
	for _, env := range []map[string]string{
		{"TRIVIUM_ROLES": "api,gateway"}, // memory boards without their consumer
		{"TRIVIUM_ROLES": "gateway,teleporter"},
		{"TRIVIUM_BUS": "kafka://x"},
		{"TRIVIUM_DB": "mysql://x"},
		{"TRIVIUM_LOG_LEVEL": "chatty"},
	} {
		env["TRIVIUM_ADDR"], env["TRIVIUM_DATA"] = "127.0.0.1:0", t.TempDir()
		var out, errOut syncBuffer
		err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "TRIVIUM_") {
			t.Errorf("%v: err = %v, want a message naming the setting", env, err)
		}
	}
}

func TestBoardsFollowARenameWithoutWaitingForTheirCache(t *testing.T) {
	s := startServer(t, nil)
	a := register(t, s, "renamer")
	playThrough(t, s, a, publicQuiz(t, s, register(t, s, "rn_author"), 1), 0)
	name := func() string {
		var b struct {
			Entries []struct{ DisplayName string }
		}
		expect(t, call(t, "GET", s.URL+"/api/v1/leaderboards/global", "", nil), 200).decode(t, &b)
		if len(b.Entries) == 0 {
			return ""
		}
		return b.Entries[0].DisplayName
	}
	testwait.For(t, "the score on the board", 10*time.Second, func() bool { return name() == "renamer" })
	expect(t, call(t, "PATCH", s.URL+"/api/v1/me", a.Token, map[string]string{"displayName": "Renée"}), 200)
	// The profile cache lives minutes; the rename must show long before that.
	testwait.For(t, "the new name on the board", 5*time.Second, func() bool { return name() == "Renée" })
}
