package secrets

import (
	"context"
	"strings"

	"github.com/trivium-game/trivium/services"
)

// EnvStore reads secrets injected as environment variables (ECS task secrets from SSM):
// secret "token-key" is TRIVIUM_SECRET_TOKEN_KEY. It is read-only: a secret that is missing is
// an error telling the operator to create it, never generated here, because every replica must
// share it.
type EnvStore struct {
	Getenv func(string) string
}

// EnvName is the variable that holds a secret.
func EnvName(name string) string {
	return "TRIVIUM_SECRET_" + strings.ToUpper(strings.NewReplacer("-", "_", "/", "_", ".", "_").Replace(name))
}

// Get returns the variable's value; ENotFound when it is unset.
func (e EnvStore) Get(_ context.Context, name string) ([]byte, error) {
	v := e.Getenv(EnvName(name))
	if v == "" {
		return nil, services.Errorf(services.ENotFound, "secret %s is not set: create it once (see infra/README.md, `trivium vapid init`) and inject it as %s", name, EnvName(name))
	}
	return []byte(v), nil
}

// Put refuses: injected secrets are managed outside the process.
func (e EnvStore) Put(_ context.Context, name string, _ []byte) error {
	return services.Errorf(services.EForbidden, "secret %s comes from the environment (%s) and cannot be written here", name, EnvName(name))
}

// Create refuses like Put, so LoadOrCreate reports the missing secret instead of inventing one.
func (e EnvStore) Create(ctx context.Context, name string, v []byte) error {
	return e.Put(ctx, name, v)
}

var (
	_ Store   = EnvStore{}
	_ Creator = EnvStore{}
)
