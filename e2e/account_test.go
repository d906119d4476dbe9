package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// signUpServer takes sign-ups of either kind.
var signUpServer = serverConfig{name: "signup", flags: []string{"--signup", "any"}}

// b64url is a credential id as the Signal API names it.
func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestSignalAPI: after a login and after a change on the passkeys page
// the browser is told which passkeys the site accepts and the user's
// names, and again when the display name changes; a login with a
// passkey the site deleted tells the browser it is unknown. Each call
// carries the RP id, the user handle and the credential ids.
func TestSignalAPI(t *testing.T) {
	srv := serverFor(t, defaultServer)
	user, tb, a := userWithPasskey(t, srv, platformAuthenticator, "Phone")
	creds := a.credentials()
	if len(creds) != 1 {
		t.Fatalf("%d credentials", len(creds))
	}
	id, handle := b64url(creds[0].CredentialID), b64url(creds[0].UserHandle)
	tb.waitJS("the Signal API told of the accepted passkeys", `JSON.parse(sessionStorage.getItem('e2e-signals') || '[]').some((c) => c.name === 'signalAllAcceptedCredentials' && c.arg.allAcceptedCredentialIds.length === 1)`)
	var accepted, details bool
	for _, c := range tb.signalCalls() {
		switch {
		case c.Name == "signalAllAcceptedCredentials" && slices.Equal(c.Arg.AllAcceptedCredentialIDs, []string{id}):
			accepted = c.Arg.RPID == "localhost" && c.Arg.UserID == handle
		case c.Name == "signalCurrentUserDetails":
			details = c.Arg.RPID == "localhost" && c.Arg.UserID == handle && c.Arg.Name == user
		}
	}
	if !accepted || !details {
		t.Fatalf("Signal API calls %+v; want the accepted passkey %s and the user's details, for rpId localhost and handle %s", tb.signalCalls(), id, handle)
	}

	// A new display name reaches the password manager.
	tb.open("/sessions")
	tb.typeInto("#display-name", "Signal Tester")
	tb.click("#display-name-form button[type=submit]")
	tb.waitJS("the Signal API told of the new name", `JSON.parse(sessionStorage.getItem('e2e-signals') || '[]').some((c) => c.name === 'signalCurrentUserDetails' && c.arg.displayName === 'Signal Tester')`)
	tb.open("/passkeys")

	// Disable and delete it here: the list goes out empty.
	tb.click(`tr.passkey-row .js-update-passkey-status-form button`)
	tb.waitJS("the passkey disabled", `document.querySelector('tr.passkey-row[data-enabled=false]') !== null`)
	tb.waitJS("the Signal API told of no accepted passkey", `JSON.parse(sessionStorage.getItem('e2e-signals') || '[]').some((c) => c.name === 'signalAllAcceptedCredentials' && c.arg.allAcceptedCredentialIds.length === 0)`)
	tb.click(`.js-delete-passkey`)
	tb.waitVisible("#confirm-delete")
	tb.click("#confirm-delete")
	tb.waitJS("the passkey deleted", `location.pathname === '/passkeys' && document.querySelector('tr.passkey-row') === null`)
	tb.waitSignalsSettled()

	// Chromium takes the signal at its word: the authenticator forgets it.
	if left := a.credentials(); len(left) != 0 {
		t.Fatalf("after signalAllAcceptedCredentials([]) the authenticator still holds %d credentials", len(left))
	}

	// A copy on another device still has it: a login with it is
	// refused as unknown, and the browser is told to forget that too.
	a = a.anotherDevice(creds)
	tb.logout()
	tb.w.expect("POST", "/login", 401)
	tb.clickPasskeyLogin(a, true)
	tb.waitLoginError()
	tb.waitJS("signalUnknownCredential", `JSON.parse(sessionStorage.getItem('e2e-signals') || '[]').some((c) => c.name === 'signalUnknownCredential')`)
	if left := a.credentials(); len(left) != 0 {
		t.Errorf("after signalUnknownCredential the authenticator still holds %d credentials", len(left))
	}
	for _, c := range tb.signalCalls() {
		if c.Name == "signalUnknownCredential" && (c.Arg.CredentialID != id || c.Arg.RPID != "localhost") {
			t.Errorf("signalUnknownCredential(%+v), want credential %s of localhost", c.Arg, id)
		}
	}
}

