package localblob

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/trivium-game/trivium/services"
)

// Query parameters of presigned URLs.
const (
	paramExpires       = "X-Expires"
	paramContentType   = "X-Content-Type"
	paramContentLength = "X-Content-Length"
	paramNonce         = "X-Nonce"
	paramSignature     = "X-Signature"
)

// PathPrefix is where Handler expects its requests: mount it at this prefix without stripping it.
const PathPrefix = "/blob/"

// maxContentTypeLen keeps signed content types to what a sane client sends.
const maxContentTypeLen = 255

// sign is the HMAC of everything a URL grants. The parts are newline-separated and none can
// contain a newline (keys and header values are validated), so no two grants share a string.
func (s *Store) sign(method, key, contentType, contentLength, expires, nonce string) string {
	m := hmac.New(sha256.New, s.secret)
	for _, part := range []string{"trivium-blob-v1", method, key, contentType, contentLength, expires, nonce} {
		m.Write([]byte(part))
		m.Write([]byte{'\n'})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// verify compares in constant time so the signature cannot be found byte by byte.
func (s *Store) verify(sig, method, key, contentType, contentLength, expires, nonce string) bool {
	want := s.sign(method, key, contentType, contentLength, expires, nonce)
	return hmac.Equal([]byte(sig), []byte(want))
}

// expiry rounds up to whole seconds so a URL never lives shorter than asked.
func (s *Store) expiry(ttl time.Duration) time.Time {
	exp := s.now().Add(ttl)
	if t := exp.Truncate(time.Second); !t.Equal(exp) {
		return t.Add(time.Second)
	}
	return exp
}

func (s *Store) blobURL(key string, q url.Values) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return s.baseURL + PathPrefix + strings.Join(segs, "/") + "?" + q.Encode()
}

// PresignPut returns a URL that accepts one PUT of exactly contentType and contentLength bytes
// to key before ttl has passed. The URL's nonce is recorded on use, so it works once, even
// across restarts.
func (s *Store) PresignPut(ctx context.Context, key, contentType string, contentLength int64, ttl time.Duration) (services.PresignedRequest, error) {
	if err := services.ValidBlobKey(key); err != nil {
		return services.PresignedRequest{}, err
	}
	switch {
	case contentType == "" || len(contentType) > maxContentTypeLen:
		return services.PresignedRequest{}, services.Errorf(services.EInvalid, "content type must be 1 to %d bytes", maxContentTypeLen)
	case contentLength < 0:
		return services.PresignedRequest{}, services.Errorf(services.EInvalid, "content length must not be negative")
	case contentLength > s.maxPut:
		return services.PresignedRequest{}, services.Errorf(services.ETooLarge, "content length is over %d bytes", s.maxPut)
	case ttl <= 0:
		return services.PresignedRequest{}, services.Errorf(services.EInvalid, "ttl must be positive")
	}
	if err := validHeaderValue("content type", contentType); err != nil {
		return services.PresignedRequest{}, err
	}
	nonce, err := newNonce()
	if err != nil {
		return services.PresignedRequest{}, err
	}
	exp := s.expiry(ttl)
	expires := strconv.FormatInt(exp.Unix(), 10)
	length := strconv.FormatInt(contentLength, 10)
	q := url.Values{
		paramExpires:       {expires},
		paramContentType:   {contentType},
		paramContentLength: {length},
		paramNonce:         {nonce},
		paramSignature:     {s.sign(http.MethodPut, key, contentType, length, expires, nonce)},
	}
	return services.PresignedRequest{
		Method:    http.MethodPut,
		URL:       s.blobURL(key, q),
		Headers:   map[string]string{"Content-Type": contentType, "Content-Length": length},
		ExpiresAt: exp,
	}, nil
}

// PresignGet returns a URL that reads key with GET until ttl has passed.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := services.ValidBlobKey(key); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", services.Errorf(services.EInvalid, "ttl must be positive")
	}
	expires := strconv.FormatInt(s.expiry(ttl).Unix(), 10)
	q := url.Values{
		paramExpires:   {expires},
		paramSignature: {s.sign(http.MethodGet, key, "", "", expires, "")},
	}
	return s.blobURL(key, q), nil
}

