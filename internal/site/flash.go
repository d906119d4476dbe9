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

// flashMessages are the outcomes a flash can name, in English (the
// catalog's ids); {{.Name}} is the passkey's name.
var flashMessages = map[string]string{
	"enabled":              msg("Passkey “{{.Name}}” enabled."),
	"disabled":             msg("Passkey “{{.Name}}” disabled."),
	"renamed":              msg("Passkey renamed to “{{.Name}}”."),
	"deleted":              msg("Passkey “{{.Name}}” deleted."),
	"session_ended":        msg("Session ended."),
	"sessions_ended":       msg("Every other session ended."),
	"password_changed":     msg("Password changed. Your other sessions were ended."),
	"display_name_changed": msg("Display name changed."),
	"recovered":            msg("You are logged in with a recovery link, which no longer works. Add a passkey now, so that you can log in again."),
	"codes_made":           msg("New recovery codes made; the old ones no longer work."),
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
	return s.deps.Passkeys.Localizer(r).T(words, map[string]any{"Name": string(name)})
}
