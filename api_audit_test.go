package passkeyd_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// events returns the user's audit events, oldest first, as
// "event outcome method reason" lines.
func (h *harness) events(t *testing.T, userID string) []string {
	t.Helper()
	got, err := h.svc.AuditEvents(context.Background(), userID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range slices.Backward(got) {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", e.Event, e.Outcome, e.Method, e.Reason)))
	}
	return out
}

// The audit log keeps each security event of an account: logins by either
// method and their refusals, a lock-out (once), and each passkey added,
// renamed, disabled, enabled and deleted, with the client's address and
// device.
func TestAuditLog(t *testing.T) {
	h := newHarness(t, harnessOptions{trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	u := h.user(t, "audited")
	h.setPassword(t, u, "right")
	for range 11 {
		if _, _, err := passwordAttempt(h, "audited", "wrong", "203.0.113.5"); err != nil {
			t.Fatal(err)
		}
	}
	passwordAttempt(h, "audited", "wrong", "203.0.113.5") // a second refusal of the window: no second entry
	c := h.client()
	c.must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "audited", "right"))
	a := passkeytest.New(h.origin, passkeytest.Options{})
	p := c.register(t, a, "phone")
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"name":"old phone"}`))
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled":false}`))
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled":true}`))
	h.client().login(t, a)
	other := h.client()
	opts := other.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
	resp, err := a.LoginWith(opts, passkeytest.Tamper{BadSignature: true})
	if err != nil {
		t.Fatal(err)
	}
	other.mustError(t, http.StatusUnauthorized, "login_failed", "POST", "/api/login/finish", resp)
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled":false}`))
	c.must(t, http.StatusNoContent, "DELETE", "/api/passkeys/"+p.ID, nil)

	want := []string{}
	for range 10 {
		want = append(want, "login refused password login_failed")
	}
	want = append(want,
		"lockout refused password too_many_attempts",
		"login ok password",
		"passkey_added ok passkey",
		"passkey_renamed ok",
		"passkey_disabled ok",
		"passkey_enabled ok",
		"login ok passkey",
		"login refused passkey login_failed",
		"passkey_disabled ok",
		"sessions_ended ok  passkey_removed", // the session the passkey logged in
		"passkey_deleted ok",
	)
	if got := h.events(t, u.ID); !slices.Equal(got, want) {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	all, err := h.svc.AuditEvents(context.Background(), u.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	if last := all[len(all)-1]; last.Address != "203.0.113.5" {
		t.Errorf("the first event's address is %q, want the client's through the trusted proxy", last.Address)
	}
	if first := all[0]; first.PasskeyID != p.ID || first.Address != "127.0.0.1" {
		t.Errorf("the newest event %+v, want the passkey's id and the client's address", first)
	}
}

// A possible clone of a device-bound passkey is in its owner's log with
// the refused login and the disabling, written in the login's one commit.
func TestAuditLogClone(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	owner := h.client()
	u := h.user(t, "cloned")
	owner.logInAs(t, u)
	a := passkeytest.New(h.origin, passkeytest.Options{DeviceBound: true})
	owner.register(t, a, "key")
	h.client().login(t, a) // counter 1
	a.SetSignCount(lastCredID(t, a), 0)
	c := h.client()
	opts := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
	resp, err := a.Login(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.mustError(t, http.StatusUnauthorized, "possible_clone", "POST", "/api/login/finish", resp)
	got := h.events(t, u.ID)
	want := []string{"clone_warning ok passkey", "login refused passkey possible_clone", "passkey_disabled ok passkey possible_clone"}
	if len(got) < 3 || !slices.Equal(got[len(got)-3:], want) {
		t.Fatalf("audit log ends %v, want %v", got, want)
	}
	events, _ := h.svc.AuditEvents(context.Background(), u.ID, 1)
	if events[0].Actor != "passkeyd" {
		t.Errorf("the disabling's actor is %q, want passkeyd", events[0].Actor)
	}
}
