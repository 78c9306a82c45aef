package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/moderation/corpus"
	"github.com/trivium-game/trivium/services/sqlstore"
	"github.com/trivium-game/trivium/services/sqlstore/sqltest"
)

// Issue 17: reports open cases, moderators act on them, and each action has its effect. Every
// test here runs a real server on SQLite and on PostgreSQL.

// onEachStore runs test against a server on SQLite and one on PostgreSQL (TRIVIUM_DB), with the
// API limits raised so a test's own traffic is not what it measures.
func onEachStore(t *testing.T, test func(t *testing.T, s *server, env map[string]string)) {
	sqltest.Each(t, func(t *testing.T, d sqlstore.Dialect) {
		env := map[string]string{"TRIVIUM_DATA": t.TempDir(), "TRIVIUM_API_RATE": "100000", "TRIVIUM_API_BURST": "100000",
			"TRIVIUM_AUTH_RATE": "1000", "TRIVIUM_AUTH_BURST": "1000"}
		if d == sqlstore.Postgres {
			env["TRIVIUM_DB"] = sqltest.Postgres(t)
		}
		test(t, startServer(t, env), env)
	})
}

// setRole gives a registered player a role through the CLI, as an operator would.
func setRole(t testing.TB, env map[string]string, name, role string) {
	t.Helper()
	var out syncBuffer
	if err := run(context.Background(), []string{"users", "role", name, role}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("users role %s %s: %v\n%s", name, role, err, out.String())
	}
}

type caseDoc struct {
	ID, Kind, ContentKind, TargetID, Status, Reason string
	Snapshot                                        json.RawMessage
	Player                                          struct{ ID string }
	Decision                                        *struct{ Decision, Note, ModeratorID string }
	Reports                                         []struct{ ID, ReporterID, Reason string }
	History                                         []auditDoc
}

type auditDoc struct {
	ID                                                           int64
	CaseID, ModeratorID, Action, PlayerID, ContentKind, TargetID string
	Reason, Detail                                               string
	CreatedAt                                                    time.Time
}

func titledQuiz(t testing.TB, s *server, owner *account, title string) string {
	t.Helper()
	var q struct{ ID string }
	expect(t, call(t, "POST", s.URL+"/api/v1/quizzes", owner.Token, map[string]any{
		"title": title, "description": "", "mode": "casual", "scoring": "flat", "public": true,
		"questions": []map[string]any{{"text": "2+2?", "kind": "choice", "choices": []string{"3", "4"}, "answer": 1}},
	}), 201).decode(t, &q)
	return q.ID
}

func report(t testing.TB, s *server, by *account, kind, target, reason string) apiResp {
	t.Helper()
	return call(t, "POST", s.URL+"/api/v1/reports", by.Token, map[string]string{"kind": kind, "targetId": target, "reason": reason})
}

