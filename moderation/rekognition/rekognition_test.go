package rekognition

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"

	"github.com/trivium-game/trivium/moderation"
)

const (
	testRegion = "us-east-1"
	testKey    = "AKIDTRIVIUMTEST"
	testSecret = "trivium-test-secret"
)

// fakeRekognition speaks the AWS JSON 1.1 protocol of DetectModerationLabels. It checks every
// request is addressed, encoded and SigV4-signed as the real service requires (it recomputes the
// signature with the secret key), records the decoded request, and answers with status and body.
type fakeRekognition struct {
	t        *testing.T
	status   int
	body     string
	attempts atomic.Int32
	lastImg  atomic.Pointer[[]byte]
	lastMin  atomic.Pointer[float64]
}

func (f *fakeRekognition) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.attempts.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("read body: %v", err)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		f.t.Errorf("request is %s %s, want POST /", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("X-Amz-Target"); got != "RekognitionService.DetectModerationLabels" {
		f.t.Errorf("X-Amz-Target = %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		f.t.Errorf("Content-Type = %q", got)
	}
	f.checkSignature(r, body)

	var in struct {
		Image struct {
			Bytes []byte // base64 in JSON, decoded by encoding/json
		}
		MinConfidence *float64
	}
	if err := json.Unmarshal(body, &in); err != nil {
		f.t.Errorf("request body %q is not the documented JSON: %v", body, err)
	}
	var raw struct{ Image struct{ Bytes string } }
	_ = json.Unmarshal(body, &raw)
	if _, err := base64.StdEncoding.DecodeString(raw.Image.Bytes); err != nil || raw.Image.Bytes == "" {
		f.t.Errorf("Image.Bytes %q is not standard base64: %v", raw.Image.Bytes, err)
	}
	f.lastImg.Store(&in.Image.Bytes)
	f.lastMin.Store(in.MinConfidence)

	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "c7d6e8a0-0000-4000-8000-000000000000")
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, f.body)
}