// TestSecurityKeyLogin: a security key without room for discoverable
// credentials logs in from the login page once the username is given
// ("use a security key").
func TestSecurityKeyLogin(t *testing.T) {
	srv := serverFor(t, defaultServer)
	user, tb, a := userWithPasskey(t, srv, securityKeyNoUVNoRK, "Old key")
	if creds := a.credentials(); len(creds) != 1 || creds[0].IsResidentCredential {
		t.Fatalf("the key holds %+v, want one non-discoverable credential", creds)
	}
	tb.logout()
	tb.open("/login")
	tb.click("#security-key-login")
	if msg := tb.waitLoginError(); !strings.Contains(msg, "username") {
		t.Errorf("without a username: %q, want to be asked for it", msg)
	}
	tb.typeInto("#username", user)
	tb.click("#security-key-login")
	tb.waitLoggedIn(user, "“Old key”")
	tb.screenshots("login-security-key", "")
}

// TestSignUpWithPasskey: a new person makes an account with a passkey on
// the sign-up page and lands on their passkeys, logged in.
func TestSignUpWithPasskey(t *testing.T) {
	srv := serverFor(t, signUpServer)
	tb := newTab(t, srv)
	a := tb.addAuthenticator(platformAuthenticator)
	tb.open("/login")
	tb.click("#signup-link")
	tb.waitVisible("#signup-passkey")
	tb.screenshots("signup", "")
	name := "newcomer-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	tb.typeInto("#signup-username", name)
	tb.typeInto("#signup-display-name", "New Comer")
	tb.click("#signup-passkey")
	tb.waitJS("the passkeys page after signing up", `location.pathname === '/passkeys' && document.querySelectorAll('tr.passkey-row').length === 1`)
	if got := tb.text("#login-state"); !strings.Contains(got, name) {
		t.Errorf("#login-state %q does not name the new user", got)
	}
	if creds := a.credentials(); len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Errorf("the authenticator holds %d credentials, want one discoverable", len(creds))
	}
	// The name is taken now.
	other := newTab(t, srv)
	other.addAuthenticator(platformAuthenticator)
	other.w.expect("POST", "/api/signup/begin", 409)
	other.open("/signup")
	other.typeInto("#signup-username", name)
	other.click("#signup-passkey")
	other.waitJS("the sign-up error", `(document.querySelector('#signup-error') || {}).textContent.includes('taken')`)
}

// softwareCreateJS hands the page's navigator.credentials.create calls to
// the test: Chromium sends a conditional create only to Google Password
// Manager's own authenticator, never to a virtual one
// (device/fido/make_credential_request_handler.cc), so the test plays that
// part with a passkeytest authenticator. The call's options wait in
// window.e2eCreate, as the JSON a begin endpoint returns, for
// (*tab).answerCreate.
const softwareCreateJS = `(() => {
  const enc = (b) => {
    const bytes = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    let s = '';
    for (const x of bytes) {
      s += String.fromCharCode(x);
    }
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  navigator.credentials.create = (options) => new Promise((resolve, reject) => {
    const pk = options.publicKey;
    const json = Object.assign({}, pk, {
      challenge: enc(pk.challenge),
      user: Object.assign({}, pk.user, { id: enc(pk.user.id) }),
      excludeCredentials: (pk.excludeCredentials || []).map((c) => Object.assign({}, c, { id: enc(c.id) })),
    });
    window.e2eCreate = {
      mediation: options.mediation || '',
      options: JSON.stringify({ publicKey: json }),
      resolve: (j) => resolve({ id: j.id, type: j.type, toJSON: () => j }),
      reject: reject,
    };
  });
})();`

