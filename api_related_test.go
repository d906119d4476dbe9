package passkeyd_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

const relatedOrigin = "https://example.co.jp"

// TestRelatedOrigins: a related origin's login is accepted, an unlisted
// origin's refused, and /.well-known/webauthn lists the site's origins
// with the related ones, cacheable.
func TestRelatedOrigins(t *testing.T) {
	w := newWorld(t, harnessOptions{configure: func(c *passkeyd.Config) {
		c.RelatedOrigins = []string{relatedOrigin}
	}})
	u, c := w.userClient(t, "related")
	a := passkeytest.New(w.h.origin, passkeytest.Options{})
	c.register(t, a, "Laptop")

	status, header, body := w.h.client().doFull(t, "GET", "/.well-known/webauthn", nil)
	var doc struct {
		Origins []string `json:"origins"`
	}
	if err := json.Unmarshal(body, &doc); status != http.StatusOK || err != nil {
		t.Fatalf("GET /.well-known/webauthn: %d %s", status, body)
	}
	if want := []string{w.h.origin, relatedOrigin}; !slices.Equal(doc.Origins, want) {
		t.Errorf("origins %q, want %q", doc.Origins, want)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := header.Get("Cache-Control"); cc != "public, max-age=3600" {
		t.Errorf("Cache-Control %q, want it cacheable", cc)
	}

	for _, tc := range []struct {
		origin string
		status int
	}{
		{relatedOrigin, http.StatusOK},
		{"https://example.cn", http.StatusUnauthorized},
		{"http://example.co.jp", http.StatusUnauthorized},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			c := w.h.client()
			opts := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
			got, body := c.do(t, "POST", "/api/login/finish", assertion(t, a, opts, passkeytest.Tamper{Origin: tc.origin}))
			if got != tc.status {
				t.Fatalf("login from %s: %d %s, want %d", tc.origin, got, body, tc.status)
			}
			if tc.status == http.StatusOK {
				if got := c.whoami(t); got != u.ID {
					t.Errorf("after a login from %s the session's user is %q", tc.origin, got)
				}
			}
		})
	}
}

// TestNoRelatedOrigins: without related origins the document is not
// there, and a configuration with a bad one fails to start.
func TestNoRelatedOrigins(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	if status, body := h.client().do(t, "GET", "/.well-known/webauthn", nil); status != http.StatusNotFound {
		t.Errorf("GET /.well-known/webauthn without related origins: %d %s", status, body)
	}
	for _, bad := range []string{"https://localhost:9000", "https://app.localhost", "example.co.jp", "http://example.co.jp", "https://example.co.jp/path"} {
		cfg := passkeyd.Config{RPID: "localhost", RPName: "x", Origins: []string{"https://localhost"}, RelatedOrigins: []string{bad}}
		if _, err := passkeyd.NewService(cfg, passkeyd.Deps{Users: passkeytest.NewMemoryStore(), Store: passkeytest.NewMemoryStore()}); err == nil {
			t.Errorf("related origin %q accepted", bad)
		}
	}
}
