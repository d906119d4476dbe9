package site_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/passkeyd/passkeyd"
)

// assertSecurityHeaders checks the headers every answer carries.
func assertSecurityHeaders(t *testing.T, r response, https bool) {
	t.Helper()
	what := r.Request.Method + " " + r.Request.URL.RequestURI()
	csp := r.Header.Get("Content-Security-Policy")
	directives := map[string][]string{}
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 {
			directives[strings.ToLower(f[0])] = f[1:]
		}
	}
	scripts, ok := directives["script-src"]
	if !ok {
		scripts, ok = directives["default-src"]
	}
	if !ok || len(scripts) == 0 {
		t.Errorf("%s: CSP %q does not restrict scripts", what, csp)
	}
	for _, src := range scripts {
		switch strings.ToLower(src) {
		case "'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:":
			t.Errorf("%s: CSP script-src allows %s", what, src)
		}
	}
	if fa := directives["frame-ancestors"]; len(fa) != 1 || fa[0] != "'none'" {
		t.Errorf("%s: CSP frame-ancestors %q, want 'none'", what, fa)
	}
	if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", what, got)
	}
	switch rp := r.Header.Get("Referrer-Policy"); rp {
	case "same-origin", "no-referrer", "strict-origin", "strict-origin-when-cross-origin":
	default:
		t.Errorf("%s: Referrer-Policy %q", what, rp)
	}
	hsts := r.Header.Get("Strict-Transport-Security")
	if https && !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("%s: Strict-Transport-Security %q over https", what, hsts)
	}
	if !https && hsts != "" {
		t.Errorf("%s: Strict-Transport-Security %q over plain http", what, hsts)
	}
}

// TestSecurityHeaders checks every kind of answer: pages, static files,
// the API, errors of each kind, the health check, over https and http.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	for _, plain := range []bool{false, true} {
		ts := newTestServer(t, testOpts{plainHTTP: plain})
		ts.addUser(t, alice, alicePw)
		anon, in := ts.client(t), ts.client(t)
		ts.login(t, in, alice, alicePw)
		big := strings.NewReader("username=" + strings.Repeat("a", passkeyd.MaxBodyBytes))
		for _, tt := range []struct {
			c   *http.Client
			req *http.Request
		}{
			{anon, ts.request(t, "GET", "/", nil)},
			{in, ts.request(t, "GET", "/", nil)},
			{anon, ts.request(t, "GET", "/login", nil)},
			{anon, ts.request(t, "GET", "/login?next=//evil.example", nil)},
			{anon, ts.request(t, "POST", "/login", strings.NewReader("username=x&password=y"), "Content-Type", "application/x-www-form-urlencoded")},
			{anon, ts.request(t, "POST", "/login", big, "Content-Type", "application/x-www-form-urlencoded")},
			{anon, ts.request(t, "POST", "/login", nil, "Sec-Fetch-Site", "cross-site")},
			{anon, ts.request(t, "GET", "/static/app.css", nil)},
			{anon, ts.request(t, "GET", "/static/vendor/bootstrap/bootstrap.bundle.min.js", nil)},
			{anon, ts.request(t, "GET", "/static/nope.js", nil)},
			{anon, ts.request(t, "GET", "/api/session", nil)},
			{anon, ts.request(t, "POST", "/api/logout", nil)},
			{anon, ts.request(t, "DELETE", "/api/session", nil)},
			{anon, ts.request(t, "GET", "/api/nope", nil)},
			{anon, ts.request(t, "GET", "/nope", nil)},
			{anon, ts.request(t, "GET", "/healthz", nil)},
			{in, ts.request(t, "POST", "/api/logout", nil)},
		} {
			assertSecurityHeaders(t, ts.do(t, tt.c, tt.req), !plain)
		}
	}
}

var (
	inlineHandlerRE = regexp.MustCompile(`<[^>]*\son[a-z]+\s*=[^>]*>`)
	bootstrapRE     = regexp.MustCompile(`Bootstrap +v5\.3\.`)
)

