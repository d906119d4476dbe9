package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestPasswordLogin logs in with a wrong and then the right password, and
// logs out.
func TestPasswordLogin(t *testing.T) {
	srv := serverFor(t, defaultServer)
	user := srv.addUser(t)
	tb := newTab(t, srv)

	tb.open("/login")
	if got := tb.text("#login-state"); got != "Not logged in" {
		t.Errorf("#login-state on the login page: %q", got)
	}
	if got := evalJS[string](tb, `document.querySelector('input[name=username]').getAttribute('autocomplete')`); got != "username webauthn" {
		t.Errorf("the username field's autocomplete is %q, want \"username webauthn\"", got)
	}
	if got := tb.text("#login-error"); got != "" {
		t.Errorf("#login-error before anything happened: %q", got)
	}
	tb.screenshots("login", "")

	tb.w.expect("POST", "/login", 401)
	tb.submitPassword(user, "not the password")
	if msg := tb.waitLoginError(); !strings.Contains(strings.ToLower(msg), "password") {
		t.Errorf("wrong password: #login-error %q does not mention the password", msg)
	}
	if got := tb.text("#login-state"); got != "Not logged in" {
		t.Errorf("#login-state after a wrong password: %q", got)
	}

	tb.submitPassword(user, testPassword)
	tb.waitLoggedIn(user, "with password")
	tb.screenshots("home-password", "")

	tb.logout()
	tb.open("/passkeys")
	if p := tb.path(); p != "/login" {
		t.Errorf("/passkeys after logging out went to %s, want the login page", p)
	}
}

// TestRegisterPasskey registers a passkey through the passkey page's modal.
func TestRegisterPasskey(t *testing.T) {
	srv := serverFor(t, defaultServer)
	user := srv.addUser(t)
	tb := newTab(t, srv)
	a := tb.addAuthenticator(platformAuthenticator)
	tb.loginWithPassword(user)

	tb.open("/passkeys")
	if n := len(tb.passkeyRows()); n != 0 {
		t.Fatalf("a new user has %d passkeys listed", n)
	}
	tb.waitVisible("#no-passkeys")
	tb.openRegisterModal()
	tb.typeInto("#key-name", "Work laptop")
	tb.screenshots("passkeys-register-modal", `document.querySelector('#register-passkey-modal.show') !== null`)

	tb.click("#register-passkey")
	tb.waitVisible("#registration-result .alert-success")
	if msg := tb.text("#registration-result .alert-success"); !strings.Contains(msg, "Work laptop") {
		t.Errorf("success message %q does not name the passkey", msg)
	}
	tb.closeRegisterModal()
	tb.waitJS("the new passkey in the list", rowJS("Work laptop")+` !== undefined`)
	rows := tb.passkeyRows()
	if len(rows) != 1 || rows[0].Name != "Work laptop" || rows[0].Enabled != "true" || rows[0].ID == "" {
		t.Errorf("passkey list after registering: %+v", rows)
	}
	creds := a.credentials()
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Errorf("the authenticator holds %d credentials, want 1 discoverable one", len(creds))
	}
	tb.screenshots("passkeys", "")

	// The same authenticator again: the browser refuses it (it is in
	// excludeCredentials), and the modal says so.
	tb.openRegisterModal()
	class, msg := tb.startRegistration("Work laptop again")
	if class != "alert-danger" || msg == "" {
		t.Errorf("registering the same authenticator twice: %s %q, want alert-danger with a message", class, msg)
	}
	tb.closeRegisterModal()
	if n := len(a.credentials()); n != 1 {
		t.Errorf("the authenticator holds %d credentials after the refused second registration", n)
	}
}

// TestPasskeyLoginButton logs in with "Log in with a passkey", which
// cancels the pending autofill request and asks with a normal prompt; the
// form post lands on the home page, which names the passkey.
func TestPasskeyLoginButton(t *testing.T) {
	srv := serverFor(t, defaultServer)
	user, tb, a := userWithPasskey(t, srv, platformAuthenticator, "Phone")
	tb.logout()

	before := tb.clickPasskeyLogin(a, true)
	tb.waitLoggedIn(user, "“Phone”")
	if got := tb.text("#login-state"); !strings.Contains(got, "passkey") {
		t.Errorf("#login-state %q does not say passkey", got)
	}
	if !tb.w.sawResponse("POST", "/login", 303) {
		t.Error("the passkey login was not a form post to /login answered with a redirect (303)")
	}
	onLogin := tb.webauthnCalls()[before:]
	if len(onLogin) != 2 || onLogin[0].Mediation != "conditional" || onLogin[0].Outcome != "AbortError" ||
		onLogin[1].Mediation == "conditional" || onLogin[1].Outcome != "resolved" {
		t.Errorf("WebAuthn calls on the login page: %+v; want the autofill request aborted, then a modal one resolved", onLogin)
	}
	tb.screenshots("home-passkey", "")
}

