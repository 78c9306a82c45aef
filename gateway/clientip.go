package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// TrustedProxies says which X-Forwarded-For hops were written by proxies of ours. Proxies
// append the address of their peer, so everything left of our first proxy's entry is whatever
// the client sent: the client is the right-most hop that no proxy of ours wrote. The zero
// value trusts no proxy and uses the peer address.
type TrustedProxies struct {
	// Count proxies are in front (each appends one hop): the client is the Count-th entry from
	// the right. Used when Nets is empty.
	Count int
	// Nets are the proxies' addresses: a peer outside them is the client itself; otherwise hops
	// are walked from the right past every address inside them.
	Nets []netip.Prefix
}

// ParseTrustedProxies reads TRIVIUM_TRUST_PROXY: "0" (or empty, "false") trusts no proxy;
// a whole number N (and "true" for 1) trusts N proxies in front; otherwise a comma-separated
// list of CIDRs or addresses of the proxies.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "0", "false":
		return TrustedProxies{}, nil
	case "true":
		return TrustedProxies{Count: 1}, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 32 {
			return TrustedProxies{}, fmt.Errorf("TRIVIUM_TRUST_PROXY %q: want 0–32 proxies or a list of CIDRs", s)
		}
		return TrustedProxies{Count: n}, nil
	}
	var t TrustedProxies
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return TrustedProxies{}, fmt.Errorf("TRIVIUM_TRUST_PROXY: %q is neither a number of proxies nor a CIDR or address", part)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		t.Nets = append(t.Nets, p.Masked())
	}
	return t, nil
}

// Enabled reports whether X-Forwarded-For is read at all.
func (t TrustedProxies) Enabled() bool { return t.Count > 0 || len(t.Nets) > 0 }

func (t TrustedProxies) trusts(a netip.Addr) bool {
	for _, p := range t.Nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads one X-Forwarded-For entry: an address, maybe with a port or in brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// clientIP is the address the request came from: the peer, or with trusted proxies the
// right-most X-Forwarded-For hop they did not write. Every X-Forwarded-For header counts
// (proxies may add a header rather than extend one).
func clientIP(r *http.Request, t TrustedProxies) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	if !t.Enabled() {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	if len(t.Nets) == 0 {
		if len(hops) == 0 {
			return peer
		}
		// Fewer hops than proxies: the request skipped some; the left-most is the furthest known.
		i := max(0, len(hops)-t.Count)
		if a, ok := parseHop(hops[i]); ok {
			return a.String()
		}
		return peer
	}
	pa, ok := parseHop(peer)
	if !ok || !t.trusts(pa) {
		return peer // not from one of our proxies: its header is the client's own invention
	}
	client := pa
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break // no proxy of ours writes garbage: the hop to its right is the client
		}
		client = a
		if !t.trusts(a) {
			break
		}
	}
	return client.String()
}

// addressKey is what per-address limits count: the address itself for IPv4, its /64 for IPv6
// (one subscriber gets a whole /64, so single IPv6 addresses are free to rotate).
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}
