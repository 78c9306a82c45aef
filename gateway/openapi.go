package gateway

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.1 description of every route in routes.go; openapi_test.go keeps
// the two equal.
//
//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the OpenAPI document the server serves.
func OpenAPI() []byte { return openAPI }

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(openAPI)
	})
}
