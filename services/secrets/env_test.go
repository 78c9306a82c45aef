package secrets

import (
	"context"
	"testing"

	"github.com/trivium-game/trivium/services"
)

func TestEnvStoreReadsInjectedSecretsAndNeverInventsThem(t *testing.T) {
	env := map[string]string{"TRIVIUM_SECRET_TOKEN_KEY": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}
	s := EnvStore{Getenv: func(k string) string { return env[k] }}
	v, err := s.Get(context.Background(), "token-key")
	if err != nil || string(v) != env["TRIVIUM_SECRET_TOKEN_KEY"] {
		t.Fatalf("get: %q %v", v, err)
	}
	if _, _, err := LoadOrCreateKey(context.Background(), s, "vapid-private-key", 32); services.ErrorCode(err) == "" {
		t.Fatal("a missing injected secret was generated instead of refused")
	}
	if err := s.Put(context.Background(), "x", []byte("y")); services.ErrorCode(err) != services.EForbidden {
		t.Fatalf("put: %v", err)
	}
}
