// Package blobtest is the conformance suite of services.BlobStore. Every driver's tests call
// Run; a driver that passes is interchangeable with the others.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Harness is what Run needs from a driver's test.
type Harness struct {
	// Store is the driver under test. Run writes under a fresh random prefix and deletes what
	// it wrote, so a shared bucket or directory is fine.
	Store services.BlobStore
	// ShiftClock makes the store sign URLs, and check them where it checks them itself, as if
	// the time were now+offset; ShiftClock(0) restores the present. Run uses it to make URLs
	// that are already expired.
	ShiftClock func(offset time.Duration)
	// SingleUsePut says the store refuses a second PUT with one presigned URL. S3 cannot; the
	// app makes keys single-use instead, and Run logs that instead of checking it.
	SingleUsePut bool
	// Client sends presigned requests; a plain client with a 10 s timeout when nil.
	Client *http.Client
}

// Run runs the conformance suite. Subtests run one after another because they share the clock.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Store == nil || h.ShiftClock == nil {
		t.Fatal("blobtest: Harness needs Store and ShiftClock")
	}
	if h.Client == nil {
		h.Client = &http.Client{Timeout: 10 * time.Second}
	}
	s := &suite{h: h, prefix: "blobtest/" + randomHex(t, 8)}
	t.Cleanup(func() { h.ShiftClock(0) })

	t.Run("PutGetHeadDeleteRoundTrip", s.testRoundTrip)
	t.Run("PutReplacesTheObject", s.testPutReplaces)
	t.Run("PutWithoutContentTypeIsOctetStream", s.testPutWithoutType)
	t.Run("AbsentKeyIsNotFound", s.testAbsentKeyIsNotFound)
	t.Run("DeleteOfAbsentKeyIsNotAnError", s.testDeleteAbsent)
	t.Run("TraversalKeysAreInvalid", s.testTraversalKeysAreInvalid)
	t.Run("PresignedPutWithExactHeadersStores", s.testPresignedPutStores)
	t.Run("PresignedPutToKeyNeedingEscapesStores", s.testPresignedPutEscapedKey)
	t.Run("PresignedPutWithWrongContentTypeIsRefused", s.testPresignedPutWrongType)
	t.Run("PresignedPutWithWrongLengthIsRefused", s.testPresignedPutWrongLength)
	t.Run("ExpiredPresignedPutIsRefused", s.testPresignedPutExpired)
	t.Run("PresignedPutCannotWriteAnotherKey", s.testPresignedPutOtherKey)
	t.Run("PresignedPutURLWorksOnce", s.testPresignedPutOnce)
	t.Run("PresignedGetReadsAndRefusesTampering", s.testPresignedGet)
	t.Run("ExpiredPresignedGetIsRefused", s.testPresignedGetExpired)
}

type suite struct {
	h      Harness
	prefix string
	n      int
}

// key returns a fresh key under the run's prefix and deletes it when the test ends.
func (s *suite) key(t *testing.T, name string) string {
	t.Helper()
	s.n++
	k := s.prefix + "/" + strconv.Itoa(s.n) + "-" + name
	t.Cleanup(func() {
		if err := s.h.Store.Delete(context.Background(), k); err != nil {
			t.Errorf("cleanup: delete %q: %v", k, err)
		}
	})
	return k
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func (s *suite) put(t *testing.T, key string, body []byte, contentType, cacheControl string) {
	t.Helper()
	if err := s.h.Store.Put(t.Context(), key, bytes.NewReader(body), int64(len(body)), contentType, cacheControl); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func (s *suite) mustGet(t *testing.T, key string) ([]byte, services.BlobInfo) {
	t.Helper()
	rc, info, err := s.h.Store.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return b, info
}

// assertAbsent checks that nothing was stored under key.
func (s *suite) assertAbsent(t *testing.T, key string) {
	t.Helper()
	info, err := s.h.Store.Head(t.Context(), key)
	if code := services.ErrorCode(err); code != services.ENotFound {
		t.Fatalf("Head(%q) = %+v, %v (code %q); want %q: something was stored", key, info, err, code, services.ENotFound)
	}
}

// send performs a presigned request with the given headers; Content-Length is taken from the
// body, as every HTTP client does.
func (s *suite) send(t *testing.T, method, rawURL string, headers map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, r)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range headers {
		if !strings.EqualFold(k, "Content-Length") {
			req.Header.Set(k, v)
		}
	}
	resp, err := s.h.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, rawURL, err)
	}
	return resp, b
}

