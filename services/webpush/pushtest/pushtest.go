// Package pushtest is a push service for tests that checks what a real one would and what only
// the browser could: it verifies the VAPID JWT (RFC 8292), decrypts every aes128gcm message
// with the subscription's private key (RFC 8291, RFC 8188) and records the plaintext. Anything
// malformed is answered 400 and recorded as a protocol error. Standard library only, so any
// package's tests can import it.
package pushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trivium-game/trivium/services/webpush"
)

// maxBody is the payload size push services must accept (RFC 8030 §7.2); larger is 413.
const maxBody = 4096

// Subscription is what a browser's PushSubscription.toJSON() returns.
type Subscription = webpush.Subscription

// Response scripts the answer to one push. The zero value is 201 Created.
type Response struct {
	Status     int    // 0 means 201
	RetryAfter string // Retry-After header value: delay-seconds or an HTTP-date
	Hang       bool   // answer nothing until the client gives up or the server closes
}

// Delivery is one accepted, decrypted push.
type Delivery struct {
	Subscription Subscription
	Plaintext    []byte
	TTL          time.Duration
	Urgency      string
	Topic        string
	At           time.Time
}

// Server is a test push service on an httptest server; endpoints are URL + "/push/{id}".
type Server struct {
	URL string

	srv  *httptest.Server
	done chan struct{}

	mu         sync.Mutex
	vapidKey   []byte
	subs       map[string]*subscription
	attempts   map[string]int
	deliveries []Delivery
	protoErrs  []error
	changed    chan struct{} // closed and replaced whenever deliveries grow
}

type subscription struct {
	sub       Subscription
	key       *ecdh.PrivateKey
	auth      []byte
	responses []Response
}

// New starts a push service that stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		done:     make(chan struct{}),
		subs:     map[string]*subscription{},
		attempts: map[string]int{},
		changed:  make(chan struct{}),
	}
	// URL is set before the server starts so handlers read it without a data race.
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.URL = "http://" + s.srv.Listener.Addr().String()
	s.srv.Start()
	t.Cleanup(func() {
		close(s.done) // releases hanging handlers, which Close waits for
		s.srv.Close()
	})
	return s
}

// SetVAPIDKey sets the application server public key (base64url, 65-byte uncompressed P-256)
// that every push's "k" must equal, as a browser's subscribe({applicationServerKey}) binds it.
// Until it is set every push is refused.
func (s *Server) SetVAPIDKey(t testing.TB, publicKey string) {
	t.Helper()
	b, err := b64(publicKey)
	if err == nil {
		_, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b)
	}
	if err != nil {
		t.Fatalf("pushtest: VAPID public key %q: %v", publicKey, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vapidKey = b
}

// NewSubscription creates a subscription with its own P-256 key pair and auth secret, the way a
// browser would.
func (s *Server) NewSubscription() Subscription {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	id := rand.Text()
	var sub Subscription
	sub.Endpoint = s.URL + "/push/" + id
	sub.Keys.P256dh = base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes())
	sub.Keys.Auth = base64.RawURLEncoding.EncodeToString(auth)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[id] = &subscription{sub: sub, key: key, auth: auth}
	return sub
}

// Respond scripts the answers to the next pushes to endpoint, one per push; the last one
// repeats. Respond(ep, Response{Status: 410}) makes the subscription gone for good;
// Respond(ep, Response{Status: 429, RetryAfter: "1"}, Response{}) throttles once.
func (s *Server) Respond(endpoint string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subs[s.id(endpoint)]
	if sub == nil {
		panic("pushtest: Respond for unknown endpoint " + endpoint)
	}
	sub.responses = append([]Response(nil), rs...)
}

// Attempts returns how many requests reached endpoint, whatever their answer.
func (s *Server) Attempts(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[s.id(endpoint)]
}

// Deliveries returns the accepted pushes so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// ProtocolErrors returns why pushes were refused with 400 or 413.
func (s *Server) ProtocolErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.protoErrs...)
}

