package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/trivium-game/trivium/market"
	"github.com/trivium-game/trivium/moderation"
	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/avatars"
	"github.com/trivium-game/trivium/services/notify"
)

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// allRoutes builds the router with every optional part switched on and lists its routes as
// "METHOD pattern". A pattern registered for every method (r.Handle) is listed once as "ANY".
func allRoutes(t *testing.T) (http.Handler, map[string]bool) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	d := Deps{Logger: log, Registry: reg, Metrics: NewMetrics(reg), Avatars: &avatars.Service{}, Moderation: &moderation.Workflow{},
		Notify: &notify.Service{}, Blob: http.NotFoundHandler(), PublicImages: http.NotFoundHandler(), Web: http.NotFoundHandler(),
		// The handlers are never called here: non-nil values are enough to register their routes.
		Progress: struct{ services.ProgressStore }{}, Market: &market.Service{}, MarketStore: struct{ services.MarketStore }{},
		Reports: struct{ services.ReportStore }{}}
	cfg := Config{PublicURL: "http://127.0.0.1", AllowedOrigins: []string{"http://127.0.0.1"}, APIRate: 1000, APIBurst: 1000}
	cfg.WS.fill()
	h := newHub(cfg.WS, log, d.Metrics, nil)
	t.Cleanup(func() { close(h.stop) })
	r := routes(cfg, d, h)
	byPattern := map[string]map[string]bool{}
	err := chi.Walk(r.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if byPattern[route] == nil {
			byPattern[route] = map[string]bool{}
		}
		byPattern[route][strings.ToLower(method)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for route, ms := range byPattern {
		if len(ms) >= len(httpMethods) {
			out["ANY "+route] = true
			continue
		}
		for m := range ms {
			out[strings.ToUpper(m)+" "+route] = true
		}
	}
	return r, out
}

var paramRe = regexp.MustCompile(`\{[^}]*\}`)

// shape makes chi and OpenAPI paths comparable: /quizzes/{id} and /blob/* both become /x/{}.
func shape(p string) string {
	p = paramRe.ReplaceAllString(p, "{}")
	if strings.HasSuffix(p, "/*") {
		p = strings.TrimSuffix(p, "*") + "{}"
	}
	return p
}

type openAPIDoc struct {
	OpenAPI string                            `yaml:"openapi"`
	Info    map[string]any                    `yaml:"info"`
	Paths   map[string]map[string]yaml.Node   `yaml:"paths"`
	Comps   map[string]map[string]interface{} `yaml:"components"`
}

func loadOpenAPI(t *testing.T) (openAPIDoc, map[string]any) {
	t.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("gateway/openapi.yaml does not parse: %v", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(OpenAPI(), &raw); err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

// Every route in routes.go is in gateway/openapi.yaml and every documented operation is a route:
// the failures name the exact method and path to add on either side.
func TestOpenAPIDocumentsEveryRouteAndNothingElse(t *testing.T) {
	_, routes := allRoutes(t)
	doc, _ := loadOpenAPI(t)
	documented := map[string]bool{} // "METHOD shape"
	documentedPaths := map[string]string{}
	for p, item := range doc.Paths {
		documentedPaths[shape(p)] = p
		for k := range item {
			for _, m := range httpMethods {
				if k == m {
					documented[strings.ToUpper(m)+" "+shape(p)] = true
				}
			}
		}
	}
	var missing, extra []string
	matched := map[string]bool{}
	for rt := range routes {
		method, pattern, _ := strings.Cut(rt, " ")
		if method == "ANY" {
			// A catch-all handler (blob store, public images, the web client): its path must be
			// documented with the methods that mean something there.
			p, ok := documentedPaths[shape(pattern)]
			if !ok {
				missing = append(missing, fmt.Sprintf("%s (any method) is in gateway/routes.go but not in gateway/openapi.yaml: add paths.%q", pattern, strings.TrimSuffix(pattern, "*")+"{path}"))
				continue
			}
			for k := range doc.Paths[p] {
				matched[strings.ToUpper(k)+" "+shape(pattern)] = true
			}
			continue
		}
		key := method + " " + shape(pattern)
		matched[key] = true
		if !documented[key] {
			missing = append(missing, fmt.Sprintf("%s %s is in gateway/routes.go but not in gateway/openapi.yaml: add paths.%q.%s", method, pattern, pattern, strings.ToLower(method)))
		}
	}
	for key := range documented {
		if !matched[key] {
			method, p, _ := strings.Cut(key, " ")
			extra = append(extra, fmt.Sprintf("%s %s is documented in gateway/openapi.yaml but no route in gateway/routes.go serves it", method, documentedPaths[p]))
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, m := range append(missing, extra...) {
		t.Error(m)
	}
}

// The document is well formed as far as clients rely on it: OpenAPI 3.1, every operation has
// responses, every path parameter is declared, and every $ref points at something.
func TestOpenAPIIsWellFormed(t *testing.T) {
	doc, raw := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi: %q, want 3.1.x", doc.OpenAPI)
	}
	if doc.Info["title"] == nil || doc.Info["version"] == nil {
		t.Fatal("info needs a title and a version")
	}
	paths := raw["paths"].(map[string]any)
	for p, itemAny := range paths {
		item := itemAny.(map[string]any)
		shared := paramNames(raw, item["parameters"])
		for _, m := range httpMethods {
			opAny, ok := item[m]
			if !ok {
				continue
			}
			op := opAny.(map[string]any)
			if rs, ok := op["responses"].(map[string]any); !ok || len(rs) == 0 {
				t.Errorf("%s %s has no responses", strings.ToUpper(m), p)
			}
			declared := paramNames(raw, op["parameters"])
			for _, name := range paramRe.FindAllString(p, -1) {
				n := strings.Trim(name, "{}")
				if !declared[n] && !shared[n] {
					t.Errorf("%s %s does not declare its path parameter %q", strings.ToUpper(m), p, n)
				}
			}
		}
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "$ref" {
					if _, ok := resolve(raw, c.(string)); !ok {
						t.Errorf("%s: $ref %v points at nothing", at, c)
					}
					continue
				}
				walk(c, at+"."+k)
			}
		case []any:
			for i, c := range x {
				walk(c, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
	walk(raw, "")
}

func resolve(raw map[string]any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = raw
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func paramNames(raw map[string]any, v any) map[string]bool {
	out := map[string]bool{}
	list, _ := v.([]any)
	for _, p := range list {
		m, _ := p.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			r, _ := resolve(raw, ref)
			m, _ = r.(map[string]any)
		}
		if m != nil && m["in"] == "path" {
			out[fmt.Sprint(m["name"])] = true
		}
	}
	return out
}

func TestTheServerServesItsOpenAPIDocument(t *testing.T) {
	h, _ := allRoutes(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.yaml", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/yaml") ||
		!strings.Contains(rec.Body.String(), "openapi: 3.1") {
		t.Fatalf("GET /api/v1/openapi.yaml: %d %q %.60q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}
