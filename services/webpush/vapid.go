package webpush

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/trivium-game/trivium/services"
)

// VAPIDSecretName is the secret holding the VAPID private key. Only the private key is stored:
// the public key is derived from it, so the pair can never be half-written.
const VAPIDSecretName = "vapid-private-key"

// VAPIDKeys is the application server's key pair (RFC 8292), base64url without padding: Public
// is the 65-byte uncompressed P-256 point browsers take as applicationServerKey, Private the
// 32-byte scalar.
type VAPIDKeys struct {
	Public  string `json:"publicKey"`
	Private string `json:"-"`
}

// SecretStore is where the VAPID key lives; secrets.Store (file or SSM) implements it. If the
// store also has Create (services.EConflict when the name exists), replicas starting at the
// same time agree on one key.
type SecretStore interface {
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, v []byte) error
}

type secretCreator interface {
	Create(ctx context.Context, name string, v []byte) error
}

// GenerateVAPIDKeys returns a fresh key pair.
func GenerateVAPIDKeys() (VAPIDKeys, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("generate vapid key: %w", err)
	}
	return keysOf(k), nil
}

// ParseVAPIDPrivateKey rebuilds the key pair from the private key alone.
func ParseVAPIDPrivateKey(private string) (VAPIDKeys, error) {
	b, err := decodeB64URL(strings.TrimSpace(private))
	if err != nil || len(b) != 32 {
		return VAPIDKeys{}, fmt.Errorf("vapid private key must be 32 bytes of base64url")
	}
	k, err := ecdh.P256().NewPrivateKey(b)
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("vapid private key: %w", err)
	}
	return keysOf(k), nil
}

func keysOf(k *ecdh.PrivateKey) VAPIDKeys {
	return VAPIDKeys{
		Public:  base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		Private: base64.RawURLEncoding.EncodeToString(k.Bytes()),
	}
}

// check verifies that Public belongs to Private.
func (k VAPIDKeys) check() error {
	derived, err := ParseVAPIDPrivateKey(k.Private)
	if err != nil {
		return err
	}
	pub, err := decodeB64URL(k.Public)
	if err != nil || base64.RawURLEncoding.EncodeToString(pub) != derived.Public {
		return fmt.Errorf("vapid public key does not match the private key")
	}
	return nil
}

// LoadOrCreateVAPID returns the stored VAPID keys, generating and storing a pair on first use.
func LoadOrCreateVAPID(ctx context.Context, store SecretStore) (keys VAPIDKeys, created bool, err error) {
	v, err := store.Get(ctx, VAPIDSecretName)
	if err == nil {
		keys, err = ParseVAPIDPrivateKey(string(v))
		if err != nil {
			return VAPIDKeys{}, false, fmt.Errorf("stored %s: %w", VAPIDSecretName, err)
		}
		return keys, false, nil
	}
	if services.ErrorCode(err) != services.ENotFound {
		return VAPIDKeys{}, false, fmt.Errorf("load %s: %w", VAPIDSecretName, err)
	}
	keys, err = GenerateVAPIDKeys()
	if err != nil {
		return VAPIDKeys{}, false, err
	}
	c, ok := store.(secretCreator)
	if !ok {
		if err := store.Put(ctx, VAPIDSecretName, []byte(keys.Private)); err != nil {
			return VAPIDKeys{}, false, fmt.Errorf("store %s: %w", VAPIDSecretName, err)
		}
		return keys, true, nil
	}
	err = c.Create(ctx, VAPIDSecretName, []byte(keys.Private))
	if err == nil {
		return keys, true, nil
	}
	if services.ErrorCode(err) != services.EConflict {
		return VAPIDKeys{}, false, fmt.Errorf("store %s: %w", VAPIDSecretName, err)
	}
	// Another replica stored its key first; use that one so all replicas sign alike.
	v, err = store.Get(ctx, VAPIDSecretName)
	if err != nil {
		return VAPIDKeys{}, false, fmt.Errorf("load %s after losing the race to create it: %w", VAPIDSecretName, err)
	}
	keys, err = ParseVAPIDPrivateKey(string(v))
	if err != nil {
		return VAPIDKeys{}, false, fmt.Errorf("stored %s: %w", VAPIDSecretName, err)
	}
	return keys, false, nil
}

// RotateVAPID replaces the stored keys with a new pair. Every existing subscription was made
// for the old public key, so push services will refuse them (403) until browsers subscribe
// again: rotate only after a key leak.
func RotateVAPID(ctx context.Context, store SecretStore) (VAPIDKeys, error) {
	keys, err := GenerateVAPIDKeys()
	if err != nil {
		return VAPIDKeys{}, err
	}
	if err := store.Put(ctx, VAPIDSecretName, []byte(keys.Private)); err != nil {
		return VAPIDKeys{}, fmt.Errorf("store %s: %w", VAPIDSecretName, err)
	}
	return keys, nil
}
