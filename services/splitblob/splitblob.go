// Package splitblob keeps published images apart from uploads: keys under public/ go to one
// blob store (the CDN's bucket), everything else to another, so the public bucket only ever
// holds what was published.
package splitblob

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/trivium-game/trivium/services"
)

// PublicPrefix is the key prefix that goes to the public store.
const PublicPrefix = "public/"

// Store routes each key to Private or Public by its prefix.
type Store struct{ Private, Public services.BlobStore }

var _ services.BlobStore = Store{}

func (b Store) pick(key string) services.BlobStore {
	if strings.HasPrefix(key, PublicPrefix) {
		return b.Public
	}
	return b.Private
}

// PresignPut presigns in the store that holds key.
func (b Store) PresignPut(ctx context.Context, key, ct string, n int64, ttl time.Duration) (services.PresignedRequest, error) {
	return b.pick(key).PresignPut(ctx, key, ct, n, ttl)
}

// PresignGet presigns in the store that holds key.
func (b Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	return b.pick(key).PresignGet(ctx, key, ttl)
}

// Put writes to the store that holds key.
func (b Store) Put(ctx context.Context, key string, r io.ReadSeeker, size int64, ct, cc string) error {
	return b.pick(key).Put(ctx, key, r, size, ct, cc)
}

// Get reads from the store that holds key.
func (b Store) Get(ctx context.Context, key string) (io.ReadCloser, services.BlobInfo, error) {
	return b.pick(key).Get(ctx, key)
}

// Head stats in the store that holds key.
func (b Store) Head(ctx context.Context, key string) (services.BlobInfo, error) {
	return b.pick(key).Head(ctx, key)
}

// Delete deletes from the store that holds key.
func (b Store) Delete(ctx context.Context, key string) error { return b.pick(key).Delete(ctx, key) }
