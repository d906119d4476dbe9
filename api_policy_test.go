package passkeyd_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// A passkey that verified its user at registration verifies them at every
// login; one that never did need not.
func TestVerifiedOnceVerifiedAlways(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	owner := h.client()
	owner.logInAs(t, h.user(t, "verified"))
	withUV := passkeytest.New(h.origin, passkeytest.Options{})
	withoutUV := passkeytest.New(h.origin, passkeytest.Options{NoUserVerification: true})
	owner.register(t, withUV, "verifies")
	owner.register(t, withoutUV, "touch only")

	c := h.client()
	opts := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
	resp, err := withUV.LoginWith(opts, passkeytest.Tamper{NoUV: true})
	if err != nil {
		t.Fatal(err)
	}
	e := c.mustError(t, http.StatusUnauthorized, "login_failed", "POST", "/api/login/finish", resp)
	if !strings.Contains(e.Message, "verified") {
		t.Errorf("message %q, want it to say the passkey no longer verified the user", e.Message)
	}
	if c.whoami(t) != "" {
		t.Fatal("a login without the verification the passkey always gave logged in")
	}
	if got := h.client().login(t, withoutUV); got.Auth.Name == nil || *got.Auth.Name != "touch only" {
		t.Fatalf("a passkey that never verified: %+v, want it to log in", got)
	}
}

// An anonymous finish says nothing of a passkey's state — disabled, or
// someone else's — until the signature shows the key's holder sent it: a
// stranger who knows a credential id learns nothing. An unknown
// credential id is still unknown_passkey, which the browser's Signal API
// needs.
func TestFinishRevealsNothingBeforeTheSignature(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	owner := h.client()
	alice := h.user(t, "alice")
	h.setPassword(t, alice, "pw") // a way in besides the passkey it disables
	owner.logInAs(t, alice)
	a := passkeytest.New(h.origin, passkeytest.Options{})
	p := owner.register(t, a, "")
	owner.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled":false}`))

	finish := func(c *client, tamper passkeytest.Tamper) apiError {
		t.Helper()
		opts := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
		resp, err := a.LoginWith(opts, tamper)
		if err != nil {
			t.Fatal(err)
		}
		status, hdr, b := c.doFull(t, "POST", "/api/login/finish", resp)
		if status != http.StatusUnauthorized {
			t.Fatalf("finish = %d %s, want 401", status, b)
		}
		return checkError(t, hdr, b, "")
	}
	if e := finish(h.client(), passkeytest.Tamper{BadSignature: true}); e.Error != "login_failed" {
		t.Errorf("a disabled passkey with a bad signature: %q, want login_failed (nothing about its state)", e.Error)
	}
	if e := finish(h.client(), passkeytest.Tamper{}); e.Error != "passkey_disabled" {
		t.Errorf("a disabled passkey, signed: %q, want passkey_disabled", e.Error)
	}
	owner.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled":true}`))
	// Bob re-authenticates with alice's passkey: only a signed answer
	// hears that it is someone else's.
	bob := h.client()
	bob.logInAs(t, h.user(t, "bob"))
	if e := finish(bob, passkeytest.Tamper{BadSignature: true}); e.Error != "login_failed" {
		t.Errorf("another user's passkey with a bad signature: %q, want login_failed", e.Error)
	}
	if e := finish(bob, passkeytest.Tamper{}); e.Error != "wrong_user" {
		t.Errorf("another user's passkey, signed: %q, want wrong_user", e.Error)
	}
	unknown := h.client()
	opts := unknown.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
	other := passkeytest.New(h.origin, passkeytest.Options{})
	if _, err := other.Register(creationFor(t, h)); err != nil {
		t.Fatal(err)
	}
	resp, err := other.Login(opts)
	if err != nil {
		t.Fatal(err)
	}
	unknown.mustError(t, http.StatusUnauthorized, "unknown_passkey", "POST", "/api/login/finish", resp)
}

// creationFor returns creation options of a registration begun by a user
// of its own, whose passkey is then never registered: a credential the
// site does not know.
func creationFor(t *testing.T, h *harness) []byte {
	t.Helper()
	c := h.client()
	c.logInAs(t, h.user(t, uniqueName("stranger")))
	return c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
}

// What a client is told is passkeyd's own words: a library's detail
// ("Error validating origin") stays in the log.
func TestNoLibraryDetailsToClients(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.client()
	c.logInAs(t, h.user(t, "detailed"))
	a := passkeytest.New(h.origin, passkeytest.Options{})
	opts := c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
	e := c.mustError(t, http.StatusBadRequest, "registration_failed", "POST", "/api/passkeys/register/finish",
		c.registration(t, a, opts, passkeytest.Tamper{Origin: "https://evil.example"}, nil))
	if e.Message != "The passkey could not be verified." {
		t.Errorf("message %q, want passkeyd's own words only", e.Message)
	}
	c.register(t, a, "")
	lc := h.client()
	lopts := lc.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
	resp, err := a.LoginWith(lopts, passkeytest.Tamper{BadSignature: true})
	if err != nil {
		t.Fatal(err)
	}
	if e := lc.mustError(t, http.StatusUnauthorized, "login_failed", "POST", "/api/login/finish", resp); e.Message != "The passkey could not be verified." {
		t.Errorf("message %q, want passkeyd's own words only", e.Message)
	}
}
