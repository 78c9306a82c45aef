package games

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/trivium-game/trivium/services"
)

// Issue 17: chat messages carry server ids, a participant can look one up to report it, and a
// moderator's deletion removes it from the history and tells every client.

func TestChatMessagesGetIdsAndADeletionLeavesTheHistory(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(1, 20, 0)), 2)
	first := mustEvents(t)(g.Chat(t0, "p1", "hello"))[0]
	second := mustEvents(t)(g.Chat(t0, "host", "welcome"))[0]
	a, b := first.Data.(ChatData), second.Data.(ChatData)
	if a.ID == "" || a.ID == b.ID || a.ID != fmt.Sprint(first.Seq) {
		t.Fatalf("chat ids %q and %q (seqs %d, %d)", a.ID, b.ID, first.Seq, second.Seq)
	}
	if m, found, participant := g.ChatMessage(a.ID, "p2"); !found || !participant || m.Text != "hello" || m.From.ID != "p1" {
		t.Fatalf("lookup: %+v %v %v", m, found, participant)
	}
	if _, found, participant := g.ChatMessage(a.ID, "stranger"); !found || participant {
		t.Fatalf("a stranger is a participant (%v) or the message is gone (%v)", participant, found)
	}
	if _, found, _ := g.ChatMessage("999", "p1"); found {
		t.Fatal("found a message that was never sent")
	}

	evs := mustEvents(t)(g.DeleteChat(a.ID))
	wantTypes(t, evs, EventChatDeleted)
	if d := evs[0].Data.(ChatDeletedData); d.ID != a.ID {
		t.Fatalf("chat_deleted %+v", d)
	}
	st := g.Snapshot("p2")
	if len(st.Chat) != 1 || st.Chat[0].ID != b.ID {
		t.Fatalf("history after the deletion %+v", st.Chat)
	}
	_, err := g.DeleteChat(a.ID)
	wantCode(t, err, services.ENotFound)

	// A snapshot keeps the ids and the deletion.
	raw, err := g.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	back, err := RestoreGame(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, _ := back.ChatMessage(b.ID, "p1"); !found {
		t.Fatal("the restored game lost the kept message")
	}
	if _, found, _ := back.ChatMessage(a.ID, "p1"); found {
		t.Fatal("the restored game has the deleted message back")
	}
}

func TestAGameKeepsABoundedChatHistory(t *testing.T) {
	g := newGame(t, quiz(services.ModeCasual, choice(1, 20, 0)), 1)
	var ids []string
	for i := range ChatKept + 5 {
		ids = append(ids, mustEvents(t)(g.Chat(t0, "p1", fmt.Sprint("m", i)))[0].Data.(ChatData).ID)
	}
	if _, found, _ := g.ChatMessage(ids[4], "p1"); found {
		t.Fatal("a message older than ChatKept is still kept")
	}
	if _, found, _ := g.ChatMessage(ids[5], "p1"); !found {
		t.Fatal("the oldest of the last ChatKept messages is gone")
	}
	if st := g.Snapshot("p1"); len(st.Chat) != ChatHistory || st.Chat[ChatHistory-1].ID != ids[len(ids)-1] {
		t.Fatalf("state carries %d messages, want the last %d", len(st.Chat), ChatHistory)
	}
}

func TestARoomDeletesChatForEveryClientDurablyAndAnswersLookups(t *testing.T) {
	j := newMemJournal()
	e := newJournalEnv(t, quiz(services.ModeCasual, choice(1, 10, 0)), j)
	p1, p2 := e.player(t, "p1"), e.player(t, "p2")
	e.submit(t, p1, info("p1"), CmdChat, "c", map[string]any{"text": "something awful"})
	f := p2.waitFrame(t, EventChat, "")
	var msg ChatData
	if err := json.Unmarshal(f.Data, &msg); err != nil || msg.ID == "" {
		t.Fatalf("chat frame %s without an id", f.raw)
	}

	desk := newClient("reporter")
	e.submit(t, desk, info("p2"), CmdChatMessage, "q", map[string]string{"id": msg.ID})
	var look ChatLookup
	if err := json.Unmarshal(desk.waitFrame(t, FrameChatMessage, "q").Data, &look); err != nil {
		t.Fatal(err)
	}
	if !look.Found || !look.Participant || look.Message.Text != "something awful" || look.GameID != e.room.ID() {
		t.Fatalf("lookup %+v", look)
	}

	mod := newClient("moderation")
	e.submit(t, mod, PlayerInfo{}, CmdDeleteChat, "d", map[string]string{"id": msg.ID})
	mod.waitFrame(t, FrameAck, "d")
	for _, c := range []*fakeClient{e.host, p1, p2} {
		if d := c.waitFrame(t, EventChatDeleted, ""); string(d.Data) != `{"id":"`+msg.ID+`"}` {
			t.Fatalf("%s got chat_deleted %s", c.id, d.raw)
		}
	}
	e.submit(t, mod, PlayerInfo{}, CmdDeleteChat, "d2", map[string]string{"id": msg.ID})
	if f := mod.waitFrame(t, FrameError, "d2"); !strings.Contains(string(f.Data), `"code":"not_found"`) {
		t.Fatalf("second deletion %s", f.raw)
	}
	// A returning player's state no longer has it, and neither has the log replayed.
	back := newClient("p1")
	if st := e.join(t, back, info("p1")); len(st.Chat) != 0 {
		t.Fatalf("state after the deletion carries %+v", st.Chat)
	}
	replayed, err := Replay(j.fullLog(e.room.Code()))
	if err != nil {
		t.Fatal(err)
	}
	if _, found, _ := replayed.ChatMessage(msg.ID, "p1"); found {
		t.Fatal("the replayed log has the deleted message back")
	}
}
