package passkeyd_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// Changing the password needs the current one and a recent login, checks
// the new one's policy, and ends every other session of the user; the new
// password then logs in and the old one does not.
func TestChangePassword(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	u := w.h.user(t, "changer")
	w.h.setPassword(t, u, "old password")
	c, thief := w.h.client(), w.h.client()
	c.must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "changer", "old password"))
	thief.must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "changer", "old password"))

	body := func(cur, next string) []byte {
		return []byte(`{"current_password": "` + cur + `", "new_password": "` + next + `"}`)
	}
	c.mustError(t, http.StatusForbidden, "wrong_password", "POST", "/api/password", body("guess", "new password 1"))
	c.mustError(t, http.StatusBadRequest, "weak_password", "POST", "/api/password", body("old password", "short"))
	c.mustError(t, http.StatusBadRequest, "unknown_field", "POST", "/api/password", []byte(`{"password": "x"}`))
	if thief.whoami(t) != u.ID {
		t.Fatal("a refused change ended a session")
	}
	c.must(t, http.StatusNoContent, "POST", "/api/password", body("old password", "new password 1"))
	if thief.whoami(t) != "" {
		t.Error("the other session survived the password change")
	}
	if c.whoami(t) != u.ID {
		t.Error("the session that changed the password was ended")
	}
	w.h.client().mustError(t, http.StatusUnauthorized, "login_failed", "POST", "/api/login/password", passwordBody(t, "changer", "old password"))
	w.h.client().must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "changer", "new password 1"))

	w.clock.Advance(passkeyd.DefaultReauthWindow + time.Second)
	c.mustError(t, http.StatusUnauthorized, "reauth_required", "POST", "/api/password", body("new password 1", "new password 2"))
}

// A passkey-only user sets a first password without a current one.
func TestSetFirstPassword(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	u := h.user(t, "keyonly")
	c := h.client()
	c.logInAs(t, u)
	c.must(t, http.StatusNoContent, "POST", "/api/password", []byte(`{"current_password": "", "new_password": "first password"}`))
	h.client().must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "keyonly", "first password"))
}

// Disabling or deleting a passkey ends the sessions that logged in with
// it, on every device, but not the one making the change nor sessions of
// other passkeys.
func TestRemovingPasskeyEndsItsSessions(t *testing.T) {
	for _, how := range []string{"disable", "delete"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			u := h.user(t, "owner"+how)
			manager := h.client()
			manager.logInAs(t, u)
			lost, kept := passkeytest.New(h.origin, passkeytest.Options{}), passkeytest.New(h.origin, passkeytest.Options{})
			p := manager.register(t, lost, "lost phone")
			manager.register(t, kept, "laptop")
			thief1, thief2, laptop := h.client(), h.client(), h.client()
			thief1.login(t, lost)
			thief2.login(t, lost)
			laptop.login(t, kept)

			manager.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled": false}`))
			if how == "delete" {
				manager.must(t, http.StatusNoContent, "DELETE", "/api/passkeys/"+p.ID, nil)
			}
			for i, c := range []*client{thief1, thief2} {
				if c.whoami(t) != "" {
					t.Errorf("session %d of the removed passkey survived", i+1)
				}
			}
			if laptop.whoami(t) != u.ID || manager.whoami(t) != u.ID {
				t.Error("a session of another passkey, or the manager's, was ended")
			}
		})
	}
}
