// Package secrets keeps small server secrets (VAPID keys, token signing keys) behind one
// interface: a directory of 0600 files for a single host, AWS SSM Parameter Store (subpackage
// ssm) for a fleet. Implementations never log values.
package secrets

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/trivium-game/trivium/services"
)

// Store reads and writes named secrets.
type Store interface {
	// Get returns the secret; services.ENotFound when it was never stored.
	Get(ctx context.Context, name string) ([]byte, error)
	// Put stores the secret, replacing any previous value.
	Put(ctx context.Context, name string, v []byte) error
}

// Creator is implemented by stores that can store a secret only if it is absent, so that
// replicas starting together agree on one generated value instead of each keeping its own.
type Creator interface {
	// Create stores the secret; services.EConflict when it already exists.
	Create(ctx context.Context, name string, v []byte) error
}

// ValidName reports whether name is usable by every store: slash-separated segments of
// letters, digits, '.', '_' and '-', no segment starting with '.' (which rules out "." and
// ".." and keeps the file store's temporary files out of the namespace).
func ValidName(name string) bool {
	if name == "" || len(name) > 200 {
		return false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg[0] == '.' {
			return false
		}
		for _, c := range seg {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '.' || c == '_' || c == '-'
			if !ok {
				return false
			}
		}
	}
	return true
}

// LoadOrCreate returns the secret called name, generating and storing it with gen when absent.
// If another process stores it first (the store is a Creator), that value wins.
func LoadOrCreate(ctx context.Context, store Store, name string, gen func() ([]byte, error)) (v []byte, created bool, err error) {
	v, err = store.Get(ctx, name)
	if err == nil {
		return v, false, nil
	}
	if services.ErrorCode(err) != services.ENotFound {
		return nil, false, fmt.Errorf("load secret %s: %w", name, err)
	}
	v, err = gen()
	if err != nil {
		return nil, false, fmt.Errorf("generate secret %s: %w", name, err)
	}
	c, ok := store.(Creator)
	if !ok {
		if err := store.Put(ctx, name, v); err != nil {
			return nil, false, fmt.Errorf("store secret %s: %w", name, err)
		}
		return v, true, nil
	}
	err = c.Create(ctx, name, v)
	if err == nil {
		return v, true, nil
	}
	if services.ErrorCode(err) != services.EConflict {
		return nil, false, fmt.Errorf("store secret %s: %w", name, err)
	}
	v, err = store.Get(ctx, name)
	if err != nil {
		return nil, false, fmt.Errorf("load secret %s after losing the race to create it: %w", name, err)
	}
	return v, false, nil
}

// LoadOrCreateKey returns an n-byte random key kept under name (stored base64url-encoded so
// text-only stores such as SSM accept it), generating it on first use. A stored value of the
// wrong length is an error rather than silently replaced: replacing a signing key logs
// everybody out, which should be a deliberate act.
func LoadOrCreateKey(ctx context.Context, store Store, name string, n int) (key []byte, created bool, err error) {
	if n <= 0 {
		return nil, false, fmt.Errorf("key %s: length %d must be positive", name, n)
	}
	enc, created, err := LoadOrCreate(ctx, store, name, func() ([]byte, error) {
		k := make([]byte, n)
		rand.Read(k)
		return []byte(base64.RawURLEncoding.EncodeToString(k)), nil
	})
	if err != nil {
		return nil, false, err
	}
	key, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(string(enc)), "="))
	if err != nil {
		return nil, false, fmt.Errorf("key %s: stored value is not base64url", name)
	}
	if len(key) != n {
		return nil, false, fmt.Errorf("key %s: stored key has %d bytes, want %d", name, len(key), n)
	}
	return key, created, nil
}
