package moderation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// classifierStub answers every POST with status and body, after checking it received the image.
func classifierStub(t *testing.T, img []byte, contentType string, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != contentType || !bytes.Equal(got, img) {
			t.Errorf("classifier got %s %q with %d bytes, want POST %q with the image", r.Method, r.Header.Get("Content-Type"), len(got), contentType)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPDetectorLabelsDriveThePolicy(t *testing.T) {
	img := encodeJPEG(t, splitImage(16, 16, red, blue))
	tests := []struct {
		name     string
		body     string
		want     []Label
		decision Decision
		reason   string
	}{
		{"no labels", `{"labels":[]}`, []Label{}, DecisionAccepted, "no moderation labels"},
		{"low confidence", `{"labels":[{"name":"Suggestive","confidence":12.5}]}`,
			[]Label{{"Suggestive", 12.5}}, DecisionAccepted, "Suggestive at 12.5%"},
		{"review", `{"labels":[{"name":"Suggestive","confidence":12},{"name":"Violence","confidence":64.25}]}`,
			[]Label{{"Suggestive", 12}, {"Violence", 64.25}}, DecisionInReview, "Violence at 64.25%"},
		{"reject", `{"labels":[{"name":"Explicit Nudity","confidence":97.1},{"name":"Suggestive","confidence":55}], "model":"x"}`,
			[]Label{{"Explicit Nudity", 97.1}, {"Suggestive", 55}}, DecisionRejected, "Explicit Nudity at 97.1%"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := classifierStub(t, img, "image/jpeg", http.StatusOK, tc.body)
			labels, err := HTTPDetector{URL: srv.URL}.Detect(context.Background(), img, "image/jpeg")
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if len(labels) != len(tc.want) {
				t.Fatalf("labels = %v, want %v", labels, tc.want)
			}
			for i := range labels {
				if labels[i] != tc.want[i] {
					t.Fatalf("labels = %v, want %v", labels, tc.want)
				}
			}
			d, reason := Policy{}.Decide(labels)
			if d != tc.decision || !strings.Contains(reason, tc.reason) {
				t.Fatalf("decision = %s %q, want %s containing %q", d, reason, tc.decision, tc.reason)
			}
		})
	}
}

func TestHTTPDetectorErrorsSayWhetherToRetry(t *testing.T) {
	img := encodePNG(t, splitImage(4, 4, red, blue))
	tests := []struct {
		name      string
		status    int
		body      string
		permanent bool
		message   string
	}{
		{"server error", 500, "boom", false, "500 Internal Server Error: boom"},
		{"unavailable", 503, "", false, "(empty body)"},
		{"image refused", 422, `{"error":"cannot read image"}`, true, "cannot read image"},
		{"unsupported type", 415, "", true, "415"},
		{"bad request", 400, "", true, "400"},
		{"throttled", 429, "slow down", false, "429"},
		{"request timeout", 408, "", false, "408"},
		{"wrong credentials", 401, "", false, "401"},
		{"forbidden", 403, "", false, "403"},
		{"wrong url", 404, "", false, "404"},
		{"not json", 200, "<html>ok</html>", false, "not JSON"},
		{"no labels field", 200, `{"result":"ok"}`, false, `no "labels"`},
		{"confidence over 100", 200, `{"labels":[{"name":"X","confidence":150}]}`, false, "between 0 and 100"},
		{"negative confidence", 200, `{"labels":[{"name":"X","confidence":-0.5}]}`, false, "between 0 and 100"},
		{"missing confidence", 200, `{"labels":[{"name":"X"}]}`, false, "between 0 and 100"},
		{"missing name", 200, `{"labels":[{"confidence":5}]}`, false, "needs a name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := classifierStub(t, img, "image/png", tc.status, tc.body)
			_, err := HTTPDetector{URL: srv.URL}.Detect(context.Background(), img, "image/png")
			var de *DetectError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *DetectError", err)
			}
			if de.Permanent != tc.permanent || IsPermanent(err) != tc.permanent || de.StatusCode != tc.status {
				t.Fatalf("err = %v: permanent %v status %d, want permanent %v status %d", err, de.Permanent, de.StatusCode, tc.permanent, tc.status)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("err = %q, want it to mention %q", err, tc.message)
			}
		})
	}
}

func TestHTTPDetectorCapsTheResponseSize(t *testing.T) {
	img := encodePNG(t, splitImage(4, 4, red, blue))
	body := `{"labels":[{"name":"` + strings.Repeat("x", 500) + `","confidence":1}]}`
	srv := classifierStub(t, img, "image/png", http.StatusOK, body)
	_, err := HTTPDetector{URL: srv.URL, MaxBytes: 100}.Detect(context.Background(), img, "image/png")
	if err == nil || !strings.Contains(err.Error(), "larger than 100 bytes") || IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable size error", err)
	}
	if _, err := (HTTPDetector{URL: srv.URL, MaxBytes: int64(len(body))}).Detect(context.Background(), img, "image/png"); err != nil {
		t.Fatalf("an answer of exactly MaxBytes was refused: %v", err)
	}
}

func TestHTTPDetectorTimesOutASilentClassifier(t *testing.T) {
	released := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hold the request until the client gives up (or the test ends)
		case <-r.Context().Done():
		case <-released:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(released) })

	img := encodePNG(t, splitImage(4, 4, red, blue))
	_, err := HTTPDetector{URL: srv.URL, Timeout: 50 * time.Millisecond}.Detect(context.Background(), img, "image/png")
	if err == nil || !strings.Contains(err.Error(), "did not answer within 50ms") || IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}

	// The caller's own deadline is honoured as well, and reported as the caller's.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = HTTPDetector{URL: srv.URL}.Detect(ctx, img, "image/png")
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable context.Canceled", err)
	}
}

func TestHTTPDetectorUnreachableClassifierIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := HTTPDetector{URL: url}.Detect(context.Background(), []byte("x"), "image/png")
	var de *DetectError
	if !errors.As(err, &de) || de.Permanent {
		t.Fatalf("err = %v, want a retryable *DetectError", err)
	}
}
