package site

import (
	"net/http"

	"github.com/passkeyd/passkeyd"
)

// recoverPage shows a login link's page: a button that logs in. A link is
// used by a form post, not by opening it, so that a mail scanner or a
// chat app's preview that fetches the link does not use it up.
func (s *Site) recoverPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "recover", page{Title: msg("Log in with a recovery link"), Next: r.PathValue("token")})
}

// recoverSubmit logs in with a login link, then sends the user to their
// passkeys to add one.
func (s *Site) recoverSubmit(w http.ResponseWriter, r *http.Request) {
	if _, err := readForm(r, noFields); err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.deps.Passkeys.LogInWithLink(w, r, r.PathValue("token")); err != nil {
		status := passkeyd.HTTPStatus(err)
		if status >= 500 {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, status, "recover", page{Title: msg("Log in with a recovery link"), Error: s.deps.Passkeys.ErrorMessage(r, err)})
		return
	}
	s.setFlash(w, "recovered", "")
	s.markSignal(w)
	http.Redirect(w, r, "/passkeys", http.StatusSeeOther)
}
