package passkeyd

import (
	"net/url"
	"strings"
)

// SafeRedirect reports whether next may be used as the target of a
// redirect after login: a relative path on this site ("/passkeys?page=2").
// Anything that a browser could resolve to another site — a scheme, a host,
// a scheme-relative "//evil.example", a backslash that some browsers read
// as a slash, control characters — is refused, so the login form cannot be
// used as an open redirect.
func SafeRedirect(next string) bool {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return false
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return false
	}
	if strings.ContainsAny(next, "\\") {
		return false
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	return strings.HasPrefix(u.Path, "/") || u.Path == "" && u.RawQuery != ""
}
