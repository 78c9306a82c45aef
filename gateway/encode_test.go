package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
)

type sample struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func (s *sample) Valid() map[string]string {
	if s.Name == "" {
		return map[string]string{"name": "required"}
	}
	return nil
}

func TestDecodeMapsEveryClientMistakeToItsStatus(t *testing.T) {
	for _, c := range []struct {
		name, body, contentType string
		status                  int
		field                   string
	}{
		{"valid", `{"name":"a","n":1}`, "application/json", 200, ""},
		{"charset allowed", `{"name":"a"}`, "application/json; charset=utf-8", 200, ""},
		{"malformed", `{"name":`, "application/json", 400, ""},
		{"empty body", ``, "application/json", 400, ""},
		{"trailing data", `{"name":"a"} {"name":"b"}`, "application/json", 400, ""},
		{"unknown field", `{"name":"a","admin":true}`, "application/json", 422, "admin"},
		{"unknown field named as sent", `{"name":"a","a\"b\u00e9":1}`, "application/json", 422, `a"bé`},
		{"unknown blank field", `{"name":"a","":1}`, "application/json", 422, "body"},
		{"wrong type", `{"name":"a","n":"one"}`, "application/json", 422, "n"},
		{"validation", `{"n":1}`, "application/json", 422, "name"},
		{"too large", `{"name":"` + strings.Repeat("x", MaxJSONBody) + `"}`, "application/json", 413, ""},
		{"wrong content type", `name=a`, "application/x-www-form-urlencoded", 415, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				v, err := decode[sample](w, r)
				if err != nil {
					fail(slog.New(slog.DiscardHandler), w, r, err)
					return
				}
				encode(w, 200, v)
			})
			req := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if c.status == 200 {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			var p problem
			body, _ := io.ReadAll(rec.Body)
			if err := json.Unmarshal(body, &p); err != nil || p.Status != c.status || p.Title == "" {
				t.Fatalf("problem %s", body)
			}
			if c.field != "" && p.Errors[c.field] == "" {
				t.Fatalf("no error for %q: %s", c.field, body)
			}
		})
	}
}

func TestInternalErrorsNeverLeakTheirDetail(t *testing.T) {
	rec := httptest.NewRecorder()
	fail(slog.New(slog.DiscardHandler), rec, httptest.NewRequest("GET", "/", nil), io.ErrUnexpectedEOF)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "unexpected EOF") {
		t.Fatalf("internal error answer %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	fail(slog.New(slog.DiscardHandler), rec, httptest.NewRequest("GET", "/", nil), services.Errorf(services.EConflict, "taken"))
	if rec.Code != 409 || !strings.Contains(rec.Body.String(), "taken") {
		t.Fatalf("domain error answer %d %s", rec.Code, rec.Body)
	}
}

func TestPublicAnswersCarryAnETagAndHonourIfNoneMatch(t *testing.T) {
	rec := httptest.NewRecorder()
	encodePublic(rec, httptest.NewRequest("GET", "/", nil), time.Minute, map[string]int{"a": 1})
	etag := rec.Header().Get("ETag")
	if rec.Code != 200 || etag == "" || rec.Header().Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("first answer %d %v", rec.Code, rec.Header())
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("If-None-Match", `W/"other", `+etag)
	rec = httptest.NewRecorder()
	encodePublic(rec, req, time.Minute, map[string]int{"a": 1})
	if rec.Code != 304 || rec.Body.Len() != 0 {
		t.Fatalf("revalidation %d %q", rec.Code, rec.Body)
	}
}
