package services

import (
	"context"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// PresignedRequest is what a client needs to upload straight to the blob store.
type PresignedRequest struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

// BlobInfo describes a stored object.
type BlobInfo struct {
	Size         int64
	ContentType  string
	ETag         string
	CacheControl string
}

// BlobStore keeps uploads and derived images. Keys are slash-separated paths; keys under
// "public/" are world-readable through the CDN, everything else is private.
type BlobStore interface {
	// PresignPut returns a URL that accepts exactly one PUT of exactly contentType and
	// contentLength bytes to key before expiry.
	PresignPut(ctx context.Context, key, contentType string, contentLength int64, ttl time.Duration) (PresignedRequest, error)
	// PresignGet returns a short-lived URL that reads key.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
	Put(ctx context.Context, key string, r io.ReadSeeker, size int64, contentType, cacheControl string) error
	Get(ctx context.Context, key string) (io.ReadCloser, BlobInfo, error) // ENotFound when absent
	Head(ctx context.Context, key string) (BlobInfo, error)               // ENotFound when absent
	Delete(ctx context.Context, key string) error                         // absent is not an error
}

// MaxBlobKeyLen matches S3's limit so keys stay portable between drivers.
const MaxBlobKeyLen = 1024

// ValidBlobKey refuses keys that could escape a directory or be read two ways: empty, absolute,
// with empty, "." or ".." segments, backslashes (a separator on Windows), NUL or other control
// characters. S3 would accept some of them; every driver refuses them so all stay interchangeable.
func ValidBlobKey(key string) error {
	switch {
	case key == "":
		return Errorf(EInvalid, "blob key is empty")
	case len(key) > MaxBlobKeyLen:
		return Errorf(EInvalid, "blob key is longer than %d bytes", MaxBlobKeyLen)
	case !utf8.ValidString(key):
		return Errorf(EInvalid, "blob key is not UTF-8")
	case strings.ContainsRune(key, '\\'):
		return Errorf(EInvalid, "blob key contains a backslash")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return Errorf(EInvalid, "blob key contains a control character")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return Errorf(EInvalid, "blob key %q has an empty, \".\" or \"..\" segment", key)
		}
	}
	return nil
}
