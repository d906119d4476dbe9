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

// TestAdminPages: staff, in each language, find a user, lock them (the
// user's session ends at once), make them a login link, and create a
// user; the admin's pages are saved as screenshots.
func TestAdminPages(t *testing.T) {
	for _, lang := range []string{"en", "ja"} {
		t.Run(lang, func(t *testing.T) {
			srv := serverFor(t, defaultServer)
			staff, user := srv.addStaff(t), srv.addUser(t)
			victim := newTab(t, srv)
			victim.loginWithPassword(user)

			tb := newTabIn(t, srv, lang)
			tb.open("/login")
			tb.submitPassword(staff, testPassword)
			tb.waitJS("logged in", `location.pathname === '/' && document.querySelector('#admin-link') !== null`)
			tb.click("#admin-link")
			tb.waitVisible("#admin-search")
			tb.typeInto("#admin-q", user)
			tb.click("#admin-search button[type=submit]")
			tb.waitJS("the user found", `document.querySelectorAll('tr.admin-user-row').length === 1`)
			tb.screenshots("tour-admin-users", "")
			tb.click("a.admin-user-link")
			tb.waitVisible("#admin-lock")
			tb.screenshots("tour-admin-user", "")

			tb.click("#admin-lock")
			tb.waitVisible("#admin-locked")
			victim.w.expect("GET", "/passkeys", 303)
			victim.open("/passkeys")
			victim.waitJS("the locked user logged out", `location.pathname === '/login'`)

			tb.click("#admin-login-link")
			tb.waitVisible("#admin-login-url")
			if link := tb.text("#admin-login-url"); !strings.HasPrefix(link, srv.base+"/recover/") {
				t.Errorf("the login link %q", link)
			}
			tb.screenshots("tour-admin-link", "")

			tb.open("/admin/")
			tb.typeInto("#new-username", "made-by-staff-"+lang)
			tb.typeInto("#new-password", "a long enough password")
			tb.click("#admin-create-user button[type=submit]")
			tb.waitJS("the new user's page", `(document.querySelector('#admin-username') || {}).textContent === 'made-by-staff-`+lang+`'`)
		})
	}
}