// OnPut is called after a presigned PUT has been committed and before the client gets its 200,
// so the app can announce the upload. It is not called for Store.Put, which the app uses for its
// own derived objects. It runs on the request goroutine: keep it short.
type OnPut func(ctx context.Context, key string, info services.BlobInfo)

// Handler serves presigned URLs: PUT and GET on PathPrefix + key, calling onPut (if not nil)
// after each committed PUT. Mount it at PathPrefix without stripping the prefix (chi's Mount
// keeps the path; http.StripPrefix would not). The store is built first and the handler last,
// so whatever onPut calls can be built from the store in between.
func (s *Store) Handler(onPut OnPut) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.URL.Path, PathPrefix)
		if !ok {
			problem(w, http.StatusNotFound, "not a blob URL")
			return
		}
		if err := services.ValidBlobKey(key); err != nil {
			problem(w, http.StatusBadRequest, services.ErrorMessage(err))
			return
		}
		switch r.Method {
		case http.MethodPut:
			s.servePut(w, r, key, onPut)
		case http.MethodGet:
			s.serveSignedGet(w, r, key)
		default:
			w.Header().Set("Allow", "GET, PUT")
			problem(w, http.StatusMethodNotAllowed, "presigned URLs accept GET or PUT")
		}
	})
}

func (s *Store) servePut(w http.ResponseWriter, r *http.Request, key string, onPut OnPut) {
	q := r.URL.Query()
	expires, contentType, length, nonce := q.Get(paramExpires), q.Get(paramContentType), q.Get(paramContentLength), q.Get(paramNonce)
	if !s.verify(q.Get(paramSignature), http.MethodPut, key, contentType, length, expires, nonce) {
		problem(w, http.StatusForbidden, "signature does not match")
		return
	}
	exp, err1 := strconv.ParseInt(expires, 10, 64)
	signedLen, err2 := strconv.ParseInt(length, 10, 64)
	if err1 != nil || err2 != nil || !validNonce(nonce) {
		// Only this store's secret could have signed these, so this is a bug, not an attack.
		s.log.Error("localblob: signed URL with malformed parameters", "key", key)
		problem(w, http.StatusForbidden, "malformed presigned URL")
		return
	}
	if !s.now().Before(time.Unix(exp, 0)) {
		problem(w, http.StatusForbidden, "request has expired")
		return
	}
	if r.ContentLength > s.maxPut || signedLen > s.maxPut {
		problem(w, http.StatusRequestEntityTooLarge, "upload is over "+strconv.FormatInt(s.maxPut, 10)+" bytes")
		return
	}
	if ct := r.Header.Values("Content-Type"); len(ct) != 1 || ct[0] != contentType {
		problem(w, http.StatusForbidden, "Content-Type does not match the signed one")
		return
	}
	if r.ContentLength != signedLen {
		problem(w, http.StatusForbidden, "Content-Length does not match the signed one")
		return
	}
	// Refuse a used URL before reading its body; the exclusive claim below is what decides.
	if _, err := os.Stat(filepath.Join(s.noncesDir(), expires+"-"+nonce)); !errors.Is(err, fs.ErrNotExist) {
		problem(w, http.StatusForbidden, "presigned URL has already been used")
		return
	}

	// The body is staged before the URL is claimed so that an upload cut off by the network
	// does not use up the URL; only a complete body can claim it.
	staged, err := s.stage(r.Context(), key, r.Body, signedLen)
	if errors.Is(err, errLength) {
		problem(w, http.StatusForbidden, "body length does not match the signed Content-Length")
		return
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		// The client sent fewer bytes than its Content-Length and stopped: its mistake, not ours.
		problem(w, http.StatusBadRequest, "body ended before its Content-Length")
		return
	}
	if err != nil {
		if r.Context().Err() == nil {
			s.log.Error("localblob: stage upload", "key", key, "err", err)
		}
		problem(w, http.StatusInternalServerError, "could not store the upload")
		return
	}
	defer staged.discard()
	claimed, err := s.claimNonce(exp, nonce)
	if err != nil {
		s.log.Error("localblob: claim presigned URL", "key", key, "err", err)
		problem(w, http.StatusInternalServerError, "could not store the upload")
		return
	}
	if !claimed {
		problem(w, http.StatusForbidden, "presigned URL has already been used")
		return
	}
	m, err := s.commit(key, staged, contentType, "")
	if err != nil {
		s.log.Error("localblob: commit upload", "key", key, "err", err)
		problem(w, http.StatusInternalServerError, "could not store the upload")
		return
	}
	if onPut != nil {
		// The object is committed whether or not the client is still there to hear about it.
		onPut(context.WithoutCancel(r.Context()), key, m.info())
	}
	w.Header().Set("ETag", m.ETag)
	w.WriteHeader(http.StatusOK)
}