// caseOf finds the one pending case about target.
func caseOf(t testing.TB, s *server, mod *account, kind, target string) caseDoc {
	t.Helper()
	var page struct{ Items []caseDoc }
	expect(t, call(t, "GET", s.URL+"/api/v1/moderation/cases?status=pending&kind="+kind, mod.Token, nil), 200).decode(t, &page)
	var found []caseDoc
	for _, c := range page.Items {
		if c.TargetID == target {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("pending %s cases about %s: %+v (all: %+v)", kind, target, found, page.Items)
	}
	var full caseDoc
	expect(t, call(t, "GET", s.URL+"/api/v1/moderation/cases/"+found[0].ID, mod.Token, nil), 200).decode(t, &full)
	return full
}

func act(t testing.TB, s *server, mod *account, caseID string, body map[string]any) apiResp {
	t.Helper()
	return call(t, "POST", s.URL+"/api/v1/moderation/cases/"+caseID+"/actions", mod.Token, body)
}

// auditOf returns the newest audit entry of a case, checking it names the moderator, the action
// and the reason with a time.
func checkAudit(t *testing.T, s *server, mod *account, caseID, action, reason string) auditDoc {
	t.Helper()
	var page struct{ Items []auditDoc }
	expect(t, call(t, "GET", s.URL+"/api/v1/moderation/audit", mod.Token, nil), 200).decode(t, &page)
	for _, a := range page.Items {
		if a.CaseID == caseID {
			if a.Action != action || a.ModeratorID != mod.ID || a.Reason != reason || time.Since(a.CreatedAt) > time.Minute || a.CreatedAt.After(time.Now().Add(time.Second)) {
				t.Fatalf("audit entry %+v, want %s by %s for %q just now", a, action, mod.ID, reason)
			}
			return a
		}
	}
	t.Fatalf("no audit entry for case %s in %+v", caseID, page.Items)
	return auditDoc{}
}

// inboxHas waits for a moderation notice in a's inbox whose body contains want.
func inboxHas(t *testing.T, s *server, a *account, want string) {
	t.Helper()
	var inbox struct {
		Items []struct{ Topic, Title, Body string }
	}
	testwait.For(t, "the moderation notice for "+a.Name, 15*time.Second, func() bool {
		expect(t, call(t, "GET", s.URL+"/api/v1/notifications", a.Token, nil), 200).decode(t, &inbox)
		for _, n := range inbox.Items {
			if n.Topic == "moderation" && strings.Contains(n.Body, want) {
				return true
			}
		}
		return false
	})
}

func TestReportsOpenOneCasePerTargetWithASnapshotAndAreLimited(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server, env map[string]string) {
		alice, bob, carol, mod := register(t, s, "alice"), register(t, s, "bob"), register(t, s, "carol"), register(t, s, "mod")
		setRole(t, env, "mod", "moderator")
		quiz := titledQuiz(t, s, alice, "Capitals of the world")

		var rep struct{ ID, CaseID, Kind, TargetID string }
		expect(t, report(t, s, bob, "quiz", quiz, "spam in the questions"), 202).decode(t, &rep)
		if rep.CaseID == "" || rep.Kind != "quiz" || rep.TargetID != quiz {
			t.Fatalf("report %+v", rep)
		}
		// One open report per reporter and target; another reporter joins the same case.
		expectProblem(t, report(t, s, bob, "quiz", quiz, "again"), 409, "")
		var rep2 struct{ CaseID string }
		expect(t, report(t, s, carol, "quiz", quiz, "rude"), 202).decode(t, &rep2)
		if rep2.CaseID != rep.CaseID {
			t.Fatalf("second reporter opened case %s, want the open one %s", rep2.CaseID, rep.CaseID)
		}
		// The owner edits the quiz: the case still shows it as it was reported.
		expect(t, call(t, "PUT", s.URL+"/api/v1/quizzes/"+quiz, alice.Token, map[string]any{
			"title": "Innocent title now", "description": "", "mode": "casual", "scoring": "flat", "public": true,
			"questions": []map[string]any{{"text": "2+2?", "kind": "choice", "choices": []string{"3", "4"}, "answer": 1}},
		}), 200)
		var c caseDoc
		expect(t, call(t, "GET", s.URL+"/api/v1/moderation/cases/"+rep.CaseID, mod.Token, nil), 200).decode(t, &c)
		var snap struct{ Title string }
		if err := json.Unmarshal(c.Snapshot, &snap); err != nil || snap.Title != "Capitals of the world" {
			t.Fatalf("snapshot %s (%v), want the reported title", c.Snapshot, err)
		}
		if c.Kind != "report" || c.ContentKind != "quiz" || c.Player.ID != alice.ID || len(c.Reports) != 2 ||
			c.Reports[0].ReporterID != bob.ID || c.Reports[1].ReporterID != carol.ID {
			t.Fatalf("case %+v", c)
		}

		// Refusals: own content, unknown target, bad fields, a player's role.
		expectProblem(t, report(t, s, alice, "quiz", quiz, "mine"), 422, "targetId")
		expectProblem(t, report(t, s, bob, "quiz", "nope", "x"), 404, "")
		expectProblem(t, report(t, s, bob, "poem", quiz, "x"), 422, "kind")
		expectProblem(t, report(t, s, bob, "quiz", quiz, strings.Repeat("x", 501)), 422, "reason")
		expectProblem(t, report(t, s, bob, "quiz", "", "x"), 422, "targetId")
		expectProblem(t, call(t, "GET", s.URL+"/api/v1/moderation/cases/"+rep.CaseID, bob.Token, nil), 403, "")

		// 20 reports an hour per reporter: carol has filed one, 19 more pass, the next is 429.
		for i := 0; i < 19; i++ {
			q := titledQuiz(t, s, alice, fmt.Sprintf("Quiz %d", i))
			expect(t, report(t, s, carol, "quiz", q, "spam"), 202)
		}
		last := titledQuiz(t, s, alice, "One too many")
		r := report(t, s, carol, "quiz", last, "spam")
		expectProblem(t, r, 429, "")
		if r.Header.Get("Retry-After") == "" {
			t.Fatalf("429 without Retry-After: %v", r.Header)
		}
		expect(t, report(t, s, bob, "quiz", last, "spam"), 202) // the limit is per reporter
	})
}

