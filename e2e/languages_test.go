package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestPagesInBothLanguages tours every page in English and in Japanese,
// as a browser set to each language: the anonymous pages, a passkey the
// device does not hold, a password login, adding a passkey, the sessions
// and activity, and a passkey login. It saves each page's screenshots
// (screenshots/tour-*-{en,ja}-{desktop,phone}.png), which
// scripts/screenshots copies into docs/screenshots.
func TestPagesInBothLanguages(t *testing.T) {
	for _, tc := range []struct {
		lang, login, withPassword, withPasskey, noPasskey, created string
	}{
		{"en", "Log in", "with password", "with passkey", "No passkey was used", "created"},
		{"ja", "ログイン", "（パスワード）", "（パスキー「", "パスキーは使用されませんでした", "を作成しました"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			srv := serverFor(t, signUpServer)
			user := srv.addUser(t)
			tb := newTabIn(t, srv, tc.lang)
			a := tb.addAuthenticator(platformAuthenticator)
			inLang := fmt.Sprintf(`document.documentElement.lang === %q`, tc.lang)

			tb.open("/")
			tb.waitJS("the page in "+tc.lang, inLang)
			tb.screenshots("tour-home", "")
			tb.open("/signup")
			tb.screenshots("tour-signup", "")
			tb.open("/recover/made-up")
			tb.screenshots("tour-recover", "")
			tb.w.expect("GET", "/nope", 404)
			tb.open("/nope")
			tb.screenshots("tour-not-found", "")

			tb.open("/login")
			if h := tb.text("h1"); h != tc.login {
				t.Errorf("the login page's heading %q, want %q", h, tc.login)
			}
			tb.screenshots("tour-login", "")
			// The device holds no passkey yet: the browser's refusal, in
			// words of the page's language.
			tb.click("#passkey-login")
			if msg := tb.waitLoginError(); !strings.Contains(msg, tc.noPasskey) {
				t.Errorf("no passkey on the device: %q, want %q", msg, tc.noPasskey)
			}
			tb.screenshots("tour-login-error", "")

			tb.open("/login")
			tb.submitPassword(user, testPassword)
			tb.waitLoggedIn(user, tc.withPassword)
			tb.screenshots("tour-home-logged-in", "")
			tb.openRegisterModal()
			tb.typeInto("#key-name", "Phone")
			tb.click("#register-passkey")
			tb.waitJS("the registration outcome", `document.querySelector('#registration-result .alert-success') !== null`)
			if msg := tb.text("#registration-result .alert"); !strings.Contains(msg, tc.created) || !strings.Contains(msg, "Phone") {
				t.Errorf("the registration's message %q, want it to say “Phone” %s", msg, tc.created)
			}
			tb.screenshots("tour-passkeys-added", `document.querySelector('#register-passkey-modal.show') !== null`)
			tb.closeRegisterModal()
			tb.waitJS("the new passkey in the list", rowJS("Phone")+` !== undefined`)
			tb.screenshots("tour-passkeys", "")
			tb.open("/sessions")
			tb.screenshots("tour-sessions", "")
			tb.open("/activity")
			tb.screenshots("tour-activity", "")

			tb.logout()
			tb.clickPasskeyLogin(a, true)
			tb.waitLoggedIn(user, tc.withPasskey)
			tb.waitJS("the page still in "+tc.lang, inLang)
		})
	}
}