// TestPasskeyAutofill logs in through autofill (conditional mediation):
// Chromium's virtual authenticator completes a conditional request
// headless, picking the one discoverable credential.
func TestPasskeyAutofill(t *testing.T) {
	srv := serverFor(t, defaultServer)
	user := srv.addUser(t)
	tb := newTab(t, srv)
	tb.addAuthenticator(platformAuthenticator)

	// Without a passkey on the device the autofill request ends at once
	// (headless there is no autofill to wait in); the page stays quiet.
	tb.open("/login")
	tb.waitJS("the autofill request", callsJS+`.some((c) => c.mediation === 'conditional' && c.outcome !== 'pending')`)
	if got := tb.text("#login-error"); got != "" {
		t.Errorf("#login-error after an autofill request without passkeys: %q, want nothing", got)
	}
	if got := evalJS[string](tb, `document.querySelector('input[name=username]').getAttribute('autocomplete')`); got != "username webauthn" {
		t.Errorf("the username field's autocomplete is %q, want \"username webauthn\"", got)
	}
	tb.submitPassword(user, testPassword)
	tb.waitLoggedIn(user, "with password")
	tb.registerPasskey("Autofill key")
	tb.logout()

	before := len(tb.webauthnCalls())
	tb.open("/login")
	tb.waitLoggedIn(user, "“Autofill key”")
	calls := tb.webauthnCalls()[before:]
	if len(calls) != 1 || calls[0].Method != "get" || calls[0].Mediation != "conditional" || calls[0].Outcome != "resolved" || calls[0].Page != "/login" {
		t.Errorf("WebAuthn calls of the autofill login: %+v; want one conditional get, resolved", calls)
	}
}

// TestManagePasskey renames, disables, re-enables, disables and deletes a
// passkey through the passkey page.
func TestManagePasskey(t *testing.T) {
	srv := serverFor(t, defaultServer)
	user := srv.addUser(t)
	tb := newTab(t, srv)
	tb.addAuthenticator(platformAuthenticator)
	tb.loginWithPassword(user)
	id := tb.registerPasskey("Old name")
	other := tb.registerPasskeyOnNewAuthenticator("Other key")
	row := fmt.Sprintf(`tr.passkey-row[data-passkey-id=%q]`, id)

	// Rename.
	tb.typeInto(row+" .js-rename-passkey-form input[name=name]", "New name")
	tb.click(row + " .js-rename-passkey-form button[type=submit]")
	tb.waitJS("the renamed passkey", rowJS("New name")+` !== undefined`)
	if got := evalJS[string](tb, rowJS("New name")+`.dataset.passkeyId`); got != id {
		t.Errorf("the renamed row has id %s, want %s", got, id)
	}
	if rowExists := evalJS[bool](tb, rowJS("Old name")+` !== undefined`); rowExists {
		t.Error("the old name is still listed")
	}

	// An enabled passkey cannot be deleted: its button is disabled.
	if !evalJS[bool](tb, `document.querySelector('`+row+` .js-delete-passkey').disabled`) {
		t.Error("the delete button of an enabled passkey is not disabled")
	}

	// Disable, enable, disable.
	for _, want := range []string{"false", "true", "false"} {
		tb.click(row + " .js-update-passkey-status-form button[type=submit]")
		tb.waitJS("data-enabled="+want, fmt.Sprintf(`(document.querySelector('%s') || {dataset: {}}).dataset.enabled === %q`, row, want))
	}
	if evalJS[bool](tb, `document.querySelector('`+row+` .js-delete-passkey').disabled`) {
		t.Fatal("the delete button of a disabled passkey is disabled")
	}

	// Delete through the confirmation modal.
	tb.click(row + " .js-delete-passkey")
	tb.waitJS("the delete modal", `document.querySelector('#delete-passkey-modal.show') !== null`)
	if got := tb.text("#target-name"); got != "New name" {
		t.Errorf("#target-name is %q, want the passkey's name", got)
	}
	tb.screenshots("passkeys-delete-modal", `document.querySelector('#delete-passkey-modal.show') !== null`)
	tb.click("#confirm-delete")
	tb.waitJS("the list without the deleted passkey", fmt.Sprintf(`document.querySelector('%s') === null && document.querySelector('tr.passkey-row') !== null`, row))
	rows := tb.passkeyRows()
	if len(rows) != 1 || rows[0].ID != other {
		t.Errorf("after deleting: %+v, want only the other passkey", rows)
	}
}

