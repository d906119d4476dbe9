package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
)

// The steps a person takes on passkeyd's pages, for the tests in
// flows_test.go.

// loginWithPassword logs in through the login form and waits for the home
// page to say so.
func (tb *tab) loginWithPassword(username string) {
	tb.t.Helper()
	tb.open("/login")
	tb.submitPassword(username, testPassword)
	tb.waitLoggedIn(username, "with password")
}

// submitPassword types a username and password into the login form and
// submits it.
func (tb *tab) submitPassword(username, password string) {
	tb.t.Helper()
	tb.typeInto("#username", username)
	tb.typeInto("#password", password)
	tb.click(`#login-form button[type=submit]`)
}

// waitLoggedIn waits for the home page with #login-state naming username
// and containing how (e.g. "with password", or a passkey's name).
func (tb *tab) waitLoggedIn(username, how string) {
	tb.t.Helper()
	tb.waitJS(fmt.Sprintf("the home page saying %s is logged in %s", username, how), fmt.Sprintf(
		`location.pathname === '/' && document.readyState !== 'loading' && (() => {
		   const s = document.querySelector('#login-state[data-logged-in=true]');
		   return s !== null && s.textContent.includes(%q) && s.textContent.includes(%q);
		 })()`, username, how))
}

// logout logs out with the button of the navigation bar.
func (tb *tab) logout() {
	tb.t.Helper()
	tb.click("#logout-form button[type=submit]")
	tb.waitJS("the page after logging out", `location.pathname === '/' && document.querySelector('#login-state[data-logged-in=false]') !== null`)
}

// waitLoginError waits until the login page shows a failure, and returns
// its text.
func (tb *tab) waitLoginError() string {
	tb.t.Helper()
	tb.waitJS("a message in #login-error", `location.pathname === '/login' && document.readyState !== 'loading' && (document.querySelector('#login-error') || {}).textContent.trim() !== ''`)
	return tb.text("#login-error")
}

// openRegisterModal opens the passkey page's register modal.
func (tb *tab) openRegisterModal() {
	tb.t.Helper()
	tb.open("/passkeys")
	tb.click("#add-passkey")
	tb.waitJS("the register modal", `document.querySelector('#register-passkey-modal.show') !== null && document.activeElement !== null && document.activeElement.id === 'key-name'`)
}

// startRegistration types name into the open register modal, clicks
// "Create passkey", and returns the outcome's class ("alert-success" or
// "alert-danger") and text.
func (tb *tab) startRegistration(name string) (class, text string) {
	tb.t.Helper()
	tb.typeInto("#key-name", name)
	tb.click("#register-passkey")
	tb.waitJS("the registration outcome", `document.querySelector('#registration-result .alert') !== null`)
	class = evalJS[string](tb, `['alert-success', 'alert-danger'].find((c) => document.querySelector('#registration-result .alert').classList.contains(c)) || ''`)
	return class, tb.text("#registration-result .alert")
}

