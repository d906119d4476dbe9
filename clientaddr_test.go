package passkeyd

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "192.0.2.1:5000", nil, "192.0.2.1"},
		{"untrusted peer's header is ignored", "192.0.2.1:5000", []string{"198.51.100.9"}, "192.0.2.1"},
		{"trusted proxy", "10.1.2.3:5000", []string{"198.51.100.9"}, "198.51.100.9"},
		{"two trusted proxies", "10.1.2.3:5000", []string{"198.51.100.9, 10.9.9.9"}, "198.51.100.9"},
		{"a forged hop before the client", "10.1.2.3:5000", []string{"203.0.113.5, 198.51.100.9"}, "198.51.100.9"},
		{"headers in two lines", "10.1.2.3:5000", []string{"203.0.113.5", "198.51.100.9"}, "198.51.100.9"},
		{"trusted proxy without the header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"garbage in the header", "10.1.2.3:5000", []string{"not an address"}, "10.1.2.3"},
		{"IPv6 through a proxy", "[fd00::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4 in IPv6", "[::ffff:192.0.2.1]:5000", nil, "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientAddr(r, trusted).String(); got != tt.want {
				t.Fatalf("clientAddr = %s, want %s", got, tt.want)
			}
		})
	}
	if k := addrKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); k != "2001:db8:1:2::/64" {
		t.Fatalf("addrKey of an IPv6 address = %s, want its /64", k)
	}
}
