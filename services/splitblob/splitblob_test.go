package splitblob_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/localblob"
	"github.com/trivium-game/trivium/services/splitblob"
)

func open(t *testing.T, dir string) *localblob.Store {
	t.Helper()
	st, err := localblob.New(localblob.Config{Dir: dir, BaseURL: "http://127.0.0.1:1", Secret: bytes.Repeat([]byte("k"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestPublishedKeysGoToThePublicStoreAndUploadsStayPrivate(t *testing.T) {
	ctx := context.Background()
	priv, pub := open(t, filepath.Join(t.TempDir(), "priv")), open(t, filepath.Join(t.TempDir(), "pub"))
	b := splitblob.Store{Private: priv, Public: pub}
	for key, body := range map[string]string{"uploads/p/u1": "orig", "public/avatars/a.jpg": "thumb"} {
		if err := b.Put(ctx, key, bytes.NewReader([]byte(body)), int64(len(body)), "image/jpeg", ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		key       string
		in, notIn services.BlobStore
	}{{"uploads/p/u1", priv, pub}, {"public/avatars/a.jpg", pub, priv}} {
		if _, err := c.in.Head(ctx, c.key); err != nil {
			t.Fatalf("%s not in its store: %v", c.key, err)
		}
		if _, err := c.notIn.Head(ctx, c.key); services.ErrorCode(err) != services.ENotFound {
			t.Fatalf("%s leaked into the other store: %v", c.key, err)
		}
		rc, info, err := b.Get(ctx, c.key)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if info.Size != int64(len(data)) || len(data) == 0 {
			t.Fatalf("get %s: %d bytes, info %+v", c.key, len(data), info)
		}
		if _, err := b.Head(ctx, c.key); err != nil {
			t.Fatal(err)
		}
		if _, err := b.PresignGet(ctx, c.key, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := b.Delete(ctx, c.key); err != nil {
			t.Fatal(err)
		}
		if _, err := c.in.Head(ctx, c.key); services.ErrorCode(err) != services.ENotFound {
			t.Fatalf("%s not deleted from its store: %v", c.key, err)
		}
	}
	if p, err := b.PresignPut(ctx, "uploads/p/u2", "image/png", 3, time.Minute); err != nil || p.Method != "PUT" {
		t.Fatalf("presign put: %+v %v", p, err)
	}
}
