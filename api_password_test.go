package passkeyd_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/password"
)

// setPassword gives u a password hashed as the harness's checker expects.
func (h *harness) setPassword(t testing.TB, u *passkeyd.User, pw string) {
	t.Helper()
	hash, err := password.NewHasher(cheapPasswords, 1).Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.SetPasswordHash(context.Background(), u.ID, hash); err != nil {
		t.Fatal(err)
	}
}

func passwordBody(t testing.TB, username, pw string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{"username": username, "password": pw})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPasswordLogin(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	alice := h.user(t, "alice")
	h.setPassword(t, alice, "correct horse")
	h.user(t, "nopassword") // a passkey-only account

	c := h.client()
	var got loginAnswer
	if err := json.Unmarshal(c.must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "ALICE", "correct horse")), &got); err != nil {
		t.Fatal(err)
	}
	if got.User.ID != alice.ID || got.Auth.UsePasskey || got.Auth.Name != nil {
		t.Fatalf("login answer %+v, want alice by password", got)
	}
	if c.whoami(t) != alice.ID {
		t.Fatal("the password login logged nobody in")
	}
	// The session API says how.
	var session struct {
		User *passkeyd.UserInfo
		Auth *passkeyd.Auth
	}
	if err := json.Unmarshal(c.must(t, http.StatusOK, "GET", "/api/session", nil), &session); err != nil {
		t.Fatal(err)
	}
	if session.User == nil || session.User.ID != alice.ID || session.Auth == nil || session.Auth.UsePasskey {
		t.Fatalf("GET /api/session = %+v, want alice by password", session)
	}
	c.must(t, http.StatusNoContent, "POST", "/api/logout", nil)
	if c.whoami(t) != "" {
		t.Fatal("logged in after logout")
	}
	c.mustError(t, http.StatusUnauthorized, "not_logged_in", "POST", "/api/logout", nil)

	before := h.snapshot(t)
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"wrong password", string(passwordBody(t, "alice", "wrong")), 401, "login_failed"},
		{"unknown user", string(passwordBody(t, "mallory", "wrong")), 401, "login_failed"},
		{"user without a password", string(passwordBody(t, "nopassword", "anything")), 401, "login_failed"},
		{"empty password", string(passwordBody(t, "alice", "")), 400, "missing_credentials"},
		{"empty username", string(passwordBody(t, "", "correct horse")), 400, "missing_credentials"},
		{"not JSON", "username=alice", 400, "invalid_json"},
		{"unknown field", `{"username":"alice","password":"x","remember":true}`, 400, "unknown_field"},
		{"wrong type", `{"username":"alice","password":42}`, 400, "invalid_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.client()
			c.mustError(t, tt.status, tt.code, "POST", "/api/login/password", []byte(tt.body))
			if c.whoami(t) != "" || c.sessionCookie() != "" {
				t.Fatal("a refused password login logged someone in")
			}
		})
	}
	if h.snapshot(t) != before {
		t.Fatal("refused password logins changed users or passkeys")
	}
}

// After too many failures for one username its password login is refused
// with 429 for a while, without hashing; other usernames are not touched.
func TestPasswordLoginThrottled(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	bob := h.user(t, "bob")
	h.setPassword(t, bob, "right")
	h.setPassword(t, h.user(t, "carol"), "right")
	c := h.client()
	for range 10 {
		c.mustError(t, http.StatusUnauthorized, "login_failed", "POST", "/api/login/password", passwordBody(t, "bob", "guess"))
	}
	// The right password too: the limit does not tell a guesser when
	// they have hit it.
	c.mustError(t, http.StatusTooManyRequests, "too_many_attempts", "POST", "/api/login/password", passwordBody(t, "Bob", "right"))
	c.must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "carol", "right"))
}

// A Service without Deps.Passwords takes no passwords, and says so.
func TestPasswordLoginOff(t *testing.T) {
	users := newAppUsers()
	u := users.add("7", "dave")
	h := newHarness(t, harnessOptions{users: users, noPasswords: true})
	c := h.client()
	c.mustError(t, http.StatusForbidden, "password_login_off", "POST", "/api/login/password", passwordBody(t, u.Username, "anything"))
}
