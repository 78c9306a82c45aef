package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// startBinary runs `trivium serve` as a real process on the embedded default, on addr and data.
func startBinary(t *testing.T, bin, addr, data string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "TRIVIUM_ADDR="+addr, "TRIVIUM_DATA="+data, "TRIVIUM_LOG_LEVEL=info", "TRIVIUM_SEED=0")
	p := startProc(t, "trivium", cmd)
	waitReady(t, p, "http://"+addr+"/readyz")
	return p
}

// Issue 13: kill -9 of a real server mid-question loses no acknowledged answer. After a restart
// on the same data directory the game is there in its question phase, resumed players keep
// their identity and score, the open question keeps its deadline, an answer acknowledged before
// the kill still counts, and the game plays on to the end.
func TestKill9MidQuestionAndRestartKeepsTheGame(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := startBinary(t, bin, addr, data)
	s := &server{URL: "http://" + addr}

	host, alice, bob := register(t, s, "host"), register(t, s, "alice"), register(t, s, "bob")
	quizID := createQuiz(t, s, host, "casual", []map[string]any{
		{"text": "2+2?", "kind": "choice", "choices": []string{"3", "4"}, "answer": 1, "timeLimitSec": 120},
		{"text": "Sky?", "kind": "choice", "choices": []string{"blue", "green"}, "answer": 0, "timeLimitSec": 120},
	})
	code := createGame(t, s, host, quizID)
	hc, ac, bc := dial(t, s, host), dial(t, s, alice), dial(t, s, bob)
	for _, c := range []*wsClient{hc, ac, bc} {
		if f := c.reply(c.send("join", map[string]string{"code": code})); f.Type != "state" {
			t.Fatalf("join: %s %s", f.Type, f.Data)
		}
	}
	var aliceState struct {
		ResumeToken string
		You         struct{ PlayerID string }
	}
	if err := json.Unmarshal(ac.reply("r1").Data, &aliceState); err != nil || aliceState.ResumeToken == "" {
		t.Fatalf("alice's resume token: %v", err)
	}
	hc.reply(hc.send("start", struct{}{}))
	var q struct{ Deadline int64 }
	if err := json.Unmarshal(ac.waitFrame("question", "").Data, &q); err != nil || q.Deadline == 0 {
		t.Fatalf("question: %v", err)
	}
	if f := ac.reply(ac.send("answer", map[string]any{"index": 0, "answer": 1})); f.Type != "ack" {
		t.Fatalf("alice's answer: %s %s", f.Type, f.Data)
	}

	p.kill(t) // SIGKILL: nothing is flushed, nothing said goodbye
	startBinary(t, bin, addr, data)

	var info struct{ Phase string }
	expect(t, call(t, "GET", s.URL+"/api/v1/games/"+code, "", nil), 200).decode(t, &info)
	if info.Phase != "question" {
		t.Fatalf("game after the restart is in phase %q, want question", info.Phase)
	}
	ac2 := dial(t, s, alice)
	var st struct {
		Phase    string
		Question *struct{ Deadline int64 }
		You      struct {
			PlayerID string
			Score    int
			Answered bool
		}
	}
	f := ac2.reply(ac2.send("join", map[string]string{"code": code, "resume": aliceState.ResumeToken}))
	if f.Type != "state" {
		t.Fatalf("alice resumes: %s %s", f.Type, f.Data)
	}
	if err := json.Unmarshal(f.Data, &st); err != nil {
		t.Fatal(err)
	}
	if st.You.PlayerID != aliceState.You.PlayerID || st.Phase != "question" || !st.You.Answered ||
		st.Question == nil || st.Question.Deadline != q.Deadline {
		t.Fatalf("alice's resumed state: %s (question deadline before the kill %d)", f.Data, q.Deadline)
	}
	if f := ac2.reply(ac2.send("answer", map[string]any{"index": 0, "answer": 1})); f.Type != "error" ||
		!json.Valid(f.Data) || string(mustField(t, f.Data, "code")) != `"already_answered"` {
		t.Fatalf("alice answering again: %s %s", f.Type, f.Data)
	}
	hc2, bc2 := dial(t, s, host), dial(t, s, bob)
	for _, c := range []*wsClient{hc2, bc2} {
		if f := c.reply(c.send("join", map[string]string{"code": code})); f.Type != "state" {
			t.Fatalf("rejoin: %s %s", f.Type, f.Data)
		}
	}
	hc2.reply(hc2.send("reveal", struct{}{}))
	rv := ac2.waitFrame("reveal", "")
	if string(mustField(t, mustField(t, rv.Data, "you"), "correct")) != "true" {
		t.Fatalf("alice's answer acknowledged before the kill was not scored: %s", rv.Data)
	}
	hc2.reply(hc2.send("next", struct{}{}))
	bc2.waitFrame("question", "")
	bc2.reply(bc2.send("answer", map[string]any{"index": 1, "answer": 0}))
	hc2.reply(hc2.send("reveal", struct{}{}))
	hc2.reply(hc2.send("next", struct{}{}))
	fin := bc2.waitFrame("finished", "")
	es := standings(t, fin)
	if scoreOf(es, alice.ID) != 1000 || scoreOf(es, bob.ID) != 1000 {
		t.Fatalf("final standings: %s", fin.Data)
	}
}

func mustField(t *testing.T, obj json.RawMessage, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatalf("%s: %v", obj, err)
	}
	return m[name]
}