// TestRefusedPasskey checks that a disabled and then a deleted passkey
// fail to log in with a message on the login page, and that the password
// still works. The browser forgets them at once (the Signal API), so the
// logins are made from another device that still holds them.
func TestRefusedPasskey(t *testing.T) {
	srv := serverFor(t, defaultServer)
	user, tb, a := userWithPasskey(t, srv, platformAuthenticator, "Refused key")
	creds := a.credentials()

	tb.open("/passkeys")
	id := evalJS[string](tb, rowJS("Refused key")+`.dataset.passkeyId`)
	row := fmt.Sprintf(`tr.passkey-row[data-passkey-id=%q]`, id)
	tb.click(row + " .js-update-passkey-status-form button[type=submit]")
	tb.waitJS("the passkey disabled", fmt.Sprintf(`(document.querySelector('%s') || {dataset: {}}).dataset.enabled === 'false'`, row))
	tb.waitSignalsSettled()
	tb.logout()
	a = a.anotherDevice(creds)

	if msg := tb.refusedPasskeyLogin(a, true); !strings.Contains(msg, "disabled") {
		t.Errorf("login with a disabled passkey: #login-error %q does not say it is disabled", msg)
	}
	if got := tb.text("#login-state"); got != "Not logged in" {
		t.Errorf("#login-state after a refused passkey: %q", got)
	}
	tb.screenshots("login-refused", "")

	tb.submitPassword(user, testPassword)
	tb.waitLoggedIn(user, "with password")
	tb.open("/passkeys")
	tb.click(row + " .js-delete-passkey")
	tb.waitJS("the delete modal", `document.querySelector('#delete-passkey-modal.show') !== null`)
	tb.click("#confirm-delete")
	tb.waitVisible("#no-passkeys")
	tb.waitSignalsSettled()
	tb.logout()
	a = a.anotherDevice(creds)

	if msg := tb.refusedPasskeyLogin(a, true); !strings.Contains(msg, "not registered") {
		t.Errorf("login with a deleted passkey: #login-error %q does not say it is unknown", msg)
	}
	tb.submitPassword(user, testPassword)
	tb.waitLoggedIn(user, "with password")
}

// TestCancelledPrompt checks that a passkey prompt that ends without a
// passkey shows a message and leaves the page usable.
func TestCancelledPrompt(t *testing.T) {
	srv := serverFor(t, defaultServer)

	t.Run("no passkey on the device", func(t *testing.T) {
		user := srv.addUser(t)
		tb := newTab(t, srv)
		tb.addAuthenticator(platformAuthenticator)
		tb.open("/login")
		tb.click("#passkey-login")
		msg := tb.waitLoginError()
		if !strings.Contains(msg, "No passkey was used") {
			t.Errorf("#login-error %q", msg)
		}
		tb.submitPassword(user, testPassword)
		tb.waitLoggedIn(user, "with password")
	})

	t.Run("verification fails", func(t *testing.T) {
		user, tb, a := userWithPasskey(t, srv, platformAuthenticator, "Unverified")
		tb.logout()
		// The fingerprint is not recognised (or the person cancels the
		// PIN dialog).
		a.setUserVerified(false)
		before := len(tb.webauthnCalls())
		tb.open("/login")
		tb.waitJS("the autofill request to end", fmt.Sprintf(`%s.slice(%d).some((c) => c.mediation === 'conditional' && c.outcome !== 'pending')`, callsJS, before))
		tb.click("#passkey-login")
		msg := tb.waitLoginError()
		if !strings.Contains(msg, "No passkey was used") {
			t.Errorf("#login-error %q", msg)
		}
		tb.submitPassword(user, testPassword)
		tb.waitLoggedIn(user, "with password")
	})
}