// rowJS is the JavaScript expression of the passkey list's row named name
// (undefined when there is none).
func rowJS(name string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('tr.passkey-row')].find((r) => r.querySelector('.passkey-name').textContent.trim() === %q)`, name)
}

// registerPasskey creates a passkey named name through the passkey page's
// modal, closes the modal, waits for the reloaded list to show it, and
// returns its id.
func (tb *tab) registerPasskey(name string) string {
	tb.t.Helper()
	tb.openRegisterModal()
	class, msg := tb.startRegistration(name)
	if class != "alert-success" {
		tb.t.Fatalf("%s: registering %q: %s %q", tb.label, name, class, msg)
	}
	if !strings.Contains(msg, name) {
		tb.t.Errorf("%s: the success message %q does not name the passkey %q", tb.label, msg, name)
	}
	tb.closeRegisterModal()
	tb.waitJS("the new passkey in the list", rowJS(name)+` !== undefined`)
	row := evalJS[passkeyRow](tb, `(() => { const r = `+rowJS(name)+`; return {id: r.dataset.passkeyId, name: r.querySelector('.passkey-name').textContent.trim(), enabled: r.dataset.enabled}; })()`)
	if row.ID == "" || row.Enabled != "true" {
		tb.t.Errorf("%s: new passkey's row: %+v, want an id and data-enabled=true", tb.label, row)
	}
	return row.ID
}

// closeRegisterModal closes the register modal with its × button; after a
// registration the page then reloads.
func (tb *tab) closeRegisterModal() {
	tb.t.Helper()
	tb.click("#register-passkey-modal .btn-close")
}

// passkeyRow is a row of the passkey list.
type passkeyRow struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Enabled string `json:"enabled"`
}

// passkeyRows returns the rows of the passkey list.
func (tb *tab) passkeyRows() []passkeyRow {
	tb.t.Helper()
	return evalJS[[]passkeyRow](tb, `[...document.querySelectorAll('tr.passkey-row')].map((r) => ({id: r.dataset.passkeyId, name: r.querySelector('.passkey-name').textContent.trim(), enabled: r.dataset.enabled}))`)
}

// clickPasskeyLogin opens the login page and clicks "Log in with a
// passkey" (see openLoginForButton and clickPasskeyButton). It returns
// the number of WebAuthn calls the tab made before.
func (tb *tab) clickPasskeyLogin(a *authenticator, autofill bool) int {
	tb.t.Helper()
	before := tb.openLoginForButton(a, autofill)
	tb.clickPasskeyButton(a, autofill, before, nil)
	return before
}

// openLoginForButton opens the login page for a click on "Log in with a
// passkey", and returns the number of WebAuthn calls made before.
//
// When the browser offers passkeys in autofill (Chromium does for a
// platform authenticator), the page starts a conditional request on
// load, which Chromium's virtual authenticator answers at once: it would
// log in before any click. So the authenticator first holds back the
// person's touch (no automatic presence simulation), and the autofill
// request waits, as it would for a person who has not picked a passkey.
func (tb *tab) openLoginForButton(a *authenticator, autofill bool) int {
	tb.t.Helper()
	if autofill {
		a.setPresence(false)
	}
	before := len(tb.webauthnCalls())
	tb.open("/login")
	if autofill {
		tb.waitJS("the autofill request to be pending", fmt.Sprintf(
			`%s.slice(%d).some((c) => c.mediation === 'conditional' && c.outcome === 'pending')`, callsJS, before))
	}
	return before
}

// clickPasskeyButton clicks "Log in with a passkey" on the login page
// that openLoginForButton opened. beforeAnswer, when not nil, runs after
// the click and before the authenticator can answer.
//
// With autofill, the click must cancel the pending conditional request
// and ask anew, and the person's touch must come back for the new
// request only: a request that already waits for the touch does not end
// when presence simulation is turned on again, and one that Chromium has
// not yet handed to the authenticator would be answered. So the new
// request's ceremony begin (POST /api/login/begin) is held until the
// autofill request is aborted, presence simulation is on again, and then
// the page goes on to ask.
func (tb *tab) clickPasskeyButton(a *authenticator, autofill bool, before int, beforeAnswer func()) {
	tb.t.Helper()
	if !autofill {
		if beforeAnswer != nil {
			beforeAnswer()
		}
		tb.click("#passkey-login")
		return
	}
	begin := tb.hold("POST", "/api/login/begin")
	tb.click("#passkey-login")
	begin.wait()
	tb.waitJS("the autofill request aborted", fmt.Sprintf(
		`%s.slice(%d).some((c) => c.mediation === 'conditional' && c.outcome === 'AbortError')`, callsJS, before))
	a.setPresence(true)
	if beforeAnswer != nil {
		beforeAnswer()
	}
	begin.release()
}

// refusedPasskeyLogin logs in with "Log in with a passkey" expecting the
// server to refuse the passkey (401), and returns the login page's
// message. With autofill, the refusal's login page would start autofill
// again at once, and Chromium's virtual authenticator would answer it
// with the same refused passkey, again and again (a person would have to
// pick it): so the form post is held until the authenticator holds back
// the person's touch again.
func (tb *tab) refusedPasskeyLogin(a *authenticator, autofill bool) string {
	tb.t.Helper()
	tb.w.expect("POST", "/login", 401)
	before := tb.openLoginForButton(a, autofill)
	if !autofill {
		tb.clickPasskeyButton(a, false, before, nil)
		return tb.waitLoginError()
	}
	var post *heldRequest
	tb.clickPasskeyButton(a, true, before, func() { post = tb.hold("POST", "/login") })
	post.wait()
	a.setPresence(false)
	post.release()
	return tb.waitLoginError()
}

// userWithPasskey creates a user, logs in with the password in a new tab
// that has an authenticator of kind opts, registers a passkey named name
// through the modal. It returns the username, the tab, still logged in
// with the password, and its authenticator.
func userWithPasskey(t *testing.T, srv *server, opts webauthn.VirtualAuthenticatorOptions, name string) (string, *tab, *authenticator) {
	t.Helper()
	user := srv.addUser(t)
	tb := newTab(t, srv)
	a := tb.addAuthenticator(opts)
	tb.loginWithPassword(user)
	tb.registerPasskey(name)
	return user, tb, a
}

// registerPasskeyOnNewAuthenticator unplugs every authenticator
// of the tab, plugs in another security key, and registers a passkey on it.
func (tb *tab) registerPasskeyOnNewAuthenticator(name string) string {
	tb.t.Helper()
	for _, a := range tb.authenticators {
		a.remove()
	}
	tb.addAuthenticator(securityKeyUV)
	return tb.registerPasskey(name)
}

// apiPasskey is what GET /api/passkeys says of a passkey.
type apiPasskey struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Transports     []string `json:"transports"`
	BackupEligible bool     `json:"backup_eligible"`
	LastUsedAt     *string  `json:"last_used_at"`
}

// apiPasskeys asks the JSON API, from the page, for the user's passkeys.
func (tb *tab) apiPasskeys() []apiPasskey {
	tb.t.Helper()
	return awaitJS[struct {
		Passkeys []apiPasskey `json:"passkeys"`
	}](tb, `fetch('/api/passkeys', {credentials: 'same-origin'}).then((r) => r.json())`).Passkeys
}

// apiAuth is what GET /api/session says of how the session logged in.
type apiAuth struct {
	UsePasskey bool    `json:"use_passkey"`
	Name       *string `json:"name"`
}

func (tb *tab) apiAuth() apiAuth {
	tb.t.Helper()
	return awaitJS[struct {
		Auth apiAuth `json:"auth"`
	}](tb, `fetch('/api/session', {credentials: 'same-origin'}).then((r) => r.json())`).Auth
}