// TestNoInlineScripts checks that every page loads its scripts and styles
// from passkeyd's own /static/, never inline or from a CDN, and that those
// files are served.
func TestNoInlineScripts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, alice, alicePw)
	anon, in := ts.client(t), ts.client(t)
	ts.login(t, in, alice, alicePw)
	pages := []response{
		ts.get(t, anon, "/"),
		ts.get(t, in, "/"),
		ts.get(t, anon, "/login"),
		ts.get(t, anon, "/nope"),
		ts.postForm(t, anon, "/login", "username=x&password=wrong-password"),
		ts.postForm(t, anon, "/login", "", "Sec-Fetch-Site", "cross-site"),
	}
	assets := map[string]bool{}
	for _, p := range pages {
		what := p.Request.Method + " " + p.Request.URL.RequestURI()
		if m := inlineHandlerRE.FindString(p.body); m != "" {
			t.Errorf("%s: inline event handler in %s", what, m)
		}
		scripts := find(p.body, "script")
		if len(scripts) == 0 {
			t.Errorf("%s: no scripts at all (Bootstrap's should be there)", what)
		}
		for _, s := range scripts {
			if !s.has("src") {
				t.Errorf("%s: inline <script> %+v", what, s.attrs)
			} else if body := p.body[s.end:]; !strings.HasPrefix(body, "</script>") {
				t.Errorf("%s: <script src=%q> has a body", what, s.attrs["src"])
			}
			assets[s.attrs["src"]] = true
		}
		for _, l := range find(p.body, "link", "rel", "stylesheet") {
			assets[l.attrs["href"]] = true
		}
		if strings.Contains(p.body, "javascript:") {
			t.Errorf("%s: javascript: URL", what)
		}
	}
	var css, js bool
	for a := range assets {
		u, err := url.Parse(a)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/static/") {
			t.Errorf("asset %q is not served from /static/", a)
			continue
		}
		r := ts.get(t, anon, a)
		if r.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", a, r.StatusCode)
		}
		ct := r.Header.Get("Content-Type")
		switch {
		case strings.HasSuffix(u.Path, ".css") && strings.HasPrefix(ct, "text/css"):
		case strings.HasSuffix(u.Path, ".js") && (strings.HasPrefix(ct, "text/javascript") || strings.HasPrefix(ct, "application/javascript")):
		default:
			t.Errorf("GET %s: Content-Type %q", a, ct)
		}
		if bootstrapRE.MatchString(r.body[:min(len(r.body), 500)]) {
			if strings.HasSuffix(u.Path, ".css") {
				css = true
			} else {
				js = true
			}
		}
		// The URL names the content, so the file may be cached for good.
		if u.Query().Get("v") != "" && !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: Cache-Control %q for a versioned URL", a, r.Header.Get("Cache-Control"))
		}
	}
	if !css || !js {
		t.Errorf("Bootstrap 5.3 CSS (%v) and JS (%v) not both served from /static/; assets %v", css, js, assets)
	}
}

