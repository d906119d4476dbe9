package site

import (
	"net/http"
	"slices"
)

// signalCookie marks the first page after a login, which tells the
// browser's Signal API the user's accepted passkeys and names.
const signalCookie = "passkeyd_signal"

// markSignal asks the next page to signal (after a login).
func (s *Site) markSignal(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: signalCookie, Value: "1", Path: "/", MaxAge: 60, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// withSignal makes a page of a logged-in user signal when it asks to
// (the passkeys page) or is the first after a login, and adds the scripts
// that do it.
func (s *Site) withSignal(w http.ResponseWriter, r *http.Request, p *page) {
	if p.Login == nil {
		return
	}
	if _, err := r.Cookie(signalCookie); err == nil {
		p.Signal = true
		// After a password login, a passkey is offered quietly.
		p.OfferPasskey = !p.Login.Auth.UsePasskey
		http.SetCookie(w, &http.Cookie{Name: signalCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	}
	if !p.Signal {
		return
	}
	if !slices.Contains(p.Scripts, "passkey.js") {
		p.Scripts = append([]string{"passkey.js"}, p.Scripts...)
	}
	p.Scripts = append(p.Scripts, "signal.js")
}
