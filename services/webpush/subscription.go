// Package webpush sends Web Push messages (RFC 8030/8291/8292) through
// github.com/SherClockHolmes/webpush-go and guards every endpoint against server-side request
// forgery: a subscription's endpoint is a URL the browser's user chose, so without the guard
// anyone could make the server POST to its own network.
package webpush

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/trivium-game/trivium/services"
)

// MaxEndpointLength bounds the endpoint URLs accepted; real ones are a few hundred bytes.
const MaxEndpointLength = 2048

// Subscription is a browser's PushSubscription as serialised by PushSubscription.toJSON().
type Subscription struct {
	Endpoint       string `json:"endpoint"`
	ExpirationTime *int64 `json:"expirationTime"`
	Keys           struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// Resolver looks up a host's addresses; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ValidateSubscription checks a subscription before it is stored: an https endpoint on a public
// host (every address a hostname resolves to must be public), a P-256 p256dh key and a 16-byte
// auth secret. allowPrivate (tests only) also allows http and private or loopback hosts, and
// skips resolution. A nil resolver uses net.DefaultResolver. Problems come back as
// services.Invalid with fields "endpoint", "keys.p256dh" and "keys.auth".
func ValidateSubscription(ctx context.Context, sub Subscription, allowPrivate bool, resolver Resolver) error {
	fields := map[string]string{}
	host, msg := checkEndpoint(sub.Endpoint, allowPrivate)
	if msg == "" && host != "" && !allowPrivate {
		msg = checkResolved(ctx, host, resolver)
	}
	if msg != "" {
		fields["endpoint"] = msg
	}
	if _, err := decodeP256dh(sub.Keys.P256dh); err != nil {
		fields["keys.p256dh"] = err.Error()
	}
	if _, err := decodeAuth(sub.Keys.Auth); err != nil {
		fields["keys.auth"] = err.Error()
	}
	return services.Invalid(fields)
}

// checkEndpoint validates the URL without touching the network. It returns the hostname still
// to resolve ("" for an IP literal) or a problem.
func checkEndpoint(endpoint string, allowPrivate bool) (host, problem string) {
	if endpoint == "" {
		return "", "is required"
	}
	if len(endpoint) > MaxEndpointLength {
		return "", fmt.Sprintf("is longer than %d bytes", MaxEndpointLength)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", "must be an absolute URL"
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	default:
		return "", "must use https"
	}
	if u.User != nil {
		return "", "must not carry credentials"
	}
	h := u.Hostname()
	if h == "" {
		return "", "must name a host"
	}
	if addr, err := netip.ParseAddr(h); err == nil {
		if !allowPrivate && !IsPublic(addr) {
			return "", fmt.Sprintf("address %s is not public", addr)
		}
		return "", ""
	}
	return h, ""
}

func checkResolved(ctx context.Context, host string, resolver Resolver) string {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	addrs, err := resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return "host does not resolve"
	}
	for _, a := range addrs {
		if !IsPublic(a) {
			return fmt.Sprintf("host resolves to %s, which is not public", a.Unmap())
		}
	}
	return ""
}

// decodeB64URL accepts base64url with or without padding, as browsers and libraries differ.
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func decodeP256dh(s string) (*ecdh.PublicKey, error) {
	b, err := decodeB64URL(s)
	if err != nil || s == "" {
		return nil, fmt.Errorf("must be base64url")
	}
	if len(b) != 65 || b[0] != 4 {
		return nil, fmt.Errorf("must be an uncompressed P-256 point (65 bytes)")
	}
	k, err := ecdh.P256().NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("is not a point on P-256")
	}
	return k, nil
}

func decodeAuth(s string) ([]byte, error) {
	b, err := decodeB64URL(s)
	if err != nil || s == "" {
		return nil, fmt.Errorf("must be base64url")
	}
	if len(b) != 16 {
		return nil, fmt.Errorf("must be 16 bytes")
	}
	return b, nil
}