func TestHidingAQuizTakesItOffListingsAndHostingAndTellsItsOwner(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server, env map[string]string) {
		alice, bob, mod := register(t, s, "alice"), register(t, s, "bob"), register(t, s, "mod")
		setRole(t, env, "mod", "moderator")
		quiz := titledQuiz(t, s, alice, "Hateful quiz")
		// A private quiz of alice's on the marketplace whose title the text screen flags: the
		// screen opens its case (players cannot report what they cannot see).
		var sold struct{ ID string }
		expect(t, call(t, "POST", s.URL+"/api/v1/quizzes", alice.Token, map[string]any{
			"title": "Sh1t quiz", "description": "", "mode": "casual", "scoring": "flat", "public": false,
			"questions": []map[string]any{{"text": "2+2?", "kind": "choice", "choices": []string{"3", "4"}, "answer": 1}},
		}), 201).decode(t, &sold)
		var listing struct{ ID string }
		expect(t, call(t, "POST", s.URL+"/api/v1/marketplace/listings", alice.Token, map[string]any{"quizId": sold.ID, "price": 10}), 201).decode(t, &listing)
		listed := func(id string) bool {
			var page struct{ Items []struct{ ID, QuizID string } }
			expect(t, call(t, "GET", s.URL+"/api/v1/marketplace/listings", "", nil), 200).decode(t, &page)
			for _, l := range page.Items {
				if l.ID == id {
					return true
				}
			}
			return false
		}
		inListing := func(id string) bool {
			var page struct{ Items []struct{ ID string } }
			expect(t, call(t, "GET", s.URL+"/api/v1/quizzes", "", nil), 200).decode(t, &page)
			for _, q := range page.Items {
				if q.ID == id {
					return true
				}
			}
			return false
		}
		if !inListing(quiz) || !listed(listing.ID) {
			t.Fatal("the quiz and the listing are not listed before the action")
		}
		expect(t, report(t, s, bob, "quiz", quiz, "hateful"), 202)
		c := caseOf(t, s, mod, "quiz", quiz)

		// Validation first: unknown action, one that does not fit the kind, no reason.
		expectProblem(t, act(t, s, mod, c.ID, map[string]any{"action": "explode", "reason": "x"}), 422, "action")
		expectProblem(t, act(t, s, mod, c.ID, map[string]any{"action": "reset_name", "reason": "x"}), 422, "action")
		expectProblem(t, act(t, s, mod, c.ID, map[string]any{"action": "hide_quiz"}), 422, "reason")
		expectProblem(t, act(t, s, bob, c.ID, map[string]any{"action": "hide_quiz", "reason": "x"}), 403, "")

		var decided caseDoc
		expect(t, act(t, s, mod, c.ID, map[string]any{"action": "hide_quiz", "reason": "hate speech in question 1"}), 200).decode(t, &decided)
		if decided.Status != "decided" || decided.Decision == nil || decided.Decision.Decision != "hide_quiz" ||
			decided.Decision.ModeratorID != mod.ID || len(decided.History) != 1 || decided.History[0].Action != "hide_quiz" {
			t.Fatalf("decided case %+v", decided)
		}
		expectProblem(t, act(t, s, mod, c.ID, map[string]any{"action": "dismiss", "reason": "changed my mind"}), 409, "")
		checkAudit(t, s, mod, c.ID, "hide_quiz", "hate speech in question 1")

		if inListing(quiz) {
			t.Fatal("the hidden quiz is still listed")
		}
		expectProblem(t, call(t, "GET", s.URL+"/api/v1/quizzes/"+quiz, bob.Token, nil), 404, "")
		p := expectProblem(t, call(t, "POST", s.URL+"/api/v1/games", alice.Token, map[string]string{"quizId": quiz}), 403, "")
		if !strings.Contains(p.Detail, "hate speech in question 1") {
			t.Fatalf("hosting a hidden quiz: %+v, want the moderator's reason", p)
		}
		expectProblem(t, call(t, "POST", s.URL+"/api/v1/quizzes/"+quiz+"/plays", alice.Token, nil), 403, "")
		var own struct{ HiddenReason string }
		expect(t, call(t, "GET", s.URL+"/api/v1/quizzes/"+quiz, alice.Token, nil), 200).decode(t, &own)
		if own.HiddenReason != "hate speech in question 1" {
			t.Fatalf("the owner sees hiddenReason %q", own.HiddenReason)
		}
		inboxHas(t, s, alice, "hate speech in question 1")

		// The marketplace drops listings of a hidden quiz too.
		expectProblem(t, report(t, s, bob, "quiz", sold.ID, "rude"), 404, "") // private: bob cannot see it
		c2 := caseOf(t, s, mod, "quiz", sold.ID)
		if c2.Kind != "screen" || !strings.Contains(c2.Reason, "title") {
			t.Fatalf("screen case %+v", c2)
		}
		if !listed(listing.ID) {
			t.Fatal("the flagged quiz's listing is not listed before the action")
		}
		expect(t, act(t, s, mod, c2.ID, map[string]any{"action": "hide_quiz", "reason": "crude title"}), 200)
		if listed(listing.ID) {
			t.Fatal("the listing of a hidden quiz is still on the marketplace")
		}
		expectProblem(t, call(t, "GET", s.URL+"/api/v1/marketplace/listings/"+listing.ID, "", nil), 404, "")
	})
}

