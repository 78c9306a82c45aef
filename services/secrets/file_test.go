package secrets_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/secrets"
)

func TestFileStoreWritesOwnerOnlyFilesAndDirectories(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	s := secrets.FileStore{Dir: dir}
	ctx := context.Background()
	if err := s.Put(ctx, "webpush/vapid-private-key", []byte("k1")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		perm os.FileMode
	}{
		{dir, 0o700},
		{filepath.Join(dir, "webpush"), 0o700},
		{filepath.Join(dir, "webpush", "vapid-private-key"), 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != c.perm {
			t.Errorf("%s has mode %v, want %v", c.path, fi.Mode().Perm(), c.perm)
		}
	}
	v, err := s.Get(ctx, "webpush/vapid-private-key")
	if err != nil || string(v) != "k1" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

func TestFileStoreTightensALooseSecretsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (secrets.FileStore{Dir: dir}).Put(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, want 0700", fi.Mode().Perm())
	}
}

func TestFileStorePutReplacesAndLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	s := secrets.FileStore{Dir: dir}
	ctx := context.Background()
	for _, v := range []string{"old", "new"} {
		if err := s.Put(ctx, "k", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := s.Get(ctx, "k"); string(v) != "new" {
		t.Fatalf("Get = %q, want new", v)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("dir holds %d entries, want only the secret", len(entries))
	}
}

func TestFileStoreGetOfMissingSecretIsNotFound(t *testing.T) {
	_, err := secrets.FileStore{Dir: t.TempDir()}.Get(context.Background(), "absent")
	if services.ErrorCode(err) != services.ENotFound {
		t.Fatalf("err = %v, want not_found", err)
	}
}

func TestFileStoreRefusesNamesThatEscapeTheDirectory(t *testing.T) {
	s := secrets.FileStore{Dir: t.TempDir()}
	for _, name := range []string{"", "../x", "a/../../x", "/etc/passwd", ".hidden", "a//b", `a\b`} {
		if err := s.Put(context.Background(), name, []byte("v")); services.ErrorCode(err) != services.EInvalid {
			t.Errorf("Put(%q) err = %v, want invalid", name, err)
		}
	}
}

func TestFileStoreCreateRefusesAnExistingSecret(t *testing.T) {
	s := secrets.FileStore{Dir: t.TempDir()}
	ctx := context.Background()
	if err := s.Create(ctx, "k", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "k", []byte("second")); services.ErrorCode(err) != services.EConflict {
		t.Fatalf("err = %v, want conflict", err)
	}
	if v, _ := s.Get(ctx, "k"); string(v) != "first" {
		t.Fatalf("Get = %q, want first", v)
	}
}

func TestLoadOrCreateKeyCreatesOnceThenLoads(t *testing.T) {
	s := secrets.FileStore{Dir: t.TempDir()}
	ctx := context.Background()
	k1, created, err := secrets.LoadOrCreateKey(ctx, s, "token-key", 32)
	if err != nil || !created || len(k1) != 32 {
		t.Fatalf("first = %d bytes, created %v, %v", len(k1), created, err)
	}
	k2, created, err := secrets.LoadOrCreateKey(ctx, s, "token-key", 32)
	if err != nil || created || string(k1) != string(k2) {
		t.Fatalf("second: created %v, same %v, %v", created, string(k1) == string(k2), err)
	}
	if _, _, err := secrets.LoadOrCreateKey(ctx, s, "token-key", 64); err == nil {
		t.Fatal("a stored key of the wrong length must be an error, not silently replaced")
	}
}

func TestLoadOrCreateKeyAgreesUnderConcurrency(t *testing.T) {
	s := secrets.FileStore{Dir: t.TempDir()}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	for range 8 {
		wg.Go(func() {
			k, _, err := secrets.LoadOrCreateKey(context.Background(), s, "k", 16)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			seen[string(k)] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 1 {
		t.Fatalf("%d different keys, want 1", len(seen))
	}
}
