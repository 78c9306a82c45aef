package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/internal/testwait"
	"github.com/trivium-game/trivium/moderation/corpus"
)

type questionImageStatus struct {
	UploadID string `json:"uploadId"`
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	Avatar   any    `json:"avatar"`
	Image    *struct {
		URL          string `json:"url"`
		ThumbnailURL string `json:"thumbnailUrl"`
	} `json:"image"`
}

func presignQuestionImage(t *testing.T, s *server, a *account, n int) uploadIntent {
	t.Helper()
	var in uploadIntent
	expect(t, call(t, "POST", s.URL+"/api/v1/question-images/uploads", a.Token,
		map[string]any{"contentType": "image/jpeg", "contentLength": n}), 201).decode(t, &in)
	return in
}

func pollQuestionImage(t *testing.T, s *server, a *account, id, want string) questionImageStatus {
	t.Helper()
	var st questionImageStatus
	testwait.For(t, "question image "+id+" to be "+want, 20*time.Second, func() bool {
		st = questionImageStatus{}
		expect(t, call(t, "GET", s.URL+"/api/v1/question-images/uploads/"+id, a.Token, nil), 200).decode(t, &st)
		return st.Status == want
	})
	return st
}

func imageQuiz(imageID string) []map[string]any {
	return []map[string]any{
		{"text": "Which colour is top left?", "kind": "choice", "choices": []string{"red", "blue"}, "answer": 0, "timeLimitSec": 30, "imageId": imageID},
		{"text": "No picture here", "kind": "truefalse", "answer": true, "timeLimitSec": 30},
	}
}

// An author's question image goes through the presigned upload and moderation of avatars on
// the embedded default: accepted, it is served immutable from the CDN path and the question
// frame carries its URL; pending or rejected, the quiz saves but cannot be hosted (422), and the
// rejection reaches the author's inbox; another player's image id is refused at save (422).
func TestQuestionImagesEndToEnd(t *testing.T) {
	var labels atomic.Value
	labels.Store(`[]`)
	classifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"labels":`+labels.Load().(string)+`}`)
	}))
	defer classifier.Close()
	s := startServer(t, map[string]string{"TRIVIUM_MODERATION": classifier.URL})
	api := s.URL + "/api/v1"
	alice, bob := register(t, s, "alice"), register(t, s, "bob")

	photo := corpus.JPEG(corpus.Quadrants(400, 300))
	in := presignQuestionImage(t, s, alice, len(photo))
	if !strings.Contains(in.URL, "/blob/uploads/"+alice.ID+"/") {
		t.Fatalf("intent %+v", in)
	}
	// An id of one purpose is not found under the other's routes.
	expect(t, call(t, "GET", api+"/avatars/uploads/"+in.UploadID, alice.Token, nil), 404)
	expect(t, call(t, "GET", api+"/question-images/uploads/"+in.UploadID, bob.Token, nil), 404)

	// Pending: the quiz saves, but hosting it is refused on that question's image.
	pending := createQuiz(t, s, alice, "casual", imageQuiz(in.UploadID))
	p := expectProblem(t, call(t, "POST", api+"/games", alice.Token, map[string]string{"quizId": pending}), 422, "questions[0].imageId")
	if !strings.Contains(p.Errors["questions[0].imageId"], "awaiting_upload") {
		t.Fatalf("pending image problem %+v", p)
	}

	if code := putBytes(t, in.URL, in.Headers, photo); code != 200 {
		t.Fatalf("PUT %d", code)
	}
	st := pollQuestionImage(t, s, alice, in.UploadID, "accepted")
	if st.Avatar != nil || st.Image == nil || !strings.HasPrefix(st.Image.URL, s.URL+"/questions/") {
		t.Fatalf("accepted question image %+v", st)
	}
	resp, body := fetch(t, st.Image.URL)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || len(body) == 0 {
		t.Fatalf("%s: %d %v", st.Image.URL, resp.StatusCode, resp.Header)
	}
	var me struct{ Avatar struct{ URL string } }
	expect(t, call(t, "GET", api+"/me", alice.Token, nil), 200).decode(t, &me)
	if me.Avatar.URL != "" {
		t.Fatalf("a question image became alice's avatar: %+v", me)
	}

	// Another player cannot use alice's image.
	expectProblem(t, call(t, "POST", api+"/quizzes", bob.Token, map[string]any{"title": "Stolen", "description": "", "mode": "casual",
		"scoring": "flat", "public": false, "questions": imageQuiz(in.UploadID)}), 422, "questions[0].imageId")

	// Accepted: the pending quiz is now hostable and the question frame carries the image.
	code := createGame(t, s, alice, pending)
	joinAll(t, s, code, alice, bob)
	alice.client.reply(alice.client.send("start", struct{}{}))
	alice.client.send("next", struct{}{})
	var q struct {
		Index    int    `json:"index"`
		ImageURL string `json:"imageUrl"`
	}
	if err := json.Unmarshal(bob.client.waitFrame("question", "").Data, &q); err != nil || q.Index != 0 || q.ImageURL != st.Image.URL {
		t.Fatalf("question frame %+v (%v), want imageUrl %s", q, err, st.Image.URL)
	}
	bob.client.reply(bob.client.send("answer", map[string]any{"index": 0, "answer": 0}))
	alice.client.send("next", struct{}{})
	q.ImageURL = ""
	if err := json.Unmarshal(bob.client.waitFrame("question", "").Data, &q); err != nil || q.Index != 1 || q.ImageURL != "" {
		t.Fatalf("second question frame %+v (%v), want no image", q, err)
	}

	// Rejected: the quiz cannot be hosted and the author is told in the inbox.
	labels.Store(`[{"name":"Violence","confidence":99}]`)
	bad := presignQuestionImage(t, s, alice, len(photo))
	if code := putBytes(t, bad.URL, bad.Headers, photo); code != 200 {
		t.Fatalf("PUT %d", code)
	}
	pollQuestionImage(t, s, alice, bad.UploadID, "rejected")
	rejected := createQuiz(t, s, alice, "casual", imageQuiz(bad.UploadID))
	p = expectProblem(t, call(t, "POST", api+"/games", alice.Token, map[string]string{"quizId": rejected}), 422, "questions[0].imageId")
	if !strings.Contains(p.Errors["questions[0].imageId"], "rejected") {
		t.Fatalf("rejected image problem %+v", p)
	}
	type item struct {
		Topic, Title, Body string
		Data               struct{ UploadID, Status string }
	}
	testwait.For(t, "the rejection in alice's inbox", 15*time.Second, func() bool {
		var page struct{ Items []item }
		expect(t, call(t, "GET", api+"/notifications", alice.Token, nil), 200).decode(t, &page)
		for _, it := range page.Items {
			if it.Topic == "question_image" && it.Data.UploadID == bad.UploadID && it.Data.Status == "rejected" &&
				it.Title == "Your question image was not accepted" {
				return true
			}
		}
		return false
	})
}
