package site_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
)

const (
	alice   = "alice@example.com"
	alicePw = "correct horse battery"
)

func TestPasswordLogin(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	u := ts.addUser(t, alice, alicePw)

	tests := []struct {
		name, next, wantLocation string
	}{
		{"no next", "", "/"},
		{"next on this site", "/passkeys?page=2", "/passkeys?page=2"},
		{"next root", "/", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := ts
			c := ts.client(t)
			form := url.Values{"username": {alice}, "password": {alicePw}, "passkey": {""}}
			if tt.next != "" {
				form.Set("next", tt.next)
			}
			r := ts.postForm(t, c, "/login", form.Encode())
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want 303; body:\n%s", r.StatusCode, r.body)
			}
			if got := r.Header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location %q, want %q", got, tt.wantLocation)
			}
			s := ts.assertLoggedIn(t, c, alice)
			if s.User.ID != u.ID || s.User.DisplayName != alice {
				t.Errorf("user %+v, want id %s", s.User, u.ID)
			}
		})
	}
	if ts.user(t, alice).LastLoginAt.IsZero() {
		t.Error("last login not recorded")
	}
}

func TestLoginUsernameIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, "test-user@sample.local", alicePw)
	for _, typed := range []string{"Test-User@Sample.Local", "TEST-USER@SAMPLE.LOCAL", "  test-user@sample.local "} {
		c := ts.client(t)
		ts.login(t, c, typed, alicePw)
		// The account's own spelling, not what was typed.
		ts.assertLoggedIn(t, c, "test-user@sample.local")
	}
	// The password is not case-insensitive.
	c := ts.client(t)
	r := ts.postForm(t, c, "/login", url.Values{"username": {"test-user@sample.local"}, "password": {strings.ToUpper(alicePw)}}.Encode())
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("upper-cased password: status %d, want 401", r.StatusCode)
	}
	ts.assertAnonymous(t, c)
}

// TestLoginFailureIsGeneric checks that an unknown user, a user without a
// password and a wrong password get the same answer.
func TestLoginFailureIsGeneric(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, alice, alicePw)
	ts.addUser(t, "bob", "")

	type answer struct {
		status     int
		loginError string
	}
	var first *answer
	for _, tt := range []struct{ name, username, pw string }{
		{"wrong password", alice, "wrong password!"},
		{"unknown user", "nobody@example.com", alicePw},
		{"user without password", "bob", alicePw},
		{"invalid username", "a\x01b", alicePw},
	} {
		c := ts.client(t)
		r := ts.postForm(t, c, "/login", url.Values{"username": {tt.username}, "password": {tt.pw}, "next": {"/passkeys"}}.Encode())
		if r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tt.name, r.StatusCode)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q, want the login page", tt.name, ct)
		}
		byID(t, r.body, "login-form")
		got := answer{r.StatusCode, text(r.body, byID(t, r.body, "login-error"))}
		if got.loginError == "" {
			t.Errorf("%s: #login-error is empty", tt.name)
		}
		if strings.Contains(strings.ToLower(got.loginError), "unknown") || strings.Contains(strings.ToLower(got.loginError), "exist") {
			t.Errorf("%s: error %q tells whether the user exists", tt.name, got.loginError)
		}
		// The form keeps next, so the retry goes where the user wanted.
		if n := find(r.body, "input", "name", "next"); len(n) != 1 || n[0].attrs["value"] != "/passkeys" {
			t.Errorf("%s: next input %+v, want value /passkeys", tt.name, n)
		}
		if first == nil {
			first = &got
		} else if got != *first {
			t.Errorf("%s: answer %+v differs from the wrong-password answer %+v", tt.name, got, *first)
		}
		ts.assertAnonymous(t, c)
	}
	if !ts.user(t, alice).LastLoginAt.IsZero() {
		t.Error("a failed login was recorded as a login")
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, alice, alicePw)
	c := ts.client(t)
	ts.login(t, c, alice, alicePw)
	token := ts.sessionCookie(c).Value
	if !ts.storedSession(t, token) {
		t.Fatal("the session is not in the store after login")
	}

	r := ts.postForm(t, c, "/logout", "")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("POST /logout: status %d, Location %q; want 303 to /", r.StatusCode, r.Header.Get("Location"))
	}
	ts.assertAnonymous(t, c)
	// Destroyed server side: the old token, replayed, logs nobody in.
	if ts.storedSession(t, token) {
		t.Error("the session is still in the store after logout")
	}
	ts.assertAnonymous(t, ts.clientWithToken(t, token))
}

