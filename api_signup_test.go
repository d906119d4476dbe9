package passkeyd_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

func signUpHarness(t *testing.T, policy string) *harness {
	t.Helper()
	return newHarness(t, harnessOptions{configure: func(c *passkeyd.Config) { c.SignUp = policy }})
}

// signUpBody is {"username", "display_name"} and, when pw is not "",
// "password".
func signUpBody(t testing.TB, username, displayName, pw string) []byte {
	t.Helper()
	m := map[string]string{"username": username, "display_name": displayName}
	if pw != "" {
		m["password"] = pw
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signUp runs a passkey sign-up on c with a and returns the finish's
// status and body.
func signUp(t *testing.T, c *client, a *passkeytest.Authenticator, username string) (int, []byte) {
	t.Helper()
	opts := c.must(t, http.StatusOK, "POST", "/api/signup/begin", signUpBody(t, username, "", ""))
	resp, err := a.Register(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c.do(t, "POST", "/api/signup/finish", resp)
}

// A passkey sign-up stores the user and the passkey only at its finish,
// and logs the new user in; the passkey then logs in.
func TestSignUpWithPasskey(t *testing.T) {
	h := signUpHarness(t, passkeyd.SignUpAny)
	c := h.client()
	a := passkeytest.New(h.origin, passkeytest.Options{})

	// A begin never finished holds nothing.
	c.must(t, http.StatusOK, "POST", "/api/signup/begin", signUpBody(t, "Newcomer", "New Comer", ""))
	if _, err := h.db.UserByUsername(t.Context(), "newcomer"); err == nil {
		t.Fatal("a sign-up's begin stored the user")
	}

	status, body := signUp(t, c, a, "Newcomer")
	if status != http.StatusCreated {
		t.Fatalf("sign-up finish: %d %s", status, body)
	}
	var got struct {
		User    passkeyd.UserInfo    `json:"user"`
		Passkey passkeyd.PasskeyInfo `json:"passkey"`
	}
	if err := json.Unmarshal(body, &got); err != nil || got.User.ID == "" || got.Passkey.ID == "" || !got.Passkey.Enabled {
		t.Fatalf("sign-up answer %s (%v)", body, err)
	}
	if c.whoami(t) != got.User.ID {
		t.Error("the new user is not logged in")
	}
	other := h.client()
	if l := other.login(t, a); l.User.ID != got.User.ID {
		t.Errorf("the new passkey logs in %+v", l.User)
	}
	if ev := h.events(t, got.User.ID); len(ev) == 0 {
		t.Error("no audit events for the sign-up")
	}

	// The name is taken now, in any letter case.
	h.client().mustError(t, http.StatusConflict, "username_taken", "POST", "/api/signup/begin", signUpBody(t, "NEWCOMER", "", ""))
}

// Two sign-ups for one username, both begun before either finished: one
// user is made, the other answer is username_taken and keeps nothing.
func TestSignUpRace(t *testing.T) {
	h := signUpHarness(t, passkeyd.SignUpPasskey)
	type attempt struct {
		c *client
		a *passkeytest.Authenticator
		r []byte
	}
	var tries [2]attempt
	for i := range tries {
		c, a := h.client(), passkeytest.New(h.origin, passkeytest.Options{})
		opts := c.must(t, http.StatusOK, "POST", "/api/signup/begin", signUpBody(t, "contested", "", ""))
		resp, err := a.Register(opts)
		if err != nil {
			t.Fatal(err)
		}
		tries[i] = attempt{c, a, resp}
	}
	statuses := make([]int, len(tries))
	var wg sync.WaitGroup
	for i, try := range tries {
		wg.Go(func() {
			statuses[i], _ = try.c.do(t, "POST", "/api/signup/finish", try.r)
		})
	}
	wg.Wait()
	created, taken := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			taken++
		}
	}
	if created != 1 || taken != 1 {
		t.Fatalf("finishes answered %v, want one 201 and one 409", statuses)
	}
	if n := h.passkeyCount(t); n != 1 {
		t.Errorf("%d passkeys stored, want the winner's one", n)
	}
}

// A password sign-up checks the password's policy, stores the user and
// logs them in; the password then logs in.
func TestSignUpWithPassword(t *testing.T) {
	h := signUpHarness(t, passkeyd.SignUpAny)
	c := h.client()
	c.mustError(t, http.StatusBadRequest, "weak_password", "POST", "/api/signup/password", signUpBody(t, "pat", "", "short"))
	if _, err := h.db.UserByUsername(t.Context(), "pat"); err == nil {
		t.Fatal("a refused password sign-up stored the user")
	}
	var got loginAnswer
	json.Unmarshal(c.must(t, http.StatusCreated, "POST", "/api/signup/password", signUpBody(t, "pat", "Pat", "long enough password")), &got)
	if got.User.ID == "" || c.whoami(t) != got.User.ID {
		t.Fatalf("after a password sign-up: %+v, logged in as %q", got, c.whoami(t))
	}
	h.client().must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "pat", "long enough password"))
	h.client().mustError(t, http.StatusConflict, "username_taken", "POST", "/api/signup/password", signUpBody(t, "Pat", "", "another long password"))
}

// Each policy refuses what it does not allow with 403 signup_closed; bad
// input is 400 and stores nothing.
func TestSignUpRefusals(t *testing.T) {
	for _, tc := range []struct {
		policy          string
		passkey, passwd bool
	}{
		{passkeyd.SignUpClosed, false, false},
		{passkeyd.SignUpPasskey, true, false},
		{passkeyd.SignUpPassword, false, true},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			h := signUpHarness(t, tc.policy)
			c := h.client()
			if !tc.passkey {
				c.mustError(t, http.StatusForbidden, "signup_closed", "POST", "/api/signup/begin", signUpBody(t, "x", "", ""))
			}
			if !tc.passwd {
				c.mustError(t, http.StatusForbidden, "signup_closed", "POST", "/api/signup/password", signUpBody(t, "x", "", "long enough password"))
			}
		})
	}
	h := signUpHarness(t, passkeyd.SignUpAny)
	c := h.client()
	for _, name := range []string{"", "   ", "bad\u202ename", string(make([]byte, 200))} {
		c.mustError(t, http.StatusBadRequest, "invalid_username", "POST", "/api/signup/begin", signUpBody(t, name, "", ""))
		c.mustError(t, http.StatusBadRequest, "invalid_username", "POST", "/api/signup/password", signUpBody(t, name, "", "long enough password"))
	}
	c.mustError(t, http.StatusBadRequest, "unknown_field", "POST", "/api/signup/begin", []byte(`{"username": "a", "admin": true}`))
	c.mustError(t, http.StatusBadRequest, "invalid_json", "POST", "/api/signup/begin", []byte(`{`))
	if n := h.passkeyCount(t); n != 0 {
		t.Errorf("%d passkeys after refusals", n)
	}
}
