package s3blob_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services/blobtest"
	"github.com/trivium-game/trivium/services/s3blob"
)

// openTestStore opens the S3 API named by TRIVIUM_TEST_S3 with a clock the test shifts. The
// tests fail rather than skip without it: CI always provides one.
func openTestStore(t *testing.T) (*s3blob.Store, func(time.Duration)) {
	t.Helper()
	raw := os.Getenv("TRIVIUM_TEST_S3")
	if raw == "" {
		t.Fatal("TRIVIUM_TEST_S3 is not set; start infra/versitygw.sh and set " +
			"TRIVIUM_TEST_S3='s3://trivium-test?endpoint=http://127.0.0.1:7070&path_style=1&access_key=trivium&secret_key=trivium-secret'")
	}
	cfg, err := s3blob.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	var offset atomic.Int64
	cfg.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	store, err := s3blob.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := store.EnsureBucket(ctx); err != nil {
		t.Fatalf("S3 API at TRIVIUM_TEST_S3 is unreachable or refuses us: %v", err)
	}
	return store, func(d time.Duration) { offset.Store(int64(d)) }
}

func TestConformance(t *testing.T) {
	store, shift := openTestStore(t)
	blobtest.Run(t, blobtest.Harness{Store: store, ShiftClock: shift, SingleUsePut: false})
}

func TestEnsureBucketIsIdempotent(t *testing.T) {
	store, _ := openTestStore(t)
	if err := store.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("second EnsureBucket: %v", err)
	}
}

// A presigned URL made for a public endpoint works through a proxy that keeps the Host header,
// the way browsers reach the S3 API through nginx in docker-compose.
func TestPresignedURLsNameThePublicEndpoint(t *testing.T) {
	raw := os.Getenv("TRIVIUM_TEST_S3")
	if raw == "" {
		t.Fatal("TRIVIUM_TEST_S3 is not set")
	}
	cfg, err := s3blob.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(cfg.Endpoint)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // the signature covers the host the browser used
	}})
	defer proxy.Close()
	cfg.PublicEndpoint = proxy.URL
	st, err := s3blob.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("public-endpoint/%d", time.Now().UnixNano())
	body := []byte("hello through the proxy")
	req, err := st.PresignPut(context.Background(), key, "text/plain", int64(len(body)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(req.URL, proxy.URL+"/") {
		t.Fatalf("presigned URL %s does not name the public endpoint %s", req.URL, proxy.URL)
	}
	put, _ := http.NewRequest("PUT", req.URL, bytes.NewReader(body))
	put.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT through the proxy: %d", resp.StatusCode)
	}
	defer st.Delete(context.Background(), key)
	if info, err := st.Head(context.Background(), key); err != nil || info.Size != int64(len(body)) {
		t.Fatalf("head after PUT: %+v %v", info, err)
	}
}
