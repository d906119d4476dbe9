package site

import (
	"encoding/base64"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/passkeyd/passkeyd"
)

// A flash is the outcome of a passkey form, shown once on the page the form
// redirects to (303), so that a reload does not post the form again. It
// travels in a short-lived cookie as one of a few fixed outcomes and the
// passkey's name, never as free text: a cookie planted by someone else can
// say no more than "Passkey “X” renamed".
const flashCookie = "passkeyd_flash"

// flashMessages are the outcomes a flash can name; %s is the passkey name.
var flashMessages = map[string][2]string{
	"enabled":              {"Passkey “", "” enabled."},
	"disabled":             {"Passkey “", "” disabled."},
	"renamed":              {"Passkey renamed to “", "”."},
	"deleted":              {"Passkey “", "” deleted."},
	"session_ended":        {"Session ended.", ""},
	"sessions_ended":       {"Every other session ended.", ""},
	"password_changed":     {"Password changed. Your other sessions were ended.", ""},
	"display_name_changed": {"Display name changed.", ""},
	"recovered":            {"You are logged in with a recovery link, which no longer works. Add a passkey now, so that you can log in again.", ""},
	"codes_made":           {"New recovery codes made; the old ones no longer work.", ""},
}

// setFlash keeps an outcome for the next page.
func (s *Site) setFlash(w http.ResponseWriter, outcome, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: outcome + "." + base64.RawURLEncoding.EncodeToString([]byte(name)),
		Path: "/", MaxAge: 60, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode,
	})
}

// popFlash returns the outcome kept for this page, in words, and forgets
// it; "" when there is none or it is not one of ours.
func (s *Site) popFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode,
	})
	outcome, encoded, _ := strings.Cut(c.Value, ".")
	words, ok := flashMessages[outcome]
	name, err := base64.RawURLEncoding.DecodeString(encoded)
	if !ok || err != nil || !utf8.Valid(name) || utf8.RuneCount(name) > passkeyd.MaxPasskeyNameLength {
		return ""
	}
	return words[0] + string(name) + words[1]
}
