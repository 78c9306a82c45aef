// Package web serves Trivium's browser client: a single-page app of plain ES modules embedded in
// the binary, so the server needs no Node or build step to ship it.
package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/trivium-game/trivium/services"
)

//go:embed static
var static embed.FS

// CSP is the Content-Security-Policy sent with every response. The client has no inline scripts,
// handlers or style attributes, so nothing weaker is needed; images may come from the CDN.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https: http:; " +
	"connect-src 'self' ws: wss: http: https:; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// ContractPath is the module the server writes for the client from its own definitions (the
// upload limits and statuses), so the client imports them instead of retyping them.
const ContractPath = "js/contract.js"

// Handler serves the client: files from static/, the contract module built from limits, and
// index.html for any other path without a file extension so that client-side routes (/play,
// /host, /join/ABC234) survive a reload.
func Handler(limits services.UploadLimits) http.Handler {
	root, err := fs.Sub(static, "static")
	if err != nil {
		// The embed pattern guarantees the directory; failing here means a broken build.
		panic("web: embedded static directory missing: " + err.Error())
	}
	return handler{root: root, contract: Contract(limits)}
}

// Contract is the ES module served at ContractPath: the upload limits, the upload statuses and
// which of them are final.
func Contract(limits services.UploadLimits) []byte {
	l, err := json.Marshal(limits)
	if err != nil {
		panic("web: upload limits do not marshal: " + err.Error()) // a struct of ints and strings
	}
	var final []services.UploadStatus
	for _, s := range services.UploadStatuses() {
		if s.Final() {
			final = append(final, s)
		}
	}
	st, _ := json.Marshal(services.UploadStatuses())
	fi, _ := json.Marshal(final)
	return fmt.Appendf(nil, "// Written by the server from its own definitions (services.UploadLimits, services.UploadStatus).\n"+
		"export const uploadLimits = Object.freeze(%s);\nexport const uploadStatuses = Object.freeze(%s);\n"+
		"export const uploadFinalStatuses = Object.freeze(%s);\n", l, st, fi)
}

type handler struct {
	root     fs.FS
	contract []byte
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" || name == "index.html" {
		h.serveIndex(w, r)
		return
	}
	if name == ContractPath {
		hd.Set("Cache-Control", "no-cache") // it changes with the server's settings, not its files
		hd.Set("Content-Type", typeOf(name))
		serveBytes(w, r, h.contract)
		return
	}
	b, err := fs.ReadFile(h.root, name)
	if err != nil {
		// A missing asset is a 404 (a broken <script> must not receive HTML); anything that looks
		// like a route gets the app.
		if path.Ext(name) == "" {
			h.serveIndex(w, r)
			return
		}
		http.NotFound(w, r)
		return
	}
	if name == "sw.js" {
		// The browser must see a new service worker as soon as it is deployed.
		hd.Set("Cache-Control", "no-cache")
		hd.Set("Service-Worker-Allowed", "/")
	} else {
		hd.Set("Cache-Control", "public, max-age=300")
	}
	hd.Set("Content-Type", typeOf(name))
	serveBytes(w, r, b)
}

func (h handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(h.root, "index.html")
	if err != nil {
		http.Error(w, "client not built", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", typeOf("index.html"))
	serveBytes(w, r, b)
}

func typeOf(name string) string {
	// The types the client depends on are pinned: a module script served as text/plain (as a
	// minimal /etc/mime.types may say) would be refused by the browser under nosniff.
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

func serveBytes(w http.ResponseWriter, r *http.Request, b []byte) {
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}
