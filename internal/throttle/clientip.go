package throttle

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP is the address of the client that sent r: the connection's
// peer, unless the peer is one of the trusted proxies, in which case the
// right-most address of X-Forwarded-For that is not itself a trusted
// proxy. Everything left of that was written by the client and may be
// anything; everything right of it by proxies the operator runs. A hop
// that cannot be parsed ends the walk at the last address known good,
// rather than trusting what lies beyond it. Addresses come back without
// port or zone, IPv4-mapped IPv6 as plain IPv4.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		// Not a TCP peer (a test's or a Unix socket's address): it still
		// names the connection well enough to count by.
		return r.RemoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	client := peer
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = a
		if !isTrusted(a, trusted) {
			break
		}
	}
	return client.String()
}

// parseHop reads an address as RemoteAddr or an X-Forwarded-For hop
// writes it: bare, or with a port ("1.2.3.4:5", "[::1]:5").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