func TestAPILogout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, alice, alicePw)
	c := ts.client(t)

	r := ts.do(t, c, ts.request(t, http.MethodPost, "/api/logout", nil))
	assertJSONError(t, r, http.StatusUnauthorized, "not_logged_in")

	ts.login(t, c, alice, alicePw)
	token := ts.sessionCookie(c).Value
	if !ts.storedSession(t, token) {
		t.Fatal("the session is not in the store after login")
	}
	r = ts.do(t, c, ts.request(t, http.MethodPost, "/api/logout", nil))
	if r.StatusCode != http.StatusNoContent || r.body != "" {
		t.Fatalf("POST /api/logout: status %d, body %q; want 204 and no body", r.StatusCode, r.body)
	}
	ts.assertAnonymous(t, c)
	ts.assertAnonymous(t, ts.clientWithToken(t, token))
	if ts.storedSession(t, token) {
		t.Error("the session is still in the store after logout")
	}
	// Logged out, the second logout is refused.
	r = ts.do(t, c, ts.request(t, http.MethodPost, "/api/logout", nil))
	assertJSONError(t, r, http.StatusUnauthorized, "not_logged_in")
}

func TestAPISession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	u := ts.addUser(t, alice, alicePw)
	c := ts.client(t)

	r := ts.get(t, c, "/api/session")
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if got := compactJSON(t, r.body); got != `{"auth":null,"user":null}` {
		t.Errorf("anonymous: %s", got)
	}

	ts.login(t, c, alice, alicePw)
	r = ts.get(t, c, "/api/session")
	want := `{"auth":{"cross_platform":null,"id":null,"name":null,"platform":null,"use_passkey":false},` +
		`"user":{"display_name":"` + alice + `","id":"` + u.ID + `","username":"` + alice + `"}}`
	if got := compactJSON(t, r.body); got != want {
		t.Errorf("after password login:\n got %s\nwant %s", got, want)
	}
}

// compactJSON re-encodes a JSON document with sorted keys.
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// assertJSONError checks a JSON error answer.
func assertJSONError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", r.Request.Method, r.Request.URL.Path, ct)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("%s %s: not JSON: %v: %s", r.Request.Method, r.Request.URL.Path, err, r.body)
	}
	if len(e) != 2 || e["error"] != code {
		t.Errorf("%s %s: body %s, want error %q and a message", r.Request.Method, r.Request.URL.Path, r.body, code)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("%s %s: no message in %s", r.Request.Method, r.Request.URL.Path, r.body)
	}
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	for _, plain := range []bool{false, true} {
		ts := newTestServer(t, testOpts{plainHTTP: plain})
		ts.addUser(t, alice, alicePw)
		r := ts.login(t, ts.client(t), alice, alicePw)
		var cookie *http.Cookie
		for _, k := range r.Cookies() {
			if k.Name == passkeyd.CookieName {
				cookie = k
			}
		}
		if cookie == nil {
			t.Fatalf("%s: login set no %s cookie", ts.URL, passkeyd.CookieName)
		}
		if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
			t.Errorf("%s: cookie %s: want HttpOnly, SameSite=Lax, Path=/", ts.URL, cookie)
		}
		if cookie.Secure == plain {
			t.Errorf("%s: cookie Secure = %v, want %v", ts.URL, cookie.Secure, !plain)
		}
		if len(cookie.Value) < 32 {
			t.Errorf("%s: token %q is short", ts.URL, cookie.Value)
		}
	}
}

