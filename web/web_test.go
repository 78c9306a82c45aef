package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/trivium-game/trivium/services"
)

func get(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	h := Handler(services.DefaultUploadLimits())
	for _, p := range []string{"/", "/index.html", "/js/app.js", "/app.css", "/sw.js", "/play", "/missing.js"} {
		r := get(t, h, p)
		if got := r.Header.Get("Content-Security-Policy"); got != CSP {
			t.Errorf("%s: CSP = %q", p, got)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", p, got)
		}
		if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy = %q", p, got)
		}
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "worker-src 'self'"} {
		if !strings.Contains(CSP, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	if strings.Contains(CSP, "unsafe-inline") || strings.Contains(CSP, "unsafe-eval") {
		t.Errorf("CSP must not allow inline code: %s", CSP)
	}
}

func TestStaticFilesHaveTheirContentTypes(t *testing.T) {
	h := Handler(services.DefaultUploadLimits())
	for path, want := range map[string]string{
		"/js/app.js":            "text/javascript; charset=utf-8",
		"/js/qr.js":             "text/javascript; charset=utf-8",
		"/sw.js":                "text/javascript; charset=utf-8",
		"/app.css":              "text/css; charset=utf-8",
		"/index.html":           "text/html; charset=utf-8",
		"/icon.svg":             "image/svg+xml",
		"/manifest.webmanifest": "application/manifest+json",
	} {
		r := get(t, h, path)
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", path, r.StatusCode)
		}
		if got := r.Header.Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type = %q, want %q", path, got, want)
		}
	}
}

func TestClientRoutesGetTheAppAndMissingFilesA404(t *testing.T) {
	h := Handler(services.DefaultUploadLimits())
	index := body(t, get(t, h, "/"))
	if !strings.Contains(index, `<script type="module" src="/js/app.js">`) {
		t.Fatalf("/ is not the app shell:\n%s", index)
	}
	for _, p := range []string{"/play", "/host", "/join/ABC234", "/author/new", "/profile", "/play/ABC234/"} {
		r := get(t, h, p)
		if r.StatusCode != http.StatusOK || body(t, r) != index {
			t.Errorf("%s: want index.html, got status %d", p, r.StatusCode)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control = %q, want no-cache", p, got)
		}
	}
	for _, p := range []string{"/js/nope.js", "/nope.css", "/img/x.png"} {
		if r := get(t, h, p); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404 (a script must never receive HTML)", p, r.StatusCode)
		}
	}
}

func TestIndexAndServiceWorkerAreNeverCachedStale(t *testing.T) {
	h := Handler(services.DefaultUploadLimits())
	for _, p := range []string{"/", "/index.html", "/sw.js"} {
		if got := get(t, h, p).Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control = %q, want no-cache", p, got)
		}
	}
}

func TestOnlyGetAndHeadAreServed(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(services.DefaultUploadLimits()).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /: status %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	Handler(services.DefaultUploadLimits()).ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/js/app.js", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: status %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// The CSP would block inline code in the browser; this catches it before anyone loads the page.
func TestNoHTMLFileHasInlineScriptsHandlersOrStyles(t *testing.T) {
	root, err := fs.Sub(static, "static")
	if err != nil {
		t.Fatal(err)
	}
	scriptTag := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	handler := regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	styleAttr := regexp.MustCompile(`(?i)<[^>]*\sstyle\s*=`)
	styleTag := regexp.MustCompile(`(?i)<style\b`)
	jsURL := regexp.MustCompile(`(?i)javascript:`)
	n := 0
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		n++
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		s := string(b)
		for _, m := range scriptTag.FindAllStringSubmatch(s, -1) {
			if strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s: inline <script> body: %.60q", p, m[2])
			}
			if !strings.Contains(m[1], "src=") {
				t.Errorf("%s: <script> without src", p)
			}
		}
		for _, re := range []*regexp.Regexp{handler, styleAttr, styleTag, jsURL} {
			if m := re.FindString(s); m != "" {
				t.Errorf("%s: forbidden inline code %q", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no HTML files found")
	}
}

// The client builds its DOM in JS; markup from strings would let chat or quiz text inject HTML.
func TestScriptsNeverAssignMarkupStrings(t *testing.T) {
	root, err := fs.Sub(static, "static")
	if err != nil {
		t.Fatal(err)
	}
	bad := regexp.MustCompile(`\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(\s*['"](style|on[a-z]+)['"]`)
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		if m := bad.FindString(string(b)); m != "" {
			t.Errorf("%s: uses %q", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The client's upload checks come from the server's definitions: the contract module carries the
// limits the handler was given and every upload status, and no script retypes a limit.
func TestTheContractModuleCarriesTheServersUploadLimits(t *testing.T) {
	limits := services.UploadLimits{MaxBytes: 1234, ContentTypes: []string{"image/png"}}
	r := get(t, Handler(limits), "/"+ContractPath)
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("status %d, type %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	js := body(t, r)
	for _, want := range []string{`export const uploadLimits = Object.freeze({"maxBytes":1234,"contentTypes":["image/png"]});`,
		`"awaiting_upload"`, `"in_review"`, `"accepted"`, `"rejected"`, `"failed"`, `"processing"`} {
		if !strings.Contains(js, want) {
			t.Errorf("contract lacks %s:\n%s", want, js)
		}
	}
	root, err := fs.Sub(static, "static")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(root, ContractPath); err == nil {
		t.Errorf("%s is a file in static/: the served module must be the only one", ContractPath)
	}
	retyped := regexp.MustCompile(`'image/(jpeg|png|webp)'|"image/(jpeg|png|webp)"|5 \* 1024 \* 1024|5 << 20|5242880`)
	imports := 0
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		if m := retyped.FindString(string(b)); m != "" {
			t.Errorf("%s retypes an upload limit (%s): import it from %s", p, m, ContractPath)
		}
		if strings.Contains(string(b), "/contract.js'") {
			imports++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if imports == 0 {
		t.Error("no script imports the contract module")
	}
}
