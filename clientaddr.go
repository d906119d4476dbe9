package passkeyd

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr returns the address of the client that sent r: the peer
// that connected, or, when that peer is one of Config.TrustedProxies, the
// address in X-Forwarded-For just before the trusted proxies. An address
// that a client could have written itself (X-Forwarded-For from anyone
// else) is never believed.
func (s *Service) ClientAddr(r *http.Request) netip.Addr {
	return clientAddr(r, s.cfg.TrustedProxies)
}

func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		// httptest and some listeners give a bare address.
		host, _, splitErr := net.SplitHostPort(r.RemoteAddr)
		if splitErr != nil {
			host = r.RemoteAddr
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}
		}
		peer = netip.AddrPortFrom(a, 0)
	}
	addr := peer.Addr().Unmap()
	if !isTrusted(addr, trusted) {
		return addr
	}
	// Walk X-Forwarded-For from the nearest hop back: each trusted proxy
	// vouches for the one before it, and the first hop no proxy of ours
	// added is the client.
	hops := forwardedFor(r)
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			return addr
		}
		addr = a.Unmap()
		if !isTrusted(addr, trusted) {
			return addr
		}
	}
	return addr
}

// forwardedFor returns the addresses of every X-Forwarded-For header, in
// order.
func forwardedFor(r *http.Request) []string {
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addrKey is what limits count an address under: an IPv4 address, or the
// /64 network of an IPv6 one, since one client holds a whole /64.
func addrKey(a netip.Addr) string {
	if a.Is6() {
		p, err := a.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return a.String()
}
