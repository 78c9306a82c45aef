package localblob_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/blobtest"
	"github.com/trivium-game/trivium/services/localblob"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// fixture is a Store behind a real HTTP server, with a clock the test moves.
type fixture struct {
	dir     string
	srv     *httptest.Server
	handler atomic.Pointer[http.Handler]
	offset  atomic.Int64
	store   *localblob.Store
}

func newFixture(t *testing.T, mutate func(*localblob.Config)) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*f.handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.store = f.open(t, mutate)
	return f
}

// open builds a Store on the fixture's directory and serves it, as a restarted process would.
func (f *fixture) open(t *testing.T, mutate func(*localblob.Config)) *localblob.Store {
	t.Helper()
	cfg := localblob.Config{
		Dir:     f.dir,
		BaseURL: f.srv.URL,
		Secret:  secret,
		Now:     func() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := localblob.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var h http.Handler = s.Handler(nil)
	f.handler.Store(&h)
	return s
}

func (f *fixture) shift(d time.Duration) { f.offset.Store(int64(d)) }

func TestConformance(t *testing.T) {
	f := newFixture(t, nil)
	blobtest.Run(t, blobtest.Harness{Store: f.store, ShiftClock: f.shift, SingleUsePut: true})
}

func put(t *testing.T, p services.PresignedRequest, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), p.Method, p.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.Headers {
		if k != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestReusedPutURLIsRefusedAfterRestart(t *testing.T) {
	f := newFixture(t, nil)
	p, err := f.store.PresignPut(t.Context(), "uploads/u1", "image/png", 3, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if resp := put(t, p, []byte("one")); resp.StatusCode != http.StatusOK {
		t.Fatalf("first PUT: %d", resp.StatusCode)
	}
	restarted := f.open(t, nil)
	if resp := put(t, p, []byte("two")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("PUT after restart with a used URL: %d, want 403", resp.StatusCode)
	}
	rc, _, err := restarted.Get(t.Context(), "uploads/u1")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "one" {
		t.Fatalf("object = %q, want the first upload", b)
	}
}

func TestConcurrentPutsWithOneURLStoreOnce(t *testing.T) {
	f := newFixture(t, nil)
	p, err := f.store.PresignPut(t.Context(), "uploads/race", "image/png", 4, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range n {
		wg.Go(func() {
			if put(t, p, []byte{'a', 'b', 'c', byte('0' + i)}).StatusCode == http.StatusOK {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d of %d concurrent PUTs with one URL succeeded, want exactly 1", ok.Load(), n)
	}
}

func TestUploadOverMaxPutBytesIsRefusedWith413(t *testing.T) {
	f := newFixture(t, func(c *localblob.Config) { c.MaxPutBytes = 16 })
	if _, err := f.store.PresignPut(t.Context(), "uploads/big", "image/png", 17, time.Minute); services.ErrorCode(err) != services.ETooLarge {
		t.Fatalf("PresignPut over the limit: %v, want %s", err, services.ETooLarge)
	}
	p, err := f.store.PresignPut(t.Context(), "uploads/big", "image/png", 16, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// A URL signed before the limit was lowered.
	f.open(t, func(c *localblob.Config) { c.MaxPutBytes = 8 })
	if resp := put(t, p, bytes.Repeat([]byte("x"), 16)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT over the limit: %d, want 413", resp.StatusCode)
	}
	if _, err := f.store.Head(t.Context(), "uploads/big"); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("Head after a refused PUT: %v, want not found", err)
	}
}

// The HTTP server already holds a body to its Content-Length; the handler must not rely on it,
// since it may sit behind anything that hands it a request.
func TestBodyLongerOrShorterThanContentLengthIsRefused(t *testing.T) {
	f := newFixture(t, nil)
	for name, body := range map[string]string{"longer": "12345", "shorter": "123"} {
		t.Run(name, func(t *testing.T) {
			p, err := f.store.PresignPut(t.Context(), "uploads/"+name, "image/png", 4, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPut, p.URL, strings.NewReader(body))
			req.Header.Set("Content-Type", "image/png")
			req.ContentLength = 4
			rec := httptest.NewRecorder()
			f.store.Handler(nil).ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d %q, want 403 problem+json; body %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			if _, err := f.store.Head(t.Context(), "uploads/"+name); services.ErrorCode(err) != services.ENotFound {
				t.Fatalf("Head: %v, want not found", err)
			}
			// The refusal did not use up the URL.
			if resp := put(t, p, []byte("1234")); resp.StatusCode != http.StatusOK {
				t.Fatalf("exact PUT after a refused one: %d, want 200", resp.StatusCode)
			}
		})
	}
}

func TestOnPutSeesTheCommittedUploadOnlyOnSuccess(t *testing.T) {
	type call struct {
		key  string
		info services.BlobInfo
		err  error
	}
	var calls []call
	f := newFixture(t, nil)
	store := f.store
	var h http.Handler = store.Handler(func(ctx context.Context, key string, info services.BlobInfo) {
		_, err := store.Head(ctx, key)
		calls = append(calls, call{key, info, err})
	})
	f.handler.Store(&h)
	p, err := store.PresignPut(t.Context(), "uploads/cb", "image/webp", 4, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if resp := put(t, services.PresignedRequest{Method: p.Method, URL: p.URL, Headers: map[string]string{"Content-Type": "image/png"}}, []byte("webp")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong type: %d", resp.StatusCode)
	}
	if len(calls) != 0 {
		t.Fatalf("OnPut called for a refused upload: %+v", calls)
	}
	resp := put(t, p, []byte("webp"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	if len(calls) != 1 {
		t.Fatalf("OnPut called %d times, want 1", len(calls))
	}
	c := calls[0]
	if c.key != "uploads/cb" || c.err != nil || c.info.Size != 4 || c.info.ContentType != "image/webp" || c.info.ETag != resp.Header.Get("ETag") {
		t.Fatalf("OnPut got %+v; want the committed object with the ETag the client got (%s)", c, resp.Header.Get("ETag"))
	}
}

func TestPublicHandlerServesPublicObjectsWithCachingHeaders(t *testing.T) {
	f := newFixture(t, nil)
	const cc = "public, max-age=31536000, immutable"
	if err := f.store.Put(t.Context(), "public/avatars/p1/256.webp", strings.NewReader("webp!"), 5, "image/webp", cc); err != nil {
		t.Fatal(err)
	}
	h := f.store.PublicHandler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/avatars/p1/256.webp", nil))
	hd := rec.Header()
	if rec.Code != http.StatusOK || rec.Body.String() != "webp!" || hd.Get("Content-Type") != "image/webp" ||
		hd.Get("Cache-Control") != cc || hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("ETag") == "" {
		t.Fatalf("GET: %d %q headers %v", rec.Code, rec.Body, hd)
	}
	etag := hd.Get("ETag")

	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/avatars/p1/256.webp", nil)
	req.Header.Set("If-None-Match", etag)
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 || rec.Header().Get("Cache-Control") != cc {
		t.Fatalf("conditional GET: %d %q headers %v, want 304 with Cache-Control", rec.Code, rec.Body, rec.Header())
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/avatars/p1/256.webp", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "5" || rec.Header().Get("ETag") != etag {
		t.Fatalf("HEAD: %d %q headers %v", rec.Code, rec.Body, rec.Header())
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/avatars/missing.webp", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("absent: %d, want 404", rec.Code)
	}
}

func TestPublicHandlerNeverServesPrivateObjects(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.store.Put(t.Context(), "uploads/secret", strings.NewReader("secret"), 6, "image/png", ""); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/uploads/secret", "/../uploads/secret", "/%2e%2e/uploads/secret",
		"/..%2Fuploads%2Fsecret", `/..\uploads\secret`, "/x/../../uploads/secret"} {
		rec := httptest.NewRecorder()
		f.store.PublicHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code == http.StatusOK || rec.Body.String() == "secret" {
			t.Errorf("%s: %d %q; want a refusal", target, rec.Code, rec.Body)
		}
	}
}

func TestHandlerRefusesTraversalKeys(t *testing.T) {
	f := newFixture(t, nil)
	for _, path := range []string{"/blob/../etc/passwd", "/blob/a/%2e%2e/b", "/blob//abs", "/blob/a%00b", `/blob/a\b`} {
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL, strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = path // sent as is, not cleaned by the client
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %s: %d, want 400", method, path, resp.StatusCode)
			}
		}
	}
}

func TestExpiredNonceMarkersArePruned(t *testing.T) {
	f := newFixture(t, nil)
	p, err := f.store.PresignPut(t.Context(), "uploads/p", "image/png", 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if resp := put(t, p, []byte("x")); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	if n, err := f.store.PruneNonces(); err != nil || n != 0 {
		t.Fatalf("PruneNonces before expiry = %d, %v; want 0 (the URL is still live)", n, err)
	}
	f.shift(2 * time.Minute)
	if n, err := f.store.PruneNonces(); err != nil || n != 1 {
		t.Fatalf("PruneNonces after expiry = %d, %v; want 1", n, err)
	}
	if resp := put(t, p, []byte("x")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("PUT with an expired, pruned URL: %d, want 403", resp.StatusCode)
	}
}

func TestNewRefusesAShortSecret(t *testing.T) {
	_, err := localblob.New(localblob.Config{Dir: t.TempDir(), BaseURL: "http://127.0.0.1:8080", Secret: []byte("short")})
	if err == nil {
		t.Fatal("New accepted a 5-byte secret")
	}
}

// Over a real connection a body cut short of its Content-Length is an io.ErrUnexpectedEOF from
// the server's body reader, not a short copy: it is the client's mistake, answered 400.
func TestBodyCutShortOnTheWireIsA400NotA500(t *testing.T) {
	f := newFixture(t, nil)
	p, err := f.store.PresignPut(t.Context(), "uploads/cut", "image/png", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Type: image/png\r\nContent-Length: 10\r\n\r\n1234", u.RequestURI(), u.Host)
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d %q, want 400 problem+json; body %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if _, err := f.store.Head(t.Context(), "uploads/cut"); services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("Head: %v, want not found", err)
	}
	if resp := put(t, p, []byte("0123456789")); resp.StatusCode != http.StatusOK {
		t.Fatalf("the whole body afterwards: %d, want 200", resp.StatusCode)
	}
}
