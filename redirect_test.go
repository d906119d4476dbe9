package passkeyd

import (
	"net/url"
	"testing"
)

func TestSafeRedirect(t *testing.T) {
	tests := []struct {
		next string
		want bool
	}{
		{"/", true},
		{"/passkeys", true},
		{"/passkeys?page=2", true},
		{"/a/b#frag", true},
		{"", false},
		{"passkeys", false},
		{"//evil.example", false},
		{"//evil.example/path", false},
		{"/\\evil.example", false},
		{"/a\\b", false},
		{"https://evil.example/", false},
		{"http:/evil.example", false},
		{"javascript:alert(1)", false},
		{"/\t/evil.example", false},
		{"/\n", false},
		{"/%2F%2Fevil.example", true}, // stays a path on this site
		{"/" + string(make([]byte, 3000)), false},
	}
	for _, tt := range tests {
		if got := SafeRedirect(tt.next); got != tt.want {
			t.Errorf("SafeRedirect(%q) = %v, want %v", tt.next, got, tt.want)
		}
	}
}

// FuzzSafeRedirect checks that whatever SafeRedirect accepts resolves,
// against this site's URL, to this site.
func FuzzSafeRedirect(f *testing.F) {
	for _, s := range []string{"/", "/x?y=1", "//a", "/\\a", "http://a", "/%2e%2e", "/.//a"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://site.example/login")
	f.Fuzz(func(t *testing.T, next string) {
		if !SafeRedirect(next) {
			return
		}
		u, err := base.Parse(next)
		if err != nil {
			t.Fatalf("accepted %q but it does not parse: %v", next, err)
		}
		if u.Host != "site.example" || u.Scheme != "https" {
			t.Fatalf("accepted %q, which resolves to %s", next, u)
		}
	})
}
