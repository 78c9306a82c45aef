package gateway

import (
	"net/http/httptest"
	"net/netip"
	"reflect"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	pfx := netip.MustParsePrefix
	for _, c := range []struct {
		in      string
		want    TrustedProxies
		wantErr bool
	}{
		{"", TrustedProxies{}, false},
		{"0", TrustedProxies{}, false},
		{"false", TrustedProxies{}, false},
		{"1", TrustedProxies{Count: 1}, false},
		{"true", TrustedProxies{Count: 1}, false},
		{" 2 ", TrustedProxies{Count: 2}, false},
		{"10.0.0.0/8", TrustedProxies{Nets: []netip.Prefix{pfx("10.0.0.0/8")}}, false},
		{"10.1.2.3/8, 192.168.0.7", TrustedProxies{Nets: []netip.Prefix{pfx("10.0.0.0/8"), pfx("192.168.0.7/32")}}, false},
		{"fd00::/8,::1", TrustedProxies{Nets: []netip.Prefix{pfx("fd00::/8"), pfx("::1/128")}}, false},
		{"::ffff:10.0.0.0/104", TrustedProxies{Nets: []netip.Prefix{pfx("10.0.0.0/8")}}, false},
		{"-1", TrustedProxies{}, true},
		{"33", TrustedProxies{}, true},
		{"yes", TrustedProxies{}, true},
		{"10.0.0.0/33", TrustedProxies{}, true},
		{"10.0.0.0/8,nginx", TrustedProxies{}, true},
	} {
		got, err := ParseTrustedProxies(c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("%q: error %v, want error %v", c.in, err, c.wantErr)
			continue
		}
		if !c.wantErr && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestClientIPIsTheRightMostHopNoTrustedProxyWrote(t *testing.T) {
	for _, c := range []struct {
		name, trust, peer string
		xff               []string
		want              string
	}{
		{"no proxy: the peer, header ignored", "0", "198.51.100.9:5000", []string{"1.2.3.4"}, "198.51.100.9"},
		{"one proxy that replaces the header (nginx)", "1", "10.0.0.2:80", []string{"203.0.113.5"}, "203.0.113.5"},
		{"one appending proxy (ALB): a spoofed first hop is ignored", "1", "10.0.0.2:80", []string{"6.6.6.6, 203.0.113.5"}, "203.0.113.5"},
		{"rotating the spoofed hops changes nothing", "1", "10.0.0.2:80", []string{"7.7.7.7, 8.8.8.8, 203.0.113.5"}, "203.0.113.5"},
		{"two proxies (CDN + ALB)", "2", "10.0.0.2:80", []string{"6.6.6.6, 203.0.113.5, 130.176.0.1"}, "203.0.113.5"},
		{"fewer hops than proxies: the left-most", "2", "10.0.0.2:80", []string{"203.0.113.5"}, "203.0.113.5"},
		{"no header behind a proxy: the peer", "1", "10.0.0.2:80", nil, "10.0.0.2"},
		{"several headers are one list", "1", "10.0.0.2:80", []string{"6.6.6.6", "203.0.113.5"}, "203.0.113.5"},
		{"hop with a port", "1", "10.0.0.2:80", []string{"203.0.113.5:4711"}, "203.0.113.5"},
		{"IPv6 hop in brackets", "1", "10.0.0.2:80", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"garbage where the client should be: the peer", "1", "10.0.0.2:80", []string{"not-an-ip"}, "10.0.0.2"},
		{"CIDRs: walk past our proxies", "10.0.0.0/8", "10.0.0.2:80", []string{"6.6.6.6, 203.0.113.5, 10.0.0.7"}, "203.0.113.5"},
		{"CIDRs: a peer outside them is the client", "10.0.0.0/8", "198.51.100.9:5000", []string{"1.2.3.4"}, "198.51.100.9"},
		{"CIDRs: every hop ours, the left-most", "10.0.0.0/8", "10.0.0.2:80", []string{"10.9.9.9, 10.0.0.7"}, "10.9.9.9"},
		{"CIDRs: garbage left of an internal client", "10.0.0.0/8", "10.0.0.2:80", []string{"junk, 10.0.0.7"}, "10.0.0.7"},
		{"CIDRs: IPv4-mapped peer", "10.0.0.0/8", "[::ffff:10.0.0.2]:80", []string{"203.0.113.5"}, "203.0.113.5"},
		{"CIDRs: IPv6 proxies", "fd00::/8", "[fd00::2]:80", []string{"2001:db8::7, fd00::3"}, "2001:db8::7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp, err := ParseTrustedProxies(c.trust)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, h := range c.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := clientIP(r, tp); got != c.want {
				t.Errorf("clientIP = %q, want %q", got, c.want)
			}
		})
	}
}
