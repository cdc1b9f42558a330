package throttle_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"backoffice/internal/throttle"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48"), netip.MustParsePrefix("192.0.2.7/32")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"peer alone", "203.0.113.5:4711", nil, proxies, "203.0.113.5"},
		{"no trusted proxies: XFF ignored", "10.1.2.3:80", []string{"198.51.100.1"}, nil, "10.1.2.3"},
		{"spoofed XFF from an untrusted peer ignored", "203.0.113.5:4711", []string{"198.51.100.1"}, proxies, "203.0.113.5"},
		{"one trusted proxy", "10.1.2.3:80", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"client-written hops left of the real client ignored", "10.1.2.3:80", []string{"1.1.1.1, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"chain of trusted proxies", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1, 192.0.2.7, 10.9.9.9"}, proxies, "198.51.100.1"},
		{"chain over several headers", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1", "192.0.2.7"}, proxies, "198.51.100.1"},
		{"trusted proxy without XFF", "10.1.2.3:80", nil, proxies, "10.1.2.3"},
		{"every hop trusted: the left-most", "10.1.2.3:80", []string{"10.4.4.4, 192.0.2.7"}, proxies, "10.4.4.4"},
		{"IPv6 peer", "[2001:db8:9::1]:443", nil, proxies, "2001:db8:9::1"},
		{"IPv6 trusted proxy and client", "[2001:db8:1::2]:443", []string{"2001:db8:9::abcd"}, proxies, "2001:db8:9::abcd"},
		{"IPv6 hop with port and zone", "10.1.2.3:80", []string{"[fe80::1%eth0]:1234"}, proxies, "fe80::1"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:80", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"IPv4 hop with port", "10.1.2.3:80", []string{"198.51.100.1:5555"}, proxies, "198.51.100.1"},
		{"garbage hop stops at the last good one", "10.1.2.3:80", []string{"198.51.100.1, not-an-ip, 192.0.2.7"}, proxies, "192.0.2.7"},
		{"garbage right-most hop: the peer", "10.1.2.3:80", []string{"198.51.100.1, <script>"}, proxies, "10.1.2.3"},
		{"empty hop: the peer", "10.1.2.3:80", []string{"198.51.100.1,"}, proxies, "10.1.2.3"},
		{"garbage RemoteAddr kept as is", "pipe", []string{"198.51.100.1"}, proxies, "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/signin", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := throttle.ClientIP(r, tt.trusted); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAddressKeyGroupsIPv6By64(t *testing.T) {
	a, b := throttle.AddressKey("2001:db8:9:1::1"), throttle.AddressKey("2001:db8:9:1:ffff::2")
	if a != b {
		t.Errorf("two addresses of one /64: %q and %q, want one key", a, b)
	}
	if c := throttle.AddressKey("2001:db8:9:2::1"); c == a {
		t.Errorf("another /64 shares the key %q", c)
	}
	if throttle.AddressKey("198.51.100.1") == throttle.AddressKey("198.51.100.2") {
		t.Error("two IPv4 addresses share a key")
	}
}