func validNonce(n string) bool {
	if len(n) != 32 {
		return false
	}
	_, err := hex.DecodeString(n)
	return err == nil
}

func (s *Store) serveSignedGet(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	expires := q.Get(paramExpires)
	if !s.verify(q.Get(paramSignature), http.MethodGet, key, "", "", expires, "") {
		problem(w, http.StatusForbidden, "signature does not match")
		return
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || !s.now().Before(time.Unix(exp, 0)) {
		problem(w, http.StatusForbidden, "request has expired")
		return
	}
	// Signed URLs hand out private objects: no shared cache may keep them.
	s.serveObject(w, r, key, "private, no-store")
}

// PublicHandler serves the world-readable objects, those under "public/", with GET and HEAD:
// the path /{rest} is key public/{rest}. Mount it with the prefix stripped, e.g.
// http.StripPrefix("/cdn", store.PublicHandler()). Private keys cannot be named through it.
func (s *Store) PublicHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			problem(w, http.StatusMethodNotAllowed, "public objects are read with GET or HEAD")
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, "/")
		if rest == "" {
			problem(w, http.StatusNotFound, "not found")
			return
		}
		// Validating the whole key refuses "..", so "public/../uploads/x" never reaches storage.
		key := "public/" + rest
		if err := services.ValidBlobKey(key); err != nil {
			problem(w, http.StatusBadRequest, services.ErrorMessage(err))
			return
		}
		s.serveObject(w, r, key, "")
	})
}

// serveObject streams key with its type and ETag; http.ServeContent answers If-None-Match
// with 304, HEAD without a body, and ranges. An empty cacheControl uses the stored one.
func (s *Store) serveObject(w http.ResponseWriter, r *http.Request, key, cacheControl string) {
	f, m, err := s.open(key)
	if services.ErrorCode(err) == services.ENotFound {
		problem(w, http.StatusNotFound, "not found")
		return
	}
	if err != nil {
		s.log.Error("localblob: open object", "key", key, "err", err)
		problem(w, http.StatusInternalServerError, "could not read the object")
		return
	}
	defer f.Close()
	if cacheControl == "" {
		cacheControl = m.CacheControl
	}
	h := w.Header()
	h.Set("Content-Type", m.ContentType)
	h.Set("ETag", m.ETag)
	if cacheControl != "" {
		h.Set("Cache-Control", cacheControl)
	}
	// User uploads are served from the app's origin: never let a browser sniff them into HTML
	// or run anything they contain if opened directly.
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", m.Modified, f)
}

// problem writes an RFC 9457 problem+json refusal.
func problem(w http.ResponseWriter, status int, detail string) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{"about:blank", http.StatusText(status), status, detail})
}
