package s3blob_test

import (
	"context"
	"os"
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