// TestCrossOriginRequests checks the same-origin rule for state-changing
// requests: browsers of other origins (a same-site sibling too) are
// refused, the site's own origins and non-browser clients are not.
func TestCrossOriginRequests(t *testing.T) {
	t.Parallel()
	const sibling = "https://app.localhost:8443"
	ts := newTestServer(t, testOpts{extraOrigins: []string{sibling}})
	ts.addUser(t, alice, alicePw)

	refused := []struct {
		name   string
		header []string
	}{
		{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}},
		{"cross-site fetch with an Origin", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}},
		{"same-site sibling", []string{"Sec-Fetch-Site", "same-site", "Origin", "https://other.localhost"}},
		{"Origin of another site", []string{"Origin", "https://evil.example"}},
		{"Origin of another port", []string{"Origin", "https://127.0.0.1:1"}},
		{"null Origin", []string{"Origin", "null"}},
	}
	for _, tt := range refused {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			ts := ts
			c := ts.client(t)
			ts.login(t, c, alice, alicePw)

			r := ts.do(t, c, ts.request(t, http.MethodPost, "/api/logout", nil, tt.header...))
			assertJSONError(t, r, http.StatusForbidden, "cross_origin")
			r = ts.postForm(t, c, "/logout", "", tt.header...)
			if r.StatusCode != http.StatusForbidden || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Errorf("POST /logout: status %d, Content-Type %q; want a 403 page", r.StatusCode, r.Header.Get("Content-Type"))
			}
			ts.assertLoggedIn(t, c, alice)

			// Login CSRF: another site cannot log the browser in.
			anon := ts.client(t)
			r = ts.postForm(t, anon, "/login", url.Values{"username": {alice}, "password": {alicePw}}.Encode(), tt.header...)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("POST /login: status %d, want 403", r.StatusCode)
			}
			ts.assertAnonymous(t, anon)

			// Reading is not changing state: GETs are allowed.
			if r := ts.get(t, c, "/api/session", tt.header...); r.StatusCode != http.StatusOK {
				t.Errorf("GET /api/session: status %d, want 200", r.StatusCode)
			}
		})
	}

	allowed := []struct {
		name   string
		header []string
	}{
		{"non-browser client", nil},
		{"same-origin fetch", []string{"Sec-Fetch-Site", "same-origin", "Origin", ts.URL}},
		{"user typed it", []string{"Sec-Fetch-Site", "none"}},
		{"Origin of this site", []string{"Origin", ts.URL}},
		{"configured origin", []string{"Sec-Fetch-Site", "same-site", "Origin", sibling}},
	}
	for _, tt := range allowed {
		t.Run("allowed/"+tt.name, func(t *testing.T) {
			ts := ts
			c := ts.client(t)
			r := ts.postForm(t, c, "/login", url.Values{"username": {alice}, "password": {alicePw}}.Encode(), tt.header...)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("POST /login: status %d, want 303", r.StatusCode)
			}
			ts.assertLoggedIn(t, c, alice)
			r = ts.do(t, c, ts.request(t, http.MethodPost, "/api/logout", nil, tt.header...))
			if r.StatusCode != http.StatusNoContent {
				t.Errorf("POST /api/logout: status %d, want 204", r.StatusCode)
			}
			ts.login(t, c, alice, alicePw)
			if r := ts.postForm(t, c, "/logout", "", tt.header...); r.StatusCode != http.StatusSeeOther {
				t.Errorf("POST /logout: status %d, want 303", r.StatusCode)
			}
			ts.assertAnonymous(t, c)
		})
	}
}

// unsizedReader hides its length, so the client sends it chunked.
type unsizedReader struct{ io.Reader }

