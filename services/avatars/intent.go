package avatars

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// An upload id is a signed, self-describing intent: everything needed to recognise the bytes
// when they arrive and to answer the status of an upload that never got them, so presigning
// writes nothing. Layout (39 bytes, 63 lower-case base32 characters, safe in keys and URLs):
//
//	version(1) nonce(8) expiresAt(8, Unix s) contentLength(4) contentType(1) purpose(1) mac(16)
//
// The MAC is HMAC-SHA-256 (cut to 128 bits) over the fields and the player's id under a server
// secret, so an id is only valid for its player and none can be forged or altered.
const (
	intentVersion = 1
	intentFields  = 1 + 8 + 8 + 4 + 1 + 1
	intentMAC     = 16
	intentLen     = intentFields + intentMAC
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// intent is a decoded upload id.
type intent struct {
	ID            string
	PlayerID      string
	Purpose       string
	ContentType   string
	ContentLength int64
	ExpiresAt     time.Time
}

// Purposes and content types are indexed in ids: append only.
var (
	purposes  = []string{"avatar", "question_image"}
	typeIndex = []string{"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"}
)

func indexOf(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return -1
}

// signer encodes and checks intents with one secret.
type signer struct {
	secret []byte
}

func (s signer) mac(fields []byte, playerID string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write(fields)
	m.Write([]byte(playerID))
	return m.Sum(nil)[:intentMAC]
}

// encode returns the id of a new intent (with a random nonce).
func (s signer) encode(in intent) string {
	var b [intentLen]byte
	b[0] = intentVersion
	_, _ = rand.Read(b[1:9])
	binary.BigEndian.PutUint64(b[9:17], uint64(in.ExpiresAt.Unix()))
	binary.BigEndian.PutUint32(b[17:21], uint32(in.ContentLength))
	b[21] = byte(indexOf(typeIndex, in.ContentType))
	b[22] = byte(indexOf(purposes, in.Purpose))
	copy(b[intentFields:], s.mac(b[:intentFields], in.PlayerID))
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// decode checks id for playerID; false when it is not a valid id of that player's.
func (s signer) decode(playerID, id string) (intent, bool) {
	if len(id) != idEncoding.EncodedLen(intentLen) {
		return intent{}, false
	}
	b, err := idEncoding.DecodeString(strings.ToUpper(id))
	if err != nil || len(b) != intentLen || b[0] != intentVersion {
		return intent{}, false
	}
	if !hmac.Equal(b[intentFields:], s.mac(b[:intentFields], playerID)) {
		return intent{}, false
	}
	t, p := int(b[21]), int(b[22])
	if t >= len(typeIndex) || p >= len(purposes) {
		return intent{}, false
	}
	return intent{ID: id, PlayerID: playerID, Purpose: purposes[p], ContentType: typeIndex[t],
		ContentLength: int64(binary.BigEndian.Uint32(b[17:21])),
		ExpiresAt:     time.Unix(int64(binary.BigEndian.Uint64(b[9:17])), 0).UTC()}, true
}