// useSoftwareCreate makes every later page of the tab hand its
// navigator.credentials.create calls to answerCreate.
func (tb *tab) useSoftwareCreate() {
	tb.t.Helper()
	tb.call("install the software create", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: softwareCreateJS})
		return err
	})
}

// answerCreate waits for the page's navigator.credentials.create call,
// answers it with a registration by a, and returns the call's mediation.
func (tb *tab) answerCreate(a *passkeytest.Authenticator) string {
	tb.t.Helper()
	tb.waitJS("a navigator.credentials.create call", `window.e2eCreate !== undefined`)
	call := evalJS[struct {
		Mediation string `json:"mediation"`
		Options   string `json:"options"`
	}](tb, `({ mediation: window.e2eCreate.mediation, options: window.e2eCreate.options })`)
	resp, err := a.Register([]byte(call.Options))
	if err != nil {
		tb.t.Fatalf("%s: the software authenticator: %v", tb.label, err)
	}
	evalJS[bool](tb, `(() => { const c = window.e2eCreate; delete window.e2eCreate; c.resolve(`+string(resp)+`); return true; })()`)
	return call.Mediation
}

// TestConditionalCreate: after a password login the site makes the
// person a passkey without asking (conditional create), which is named
// and listed as usual; a person who turned the offer off is not offered
// one; and a normal registration without user presence is still refused.
func TestConditionalCreate(t *testing.T) {
	srv := serverFor(t, defaultServer)
	user := srv.addUser(t)
	// Chromium itself takes the offer and keeps it for its password
	// manager, which is not there.
	browser := newTab(t, srv)
	browser.loginWithPassword(user)
	browser.waitJS("Chromium's own conditional create", callsJS+`.some((c) => c.method === 'create' && c.mediation === 'conditional' && c.outcome === 'pending')`)

	tb := newTab(t, srv)
	tb.useSoftwareCreate()
	// A password manager completes a conditional create without a touch.
	quiet := passkeytest.New(srv.base, passkeytest.Options{NoUserPresence: true})

	tb.loginWithPassword(user)
	if got := tb.answerCreate(quiet); got != "conditional" {
		t.Fatalf("the offer's create had mediation %q, want conditional", got)
	}
	tb.waitJS("the passkey made", `document.body.dataset.passkeyOffer === 'made'`)
	tb.open("/passkeys")
	if rows := evalJS[int](tb, `document.querySelectorAll('tr.passkey-row[data-enabled=true]').length`); rows != 1 {
		t.Fatalf("%d enabled passkeys listed after the offer, want 1", rows)
	}
	if name := tb.text("tr.passkey-row .passkey-name"); name == "" {
		t.Error("the quietly made passkey has no name")
	}

	// Turned off on this device: the next password login offers nothing.
	tb.click("#offer-passkey-toggle")
	tb.waitJS("the offer turned off", `localStorage.getItem('passkeyd-offer-passkey') === 'off'`)
	tb.logout()
	tb.loginWithPassword(user)
	tb.waitJS("no offer", `document.body.dataset.passkeyOffer === 'off'`)
	if evalJS[bool](tb, `window.e2eCreate !== undefined`) {
		t.Error("a passkey was offered although the offer is off")
	}

	// A normal registration needs the person's touch, here on another
	// authenticator that does not ask for one.
	untouched := passkeytest.New(srv.base, passkeytest.Options{NoUserPresence: true})
	tb.w.expect("POST", "/api/passkeys/register/finish", 400)
	tb.openRegisterModal()
	tb.typeInto("#key-name", "Untouched")
	tb.click("#register-passkey")
	if got := tb.answerCreate(untouched); got != "" {
		t.Fatalf("the register button's create had mediation %q, want none", got)
	}
	tb.waitJS("the registration outcome", `document.querySelector('#registration-result .alert') !== null`)
	if msg := tb.text("#registration-result .alert-danger"); msg == "" {
		t.Error("a registration without user presence was not refused on the page")
	}
	if got := len(tb.apiPasskeys()); got != 1 {
		t.Errorf("%d passkeys after the refused registration, want 1", got)
	}
}