// WaitFor waits until at least n pushes were delivered and returns them all; it fails the test
// after timeout, reporting any protocol errors.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Delivery {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if len(s.deliveries) >= n {
			d := append([]Delivery(nil), s.deliveries...)
			s.mu.Unlock()
			return d
		}
		changed, got, errs := s.changed, len(s.deliveries), append([]error(nil), s.protoErrs...)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("pushtest: %d of %d pushes delivered after %v; protocol errors: %v", got, n, timeout, errs)
			return nil
		}
	}
}

func (s *Server) id(endpoint string) string {
	return strings.TrimPrefix(endpoint, s.URL+"/push/")
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/push/")
	s.mu.Lock()
	sub := s.subs[id]
	if ok && sub != nil {
		s.attempts[id]++
	}
	vapidKey := s.vapidKey
	s.mu.Unlock()
	if !ok || sub == nil {
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		s.refuse(w, http.StatusMethodNotAllowed, fmt.Errorf("method %s, want POST", r.Method))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		s.refuse(w, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
		return
	}
	if len(body) > maxBody {
		s.refuse(w, http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", maxBody))
		return
	}
	d, err := s.check(r, sub, vapidKey, body)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, err)
		return
	}

	s.mu.Lock()
	resp := Response{}
	if len(sub.responses) > 0 {
		resp = sub.responses[0]
		if len(sub.responses) > 1 {
			sub.responses = sub.responses[1:]
		}
	}
	s.mu.Unlock()

	if resp.Hang {
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusCreated
	}
	if status >= 200 && status < 300 {
		s.mu.Lock()
		s.deliveries = append(s.deliveries, d)
		close(s.changed)
		s.changed = make(chan struct{})
		n := len(s.deliveries)
		s.mu.Unlock()
		w.Header().Set("Location", s.URL+"/message/"+strconv.Itoa(n))
	}
	if resp.RetryAfter != "" {
		w.Header().Set("Retry-After", resp.RetryAfter)
	}
	w.WriteHeader(status)
}

func (s *Server) refuse(w http.ResponseWriter, status int, err error) {
	s.mu.Lock()
	s.protoErrs = append(s.protoErrs, err)
	s.mu.Unlock()
	http.Error(w, err.Error(), status)
}

// check verifies the headers and VAPID token and decrypts the body.
func (s *Server) check(r *http.Request, sub *subscription, vapidKey, body []byte) (Delivery, error) {
	now := time.Now()
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		return Delivery{}, fmt.Errorf("Content-Encoding %q, want aes128gcm", ce)
	}
	ttl, err := strconv.ParseInt(r.Header.Get("TTL"), 10, 32)
	if err != nil || ttl < 0 {
		return Delivery{}, fmt.Errorf("TTL header %q must be a non-negative integer", r.Header.Get("TTL"))
	}
	urgency := r.Header.Get("Urgency")
	switch urgency {
	case "", "very-low", "low", "normal", "high":
	default:
		return Delivery{}, fmt.Errorf("Urgency %q is not very-low, low, normal or high", urgency)
	}
	topic := r.Header.Get("Topic")
	if len(topic) > 32 || strings.Trim(topic, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return Delivery{}, fmt.Errorf("Topic %q must be at most 32 base64url characters", topic)
	}
	if vapidKey == nil {
		return Delivery{}, errors.New("no VAPID key configured: call SetVAPIDKey with the server's public key")
	}
	if err := verifyVAPID(r.Header.Get("Authorization"), s.URL, vapidKey, now); err != nil {
		return Delivery{}, fmt.Errorf("vapid: %w", err)
	}
	plain, err := decrypt(sub.key, sub.auth, body)
	if err != nil {
		return Delivery{}, fmt.Errorf("decrypt: %w", err)
	}
	return Delivery{
		Subscription: sub.sub,
		Plaintext:    plain,
		TTL:          time.Duration(ttl) * time.Second,
		Urgency:      urgency,
		Topic:        topic,
		At:           now,
	}, nil
}

