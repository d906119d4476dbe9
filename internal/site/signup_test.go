package site_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/site"
)

func signUpServer(t *testing.T, policy string) *testServer {
	t.Helper()
	return newTestServer(t, testOpts{configure: func(c *passkeyd.Config, _ *site.Config) { c.SignUp = policy }})
}

// The sign-up page offers what the policy allows, and a closed site has
// none; the login page links to it only when it is open.
func TestSignUpPage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		policy            string
		status            int
		passkey, password bool
	}{
		{passkeyd.SignUpClosed, http.StatusNotFound, false, false},
		{passkeyd.SignUpPasskey, http.StatusOK, true, false},
		{passkeyd.SignUpPassword, http.StatusOK, false, true},
		{passkeyd.SignUpAny, http.StatusOK, true, true},
	} {
		ts := signUpServer(t, tc.policy)
		c := ts.client(t)
		r := ts.get(t, c, "/signup")
		if r.StatusCode != tc.status {
			t.Fatalf("%s: GET /signup %d, want %d", tc.policy, r.StatusCode, tc.status)
		}
		if got := len(find(r.body, "button", "id", "signup-passkey")) == 1; got != tc.passkey {
			t.Errorf("%s: passkey button shown %v", tc.policy, got)
		}
		if got := len(find(r.body, "input", "name", "password")) == 1; got != tc.password {
			t.Errorf("%s: password field shown %v", tc.policy, got)
		}
		if got := len(find(ts.get(t, c, "/login").body, "a", "id", "signup-link")) == 1; got != (tc.status == http.StatusOK) {
			t.Errorf("%s: the login page links to sign-up: %v", tc.policy, got)
		}
	}
}

// The form's password sign-up logs the new user in; a taken name or a
// weak password shows the form again with the error, keeping the name.
func TestSignUpForm(t *testing.T) {
	t.Parallel()
	ts := signUpServer(t, passkeyd.SignUpAny)
	ts.addUser(t, "taken", "correct horse battery")
	c := ts.client(t)
	for _, tc := range []struct {
		form   string
		status int
		words  string
	}{
		{"username=taken&password=long+enough+pw", http.StatusConflict, "taken"},
		{"username=fresh&password=short", http.StatusBadRequest, "8 characters"},
		{"username=fresh&password=x&admin=1", http.StatusBadRequest, ""},
	} {
		r := ts.postForm(t, c, "/signup", tc.form)
		if r.StatusCode != tc.status || !strings.Contains(r.body, tc.words) {
			t.Errorf("POST /signup %s: %d, want %d with %q", tc.form, r.StatusCode, tc.status, tc.words)
		}
	}
	r := ts.postForm(t, c, "/signup", "username=Fresh&display_name=Fresh+Person&password=long+enough+pw")
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /signup: %d %s", r.StatusCode, r.body)
	}
	ts.assertLoggedIn(t, c, "Fresh")
}
