package services

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// NewID returns a random 128-bit id for a stored row, a game or a node: url-safe base64,
// lower-cased so ids read the same in URLs, blob keys and NATS subjects whatever their case rules.
// (Session ids and tickets are secrets, not ids: see NewSecret.)
func NewID() string { return strings.ToLower(randomText(16)) }

// NewSecret returns a random 144-bit bearer secret (session ids, WebSocket tickets): url-safe
// base64 with its case kept, so no bit is lost.
func NewSecret() string { return randomText(18) }

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