func TestSuspendingAPlayerRefusesTheirTokenClosesTheirSocketAndLogin(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server, env map[string]string) {
		alice, bob, mod := register(t, s, "alice"), register(t, s, "bob"), register(t, s, "mod")
		setRole(t, env, "mod", "moderator")
		quiz := titledQuiz(t, s, bob, "Bob's quiz")
		ws := dial(t, s, bob)
		expect(t, report(t, s, alice, "player_name", bob.ID, "impersonates staff"), 202)
		c := caseOf(t, s, mod, "player_name", bob.ID)
		expectProblem(t, act(t, s, mod, c.ID, map[string]any{"action": "suspend", "reason": "x"}), 422, "durationHours")
		expectProblem(t, act(t, s, mod, c.ID, map[string]any{"action": "suspend", "reason": "x", "durationHours": 8761}), 422, "durationHours")
		expect(t, act(t, s, mod, c.ID, map[string]any{"action": "suspend", "reason": "impersonation", "durationHours": 48}), 200)
		a := checkAudit(t, s, mod, c.ID, "suspend", "impersonation")
		if a.PlayerID != bob.ID || !strings.HasPrefix(a.Detail, "suspended until ") {
			t.Fatalf("audit %+v", a)
		}

		testwait.For(t, "bob's socket to close", 10*time.Second, func() bool { return ws.closeErr() != nil })
		expectProblem(t, call(t, "GET", s.URL+"/api/v1/me", bob.Token, nil), 401, "")
		expectProblem(t, call(t, "POST", s.URL+"/api/v1/games", bob.Token, map[string]string{"quizId": quiz}), 401, "")
		expectProblem(t, call(t, "POST", s.URL+"/api/v1/avatars/uploads", bob.Token, map[string]any{"contentType": "image/jpeg", "size": 1000}), 401, "")
		expectProblem(t, call(t, "POST", s.URL+"/api/v1/ws-tickets", bob.Token, nil), 401, "")
		p := expectProblem(t, call(t, "POST", s.URL+"/api/v1/auth/login", "", map[string]string{"username": "bob", "password": "correct horse battery"}), 403, "")
		if !strings.Contains(p.Detail, "suspended") {
			t.Fatalf("login of a suspended player: %+v", p)
		}
		// Others are untouched.
		expect(t, call(t, "GET", s.URL+"/api/v1/me", alice.Token, nil), 200)
	})
}

