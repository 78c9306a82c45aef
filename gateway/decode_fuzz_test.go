package gateway

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trivium-game/trivium/services"
)

// fuzzRequest has the shapes request types have: strings, numbers, a pointer, slices, a map,
// the custom-decoded Answer and a nested quiz.
type fuzzRequest struct {
	Name   string          `json:"name"`
	N      int             `json:"n"`
	Ratio  float64         `json:"ratio"`
	Public *bool           `json:"public"`
	Tags   []string        `json:"tags"`
	Meta   map[string]int8 `json:"meta"`
	Answer services.Answer `json:"answer"`
	Quiz   *services.Quiz  `json:"quiz"`
}

func (r *fuzzRequest) Valid() map[string]string {
	if r.N < 0 {
		return map[string]string{"n": "must not be negative"}
	}
	return nil
}

// FuzzDecode sends arbitrary bodies and Content-Types through decode and fail, as every handler
// does. Properties: a refusal is never a 5xx but one of 400, 413, 415, 422 as problem+json with
// its code (and per-field errors on 422); a non-JSON media type is always 415; whatever is
// accepted lies within MaxJSONBody and survives a JSON round trip through decode unchanged.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct{ body, ct string }{
		{`{"name":"a","n":1,"ratio":0.5,"public":true,"tags":["x"],"meta":{"k":1},"answer":2}`, "application/json"},
		{`{"answer":"text","quiz":{"title":"T","questions":[{"text":"q","answer":"a"}]}}`, "application/json; charset=utf-8"},
		{`{"name":`, "application/json"},
		{``, ""},
		{`{} {}`, "application/json"},
		{`{"admin":true}`, "application/json"},
		{`{"n":"one"}`, "application/json"},
		{`{"n":-1}`, "application/json"},
		{`{"meta":{"k":300}}`, "application/json"},
		{`{"answer":1e3}`, "application/json"},
		{`{"answer":{"x":1}}`, "application/json"},
		{`{"quiz":{"questions":[{"answer":[1]}]}}`, "application/json"},
		{`{"quiz":{"createdAt":"yesterday"}}`, "application/json"},
		{`name=a`, "application/x-www-form-urlencoded"},
		{`{}`, "application/json; charset"},
		{"\"\xff\"", "application/json"},
		{`{"name":"a"}` + strings.Repeat(" ", MaxJSONBody), "application/json"},
		{`{"name":"` + strings.Repeat("x", MaxJSONBody) + `"}`, "application/json"},
	} {
		f.Add([]byte(s.body), s.ct)
	}
	log := slog.New(slog.DiscardHandler)
	run := func(body []byte, ct string) (*httptest.ResponseRecorder, *fuzzRequest) {
		var got *fuzzRequest
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, err := decode[fuzzRequest](w, r)
			if err != nil {
				fail(log, w, r, err)
				return
			}
			got = &v
			w.WriteHeader(http.StatusNoContent)
		})
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w, got
	}
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		w, got := run(body, ct)
		mt, _, cterr := mime.ParseMediaType(ct)
		notJSON := ct != "" && (cterr != nil || mt != "application/json")
		if got == nil {
			checkRefusal(t, w, body)
			if notJSON && w.Code != http.StatusUnsupportedMediaType {
				t.Fatalf("Content-Type %q answered %d, want 415", ct, w.Code)
			}
			return
		}
		if notJSON {
			t.Fatalf("Content-Type %q was accepted", ct)
		}
		// Accepted: the value was complete within the cap, so decoding only the capped prefix
		// gives the same value.
		capped := body[:min(len(body), MaxJSONBody)]
		var fromPrefix fuzzRequest
		if err := json.NewDecoder(bytes.NewReader(capped)).Decode(&fromPrefix); err != nil {
			t.Fatalf("accepted a body whose first %d bytes hold no value: %v", MaxJSONBody, err)
		}
		first, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("an accepted value does not encode: %v", err)
		}
		if prefix, _ := json.Marshal(fromPrefix); !bytes.Equal(prefix, first) {
			t.Fatalf("decoded %s, the capped prefix holds %s", first, prefix)
		}
		if len(first) > MaxJSONBody {
			// Our own encoding may be longer than the body (escapes); decode must then refuse it.
			return
		}
		w2, again := run(first, "application/json")
		if again == nil {
			t.Fatalf("the re-encoded value %s is refused: %d %s", first, w2.Code, w2.Body)
		}
		if second, _ := json.Marshal(again); !bytes.Equal(first, second) {
			t.Fatalf("round trip changed the value:\n%s\n%s", first, second)
		}
	})
}

func checkRefusal(t *testing.T, w *httptest.ResponseRecorder, body []byte) {
	t.Helper()
	switch w.Code {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
	default:
		t.Fatalf("body %q answered %d: %s", body, w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("refusal with Content-Type %q", ct)
	}
	var p problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != w.Code || p.Code == "" || p.Title == "" {
		t.Fatalf("refusal body %s: %v", w.Body, err)
	}
	if w.Code == http.StatusUnprocessableEntity {
		if len(p.Errors) == 0 {
			t.Fatalf("422 without per-field errors: %s", w.Body)
		}
		for k, v := range p.Errors {
			if k == "" || v == "" {
				t.Fatalf("422 with a blank field error %q: %q", k, v)
			}
		}
	}
	if w.Code == http.StatusRequestEntityTooLarge && len(body) <= MaxJSONBody {
		t.Fatalf("413 for a body of %d bytes", len(body))
	}
}