// TestTwoTabs begins a passkey login in two tabs of one browser (one
// session), and only then finishes both: the first login must not cancel
// the other tab's pending ceremony, although it renews the session.
func TestTwoTabs(t *testing.T) {
	srv := serverFor(t, defaultServer)
	user, tab1, a1 := userWithPasskey(t, srv, platformAuthenticator, "Shared")
	logStart := srv.log.Len()
	tab1.logout()
	tab2 := tab1.newSibling("tab 2")
	a2 := tab2.addAuthenticator(platformAuthenticator)
	// Chromium gives each tab its own virtual authenticator; a person's
	// two tabs share one. So tab 2 gets a copy of the credential, with its
	// signature counter ahead, as the one authenticator's would be: an
	// equal counter would rightly be refused as a cloned authenticator.
	cred := a1.credentials()[0]
	cred.SignCount += 10
	a2.addCredential(cred)

	// In each tab: ask for a passkey, and hold the login form's post
	// with the assertion in it. Each tab has then begun its ceremony.
	var held []*heldRequest
	for _, p := range []struct {
		tb *tab
		a  *authenticator
	}{{tab1, a1}, {tab2, a2}} {
		before := p.tb.openLoginForButton(p.a, true)
		p.tb.clickPasskeyButton(p.a, true, before, func() { held = append(held, p.tb.hold("POST", "/login")) })
	}
	for _, h := range held {
		h.wait()
	}
	if n := srv.log.Count(logStart, "path=/api/login/begin"); n < 4 {
		t.Errorf("%d login begins logged, want at least 4 (autofill and button in each tab)", n)
	}

	held[0].release()
	tab1.waitLoggedIn(user, "“Shared”")
	held[1].release()
	tab2.waitLoggedIn(user, "“Shared”")
	// Both tabs share the session: tab 1 sees the second login too.
	tab1.open("/")
	tab1.waitLoggedIn(user, "“Shared”")
}

// authenticatorKinds are the authenticators a person may use.
var authenticatorKinds = []struct {
	name      string
	opts      webauthn.VirtualAuthenticatorOptions
	transport string
	// autofill is whether Chromium offers the kind's passkeys in autofill:
	// only a platform authenticator's.
	autofill bool
	// uv is whether it verifies the person.
	uv bool
	// registers is whether Chromium creates a passkey on it when the
	// server prefers (does not require) user verification, and discoverable
	// is whether that passkey is discoverable, so that it can log in from
	// the login page, where nobody is known yet.
	registers, discoverable bool
}{
	{"platform authenticator", platformAuthenticator, "internal", true, true, true, true},
	{"security key with user verification", securityKeyUV, "usb", false, true, true, true},
	// Chromium wants user verification for a discoverable credential on
	// a security key, and this one has resident keys: refused.
	{"security key without user verification", securityKeyNoUV, "usb", false, false, false, false},
	// Without resident keys, Chromium makes a non-discoverable credential.
	{"security key without user verification or resident keys", securityKeyNoUVNoRK, "usb", false, false, true, false},
}

// TestAuthenticatorKinds registers a passkey on each kind of authenticator
// and logs in with it, on a server that prefers user verification.
func TestAuthenticatorKinds(t *testing.T) {
	srv := serverFor(t, defaultServer)
	for _, kind := range authenticatorKinds {
		t.Run(kind.name, func(t *testing.T) {
			user := srv.addUser(t)
			tb := newTab(t, srv)
			a := tb.addAuthenticator(kind.opts)
			tb.loginWithPassword(user)
			name := "My " + kind.name
			if !kind.registers {
				tb.openRegisterModal()
				class, msg := tb.startRegistration(name)
				if class != "alert-danger" || msg == "" {
					t.Errorf("registering: %s %q, want alert-danger with a message", class, msg)
				}
				if n := len(a.credentials()); n != 0 {
					t.Errorf("the authenticator holds %d credentials after the refusal", n)
				}
				return
			}
			tb.registerPasskey(name)
			keys := tb.apiPasskeys()
			if len(keys) != 1 || keys[0].Name != name || !slices.Contains(keys[0].Transports, kind.transport) {
				t.Errorf("GET /api/passkeys: %+v, want one passkey with transport %s", keys, kind.transport)
			}
			if creds := a.credentials(); len(creds) != 1 || creds[0].IsResidentCredential != kind.discoverable {
				t.Fatalf("the authenticator's credentials: %d, want one, discoverable: %v", len(creds), kind.discoverable)
			}
			if !kind.discoverable {
				// It can only be used where the server names it in
				// allowCredentials; the login page names none.
				return
			}
			tb.logout()
			tb.clickPasskeyLogin(a, kind.autofill)
			tb.waitLoggedIn(user, "“"+name+"”")
			if auth := tb.apiAuth(); !auth.UsePasskey || auth.Name == nil || *auth.Name != name {
				t.Errorf("GET /api/session: auth %+v, want the passkey %q", auth, name)
			}
		})
	}
}

