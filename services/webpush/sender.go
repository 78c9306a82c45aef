package webpush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	webpushgo "github.com/SherClockHolmes/webpush-go"
)

// Defaults for Config's zero values.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultTTL           = 24 * time.Hour
	DefaultMaxRetryAfter = time.Hour
	// MaxPayload is the largest plaintext sent. webpush-go pads every message to one 4096-byte
	// record, which leaves room for 3993 bytes; a round 3 KiB keeps headroom for JSON growth.
	MaxPayload = 3 << 10
)

// Urgency values of RFC 8030 §5.3.
const (
	UrgencyVeryLow = "very-low"
	UrgencyLow     = "low"
	UrgencyNormal  = "normal"
	UrgencyHigh    = "high"
)

// Config configures a Sender.
type Config struct {
	Keys VAPIDKeys
	// Subscriber is the contact push services may use: "mailto:ops@example.com",
	// "https://example.com/contact" or a bare address (sent as mailto:).
	Subscriber string
	// Timeout bounds one push, connection to answer. Default DefaultTimeout.
	Timeout time.Duration
	// AllowPrivate permits http and loopback/private endpoints (TRIVIUM_PUSH_ALLOW_PRIVATE, tests).
	AllowPrivate bool
	// TTL is used when Options.TTL is zero. Default DefaultTTL.
	TTL time.Duration
	// MaxRetryAfter caps a push service's Retry-After. Default DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// Now reads the clock for Retry-After dates. Default time.Now.
	Now func() time.Time
	// Transport replaces NewTransport(AllowPrivate); tests only, it bypasses the SSRF guard.
	Transport http.RoundTripper
}

// Options are per-message headers of RFC 8030.
type Options struct {
	// TTL is how long the push service keeps an undelivered message; zero means Config.TTL,
	// negative means 0 (deliver now or never).
	TTL time.Duration
	// Urgency is one of the Urgency* constants; empty sends none (the service assumes normal).
	Urgency string
	// Topic makes a newer message replace a pending one with the same topic: at most 32
	// characters of the base64url alphabet.
	Topic string
}

// Outcome is what the caller should do after a push.
type Outcome int

const (
	// Delivered: the push service accepted the message.
	Delivered Outcome = iota + 1
	// Gone: the subscription has expired or was unsubscribed; delete it.
	Gone
	// Retry: try again later, after RetryAfter if it is non-zero, else with the caller's backoff.
	Retry
	// Drop: the message can never be delivered as it is; log Err and drop it.
	Drop
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Gone:
		return "gone"
	case Retry:
		return "retry"
	case Drop:
		return "drop"
	}
	return "unknown"
}

// Result is the classified answer of the push service.
type Result struct {
	Outcome    Outcome
	Status     int           // HTTP status; 0 when no answer arrived
	RetryAfter time.Duration // for Retry: the service's Retry-After, 0 for the caller's backoff
	Err        error         // why, when not Delivered; never contains the payload
}

// Sender sends encrypted, VAPID-signed pushes.
type Sender struct {
	cfg        Config
	subscriber string
	client     *http.Client
}