// TestBadInput sends one kind of bad input per case and checks it gets a
// clear 4xx and logs nobody in, even when the case carries the right
// username and password.
func TestBadInput(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, alice, alicePw)
	good := url.Values{"username": {alice}, "password": {alicePw}}.Encode()
	// A form of exactly n bytes with the right credentials.
	formOfSize := func(n int) string {
		s := good + "&next=/"
		return s + strings.Repeat("a", n-len(s))
	}
	const form = "application/x-www-form-urlencoded"

	type kind int
	const (
		loginPage kind = iota // the login form again, with #login-error
		htmlPage              // an error page
		jsonError             // a JSON error
	)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		chunked     bool
		status      int
		kind        kind
		code        string // JSON error code
	}{
		{name: "unknown field", method: "POST", path: "/login", contentType: form, body: good + "&admin=1", status: 400, kind: loginPage},
		{name: "duplicate field", method: "POST", path: "/login", contentType: form, body: good + "&username=" + url.QueryEscape(alice), status: 400, kind: loginPage},
		{name: "duplicate password", method: "POST", path: "/login", contentType: form, body: good + "&password=other", status: 400, kind: loginPage},
		{name: "empty form", method: "POST", path: "/login", contentType: form, body: "", status: 400, kind: loginPage},
		{name: "empty fields", method: "POST", path: "/login", contentType: form, body: "username=&password=&passkey=&next=", status: 400, kind: loginPage},
		{name: "username without password", method: "POST", path: "/login", contentType: form, body: "username=" + url.QueryEscape(alice), status: 400, kind: loginPage},
		{name: "password without username", method: "POST", path: "/login", contentType: form, body: "password=" + url.QueryEscape(alicePw), status: 400, kind: loginPage},
		{name: "malformed form encoding", method: "POST", path: "/login", contentType: form, body: good + "&next=%zz", status: 400, kind: loginPage},
		{name: "body over 64 KiB with Content-Length", method: "POST", path: "/login", contentType: form, body: formOfSize(passkeyd.MaxBodyBytes + 1), status: 413, kind: htmlPage},
		{name: "body over 64 KiB chunked", method: "POST", path: "/login", contentType: form, body: formOfSize(passkeyd.MaxBodyBytes + 1), chunked: true, status: 413, kind: htmlPage},
		{name: "API body over 64 KiB", method: "POST", path: "/api/logout", contentType: "application/json", body: strings.Repeat(" ", passkeyd.MaxBodyBytes+1), status: 413, kind: jsonError, code: "body_too_large"},
		{name: "next scheme-relative", method: "POST", path: "/login", contentType: form, body: good + "&next=" + url.QueryEscape("//evil.example"), status: 400, kind: loginPage},
		{name: "next absolute", method: "POST", path: "/login", contentType: form, body: good + "&next=" + url.QueryEscape("https://evil.example"), status: 400, kind: loginPage},
		{name: "next backslash", method: "POST", path: "/login", contentType: form, body: good + "&next=" + url.QueryEscape(`/\evil.example`), status: 400, kind: loginPage},
		{name: "next javascript", method: "POST", path: "/login", contentType: form, body: good + "&next=" + url.QueryEscape("javascript:alert(1)"), status: 400, kind: loginPage},
		{name: "next relative", method: "POST", path: "/login", contentType: form, body: good + "&next=passkeys", status: 400, kind: loginPage},
		{name: "login page with off-site next", method: "GET", path: "/login?next=" + url.QueryEscape("//evil.example"), status: 400, kind: loginPage},
		{name: "API wrong method", method: "DELETE", path: "/api/session", status: 405, kind: jsonError, code: "method_not_allowed"},
		{name: "API GET of a POST", method: "GET", path: "/api/logout", status: 405, kind: jsonError, code: "method_not_allowed"},
		{name: "page wrong method", method: "PUT", path: "/login", contentType: form, body: good, status: 405, kind: htmlPage},
		{name: "GET logout", method: "GET", path: "/logout", status: 405, kind: htmlPage},
		{name: "API unknown path", method: "GET", path: "/api/nope", status: 404, kind: jsonError, code: "not_found"},
		{name: "API unknown path POST", method: "POST", path: "/api/nope", contentType: "application/json", body: "{}", status: 404, kind: jsonError, code: "not_found"},
		{name: "page unknown path", method: "GET", path: "/nope", status: 404, kind: htmlPage},
		{name: "JSON login", method: "POST", path: "/login", contentType: "application/json", body: `{"username":"` + alice + `","password":"` + alicePw + `"}`, status: 415, kind: loginPage},
		{name: "multipart login", method: "POST", path: "/login", contentType: "multipart/form-data; boundary=x",
			body:   "--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n" + alice + "\r\n--x\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n" + alicePw + "\r\n--x--\r\n",
			status: 415, kind: loginPage},
		{name: "text login", method: "POST", path: "/login", contentType: "text/plain", body: good, status: 415, kind: loginPage},
		{name: "login without content type", method: "POST", path: "/login", body: good, status: 415, kind: loginPage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := ts
			c := ts.client(t)
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.chunked {
					body = unsizedReader{body}
				}
			}
			req := ts.request(t, tt.method, tt.path, body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.chunked {
				req.TransferEncoding = []string{"chunked"}
			}
			r := ts.do(t, c, req)
			if r.StatusCode != tt.status {
				t.Errorf("status %d, want %d; body:\n%.2000s", r.StatusCode, tt.status, r.body)
			}
			switch tt.kind {
			case jsonError:
				assertJSONError(t, r, tt.status, tt.code)
			case htmlPage, loginPage:
				if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q, want a page", ct)
				}
				assertLoginState(t, r.body, false, "")
				if tt.kind == loginPage {
					assertLoginForm(t, r.body)
					if msg := text(r.body, byID(t, r.body, "login-error")); msg == "" {
						t.Error("#login-error is empty")
					}
				} else if !strings.Contains(r.body, "alert") {
					t.Error("the error page says nothing")
				}
			}
			if tt.status == http.StatusMethodNotAllowed && r.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			ts.assertAnonymous(t, c)
			if ts.sessionCookie(c) != nil {
				t.Error("a session cookie was set")
			}
		})
	}
	if u := ts.user(t, alice); !u.LastLoginAt.IsZero() {
		t.Errorf("bad input logged %s in at %v", alice, u.LastLoginAt)
	}

	// The limit is 64 KiB: a body of exactly that is read, here as a
	// (wrong) password.
	c := ts.client(t)
	body := "username=" + url.QueryEscape(alice) + "&password="
	body += strings.Repeat("a", passkeyd.MaxBodyBytes-len(body))
	if r := ts.postForm(t, c, "/login", body); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a body of exactly 64 KiB: status %d, want 401", r.StatusCode)
	}
}