// stepUpWindow is the step-up server's re-authentication window: short,
// so that a test outlives its login.
const stepUpWindow = 3 * time.Second

// stepUpServer asks for a fresh login before a sensitive change once
// stepUpWindow has passed.
var stepUpServer = serverConfig{name: "stepup", flags: []string{"--reauth-window", stepUpWindow.String()}}

// outliveLogin waits until the tab's last login (at since) is older than
// the step-up server's window: the browser's clock is the test's.
func (tb *tab) outliveLogin(since time.Time) {
	tb.t.Helper()
	tb.waitJS("the login to age past the re-authentication window", fmt.Sprintf(`Date.now() > %d`, since.Add(stepUpWindow+100*time.Millisecond).UnixMilli()))
}

// TestStepUp: a sensitive change on an old login asks inline to confirm
// with a passkey or the password, then carries on with the change: a
// form post (disable, delete) is made again, a JSON request (adding a
// passkey) sent again.
func TestStepUp(t *testing.T) {
	srv := serverFor(t, stepUpServer)
	user := srv.addUser(t)
	tb := newTab(t, srv)
	tb.addAuthenticator(platformAuthenticator)
	tb.loginWithPassword(user)
	loggedIn := time.Now()
	id := tb.registerPasskey("Phone")
	row := fmt.Sprintf(`tr.passkey-row[data-passkey-id=%q]`, id)

	// Disable it: confirm with the passkey.
	tb.outliveLogin(loggedIn)
	tb.w.expect("POST", "/passkeys/"+id+"/toggle", 401)
	tb.click(row + " .js-update-passkey-status-form button[type=submit]")
	tb.waitJS("the step-up dialog", `document.querySelector('#reauth-dialog[open]') !== null`)
	tb.screenshots("step-up", `document.querySelector('#reauth-dialog[open]') !== null`)
	tb.click("#reauth-passkey")
	tb.waitJS("the passkey disabled after confirming", fmt.Sprintf(`location.pathname === '/passkeys' && document.querySelector('#reauth-dialog[open]') === null && (document.querySelector('%s') || {dataset: {}}).dataset.enabled === 'false'`, row))
	// The confirmation is done by now (the window counts from the
	// server's answer, not the click).
	loggedIn = time.Now()

	// Add another: the JSON request waits for the password, then goes on.
	tb.outliveLogin(loggedIn)
	tb.w.expect("POST", "/api/passkeys/register/begin", 401)
	tb.openRegisterModal()
	tb.typeInto("#key-name", "Laptop")
	tb.click("#register-passkey")
	tb.waitJS("the step-up dialog", `document.querySelector('#reauth-dialog[open]') !== null`)
	tb.typeInto("#reauth-password", testPassword)
	tb.click("#reauth-password-submit")
	tb.waitJS("the registration outcome", `document.querySelector('#registration-result .alert-success') !== null`)
	loggedIn = time.Now()
	tb.closeRegisterModal()
	tb.waitJS("the new passkey in the list", rowJS("Laptop")+` !== undefined`)

	// Delete the first one, but cancel the confirmation: nothing changes.
	tb.outliveLogin(loggedIn)
	tb.open("/passkeys")
	tb.w.expect("POST", "/passkeys/"+id+"/delete", 401)
	tb.click(row + " .js-delete-passkey")
	tb.waitVisible("#confirm-delete")
	tb.click("#confirm-delete")
	tb.waitJS("the step-up dialog", `document.querySelector('#reauth-dialog[open]') !== null`)
	tb.click("#reauth-cancel")
	tb.waitJS("the dialog closed", `document.querySelector('#reauth-dialog[open]') === null`)
	if got := len(tb.apiPasskeys()); got != 2 {
		t.Errorf("%d passkeys after a cancelled step-up, want 2", got)
	}
}