// sendExact performs a presigned PUT exactly as the client is told to.
func (s *suite) sendExact(t *testing.T, p services.PresignedRequest, body []byte) (*http.Response, []byte) {
	t.Helper()
	if got, want := p.Headers["Content-Length"], strconv.Itoa(len(body)); got != want {
		t.Fatalf("presigned headers say Content-Length %q, body has %s bytes", got, want)
	}
	return s.send(t, p.Method, p.URL, p.Headers, body)
}

func (s *suite) presignPut(t *testing.T, key, contentType string, length int, ttl time.Duration) services.PresignedRequest {
	t.Helper()
	p, err := s.h.Store.PresignPut(t.Context(), key, contentType, int64(length), ttl)
	if err != nil {
		t.Fatalf("PresignPut(%q): %v", key, err)
	}
	if p.Method != http.MethodPut {
		t.Fatalf("PresignPut method = %q, want PUT", p.Method)
	}
	if p.Headers["Content-Type"] != contentType {
		t.Fatalf("PresignPut headers = %v, want Content-Type %q", p.Headers, contentType)
	}
	return p
}

func expectStatus(t *testing.T, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body: %.300s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
}

func (s *suite) testRoundTrip(t *testing.T) {
	key := s.key(t, "round-trip.png")
	body := []byte("\x89PNG round trip")
	s.put(t, key, body, "image/png", "public, max-age=31536000, immutable")

	info, err := s.h.Store.Head(t.Context(), key)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if info.Size != int64(len(body)) || info.ContentType != "image/png" || info.CacheControl != "public, max-age=31536000, immutable" || info.ETag == "" {
		t.Fatalf("Head = %+v; want size %d, image/png, the cache control and an ETag", info, len(body))
	}
	got, ginfo := s.mustGet(t, key)
	if !bytes.Equal(got, body) {
		t.Fatalf("Get body = %q, want %q", got, body)
	}
	if ginfo != info {
		t.Fatalf("Get info = %+v, Head info = %+v; want equal", ginfo, info)
	}

	if err := s.h.Store.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	s.assertAbsent(t, key)
	if _, _, err := s.h.Store.Get(t.Context(), key); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("Get after Delete: %v; want %s", err, services.ENotFound)
	}
}

func (s *suite) testPutReplaces(t *testing.T) {
	key := s.key(t, "replace.txt")
	s.put(t, key, []byte("first version"), "text/plain", "")
	first, err := s.h.Store.Head(t.Context(), key)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	s.put(t, key, []byte("second, longer version"), "application/octet-stream", "no-cache")
	got, info := s.mustGet(t, key)
	if string(got) != "second, longer version" || info.ContentType != "application/octet-stream" || info.CacheControl != "no-cache" {
		t.Fatalf("after replacing: %q %+v", got, info)
	}
	if info.ETag == first.ETag {
		t.Fatalf("ETag %s unchanged by new content", info.ETag)
	}
}

func (s *suite) testPutWithoutType(t *testing.T) {
	key := s.key(t, "untyped")
	s.put(t, key, []byte("bytes"), "", "")
	info, err := s.h.Store.Head(t.Context(), key)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if info.ContentType != "application/octet-stream" || info.CacheControl != "" {
		t.Fatalf("Head = %+v; want application/octet-stream and no cache control", info)
	}
}

func (s *suite) testAbsentKeyIsNotFound(t *testing.T) {
	key := s.prefix + "/never-written"
	if _, err := s.h.Store.Head(t.Context(), key); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("Head: %v; want %s", err, services.ENotFound)
	}
	rc, _, err := s.h.Store.Get(t.Context(), key)
	if rc != nil {
		rc.Close()
	}
	if services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("Get: %v; want %s", err, services.ENotFound)
	}
}

func (s *suite) testDeleteAbsent(t *testing.T) {
	if err := s.h.Store.Delete(t.Context(), s.prefix+"/never-written"); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
}