func (f *fakeRekognition) checkSignature(r *http.Request, body []byte) {
	auth := r.Header.Get("Authorization")
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		f.t.Errorf("X-Amz-Date: %v", err)
		return
	}
	scope := "Credential=" + testKey + "/" + signedAt.Format("20060102") + "/" + testRegion + "/rekognition/aws4_request"
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, scope) {
		f.t.Errorf("Authorization %q is not SigV4 with scope %s", auth, scope)
		return
	}
	if skew := time.Since(signedAt); skew < -time.Minute || skew > time.Minute {
		f.t.Errorf("X-Amz-Date is %s away from now", skew)
	}
	var signed []string
	for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ", ") {
		if v, ok := strings.CutPrefix(part, "SignedHeaders="); ok {
			signed = strings.Split(v, ";")
		}
	}
	if !contains(signed, "host") || !contains(signed, "x-amz-date") || !contains(signed, "x-amz-target") {
		f.t.Errorf("SignedHeaders %v must cover host, x-amz-date and x-amz-target", signed)
	}
	// Re-sign a copy carrying only the signed headers; a valid signature comes out identical.
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, h := range signed {
		if h != "host" && h != "content-length" {
			again.Header.Set(h, r.Header.Get(h))
		}
	}
	again.ContentLength = r.ContentLength
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret},
		again, hex.EncodeToString(sum[:]), "rekognition", testRegion, signedAt)
	if err != nil {
		f.t.Errorf("re-sign: %v", err)
		return
	}
	if got := again.Header.Get("Authorization"); got != auth {
		f.t.Errorf("signature does not verify:\n sent %s\n want %s", auth, got)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// newDetector points a real SDK client at the fake with static credentials; retries keep the
// SDK's standard policy (3 attempts) but without the back-off sleep, so tests stay fast.
func newDetector(t *testing.T, status int, body string) (*Detector, *fakeRekognition) {
	t.Helper()
	fake := &fakeRekognition{t: t, status: status, body: body}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := awsrek.New(awsrek.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
		HTTPClient:   srv.Client(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
	return New(client, Config{}), fake
}

func pngImage(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDetectSendsTheSignedDocumentedRequestAndMapsLabels(t *testing.T) {
	const response = `{"ModerationLabels":[
		{"Confidence":97.25,"Name":"Explicit Nudity","ParentName":"","TaxonomyLevel":1},
		{"Confidence":97.25,"Name":"Exposed Buttocks or Anus","ParentName":"Explicit Nudity","TaxonomyLevel":2},
		{"Confidence":61.5,"Name":"Suggestive","ParentName":"","TaxonomyLevel":1}
	],"ModerationModelVersion":"7.0","ContentTypes":[]}`
	d, fake := newDetector(t, http.StatusOK, response)
	img := pngImage(t)

	labels, err := d.Detect(context.Background(), img, "image/png")
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	want := []moderation.Label{{Name: "Explicit Nudity", Confidence: 97.25}, {Name: "Exposed Buttocks or Anus", Confidence: 97.25}, {Name: "Suggestive", Confidence: 61.5}}
	if len(labels) != len(want) {
		t.Fatalf("labels = %v, want %v", labels, want)
	}
	for i := range want {
		if labels[i] != want[i] {
			t.Fatalf("labels = %v, want %v", labels, want)
		}
	}
	if got := *fake.lastImg.Load(); !bytes.Equal(got, img) {
		t.Fatalf("Image.Bytes carried %d bytes, not the image", len(got))
	}
	if m := fake.lastMin.Load(); m == nil || *m != DefaultMinConfidence {
		t.Fatalf("MinConfidence = %v, want %d", m, DefaultMinConfidence)
	}
	if decision, reason := (moderation.Policy{}).Decide(labels); decision != moderation.DecisionRejected || !strings.Contains(reason, "Explicit Nudity at 97.25%") {
		t.Fatalf("decision = %s %q, want rejected for Explicit Nudity", decision, reason)
	}
	if n := fake.attempts.Load(); n != 1 {
		t.Fatalf("%d attempts for a success", n)
	}
}

func TestDetectWithNoLabelsIsAccepted(t *testing.T) {
	d, _ := newDetector(t, http.StatusOK, `{"ModerationLabels":[],"ModerationModelVersion":"7.0"}`)
	labels, err := d.Detect(context.Background(), pngImage(t), "image/png")
	if err != nil || len(labels) != 0 {
		t.Fatalf("labels = %v, err = %v", labels, err)
	}
	if decision, _ := (moderation.Policy{}).Decide(labels); decision != moderation.DecisionAccepted {
		t.Fatalf("decision = %s", decision)
	}
}

func TestDetectErrorsAreRetriedOrPermanentAsDocumented(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		attempts  int32
		permanent bool
	}{
		{"throttling is retried by the SDK, then retryable", 400,
			`{"__type":"ThrottlingException","Message":"Rate exceeded"}`, 3, false},
		{"provisioned throughput is retried by the SDK, then retryable", 400,
			`{"__type":"ProvisionedThroughputExceededException","Message":"limit"}`, 3, false},
		{"internal server error is retried by the SDK, then retryable", 500,
			`{"__type":"InternalServerError","Message":"oops"}`, 3, false},
		{"invalid image format is permanent", 400,
			`{"__type":"InvalidImageFormatException","Message":"Request has invalid image format"}`, 1, true},
		{"image too large is permanent", 400,
			`{"__type":"ImageTooLargeException","Message":"Image size is too large"}`, 1, true},
		{"access denied is not the image's fault: retryable, for a redrive once fixed", 400,
			`{"__type":"AccessDeniedException","Message":"User is not authorized"}`, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, fake := newDetector(t, tc.status, tc.body)
			_, err := d.Detect(context.Background(), pngImage(t), "image/png")
			var de *moderation.DetectError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *moderation.DetectError", err)
			}
			if de.Permanent != tc.permanent || moderation.IsPermanent(err) != tc.permanent {
				t.Fatalf("err = %v: permanent %v, want %v", err, de.Permanent, tc.permanent)
			}
			if n := fake.attempts.Load(); n != tc.attempts {
				t.Fatalf("%d attempts, want %d", n, tc.attempts)
			}
		})
	}
}

// Rekognition reads only JPEG and PNG; a WebP must arrive as a JPEG.
func TestDetectSendsWebPAsJPEG(t *testing.T) {
	d, fake := newDetector(t, http.StatusOK, `{"ModerationLabels":[],"ModerationModelVersion":"7.0"}`)
	if _, err := d.Detect(context.Background(), tinyWebP(), "image/webp"); err != nil {
		t.Fatalf("Detect: %v", err)
	}
	sent := *fake.lastImg.Load()
	if len(sent) < 3 || sent[0] != 0xFF || sent[1] != 0xD8 {
		t.Fatalf("sent %x…, want a JPEG", sent[:min(8, len(sent))])
	}
	if _, err := d.Detect(context.Background(), []byte("RIFF\x04\x00\x00\x00WEBP"), "image/webp"); !moderation.IsPermanent(err) {
		t.Fatalf("an unreadable WebP: err = %v, want permanent", err)
	}
}

// tinyWebP is a 1×1 opaque red lossless WebP: VP8L header, no transforms, and five "simple"
// one-symbol prefix codes (green 0, red 255, blue 0, alpha 255, distance 0), so the single pixel
// takes no bits at all.
func tinyWebP() []byte {
	var out []byte
	var acc uint64
	var n uint
	put := func(v uint64, width uint) { // least-significant bit first, as VP8L reads
		acc |= v << n
		for n += width; n >= 8; n -= 8 {
			out = append(out, byte(acc))
			acc >>= 8
		}
	}
	put(0x2f, 8) // VP8L signature
	put(0, 14)   // width-1
	put(0, 14)   // height-1
	put(0, 1)    // alpha hint
	put(0, 3)    // version
	put(0, 1)    // no transform
	put(0, 1)    // no colour cache
	put(0, 1)    // no meta prefix codes
	for _, sym := range []uint64{0, 255, 0, 255, 0} {
		put(1, 1) // simple code
		put(0, 1) // one symbol
		if sym < 2 {
			put(0, 1)
			put(sym, 1)
		} else {
			put(1, 1)
			put(sym, 8)
		}
	}
	vp8l := append(out, byte(acc))
	chunk := append([]byte("VP8L"), binary.LittleEndian.AppendUint32(nil, uint32(len(vp8l)))...)
	chunk = append(chunk, vp8l...)
	if len(vp8l)%2 == 1 {
		chunk = append(chunk, 0)
	}
	riff := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(chunk)))...)
	return append(append(riff, "WEBP"...), chunk...)
}
