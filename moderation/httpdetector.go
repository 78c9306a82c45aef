package moderation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// Defaults for HTTPDetector.
const (
	DefaultHTTPMaxBytes = 64 << 10
	DefaultHTTPTimeout  = 15 * time.Second
)

// HTTPDetector asks an external classifier (TRIVIUM_MODERATION=http://…): it POSTs the raw image
// bytes with the image's Content-Type and expects 200 with
// {"labels": [{"name": "...", "confidence": 0–100}]}.
//
// Errors are *DetectErrors. A 4xx answer is permanent (the classifier refuses this image),
// except 401, 403 and 404, which mean Trivium is misconfigured, and 408 and 429, which are
// transient: those, 5xx, network errors, timeouts and malformed answers are retryable.
type HTTPDetector struct {
	URL      string
	Client   *http.Client  // nil means a plain client; Timeout below bounds every call anyway
	MaxBytes int64         // cap on the response body; 0 means DefaultHTTPMaxBytes
	Timeout  time.Duration // per call, connection to last byte; 0 means DefaultHTTPTimeout
}

var _ Detector = HTTPDetector{}

// Detect implements Detector.
func (d HTTPDetector) Detect(ctx context.Context, img []byte, contentType string) ([]Label, error) {
	client := d.Client
	if client == nil {
		client = &http.Client{}
	}
	maxBytes := d.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultHTTPMaxBytes
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	fail := func(status int, permanent bool, err error) error {
		return &DetectError{Detector: "http", StatusCode: status, Permanent: permanent, Err: err}
	}

	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, d.URL, bytes.NewReader(img))
	if err != nil {
		return nil, fail(0, false, fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fail(0, false, fmt.Errorf("classifier did not answer within %s: %w", timeout, err))
		}
		return nil, fail(0, false, fmt.Errorf("post to classifier: %w", err))
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, fail(resp.StatusCode, false, fmt.Errorf("read classifier answer: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fail(resp.StatusCode, permanentStatus(resp.StatusCode),
			fmt.Errorf("classifier answered %s: %s", resp.Status, snippet(body)))
	}
	if int64(len(body)) > maxBytes {
		return nil, fail(resp.StatusCode, false, fmt.Errorf("classifier answer is larger than %d bytes", maxBytes))
	}
	var answer struct {
		Labels *[]struct {
			Name       string   `json:"name"`
			Confidence *float64 `json:"confidence"`
		} `json:"labels"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fail(resp.StatusCode, false, fmt.Errorf("classifier answer is not JSON: %w", err))
	}
	if answer.Labels == nil {
		return nil, fail(resp.StatusCode, false, errors.New(`classifier answer has no "labels"`))
	}
	labels := make([]Label, 0, len(*answer.Labels))
	for i, l := range *answer.Labels {
		if l.Name == "" || l.Confidence == nil || math.IsNaN(*l.Confidence) || *l.Confidence < 0 || *l.Confidence > 100 {
			return nil, fail(resp.StatusCode, false,
				fmt.Errorf("classifier label %d needs a name and a confidence between 0 and 100", i))
		}
		labels = append(labels, Label{Name: l.Name, Confidence: *l.Confidence})
	}
	return labels, nil
}

func permanentStatus(code int) bool {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return code >= 400 && code <= 499
}

// snippet keeps an error body short and on one line for logs.
func snippet(b []byte) string {
	const limit = 200
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