// verifyVAPID checks `vapid t=<JWT>, k=<key>` (RFC 8292 §3): k is the expected key, the JWT is
// ES256-signed by it, aud is the push resource's origin, exp is in the future and no more than
// 24 hours away, sub is a mailto: or https: contact.
func verifyVAPID(header, aud string, want []byte, now time.Time) error {
	scheme, params, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "vapid") {
		return fmt.Errorf("Authorization scheme %q, want vapid", scheme)
	}
	var token, key string
	for p := range strings.SplitSeq(params, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch name {
		case "t":
			token = value
		case "k":
			key = value
		}
	}
	if token == "" || key == "" {
		return errors.New("Authorization lacks t= or k=")
	}
	k, err := b64(key)
	if err != nil {
		return fmt.Errorf("k is not base64url: %w", err)
	}
	if !bytes.Equal(k, want) {
		return errors.New("k is not the application server key of the subscription")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k)
	if err != nil {
		return fmt.Errorf("k: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("t is not a JWS compact serialisation")
	}
	var hdr struct{ Alg, Typ string }
	if err := decodeJSON(parts[0], &hdr); err != nil {
		return fmt.Errorf("JWT header: %w", err)
	}
	if hdr.Alg != "ES256" || hdr.Typ != "" && hdr.Typ != "JWT" {
		return fmt.Errorf("JWT header alg %q typ %q, want ES256 JWT", hdr.Alg, hdr.Typ)
	}
	sig, err := b64(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("JWT signature is not 64 bytes of base64url (r||s)")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("JWT signature does not verify with k")
	}
	var claims struct {
		Aud *string
		Exp *float64
		Sub *string
	}
	if err := decodeJSON(parts[1], &claims); err != nil {
		return fmt.Errorf("JWT claims: %w", err)
	}
	switch {
	case claims.Aud == nil || *claims.Aud != aud:
		return fmt.Errorf("JWT aud %v, want %q", deref(claims.Aud), aud)
	case claims.Exp == nil:
		return errors.New("JWT has no exp")
	case time.Unix(int64(*claims.Exp), 0).Before(now):
		return fmt.Errorf("JWT expired at %v", time.Unix(int64(*claims.Exp), 0).UTC())
	case time.Unix(int64(*claims.Exp), 0).After(now.Add(24 * time.Hour)):
		return errors.New("JWT exp is more than 24 hours away")
	case claims.Sub == nil || !validContact(*claims.Sub):
		return fmt.Errorf("JWT sub %v, want mailto:address or https: URL", deref(claims.Sub))
	}
	return nil
}

func validContact(sub string) bool {
	if addr, ok := strings.CutPrefix(sub, "mailto:"); ok {
		// Catches "mailto:mailto:..." as well as a missing address.
		return strings.Contains(addr, "@") && !strings.Contains(addr, ":")
	}
	return strings.HasPrefix(sub, "https://") && len(sub) > len("https://")
}

// decrypt reverses RFC 8291 on a single aes128gcm record (RFC 8188 §2).
func decrypt(ua *ecdh.PrivateKey, auth, body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if rs < 18 {
		return nil, fmt.Errorf("record size %d below 18", rs)
	}
	if idlen != 65 || len(body) < 21+idlen {
		return nil, fmt.Errorf("keyid of %d bytes, want the sender's 65-byte public key", idlen)
	}
	keyid, ct := body[21:21+idlen], body[21+idlen:]
	if len(ct) > int(rs) {
		return nil, errors.New("more than one record: RFC 8291 allows a single record")
	}
	if len(ct) < 17 {
		return nil, errors.New("record shorter than a tag and a delimiter")
	}
	as, err := ecdh.P256().NewPublicKey(keyid)
	if err != nil {
		return nil, fmt.Errorf("keyid: %w", err)
	}
	secret, err := ua.ECDH(as)
	if err != nil {
		return nil, fmt.Errorf("ecdh: %w", err)
	}
	info := "WebPush: info\x00" + string(ua.PublicKey().Bytes()) + string(as.Bytes())
	ikm, err := hkdf.Key(sha256.New, secret, auth, info, 32)
	if err != nil {
		return nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, errors.New("authentication tag does not verify (wrong keys or tampered ciphertext)")
	}
	// Padding is zeros after a delimiter: 2 in the last record.
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 2 {
		return nil, errors.New("last record lacks the 0x02 padding delimiter")
	}
	return plain[:i], nil
}

func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func decodeJSON(seg string, v any) error {
	b, err := b64(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func deref(s *string) any {
	if s == nil {
		return "missing"
	}
	return strconv.Quote(*s)
}