func (s *suite) testTraversalKeysAreInvalid(t *testing.T) {
	for _, key := range []string{"", "../escape", s.prefix + "/../../escape", "/absolute", s.prefix + "/./x",
		s.prefix + "//x", s.prefix + "/", s.prefix + `\x`, s.prefix + "/nul\x00", s.prefix + "/line\nbreak"} {
		body := []byte("x")
		if err := s.h.Store.Put(t.Context(), key, bytes.NewReader(body), 1, "text/plain", ""); services.ErrorCode(err) != services.EInvalid {
			t.Errorf("Put(%q): %v; want %s", key, err, services.EInvalid)
		}
		if _, err := s.h.Store.PresignPut(t.Context(), key, "text/plain", 1, time.Minute); services.ErrorCode(err) != services.EInvalid {
			t.Errorf("PresignPut(%q): %v; want %s", key, err, services.EInvalid)
		}
		if _, err := s.h.Store.PresignGet(t.Context(), key, time.Minute); services.ErrorCode(err) != services.EInvalid {
			t.Errorf("PresignGet(%q): %v; want %s", key, err, services.EInvalid)
		}
		if _, err := s.h.Store.Head(t.Context(), key); services.ErrorCode(err) != services.EInvalid {
			t.Errorf("Head(%q): %v; want %s", key, err, services.EInvalid)
		}
		if err := s.h.Store.Delete(t.Context(), key); services.ErrorCode(err) != services.EInvalid {
			t.Errorf("Delete(%q): %v; want %s", key, err, services.EInvalid)
		}
	}
}

func (s *suite) testPresignedPutStores(t *testing.T) {
	key := s.key(t, "upload.jpg")
	body := []byte("\xff\xd8\xff fake jpeg bytes")
	before := time.Now()
	p := s.presignPut(t, key, "image/jpeg", len(body), 5*time.Minute)
	if p.ExpiresAt.Before(before.Add(5*time.Minute-2*time.Second)) || p.ExpiresAt.After(time.Now().Add(5*time.Minute+2*time.Second)) {
		t.Fatalf("ExpiresAt = %v, want about now + 5m", p.ExpiresAt)
	}
	resp, rb := s.sendExact(t, p, body)
	expectStatus(t, resp, rb, http.StatusOK)

	got, info := s.mustGet(t, key)
	if !bytes.Equal(got, body) || info.ContentType != "image/jpeg" || info.Size != int64(len(body)) {
		t.Fatalf("stored %q %+v; want the uploaded bytes as image/jpeg", got, info)
	}
	if etag := resp.Header.Get("ETag"); etag != info.ETag {
		t.Fatalf("PUT answered ETag %q, stored object has %q", etag, info.ETag)
	}
}

func (s *suite) testPresignedPutEscapedKey(t *testing.T) {
	key := s.key(t, "with space+plus/ünïcode %41.png")
	body := []byte("png")
	p := s.presignPut(t, key, "image/png", len(body), time.Minute)
	resp, rb := s.sendExact(t, p, body)
	expectStatus(t, resp, rb, http.StatusOK)
	if got, _ := s.mustGet(t, key); !bytes.Equal(got, body) {
		t.Fatalf("stored %q, want %q", got, body)
	}
}

func (s *suite) testPresignedPutWrongType(t *testing.T) {
	for name, contentType := range map[string]string{"other": "text/html", "missing": "", "parameter added": "image/png; charset=utf-8"} {
		t.Run(name, func(t *testing.T) {
			key := s.key(t, "typed.png")
			body := []byte("png bytes")
			p := s.presignPut(t, key, "image/png", len(body), time.Minute)
			headers := map[string]string{}
			if contentType != "" {
				headers["Content-Type"] = contentType
			}
			resp, rb := s.send(t, p.Method, p.URL, headers, body)
			expectStatus(t, resp, rb, http.StatusForbidden)
			s.assertAbsent(t, key)
		})
	}
}

func (s *suite) testPresignedPutWrongLength(t *testing.T) {
	for name, delta := range map[string]int{"shorter": -1, "longer": +1, "empty": -10} {
		t.Run(name, func(t *testing.T) {
			key := s.key(t, "sized.webp")
			p := s.presignPut(t, key, "image/webp", 10, time.Minute)
			body := bytes.Repeat([]byte("w"), 10+delta)
			resp, rb := s.send(t, p.Method, p.URL, p.Headers, body)
			expectStatus(t, resp, rb, http.StatusForbidden)
			s.assertAbsent(t, key)
		})
	}
}

func (s *suite) testPresignedPutExpired(t *testing.T) {
	key := s.key(t, "late.png")
	body := []byte("too late")
	s.h.ShiftClock(-time.Hour)
	p := s.presignPut(t, key, "image/png", len(body), time.Minute)
	s.h.ShiftClock(0)
	resp, rb := s.sendExact(t, p, body)
	expectStatus(t, resp, rb, http.StatusForbidden)
	s.assertAbsent(t, key)
}