// NewSender checks cfg and returns a Sender.
func NewSender(cfg Config) (*Sender, error) {
	if err := cfg.Keys.check(); err != nil {
		return nil, fmt.Errorf("webpush: %w (run `trivium vapid init`)", err)
	}
	sub, err := normalizeSubscriber(cfg.Subscriber)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rt := cfg.Transport
	if rt == nil {
		rt = NewTransport(cfg.AllowPrivate)
	}
	return &Sender{cfg: cfg, subscriber: sub, client: &http.Client{
		Transport: rt,
		Timeout:   cfg.Timeout,
		// Push services do not redirect; following one would let an endpoint bounce us elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// normalizeSubscriber returns the form webpush-go wants: it prefixes "mailto:" to anything
// not starting with "https:", including a value that already starts with "mailto:".
func normalizeSubscriber(s string) (string, error) {
	switch {
	case strings.HasPrefix(s, "https://") && len(s) > len("https://"):
		return s, nil
	case strings.HasPrefix(s, "mailto:"):
		s = strings.TrimPrefix(s, "mailto:")
	}
	if !strings.Contains(s, "@") || strings.ContainsAny(s, ": \t\r\n") {
		return "", fmt.Errorf("webpush: subscriber %q must be mailto:address or an https:// URL (push services refuse pushes without a contact)", s)
	}
	return s, nil
}

// Send encrypts payload for sub and posts it to the push service.
func (s *Sender) Send(ctx context.Context, sub Subscription, payload []byte, opts Options) Result {
	if len(payload) > MaxPayload {
		return Result{Outcome: Drop, Err: fmt.Errorf("payload of %d bytes exceeds %d", len(payload), MaxPayload)}
	}
	if err := s.checkSubscription(sub); err != nil {
		return Result{Outcome: Drop, Err: err}
	}
	if err := checkOptions(opts); err != nil {
		return Result{Outcome: Drop, Err: err}
	}
	ttl := opts.TTL
	if ttl == 0 {
		ttl = s.cfg.TTL
	}
	resp, err := webpushgo.SendNotificationWithContext(ctx, payload,
		&webpushgo.Subscription{Endpoint: sub.Endpoint, Keys: webpushgo.Keys{Auth: sub.Keys.Auth, P256dh: sub.Keys.P256dh}},
		&webpushgo.Options{
			HTTPClient:      s.client,
			Subscriber:      s.subscriber,
			Topic:           opts.Topic,
			TTL:             int(max(ttl, 0) / time.Second),
			Urgency:         webpushgo.Urgency(opts.Urgency),
			VAPIDPublicKey:  s.cfg.Keys.Public,
			VAPIDPrivateKey: s.cfg.Keys.Private,
		})
	if err != nil {
		if blocked, ok := errors.AsType[*BlockedAddressError](err); ok {
			return Result{Outcome: Drop, Err: blocked}
		}
		// url.Error repeats the endpoint, whose path is the subscription's capability token.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return Result{Outcome: Retry, Err: fmt.Errorf("push to %s: %w", origin(sub.Endpoint), err)}
	}
	defer resp.Body.Close()
	// The body is a short diagnostic; read a bounded amount so the connection can be reused.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return s.classify(resp, strings.TrimSpace(string(body)))
}

func (s *Sender) classify(resp *http.Response, body string) Result {
	r := Result{Status: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		r.Outcome = Delivered
		return r
	}
	r.Err = fmt.Errorf("push service %s answered %d: %q", origin(resp.Request.URL.String()), resp.StatusCode, body)
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		r.Outcome = Gone
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		r.Outcome = Retry
		r.RetryAfter = s.retryAfter(resp.Header.Get("Retry-After"))
	case resp.StatusCode >= 500:
		r.Outcome = Retry
	default:
		r.Outcome = Drop
	}
	return r
}

// retryAfter parses delay-seconds or an HTTP-date (RFC 9110 §10.2.3); anything unparsable or
// already past leaves the delay to the caller's backoff.
func (s *Sender) retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		d = time.Duration(min(n, int64(s.cfg.MaxRetryAfter/time.Second)+1)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(s.cfg.Now())
	}
	return min(max(d, 0), s.cfg.MaxRetryAfter)
}

// checkSubscription re-checks a stored subscription without DNS: the dialer guards addresses
// at connection time.
func (s *Sender) checkSubscription(sub Subscription) error {
	if _, problem := checkEndpoint(sub.Endpoint, s.cfg.AllowPrivate); problem != "" {
		return fmt.Errorf("subscription endpoint %s", problem)
	}
	if _, err := decodeP256dh(sub.Keys.P256dh); err != nil {
		return fmt.Errorf("subscription p256dh %w", err)
	}
	if _, err := decodeAuth(sub.Keys.Auth); err != nil {
		return fmt.Errorf("subscription auth %w", err)
	}
	return nil
}

func checkOptions(o Options) error {
	switch o.Urgency {
	case "", UrgencyVeryLow, UrgencyLow, UrgencyNormal, UrgencyHigh:
	default:
		return fmt.Errorf("urgency %q is not one of very-low, low, normal, high", o.Urgency)
	}
	if len(o.Topic) > 32 {
		return fmt.Errorf("topic %q is longer than 32 characters", o.Topic)
	}
	for _, c := range o.Topic {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("topic %q must use only the base64url alphabet", o.Topic)
		}
	}
	return nil
}

// origin names a push service in errors without the endpoint's path, which is the subscription's
// capability token.
func origin(endpoint string) string {
	scheme, rest, ok := strings.Cut(endpoint, "://")
	if !ok {
		return "?"
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}