func TestResettingANameAndAnAvatar(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server, env map[string]string) {
		alice, bob, mod := register(t, s, "alice"), register(t, s, "bob"), register(t, s, "mod")
		setRole(t, env, "mod", "moderator")
		expect(t, call(t, "PATCH", s.URL+"/api/v1/me", bob.Token, map[string]string{"displayName": "Official Admin"}), 200)
		photo := corpus.JPEG(corpus.Quadrants(200, 200))
		in := presign(t, s, bob, "image/jpeg", len(photo))
		if code := putBytes(t, in.URL, in.Headers, photo); code != 200 {
			t.Fatalf("PUT %d", code)
		}
		st := pollStatus(t, s, bob, in.UploadID, "accepted")

		expect(t, report(t, s, alice, "player_name", bob.ID, "impersonates staff"), 202)
		c := caseOf(t, s, mod, "player_name", bob.ID)
		var snap struct{ DisplayName string }
		if err := json.Unmarshal(c.Snapshot, &snap); err != nil || snap.DisplayName != "Official Admin" {
			t.Fatalf("name snapshot %s", c.Snapshot)
		}
		expectProblem(t, act(t, s, mod, c.ID, map[string]any{"action": "reset_avatar", "reason": "x"}), 422, "action")
		expect(t, act(t, s, mod, c.ID, map[string]any{"action": "reset_name", "reason": "impersonation"}), 200)
		want := "Player " + strings.ToUpper(bob.ID[len(bob.ID)-4:])
		var pub struct {
			DisplayName string
			Avatar      *struct{ URL string }
		}
		expect(t, call(t, "GET", s.URL+"/api/v1/players/"+bob.ID, "", nil), 200).decode(t, &pub)
		if pub.DisplayName != want {
			t.Fatalf("display name %q after reset_name, want %q", pub.DisplayName, want)
		}
		if a := checkAudit(t, s, mod, c.ID, "reset_name", "impersonation"); a.Detail != "display name reset to "+want {
			t.Fatalf("audit %+v", a)
		}
		inboxHas(t, s, bob, "impersonation")

		expect(t, report(t, s, alice, "player_avatar", bob.ID, "offensive picture"), 202)
		c = caseOf(t, s, mod, "player_avatar", bob.ID)
		expect(t, act(t, s, mod, c.ID, map[string]any{"action": "reset_avatar", "reason": "offensive"}), 200)
		checkAudit(t, s, mod, c.ID, "reset_avatar", "offensive")
		if resp, _ := fetch(t, st.Avatar.URL); resp.StatusCode != 404 {
			t.Fatalf("the reset avatar answers %d", resp.StatusCode)
		}
		expect(t, call(t, "GET", s.URL+"/api/v1/players/"+bob.ID, "", nil), 200).decode(t, &pub)
		if pub.Avatar != nil && pub.Avatar.URL != "" {
			t.Fatalf("public profile still shows avatar %+v", pub.Avatar)
		}
		inboxHas(t, s, bob, "offensive")
		// Dismiss closes a case without effect and without a notice.
		expect(t, report(t, s, bob, "player_name", alice.ID, "I do not like it"), 202)
		c = caseOf(t, s, mod, "player_name", alice.ID)
		expect(t, act(t, s, mod, c.ID, map[string]any{"action": "dismiss", "reason": "nothing wrong"}), 200)
		checkAudit(t, s, mod, c.ID, "dismiss", "nothing wrong")
		expect(t, call(t, "GET", s.URL+"/api/v1/players/"+alice.ID, "", nil), 200).decode(t, &pub)
		if pub.DisplayName != "alice" {
			t.Fatalf("dismiss changed the name to %q", pub.DisplayName)
		}
	})
}

