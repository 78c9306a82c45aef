package gateway

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trivium-game/trivium/services"
)

// MaxJSONBody caps every JSON request body.
const MaxJSONBody = 64 << 10

// validator is implemented by request types that check themselves.
type validator interface {
	Valid() map[string]string
}

// decode reads one JSON value from a size-capped body, refusing unknown fields and trailing data.
// Its errors are domain errors, so they map to 400/413/415/422 — never 500.
func decode[T any](w http.ResponseWriter, r *http.Request) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return v, &services.Error{Code: "unsupported_media_type", Message: "Content-Type must be application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, decodeError(err)
	}
	if dec.More() {
		return v, &services.Error{Code: "malformed", Message: "body must hold exactly one JSON value"}
	}
	if vv, ok := any(&v).(validator); ok {
		if err := services.Invalid(vv.Valid()); err != nil {
			return v, err
		}
	}
	return v, nil
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return services.Errorf(services.ETooLarge, "body is larger than %d bytes", mbe.Limit)
	case errors.As(err, &ute):
		field := ute.Field
		if field == "" {
			field = "body"
		}
		return services.Invalid(map[string]string{field: "must be " + ute.Type.String()})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json quotes the name with %q; unquote it so the error names the field as sent.
		quoted := strings.TrimPrefix(err.Error(), "json: unknown field ")
		name, uerr := strconv.Unquote(quoted)
		if uerr != nil {
			name = quoted
		}
		if name == "" {
			// A blank key would make an error no client can attach to a field (found by FuzzDecode).
			return services.Invalid(map[string]string{"body": `unknown field ""`})
		}
		return services.Invalid(map[string]string{name: "unknown field"})
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &services.Error{Code: "malformed", Message: "body is not valid JSON"}
	default:
		var e *services.Error
		if errors.As(err, &e) {
			return e
		}
		return &services.Error{Code: "malformed", Message: "body is not valid JSON: " + err.Error()}
	}
}

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// encodePublic writes a cacheable public read with a strong ETag and answers If-None-Match.
func encodePublic(w http.ResponseWriter, r *http.Request, maxAge time.Duration, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode", http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge.Seconds())))
	h.Set("ETag", etag)
	h.Add("Vary", "Origin")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// problem is an RFC 9457 document.
type problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail,omitempty"`
	Code   string            `json:"code"`
	Errors map[string]string `json:"errors,omitempty"`
}

// statusOf is the one table from domain error codes to HTTP statuses.
var statusOf = map[string]int{
	"malformed":                 http.StatusBadRequest,
	services.EUnauthenticated:   http.StatusUnauthorized,
	services.EForbidden:         http.StatusForbidden,
	services.ENotFound:          http.StatusNotFound,
	"method_not_allowed":        http.StatusMethodNotAllowed,
	services.EConflict:          http.StatusConflict,
	services.EInsufficientFunds: http.StatusConflict,
	services.ELicenceExhausted:  http.StatusForbidden,
	services.ETooLarge:          http.StatusRequestEntityTooLarge,
	"unsupported_media_type":    http.StatusUnsupportedMediaType,
	services.EInvalid:           http.StatusUnprocessableEntity,
	services.ERateLimited:       http.StatusTooManyRequests,
	services.EUnavailable:       http.StatusServiceUnavailable,
	services.EBusy:              http.StatusServiceUnavailable,
	services.EMuted:             http.StatusForbidden,
	services.EInternal:          http.StatusInternalServerError,
}

// Most routes answer one value or fail. reply, replyTo and act hold that shape, so a handler
// says only what it calls: the value goes out as JSON with status, an error as problem+json.

// reply answers what answer returns.
func reply[T any](log *slog.Logger, status int, answer func(r *http.Request) (T, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := answer(r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, status, v)
	})
}

// replyTo is reply for a route with a JSON body: answer sees the body only once it decoded and
// validated.
func replyTo[Req, T any](log *slog.Logger, status int, answer func(r *http.Request, req Req) (T, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[Req](w, r)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		v, err := answer(r, req)
		if err != nil {
			fail(log, w, r, err)
			return
		}
		encode(w, status, v)
	})
}

// act answers 204 No Content once do succeeds.
func act(log *slog.Logger, do func(r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := do(r); err != nil {
			fail(log, w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// fail writes err as problem+json; internal errors are logged once here and never shown.
func fail(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		// The client went away mid-request: nobody is left to answer and nothing is wrong here.
		log.Debug("request abandoned by the client", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r.Context()))
		return
	}
	code := services.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if d := services.ErrorRetryAfter(err); d > 0 {
		retryAfter(w, d)
	}
	msg := services.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		log.Error("internal error", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r.Context()), "err", err)
		msg = "internal error"
	}
	writeProblem(w, status, code, msg, services.ErrorFields(err))
}

func writeProblem(w http.ResponseWriter, status int, code, detail string, fields map[string]string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{
		Type: "https://trivium.dev/problems/" + strings.ReplaceAll(code, "_", "-"), Title: http.StatusText(status),
		Status: status, Detail: detail, Code: code, Errors: fields,
	})
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", fmt.Sprint(int(d.Seconds()+0.999)))
}
