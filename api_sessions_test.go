package passkeyd_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

func (c *client) sessions(t testing.TB) []passkeyd.SessionInfo {
	t.Helper()
	var got struct{ Sessions []passkeyd.SessionInfo }
	if err := json.Unmarshal(c.must(t, http.StatusOK, "GET", "/api/sessions", nil), &got); err != nil {
		t.Fatal(err)
	}
	return got.Sessions
}

// A user sees their sessions, the current one marked, with how each
// logged in, and ends one, or every other, on every instance; nobody ends
// another user's. Each ending is in the audit log.
func TestUserSessions(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	u := h.user(t, "many")
	h.setPassword(t, u, "pw")
	laptop := h.client()
	laptop.must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "many", "pw"))
	a := passkeytest.New(h.origin, passkeytest.Options{})
	laptop.register(t, a, "")
	phone, tablet := h.client(), h.client()
	phone.login(t, a)
	tablet.login(t, a)

	list := laptop.sessions(t)
	if len(list) != 3 {
		t.Fatalf("%d sessions, want 3: %+v", len(list), list)
	}
	var current, byPasskey int
	var phoneID string
	for _, s := range list {
		if s.Current {
			current++
			if s.Method != "password" {
				t.Errorf("the laptop's session: method %q, want password", s.Method)
			}
		}
		if s.Method == "passkey" {
			byPasskey++
			phoneID = s.ID
		}
	}
	if current != 1 || byPasskey != 2 {
		t.Fatalf("sessions %+v: want one current, two by passkey", list)
	}

	// Another user cannot end it; its owner can.
	stranger := h.client()
	stranger.logInAs(t, h.user(t, "stranger"))
	stranger.mustError(t, http.StatusNotFound, "session_not_found", "DELETE", "/api/sessions/"+phoneID, nil)
	laptop.must(t, http.StatusNoContent, "DELETE", "/api/sessions/"+phoneID, nil)
	if in := btoi(phone.whoami(t) != "") + btoi(tablet.whoami(t) != ""); in != 1 {
		t.Fatalf("%d of the two passkey sessions still log in after one was ended, want 1", in)
	}
	laptop.mustError(t, http.StatusNotFound, "session_not_found", "DELETE", "/api/sessions/"+phoneID, nil)

	laptop.must(t, http.StatusNoContent, "POST", "/api/sessions/logout-others", nil)
	if phone.whoami(t) != "" || tablet.whoami(t) != "" {
		t.Fatal("a session outlived logout-others")
	}
	if laptop.whoami(t) != u.ID || len(laptop.sessions(t)) != 1 {
		t.Fatal("logout-others ended the current session too")
	}
	// Ending the current session logs it out.
	own := laptop.sessions(t)[0].ID
	laptop.must(t, http.StatusNoContent, "DELETE", "/api/sessions/"+own, nil)
	if laptop.whoami(t) != "" {
		t.Fatal("ending the current session left it logged in")
	}
	got := h.events(t, u.ID)
	if n := len(got); n < 3 || got[n-3] != "sessions_ended ok" || got[n-2] != "sessions_ended ok  all_others" || got[n-1] != "sessions_ended ok" {
		t.Errorf("audit log ends %v, want the three endings", got)
	}
	h.client().mustError(t, http.StatusUnauthorized, "not_logged_in", "GET", "/api/sessions", nil)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
