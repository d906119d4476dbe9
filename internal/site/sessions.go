package site

import (
	"net/http"

	"github.com/passkeyd/passkeyd"
)

// passwordFields are the password form's fields.
var passwordFields = map[string]bool{"current_password": true, "new_password": true}

// sessionsPage lists the user's sessions, with a way to end each other
// one or all of them, and the password form.
func (s *Site) sessionsPage(w http.ResponseWriter, r *http.Request) {
	u, lv := s.requireLogin(w, r)
	if u == nil {
		return
	}
	s.renderSessions(w, r, u, lv, http.StatusOK, "", false, "")
}

func (s *Site) renderSessions(w http.ResponseWriter, r *http.Request, u *passkeyd.User, lv *loginView, status int, message string, reauthAsk bool, reauthRetry string) {
	list, err := s.deps.Passkeys.UserSessions(r, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, status, "sessions", page{
		Title: "Sessions and password", Login: lv, Error: message, Flash: s.popFlash(w, r),
		Sessions: list, StepUp: true, ReauthAsk: reauthAsk, ReauthRetry: reauthRetry,
		Scripts: []string{"passkey.js", "reauth.js"},
	})
}

// sessionsAction handles the sessions page's forms: act, then back to
// the page with a message, or the page again with the error. A form
// refused for want of a recent login carries the step-up dialog, and is
// posted again once the user confirms when it has no fields to lose.
func (s *Site) sessionsAction(fields map[string]bool, act func(w http.ResponseWriter, r *http.Request, u *passkeyd.User) (outcome string, err error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, lv := s.requireLogin(w, r)
		if u == nil {
			return
		}
		_, err := readForm(r, fields)
		outcome := ""
		if err == nil {
			outcome, err = act(w, r, u)
		}
		if err != nil {
			status := passkeyd.HTTPStatus(err)
			if status >= 500 {
				s.fail(w, r, err)
				return
			}
			ask, retry := passkeyd.Classify(err).Code == passkeyd.CodeReauthRequired, ""
			if ask && len(fields) == 0 {
				retry = r.URL.Path
			}
			s.renderSessions(w, r, u, lv, status, passkeyd.Classify(err).Message, ask, retry)
			return
		}
		if outcome == "" {
			// The user ended their own session: logged out.
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		s.setFlash(w, outcome, "")
		http.Redirect(w, r, "/sessions", http.StatusSeeOther)
	}
}

func (s *Site) endSession(w http.ResponseWriter, r *http.Request, u *passkeyd.User) (string, error) {
	_, sess, err := s.deps.Passkeys.CurrentUser(r)
	if err != nil {
		return "", err
	}
	id := r.PathValue("id")
	if err := s.deps.Passkeys.EndSession(w, r, u, id); err != nil {
		return "", err
	}
	if sess != nil && sess.ID() == id {
		return "", nil
	}
	return "session_ended", nil
}

func (s *Site) endOtherSessions(_ http.ResponseWriter, r *http.Request, u *passkeyd.User) (string, error) {
	return "sessions_ended", s.deps.Passkeys.EndOtherSessions(r, u)
}

func (s *Site) changePassword(_ http.ResponseWriter, r *http.Request, u *passkeyd.User) (string, error) {
	return "password_changed", s.deps.Passkeys.ChangePassword(r, u, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"))
}
