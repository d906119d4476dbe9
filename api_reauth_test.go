package passkeyd_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// staleLogin makes a user with a password and a passkey, logged in on a
// client whose login is older than the re-authentication window.
func staleLogin(t *testing.T, w *world, name string) (*passkeyd.User, *client, *passkeytest.Authenticator, passkeyd.PasskeyInfo) {
	t.Helper()
	u := w.h.user(t, name)
	w.h.setPassword(t, u, "pw")
	c := w.h.client()
	c.must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, name, "pw"))
	a := passkeytest.New(w.h.origin, passkeytest.Options{})
	p := c.register(t, a, "Laptop")
	w.clock.Advance(passkeyd.DefaultReauthWindow + time.Second)
	return u, c, a, p
}

// Each sensitive change asks for a recent login (401 reauth_required)
// and changes nothing; renaming, listing and ending one's own session
// do not ask.
func TestStepUpRequired(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	_, c, _, p := staleLogin(t, w, "stale")
	other := w.h.client()
	other.must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "stale", "pw"))
	before := w.h.snapshot(t)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/passkeys/register/begin", ""},
		{"POST", "/api/passkeys/register/finish", "{}"},
		{"PATCH", "/api/passkeys/" + p.ID, `{"enabled": false}`},
		{"DELETE", "/api/passkeys/" + p.ID, ""},
		{"POST", "/api/sessions/logout-others", ""},
		{"DELETE", "/api/sessions/" + other.sessions(t)[0].ID, ""},
	} {
		var body []byte
		if tc.body != "" {
			body = []byte(tc.body)
		}
		c.mustError(t, http.StatusUnauthorized, "reauth_required", tc.method, tc.path, body)
	}
	if after := w.h.snapshot(t); after != before {
		t.Errorf("refused changes changed the database:\n%s\nthen\n%s", before, after)
	}
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"name": "Renamed"}`))
	c.must(t, http.StatusOK, "GET", "/api/passkeys", nil)
	other.must(t, http.StatusNoContent, "DELETE", "/api/sessions/"+mySessionID(t, other), nil)
}

// mySessionID is the id of the client's own session.
func mySessionID(t *testing.T, c *client) string {
	t.Helper()
	for _, s := range c.sessions(t) {
		if s.Current {
			return s.ID
		}
	}
	t.Fatal("no current session listed")
	return ""
}

// A re-authentication with the password or with one's own passkey renews
// the session (a new token: the old one logs nobody in) and opens the
// window again.
func TestReauthenticate(t *testing.T) {
	for _, how := range []string{"password", "passkey"} {
		t.Run(how, func(t *testing.T) {
			w := newWorld(t, harnessOptions{})
			u, c, a, p := staleLogin(t, w, "re"+how)
			old := c.sessionCookie()
			var got loginAnswer
			if how == "password" {
				c.mustError(t, http.StatusUnauthorized, "login_failed", "POST", "/api/reauth/password", []byte(`{"password": "wrong"}`))
				json.Unmarshal(c.must(t, http.StatusOK, "POST", "/api/reauth/password", []byte(`{"password": "pw"}`)), &got)
			} else {
				opts := c.must(t, http.StatusOK, "POST", "/api/reauth/begin", nil)
				json.Unmarshal(c.must(t, http.StatusOK, "POST", "/api/reauth/finish", assertion(t, a, opts, passkeytest.Tamper{})), &got)
			}
			if got.User.ID != u.ID {
				t.Fatalf("re-authentication answered user %+v", got.User)
			}
			if c.sessionCookie() == old {
				t.Error("the session token was not renewed")
			}
			if id := w.h.clientWithCookie(old).whoami(t); id != "" {
				t.Error("the token from before the re-authentication still logs in")
			}
			c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled": false}`))
			c.must(t, http.StatusNoContent, "DELETE", "/api/passkeys/"+p.ID, nil)
		})
	}
}

// A re-authentication takes only a ceremony the logged-in user began:
// not an anonymous login's, nor another user's passkey.
func TestReauthenticateOnlyYourself(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	_, c, _, _ := staleLogin(t, w, "victim")
	_, _, mallory, _ := staleLogin(t, w, "mallory")

	stranger := w.h.client()
	status, hdr, opts := stranger.doFull(t, "POST", "/api/login/begin", nil)
	if status != http.StatusOK {
		t.Fatalf("login begin: %d", status)
	}
	resp := assertion(t, mallory, opts, passkeytest.Tamper{})
	st, _, b := c.doFull(t, "POST", "/api/reauth/finish", resp, http.Header{passkeyd.CeremonyHeader: {hdr.Get(passkeyd.CeremonyHeader)}})
	if st != http.StatusUnauthorized {
		t.Fatalf("re-authentication with an anonymous login's ceremony: %d %s", st, b)
	}
	c.mustError(t, http.StatusUnauthorized, "reauth_required", "POST", "/api/passkeys/register/begin", nil)
	w.h.client().mustError(t, http.StatusUnauthorized, "not_logged_in", "POST", "/api/reauth/begin", nil)
}
