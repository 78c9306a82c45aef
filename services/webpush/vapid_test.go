package webpush_test

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"sync"
	"testing"

	"github.com/trivium-game/trivium/services/secrets"
	"github.com/trivium-game/trivium/services/webpush"
)

func TestLoadOrCreateVAPIDCreatesOnceThenLoadsTheSameKeys(t *testing.T) {
	store := secrets.FileStore{Dir: filepath.Join(t.TempDir(), "secrets")}
	ctx := context.Background()
	k1, created, err := webpush.LoadOrCreateVAPID(ctx, store)
	if err != nil || !created {
		t.Fatalf("first: created %v, %v", created, err)
	}
	pub, _ := base64.RawURLEncoding.DecodeString(k1.Public)
	priv, _ := base64.RawURLEncoding.DecodeString(k1.Private)
	if len(pub) != 65 || pub[0] != 4 || len(priv) != 32 {
		t.Fatalf("public %d bytes, private %d bytes, want 65 (uncompressed) and 32", len(pub), len(priv))
	}
	k2, created, err := webpush.LoadOrCreateVAPID(ctx, store)
	if err != nil || created || k2 != k1 {
		t.Fatalf("second: created %v, same %v, %v", created, k2 == k1, err)
	}
}

func TestRotateVAPIDReplacesTheStoredKeys(t *testing.T) {
	store := secrets.FileStore{Dir: t.TempDir()}
	ctx := context.Background()
	old, _, err := webpush.LoadOrCreateVAPID(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := webpush.RotateVAPID(ctx, store)
	if err != nil || rotated == old {
		t.Fatalf("rotate: same %v, %v", rotated == old, err)
	}
	loaded, created, err := webpush.LoadOrCreateVAPID(ctx, store)
	if err != nil || created || loaded != rotated {
		t.Fatalf("after rotation loaded the rotated keys: %v, created %v, %v", loaded == rotated, created, err)
	}
}

func TestConcurrentReplicasAgreeOnOneVAPIDKey(t *testing.T) {
	store := secrets.FileStore{Dir: t.TempDir()}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[webpush.VAPIDKeys]bool{}
	)
	for range 8 {
		wg.Go(func() {
			k, _, err := webpush.LoadOrCreateVAPID(context.Background(), store)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			seen[k] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 1 {
		t.Fatalf("%d different key pairs, want 1", len(seen))
	}
}
