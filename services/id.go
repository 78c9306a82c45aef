package services

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// NewID returns a random 128-bit id for a stored row: url-safe base64, lower-cased so ids read
// the same in URLs, blob keys and subjects whatever their case rules. (Session tokens and
// tickets are secrets, not ids: accounts makes those.)
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base64.RawURLEncoding.EncodeToString(b[:]))
}