// TestUserVerificationRequired runs the kinds of authenticator against a
// server started with --user-verification required: the kinds that
// verify the person work; the security keys that cannot are refused with
// a message, and so is an assertion that comes without the UV flag.
func TestUserVerificationRequired(t *testing.T) {
	srv := serverFor(t, uvRequired)
	for _, kind := range authenticatorKinds {
		t.Run(kind.name, func(t *testing.T) {
			user := srv.addUser(t)
			tb := newTab(t, srv)
			a := tb.addAuthenticator(kind.opts)
			tb.loginWithPassword(user)
			if !kind.uv {
				tb.openRegisterModal()
				class, msg := tb.startRegistration("Cannot verify")
				if class != "alert-danger" || msg == "" {
					t.Errorf("registering a key without user verification: %s %q, want alert-danger with a message", class, msg)
				}
				if n := len(a.credentials()); n != 0 {
					t.Errorf("the key holds %d credentials after the refusal", n)
				}
				// The modal stays usable: close it, the list is unchanged.
				tb.closeRegisterModal()
				tb.waitJS("the modal closed", `document.querySelector('#register-passkey-modal.show') === null`)
				if rows := tb.passkeyRows(); len(rows) != 0 {
					t.Errorf("passkeys listed after the refusal: %+v", rows)
				}
				return
			}
			name := "Verified " + kind.transport
			tb.registerPasskey(name)
			tb.logout()
			tb.clickPasskeyLogin(a, kind.autofill)
			tb.waitLoggedIn(user, "“"+name+"”")

			// The same authenticator, but its answer lacks the UV flag
			// (a faulty or lying authenticator): the server refuses it.
			tb.logout()
			tb.call("clear the UV flag of responses", func(ctx context.Context) error {
				on := true
				_, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: a.id, IsBadUV: &on})
				return err
			})
			msg := tb.refusedPasskeyLogin(a, kind.autofill)
			if !strings.Contains(msg, "could not be verified") || tb.text("#login-state") != "Not logged in" {
				t.Errorf("an assertion without UV: #login-error %q, #login-state %q", msg, tb.text("#login-state"))
			}
		})
	}
}

// TestWatcher checks that the watcher every test relies on catches what
// it must: a Content-Security-Policy violation (an inline script), a
// console error, an uncaught exception and a broken subresource.
func TestWatcher(t *testing.T) {
	srv := serverFor(t, defaultServer)
	tb := newTab(t, srv)
	tb.open("/login")
	if n := len(tb.w.problems()); n != 0 {
		t.Fatalf("the login page has problems: %q", tb.w.problems())
	}
	ran := evalJS[bool](tb, `(() => {
		const s = document.createElement('script');
		s.textContent = 'window.inlineRan = true;';
		document.head.appendChild(s);
		return window.inlineRan === true;
	})()`)
	if ran {
		t.Error("an inline script ran: the Content-Security-Policy allows inline scripts")
	}
	evalJS[chromedp.Void](tb, `console.error('deliberate console error')`)
	evalJS[chromedp.Void](tb, `setTimeout(() => { window.thrown = true; throw new Error('deliberate uncaught error'); }, 0)`)
	tb.waitJS("the uncaught error", `window.thrown === true`)
	evalJS[chromedp.Void](tb, `document.body.appendChild(Object.assign(document.createElement('img'), {src: '/static/missing.png'}))`)
	tb.waitJS("the broken image", `[...document.images].some((i) => i.complete && i.src.endsWith('/static/missing.png'))`)
	// Let every event of the above reach the watcher.
	evalJS[chromedp.Void](tb, "0")

	want := []string{"Content Security Policy", "deliberate console error", "deliberate uncaught error", "HTTP 404 for the page's Image"}
	got := tb.w.problems()
	for _, w := range want {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
			t.Errorf("the watcher missed %q; it found %q", w, got)
		}
	}
	t.Logf("the watcher found, as it should:\n%s", strings.Join(got, "\n"))
	tb.w.reset()
}
