package passkeyd_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// recoveryBody is {"username", "code"}.
func recoveryBody(t testing.TB, username, code string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{"username": username, "code": code})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newCodes makes the client's user new recovery codes.
func (c *client) newCodes(t testing.TB) []string {
	t.Helper()
	var got struct{ Codes []string }
	if err := json.Unmarshal(c.must(t, http.StatusCreated, "POST", "/api/recovery-codes", nil), &got); err != nil {
		t.Fatal(err)
	}
	return got.Codes
}

// A user without a password cannot disable or delete their last way in
// (409 last_login_method, nothing changes) until they have another: a
// second passkey, or recovery codes.
func TestLastLoginMethod(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	u := h.user(t, "keysonly")
	c := h.client()
	c.logInAs(t, u)
	a, b := passkeytest.New(h.origin, passkeytest.Options{}), passkeytest.New(h.origin, passkeytest.Options{})
	p := c.register(t, a, "Phone")
	before := h.snapshot(t)
	c.mustError(t, http.StatusConflict, "last_login_method", "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled": false}`))
	if after := h.snapshot(t); after != before {
		t.Fatal("a refused disable changed the database")
	}
	q := c.register(t, b, "Laptop")
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled": false}`))
	c.mustError(t, http.StatusConflict, "last_login_method", "PATCH", "/api/passkeys/"+q.ID, []byte(`{"enabled": false}`))
	c.must(t, http.StatusNoContent, "DELETE", "/api/passkeys/"+p.ID, nil)

	// Recovery codes are a way in: now the last passkey may go, until
	// the codes are used up.
	codes := c.newCodes(t)
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+q.ID, []byte(`{"enabled": false}`))
	c.must(t, http.StatusNoContent, "DELETE", "/api/passkeys/"+q.ID, nil)
	if len(codes) != passkeyd.RecoveryCodeCount {
		t.Fatalf("%d codes", len(codes))
	}
}

// Recovery codes: ten, shown once, stored only hashed; each logs in once
// (any letter case, with or without dashes); a wrong one is the same
// answer as an unknown user; new codes replace the old; every use is in
// the audit log; making them needs a recent login.
func TestRecoveryCodes(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	u, c := w.userClient(t, "recoverer")
	codes := c.newCodes(t)
	seen := map[string]bool{}
	for _, code := range codes {
		if len(code) != 19 || seen[code] {
			t.Fatalf("code %q: want 16 characters in four groups, each code new", code)
		}
		seen[code] = true
	}
	if strings.Contains(w.h.snapshot(t), codes[0]) {
		t.Error("a recovery code is stored as it is")
	}

	c2 := w.h.client()
	c2.must(t, http.StatusOK, "POST", "/api/login/recovery", recoveryBody(t, "recoverer", strings.ToUpper(strings.ReplaceAll(codes[0], "-", ""))))
	if c2.whoami(t) != u.ID {
		t.Fatal("a recovery code did not log in")
	}
	for _, tc := range []struct{ user, code string }{
		{"recoverer", codes[0]}, // used
		{"recoverer", "aaaa-bbbb-cccc-dddd"},
		{"nobody", codes[1]},
	} {
		w.h.client().mustError(t, http.StatusUnauthorized, "login_failed", "POST", "/api/login/recovery", recoveryBody(t, tc.user, tc.code))
	}
	w.h.client().mustError(t, http.StatusBadRequest, "missing_credentials", "POST", "/api/login/recovery", recoveryBody(t, "recoverer", ""))

	// One code, sent eight times at once: one login.
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() {
			statuses[i], _ = w.h.client().do(t, "POST", "/api/login/recovery", recoveryBody(t, "recoverer", codes[1]))
		})
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of 8 concurrent uses of one code logged in: %v", ok, statuses)
	}

	// A new window of attempts, and a new confirmation for new codes.
	w.clock.Advance(16 * time.Minute)
	c.must(t, http.StatusOK, "POST", "/api/reauth/password", []byte(`{"password": "pw"}`))
	fresh := c.newCodes(t)
	w.h.client().mustError(t, http.StatusUnauthorized, "login_failed", "POST", "/api/login/recovery", recoveryBody(t, "recoverer", codes[2]))
	w.h.client().must(t, http.StatusOK, "POST", "/api/login/recovery", recoveryBody(t, "recoverer", fresh[0]))
	events := strings.Join(w.h.events(t, u.ID), "\n")
	for _, want := range []string{"recovery_codes_created ok", "recovery_code_used ok", "login ok recovery_code", "login refused recovery_code login_failed"} {
		if !strings.Contains(events, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, events)
		}
	}

	w.clock.Advance(passkeyd.DefaultReauthWindow + time.Second)
	c.mustError(t, http.StatusUnauthorized, "reauth_required", "POST", "/api/recovery-codes", nil)
}

// A login link logs its user in once, within its 15 minutes, and its
// making and use are in the audit log under who made it.
func TestLoginLink(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	u := w.h.user(t, "locked-out")
	token, err := w.h.svc.NewLoginLink(t.Context(), u, "admin")
	if err != nil {
		t.Fatal(err)
	}
	expired, err := w.h.svc.NewLoginLink(t.Context(), u, "admin")
	if err != nil {
		t.Fatal(err)
	}
	c := w.h.client()
	c.must(t, http.StatusOK, "POST", "/api/login/link", linkBody(token))
	if c.whoami(t) != u.ID {
		t.Fatal("the link did not log in")
	}
	w.h.client().mustError(t, http.StatusBadRequest, "invalid_link", "POST", "/api/login/link", linkBody(token))
	w.clock.Advance(passkeyd.LoginLinkTTL + time.Second)
	w.h.client().mustError(t, http.StatusBadRequest, "invalid_link", "POST", "/api/login/link", linkBody(expired))
	// One link, opened eight times at once: one login.
	racy, err := w.h.svc.NewLoginLink(t.Context(), u, "admin")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() {
			statuses[i], _ = w.h.client().do(t, "POST", "/api/login/link", linkBody(racy))
		})
	}
	wg.Wait()
	if n := slices.Index(statuses, http.StatusOK); n < 0 || slices.Contains(statuses[n+1:], http.StatusOK) || slices.ContainsFunc(statuses, func(s int) bool { return s != http.StatusOK && s != http.StatusBadRequest }) {
		t.Errorf("one link used at once eight times: %v, want one 200 and the rest 400", statuses)
	}
	events := strings.Join(w.h.events(t, u.ID), "\n")
	if !strings.Contains(events, "login_link_created ok") || !strings.Contains(events, "login ok login_link") {
		t.Errorf("audit log:\n%s", events)
	}
}

func linkBody(token string) []byte { return []byte(`{"token": "` + token + `"}`) }