// TestSessionFixation checks that a login renews the session token, so a
// token known before the login (planted by an attacker: one of their own
// sessions, or one never stored) logs nobody in afterwards.
func TestSessionFixation(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, alice, alicePw)
	ts.addUser(t, "bob", "bob's password")
	ts.addUser(t, "mallory", "mallory's password")

	// Mallory's own session, planted in alice's browser.
	m := ts.client(t)
	ts.login(t, m, "mallory", "mallory's password")
	planted := ts.sessionCookie(m).Value
	if !ts.storedSession(t, planted) {
		t.Fatal("mallory's session is not in the store")
	}
	never := base64.RawURLEncoding.EncodeToString(make([]byte, 32))

	for _, token := range []string{planted, never} {
		c := ts.clientWithToken(t, token)
		ts.login(t, c, alice, alicePw)
		after := ts.sessionCookie(c)
		if after == nil || after.Value == token {
			t.Fatalf("token %q was not renewed at login", token)
		}
		ts.assertLoggedIn(t, c, alice)
		ts.assertAnonymous(t, ts.clientWithToken(t, token))
	}
	if ts.storedSession(t, planted) {
		t.Error("the pre-login session is still in the store")
	}

	// Every login renews: logging in again (as someone else) in the same
	// session drops the first login's token.
	c := ts.client(t)
	ts.login(t, c, alice, alicePw)
	first := ts.sessionCookie(c).Value
	ts.login(t, c, "bob", "bob's password")
	if ts.sessionCookie(c).Value == first {
		t.Fatal("second login kept the token")
	}
	ts.assertLoggedIn(t, c, "bob")
	ts.assertAnonymous(t, ts.clientWithToken(t, first))
}

// A logout wins over every request of the same session in flight: 4
// requests racing the logout, 20 rounds, on every store, and the session
// never comes back. Every request writes the session (a touch interval of
// a nanosecond), the worst case.
func TestLogoutSticksWhileRequestsInFlight(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, testOpts{backend: backend, touchEvery: time.Nanosecond})
			ts.addUser(t, alice, alicePw)
			const rounds, inFlight = 20, 4
			resurrected := 0
			for range rounds {
				c := ts.client(t)
				ts.login(t, c, alice, alicePw)
				token := ts.sessionCookie(c).Value
				if !ts.storedSession(t, token) {
					t.Fatal("the session is not in the store after login")
				}
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range inFlight {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						path := []string{"/api/session", "/", "/passkeys", "/api/passkeys"}[i]
						resp, err := ts.clientWithToken(t, token).Get(ts.URL + path)
						if err == nil {
							resp.Body.Close()
						}
					}()
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					resp, err := c.Post(ts.URL+"/logout", "application/x-www-form-urlencoded", nil)
					if err != nil {
						t.Errorf("logout: %v", err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusSeeOther {
						t.Errorf("logout: %d", resp.StatusCode)
					}
				}()
				close(start)
				wg.Wait()
				if ts.storedSession(t, token) {
					resurrected++
				}
				ts.assertAnonymous(t, ts.clientWithToken(t, token))
			}
			if resurrected > 0 {
				t.Errorf("%d of %d logouts undone by requests in flight", resurrected, rounds)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	c := ts.client(t)
	r := ts.get(t, c, "/healthz")
	if r.StatusCode != http.StatusOK || r.body != "ok" {
		t.Fatalf("status %d, body %q; want 200 ok", r.StatusCode, r.body)
	}
	if err := ts.db.Close(); err != nil {
		t.Fatal(err)
	}
	r = ts.get(t, c, "/healthz")
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("database closed: status %d, body %q; want 503", r.StatusCode, r.body)
	}
	assertSecurityHeaders(t, r, true)
}

// TestReadyz checks /readyz: 200 "ready" while the database takes a
// write, 503 once it does not.
func TestReadyz(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, testOpts{backend: backend})
			c := ts.client(t)
			if r := ts.get(t, c, "/readyz"); r.StatusCode != http.StatusOK || r.body != "ready" {
				t.Fatalf("status %d, body %q; want 200 ready", r.StatusCode, r.body)
			}
			if err := ts.db.Close(); err != nil {
				t.Fatal(err)
			}
			if r := ts.get(t, c, "/readyz"); r.StatusCode != http.StatusServiceUnavailable || r.body != "not ready" {
				t.Fatalf("database closed: status %d, body %q; want 503 not ready", r.StatusCode, r.body)
			}
		})
	}
}

