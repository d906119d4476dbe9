package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// The apps of examples/, driven like passkeyd's own pages: each is built,
// started on a database of its own, and used in Chromium with a virtual
// authenticator. Both log in with passkey.js's PasskeyAPI.Login, which
// finishes the login by itself.

// exampleApp says where an example keeps its pages.
type exampleApp struct {
	cfg serverConfig
	// login is the path of the page with the login form and the
	// "Log in with a passkey" button.
	login string
	// submitPassword logs in with the app's password form.
	submitPassword func(tb *tab, user string)
}

var examples = []exampleApp{
	{
		// (a) Its own users, password login and session cookie.
		cfg:   serverConfig{name: "example-ownusers", example: "ownusers"},
		login: "/login",
		submitPassword: func(tb *tab, user string) {
			tb.typeInto("input[name=email]", user)
			tb.typeInto("input[name=password]", testPassword)
			tb.click("form[action='/login'] button")
		},
	},
	{
		// (b) The shortest app on passkeyd's own stores and sessions.
		cfg:   serverConfig{name: "example-minimal", example: "minimal"},
		login: "/",
		submitPassword: func(tb *tab, user string) {
			tb.typeInto("input[name=username]", user)
			tb.typeInto("input[name=password]", testPassword)
			tb.click("#password-login button")
		},
	},
}

// TestExamples registers a passkey in each example app after a password
// login, logs out, logs in by autofill, logs out, and logs in with the
// button.
func TestExamples(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.cfg.example, func(t *testing.T) {
			srv := serverFor(t, ex.cfg)
			user := srv.addUser(t)
			tb := newTab(t, srv)
			a := tb.addAuthenticator(platformAuthenticator)

			tb.open(ex.login)
			ex.submitPassword(tb, user)
			tb.waitExampleLoggedIn(user)

			tb.click("#add-passkey")
			tb.waitJS("the passkey created", `(document.querySelector('#result') || {}).textContent.includes('created')`)
			if n := len(a.credentials()); n != 1 {
				t.Fatalf("the authenticator holds %d passkeys, want 1", n)
			}
			tb.exampleLogout(a)

			// Autofill: the page's conditional request is answered by the
			// virtual authenticator, and passkey.js finishes the login.
			// The page left after logging out may hold an autofill request
			// not yet handed to the authenticator, which turning the
			// touch back on would answer: leave it first.
			before := len(tb.webauthnCalls())
			tb.do("leave the page", chromedp.Navigate("about:blank"))
			a.setPresence(true)
			tb.open(ex.login)
			tb.waitExampleLoggedIn(user)
			// The page after the logout may have left an autofill request
			// pending when it was left; the one that logged in is the last.
			calls := tb.webauthnCalls()[before:]
			if len(calls) == 0 || calls[len(calls)-1].Mediation != "conditional" || calls[len(calls)-1].Outcome != "resolved" {
				t.Errorf("WebAuthn calls of the autofill login: %+v; want a conditional get, resolved, last", calls)
			}
			for _, c := range calls {
				if c.Mediation != "conditional" {
					t.Errorf("WebAuthn calls of the autofill login: %+v; want no prompt", calls)
				}
			}
			tb.exampleLogout(a)

			// The button: it cancels the pending autofill request and asks
			// with a normal prompt.
			a.setPresence(false)
			before = len(tb.webauthnCalls())
			tb.open(ex.login)
			tb.waitJS("the autofill request to be pending", fmt.Sprintf(
				`%s.slice(%d).some((c) => c.mediation === 'conditional' && c.outcome === 'pending')`, callsJS, before))
			tb.clickPasskeyButton(a, true, before, nil)
			tb.waitExampleLoggedIn(user)
			tb.exampleLogout(a)
		})
	}
}

// waitExampleLoggedIn waits for an example's home page to name user.
func (tb *tab) waitExampleLoggedIn(user string) {
	tb.t.Helper()
	tb.waitJS(user+" logged in", fmt.Sprintf(
		`location.pathname === '/' && document.readyState !== 'loading' && (document.querySelector('#who') || {}).textContent === 'Logged in as ' + %q`, user))
}

// exampleLogout logs out with an example's button and waits for the page
// to say nobody is logged in. The page after logging out may be a login
// page, whose autofill request the virtual authenticator would answer at
// once: the person's touch is held back first.
func (tb *tab) exampleLogout(a *authenticator) {
	tb.t.Helper()
	a.setPresence(false)
	tb.click("#logout")
	tb.waitJS("nobody logged in", `document.readyState !== 'loading' && (document.querySelector('#who') || {}).textContent.startsWith('Nobody')`)
}