func (s *suite) testPresignedPutOtherKey(t *testing.T) {
	keyA := s.key(t, "a-signed.png")
	keyB := s.key(t, "b-target.png")
	body := []byte("png")
	p := s.presignPut(t, keyA, "image/png", len(body), time.Minute)
	if !strings.Contains(p.URL, keyA) {
		t.Fatalf("URL %q does not contain key %q", p.URL, keyA)
	}
	resp, rb := s.send(t, p.Method, strings.Replace(p.URL, keyA, keyB, 1), p.Headers, body)
	expectStatus(t, resp, rb, http.StatusForbidden)
	s.assertAbsent(t, keyB)
	s.assertAbsent(t, keyA)
}

func (s *suite) testPresignedPutOnce(t *testing.T) {
	key := s.key(t, "once.png")
	first := []byte("first upload")
	p := s.presignPut(t, key, "image/png", len(first), time.Minute)
	resp, rb := s.sendExact(t, p, first)
	expectStatus(t, resp, rb, http.StatusOK)
	if !s.h.SingleUsePut {
		t.Log("not checked: this store cannot refuse a second PUT with one presigned URL (S3 has " +
			"no single-use URLs); the app makes upload keys single-use instead")
		return
	}
	resp, rb = s.sendExact(t, p, []byte("other upload"))
	expectStatus(t, resp, rb, http.StatusForbidden)
	if got, _ := s.mustGet(t, key); !bytes.Equal(got, first) {
		t.Fatalf("after a refused reuse the object is %q, want %q", got, first)
	}
}

func (s *suite) testPresignedGet(t *testing.T) {
	key := s.key(t, "private.jpg")
	other := s.key(t, "other.jpg")
	body := []byte("private jpeg")
	s.put(t, key, body, "image/jpeg", "")
	s.put(t, other, []byte("other jpeg"), "image/jpeg", "")

	u, err := s.h.Store.PresignGet(t.Context(), key, time.Minute)
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	resp, rb := s.send(t, http.MethodGet, u, nil, nil)
	expectStatus(t, resp, rb, http.StatusOK)
	if !bytes.Equal(rb, body) || resp.Header.Get("Content-Type") != "image/jpeg" || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET = %q, Content-Type %q, ETag %q; want the object as image/jpeg with an ETag",
			rb, resp.Header.Get("Content-Type"), resp.Header.Get("ETag"))
	}

	tampered, err := flipSignature(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, rb = s.send(t, http.MethodGet, tampered, nil, nil)
	expectStatus(t, resp, rb, http.StatusForbidden)
	resp, rb = s.send(t, http.MethodGet, strings.Replace(u, key, other, 1), nil, nil)
	expectStatus(t, resp, rb, http.StatusForbidden)
	resp, rb = s.send(t, http.MethodPut, u, map[string]string{"Content-Type": "image/jpeg"}, []byte("overwrite"))
	expectStatus(t, resp, rb, http.StatusForbidden)
	if got, _ := s.mustGet(t, key); !bytes.Equal(got, body) {
		t.Fatalf("a GET URL used for PUT changed the object to %q", got)
	}
}

func (s *suite) testPresignedGetExpired(t *testing.T) {
	key := s.key(t, "stale.jpg")
	s.put(t, key, []byte("jpeg"), "image/jpeg", "")
	s.h.ShiftClock(-time.Hour)
	u, err := s.h.Store.PresignGet(t.Context(), key, time.Minute)
	s.h.ShiftClock(0)
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	resp, rb := s.send(t, http.MethodGet, u, nil, nil)
	expectStatus(t, resp, rb, http.StatusForbidden)
}

// flipSignature changes one character of the URL's signature parameter, whatever the driver
// calls it (X-Signature, X-Amz-Signature).
func flipSignature(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	for name, vals := range u.Query() {
		if !strings.HasSuffix(strings.ToLower(name), "signature") || len(vals) != 1 || vals[0] == "" {
			continue
		}
		sig := []byte(vals[0])
		if sig[0] == '0' {
			sig[0] = '1'
		} else {
			sig[0] = '0'
		}
		return strings.Replace(rawURL, name+"="+vals[0], name+"="+string(sig), 1), nil
	}
	return "", errors.New("blobtest: presigned URL has no signature parameter")
}