// TestPages checks the element ids the spec promises on each page, logged
// in and not.
func TestPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, alice, alicePw)
	anon, in := ts.client(t), ts.client(t)
	ts.login(t, in, alice, alicePw)

	for _, tt := range []struct {
		path     string
		loggedIn bool
		status   int
	}{
		{"/", false, 200},
		{"/", true, 200},
		{"/login", false, 200},
		{"/login", true, 200},
		{"/login?next=/passkeys", false, 200},
		{"/no-such-page", false, 404},
		{"/no-such-page", true, 404},
	} {
		c := anon
		if tt.loggedIn {
			c = in
		}
		r := ts.get(t, c, tt.path)
		if r.StatusCode != tt.status {
			t.Errorf("GET %s: status %d, want %d", tt.path, r.StatusCode, tt.status)
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", tt.path, ct)
		}
		assertLoginState(t, r.body, tt.loggedIn, alice)
		if strings.HasPrefix(tt.path, "/login") {
			assertLoginForm(t, r.body)
			if e := byID(t, r.body, "login-error"); text(r.body, e) != "" {
				t.Errorf("GET %s: #login-error says %q before anything went wrong", tt.path, text(r.body, e))
			}
		}
	}
	r := ts.get(t, anon, "/login?next=/passkeys")
	if n := find(r.body, "input", "name", "next"); len(n) != 1 || n[0].attrs["value"] != "/passkeys" {
		t.Errorf("next input %+v, want value /passkeys", n)
	}
}

// assertLoginState checks #login-state and the logout form.
func assertLoginState(t *testing.T, page string, loggedIn bool, username string) {
	t.Helper()
	state := text(page, byID(t, page, "login-state"))
	logout := find(page, "form", "id", "logout-form")
	if !loggedIn {
		if state != "Not logged in" {
			t.Errorf("#login-state %q, want Not logged in", state)
		}
		if len(logout) != 0 {
			t.Error("form#logout-form shown to nobody")
		}
		return
	}
	if !strings.Contains(state, username) || !strings.Contains(state, "password") {
		t.Errorf("#login-state %q, want the username %s and the word password", state, username)
	}
	if len(logout) != 1 {
		t.Fatalf("%d form#logout-form, want 1", len(logout))
	}
	if f := logout[0]; strings.ToLower(f.attrs["method"]) != "post" || f.attrs["action"] != "/logout" {
		t.Errorf("form#logout-form %+v, want POST /logout", f.attrs)
	}
	rest := page[logout[0].end:]
	rest = rest[:strings.Index(rest, "</form>")]
	if len(find(rest, "button", "type", "submit")) != 1 && len(find(rest, "input", "type", "submit")) != 1 {
		t.Error("form#logout-form has no submit button")
	}
}

// assertLoginForm checks the login form's elements.
func assertLoginForm(t *testing.T, page string) {
	t.Helper()
	form := byID(t, page, "login-form")
	if form.name != "form" || strings.ToLower(form.attrs["method"]) != "post" || form.attrs["action"] != "/login" {
		t.Errorf("#login-form %+v, want form POST /login", form)
	}
	if u := find(page, "input", "name", "username"); len(u) != 1 || u[0].attrs["autocomplete"] != "username webauthn" {
		t.Errorf("input[name=username] %+v, want one with autocomplete=\"username webauthn\"", u)
	}
	if p := find(page, "input", "name", "password"); len(p) != 1 || p[0].attrs["type"] != "password" {
		t.Errorf("input[name=password] %+v", p)
	}
	if pk := byID(t, page, "passkey"); pk.name != "input" || pk.attrs["type"] != "hidden" || pk.attrs["name"] != "passkey" {
		t.Errorf("#passkey %+v, want a hidden input named passkey", pk)
	}
	if b := byID(t, page, "passkey-login"); b.name != "button" || b.attrs["type"] == "submit" {
		t.Errorf("#passkey-login %+v, want a button that does not submit", b)
	}
}

// TestPasswordGuessingThrottled checks that after 10 wrong
// passwords a username is refused (429) even with the right password, that
// unknown usernames are treated alike, and that passkeys are unaffected.
func TestPasswordGuessingThrottled(t *testing.T) {
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, "mallory-target", "the right password")
	for _, username := range []string{"mallory-target", "no-such-user"} {
		c := ts.client(t)
		for i := 0; i < 10; i++ {
			r := ts.postForm(t, c, "/login", url.Values{"username": {username}, "password": {"wrong guess"}}.Encode())
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s guess %d: %d, want 401", username, i, r.StatusCode)
			}
		}
		r := ts.postForm(t, c, "/login", url.Values{"username": {strings.ToUpper(username)}, "password": {"the right password"}}.Encode())
		if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many password attempts") || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s after 10 failures: %d, Retry-After %q; want 429 with a message and when to retry", username, r.StatusCode, r.Header.Get("Retry-After"))
		}
		ts.assertAnonymous(t, c)
	}
	// Another username is not affected.
	ts.addUser(t, "bystander", "another password")
	ts.login(t, ts.client(t), "bystander", "another password")
}
