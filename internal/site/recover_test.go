package site_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// The sessions page makes recovery codes and shows them once; a code
// then logs in once at /login with the username; a passkey-only user
// cannot disable their last passkey from the page until they have codes.
func TestRecoveryCodesPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	u := ts.addUser(t, "hana", "")
	c := ts.client(t)
	token, err := ts.passkeys.NewLoginLink(context.Background(), u, "test")
	if err != nil {
		t.Fatal(err)
	}
	// The link's page does not use it up; its form does, once.
	if r := ts.get(t, c, "/recover/"+token); r.StatusCode != http.StatusOK || len(find(r.body, "form", "id", "recover-form")) != 1 {
		t.Fatalf("GET the link: %d", r.StatusCode)
	}
	if r := ts.postForm(t, c, "/recover/"+token, ""); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/passkeys" {
		t.Fatalf("POST the link: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	ts.assertLoggedIn(t, c, "hana")
	if r := ts.postForm(t, ts.client(t), "/recover/"+token, ""); r.StatusCode != http.StatusBadRequest || len(find(r.body, "div", "id", "recover-error")) != 1 {
		t.Errorf("a used link: %d, want 400 with the error", r.StatusCode)
	}

	a := passkeytest.New(ts.passkeyOrigin, passkeytest.Options{})
	p := ts.registerPasskey(t, c, a, "Only key")
	r := ts.postForm(t, c, "/passkeys/"+p.ID+"/toggle", "")
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "last way to log in") {
		t.Fatalf("disable the last way in: %d, want 409 with why", r.StatusCode)
	}

	r = ts.postForm(t, c, "/recovery-codes", "")
	codes := find(r.body, "li", "class", "recovery-code")
	if r.StatusCode != http.StatusOK || len(codes) != 10 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("make codes: %d, %d codes, Cache-Control %q", r.StatusCode, len(codes), r.Header.Get("Cache-Control"))
	}
	code := text(r.body, codes[0])
	if page := ts.get(t, c, "/sessions").body; strings.Contains(page, code) || !strings.Contains(page, "9 unused") && !strings.Contains(page, "10 unused") {
		t.Errorf("the sessions page shows a code again, or not how many are left")
	}
	if r := ts.postForm(t, c, "/passkeys/"+p.ID+"/toggle", ""); r.StatusCode != http.StatusSeeOther {
		t.Errorf("disable with codes left: %d", r.StatusCode)
	}

	form := url.Values{"username": {"hana"}, "recovery_code": {code}}.Encode()
	b := ts.client(t)
	if r := ts.postForm(t, b, "/login", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("log in with a code: %d %s", r.StatusCode, r.body)
	}
	ts.assertLoggedIn(t, b, "hana")
	if r := ts.postForm(t, ts.client(t), "/login", form); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a used code: %d, want 401", r.StatusCode)
	}
}
