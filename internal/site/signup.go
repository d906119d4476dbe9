package site

import (
	"net/http"

	"github.com/passkeyd/passkeyd"
)

// signUpFields are the sign-up form's fields.
var signUpFields = map[string]bool{"username": true, "display_name": true, "password": true}

// signUpOpen says whether the site takes any sign-up.
func (s *Site) signUpOpen() bool {
	p := s.deps.Passkeys
	return p.SignUpAllows(passkeyd.SignUpPasskey) || p.SignUpAllows(passkeyd.SignUpPassword)
}

// signUpPage shows the sign-up form, with a passkey, a password or
// both as the site allows; a closed site has no such page.
func (s *Site) signUpPage(w http.ResponseWriter, r *http.Request) {
	if !s.signUpOpen() {
		s.fail(w, r, errNotFound)
		return
	}
	s.renderSignUp(w, r, http.StatusOK, "", "", "")
}

func (s *Site) renderSignUp(w http.ResponseWriter, r *http.Request, status int, username, displayName, message string) {
	p := s.deps.Passkeys
	s.render(w, r, status, "signup", page{
		Title: msg("Create an account"), Username: username, DisplayName: displayName, Error: message,
		SignUpPasskey: p.SignUpAllows(passkeyd.SignUpPasskey), SignUpPassword: p.SignUpAllows(passkeyd.SignUpPassword),
		Scripts: []string{"passkey.js", "signup.js"},
	})
}

// signUpSubmit is the sign-up form's POST: a password sign-up (a passkey
// sign-up goes through the JSON API from signup.js).
func (s *Site) signUpSubmit(w http.ResponseWriter, r *http.Request) {
	if !s.signUpOpen() {
		s.fail(w, r, errNotFound)
		return
	}
	form, err := readForm(r, signUpFields)
	if err == nil {
		_, err = s.deps.Passkeys.SignUpWithPassword(w, r, form.Get("username"), form.Get("display_name"), form.Get("password"))
	}
	if err != nil {
		status := passkeyd.HTTPStatus(err)
		if status >= 500 {
			s.fail(w, r, err)
			return
		}
		s.renderSignUp(w, r, status, form.Get("username"), form.Get("display_name"), s.deps.Passkeys.ErrorMessage(r, err))
		return
	}
	s.markSignal(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