var paramRe = regexp.MustCompile(`\{[^}]*\}`)

// Every moderation and admin operation of the served OpenAPI document (kept equal to
// gateway/routes.go by the gateway's tests) states the role it needs in x-role; each is called
// anonymously and as a guest, a player, a moderator and an admin.
func TestModerationAndAdminRoutesCheckRoles(t *testing.T) {
	env := map[string]string{"TRIVIUM_DATA": t.TempDir(), "TRIVIUM_API_RATE": "100000", "TRIVIUM_API_BURST": "100000",
		"TRIVIUM_AUTH_RATE": "1000", "TRIVIUM_AUTH_BURST": "1000"}
	s := startServer(t, env)
	visitor, player, mod, admin := guest(t, s, "visitor"), register(t, s, "player"), register(t, s, "mod"), register(t, s, "root")
	setRole(t, env, "mod", "moderator")
	setRole(t, env, "root", "admin")

	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(expect(t, call(t, "GET", s.URL+"/api/v1/openapi.yaml", "", nil), 200).Body, &doc); err != nil {
		t.Fatal(err)
	}
	// rank orders the callers; an operation needing role admits rank >= need[role].
	callers := []struct {
		name  string
		token string
		rank  int
	}{{"anonymous", "", 0}, {"guest", visitor.Token, 1}, {"player", player.Token, 2}, {"moderator", mod.Token, 3}, {"admin", admin.Token, 4}}
	need := map[string]int{"player": 1, "account": 2, "moderator": 3, "admin": 4}
	checked := 0
	for path, ops := range doc.Paths {
		for method, node := range ops {
			var op struct {
				Tags []string `yaml:"tags"`
				Role string   `yaml:"x-role"`
			}
			if method == "parameters" || node.Decode(&op) != nil {
				continue
			}
			scoped := false
			for _, tag := range op.Tags {
				scoped = scoped || tag == "moderation" || tag == "admin"
			}
			if !scoped {
				continue
			}
			want, ok := need[op.Role]
			if !ok {
				t.Errorf("%s %s (tags %v) has x-role %q: say which role it needs", strings.ToUpper(method), path, op.Tags, op.Role)
				continue
			}
			url := s.URL + paramRe.ReplaceAllString(path, "1")
			for _, c := range callers {
				var body any
				if method == "post" {
					body = map[string]any{}
				}
				r := call(t, strings.ToUpper(method), url, c.token, body)
				switch {
				case c.rank == 0 && r.Status != 401:
					t.Errorf("%s %s anonymously: %d, want 401", method, path, r.Status)
				case c.rank > 0 && c.rank < want && r.Status != 403:
					t.Errorf("%s %s as %s: %d, want 403 (needs %s)", method, path, c.name, r.Status, op.Role)
				case c.rank >= want && (r.Status == 401 || r.Status == 403 || r.Status >= 500):
					t.Errorf("%s %s as %s: %d %s, want it admitted (needs %s)", method, path, c.name, r.Status, r.Body, op.Role)
				}
				if r.Status >= 400 && r.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s %s as %s: %d with %q, want a problem", method, path, c.name, r.Status, r.Header.Get("Content-Type"))
				}
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("only %d moderation and admin operations checked", checked)
	}
}

func TestAReportedChatMessageIsDeletedForEveryClientAndItsAuthorMuted(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *server, env map[string]string) {
		host, bob, carol, stranger, mod := register(t, s, "host"), register(t, s, "bob"), register(t, s, "carol"), register(t, s, "stranger"), register(t, s, "mod")
		setRole(t, env, "mod", "moderator")
		quiz := titledQuiz(t, s, host, "Chatty quiz")
		code := createGame(t, s, host, quiz)
		joinAll(t, s, code, host, bob, carol)

		ref := bob.client.send("chat", map[string]string{"text": "you are all idiots"})
		if f := bob.client.reply(ref); f.Type != "ack" {
			t.Fatalf("chat: %s %s", f.Type, f.Data)
		}
		var msg struct{ ID, Text string }
		carol.client.waitFrame("chat", "").decodeInto(t, &msg)
		if msg.ID == "" || msg.Text != "you are all idiots" {
			t.Fatalf("chat frame %+v: want a server id", msg)
		}
		target := code + "/" + msg.ID
		expectProblem(t, report(t, s, stranger, "chat", target, "rude"), 404, "") // not in the game: never saw it
		expectProblem(t, report(t, s, carol, "chat", code+"/999", "rude"), 404, "")
		expectProblem(t, report(t, s, carol, "chat", code, "rude"), 422, "targetId")
		expectProblem(t, report(t, s, bob, "chat", target, "mine"), 422, "targetId")
		expect(t, report(t, s, carol, "chat", strings.ToLower(code)+"/"+msg.ID, "insults"), 202)
		c := caseOf(t, s, mod, "chat", target)
		var snap struct{ GameID, Code, MessageID, AuthorID, AuthorName, Text string }
		if err := json.Unmarshal(c.Snapshot, &snap); err != nil || snap.Text != "you are all idiots" || snap.AuthorID != bob.ID ||
			snap.Code != code || snap.MessageID != msg.ID || snap.GameID == "" || c.Player.ID != bob.ID {
			t.Fatalf("chat case %+v snapshot %s", c, c.Snapshot)
		}

		expect(t, act(t, s, mod, c.ID, map[string]any{"action": "delete_chat", "reason": "insults"}), 200)
		for _, a := range []*account{host, bob, carol} {
			var del struct{ ID string }
			a.client.waitFrame("chat_deleted", "").decodeInto(t, &del)
			if del.ID != msg.ID {
				t.Fatalf("%s got chat_deleted %+v, want %s", a.Name, del, msg.ID)
			}
		}
		if a := checkAudit(t, s, mod, c.ID, "delete_chat", "insults"); !strings.Contains(a.Detail, "removed from game "+code) {
			t.Fatalf("audit %+v", a)
		}
		inboxHas(t, s, bob, "insults")
		// A client that comes back gets the history without it.
		again := dial(t, s, carol)
		f := again.reply(again.send("join", map[string]string{"code": code}))
		var st struct{ Chat []struct{ ID string } }
		if err := json.Unmarshal(f.Data, &st); err != nil || f.Type != "state" {
			t.Fatalf("rejoin %s %s", f.Type, f.Data)
		}
		for _, m := range st.Chat {
			if m.ID == msg.ID {
				t.Fatalf("the deleted message is still in the history: %+v", st.Chat)
			}
		}

		// Mute: bob's next message is refused with code muted; carol still chats.
		ref = bob.client.send("chat", map[string]string{"text": "and another thing"})
		bob.client.reply(ref)
		bob.client.waitFrame("chat", "").decodeInto(t, &msg)
		expect(t, report(t, s, carol, "chat", code+"/"+msg.ID, "keeps going"), 202)
		c = caseOf(t, s, mod, "chat", code+"/"+msg.ID)
		expectProblem(t, act(t, s, mod, c.ID, map[string]any{"action": "mute", "reason": "x"}), 422, "durationHours")
		expect(t, act(t, s, mod, c.ID, map[string]any{"action": "mute", "reason": "repeated insults", "durationHours": 2}), 200)
		if a := checkAudit(t, s, mod, c.ID, "mute", "repeated insults"); !strings.HasPrefix(a.Detail, "muted in chat until ") {
			t.Fatalf("audit %+v", a)
		}
		ref = bob.client.send("chat", map[string]string{"text": "can you hear me"})
		if f := bob.client.reply(ref); f.Type != "error" || !strings.Contains(string(f.Data), `"code":"muted"`) {
			t.Fatalf("a muted player's chat: %s %s", f.Type, f.Data)
		}
		ref = carol.client.send("chat", map[string]string{"text": "finally quiet"})
		if f := carol.client.reply(ref); f.Type != "ack" {
			t.Fatalf("carol's chat: %s %s", f.Type, f.Data)
		}
		inboxHas(t, s, bob, "repeated insults")
	})
}

func (f frame) decodeInto(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(f.Data, v); err != nil {
		t.Fatalf("decode %s frame %s: %v", f.Type, f.Data, err)
	}
}
