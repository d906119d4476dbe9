package site

import (
	"net/http"

	"github.com/passkeyd/passkeyd"
)

// passwordFields are the password form's fields.
var passwordFields = map[string]bool{"current_password": true, "new_password": true}

// displayNameFields are the display name form's.
var displayNameFields = map[string]bool{"display_name": true}

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
	s.renderSessionsPage(w, r, u, status, page{Login: lv, Error: message, ReauthAsk: reauthAsk, ReauthRetry: reauthRetry})
}

// renderSessionsPage renders the sessions page with p's messages.
func (s *Site) renderSessionsPage(w http.ResponseWriter, r *http.Request, u *passkeyd.User, status int, p page) {
	list, err := s.deps.Passkeys.UserSessions(r, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	left, err := s.deps.Passkeys.RecoveryCodesLeft(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Title, p.Flash, p.Sessions, p.CodesLeft, p.StepUp = msg("Sessions and security"), s.popFlash(w, r), list, left, true
	// The page signals the user's names, as they may have just changed
	// them here.
	p.Scripts, p.Signal = []string{"passkey.js", "reauth.js"}, true
	s.render(w, r, status, "sessions", p)
}

// newRecoveryCodes makes the user new recovery codes and shows them on
// the sessions page, this once (the answer is not cached: no-store).
func (s *Site) newRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	u, lv := s.requireLogin(w, r)
	if u == nil {
		return
	}
	_, err := readForm(r, noFields)
	var codes []string
	if err == nil {
		codes, err = s.deps.Passkeys.NewRecoveryCodes(r, u)
	}
	if err != nil {
		status := passkeyd.HTTPStatus(err)
		if status >= 500 {
			s.fail(w, r, err)
			return
		}
		ask := passkeyd.Classify(err).Code == passkeyd.CodeReauthRequired
		retry := ""
		if ask {
			retry = r.URL.Path
		}
		s.renderSessions(w, r, u, lv, status, s.deps.Passkeys.ErrorMessage(r, err), ask, retry)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.renderSessionsPage(w, r, u, http.StatusOK, page{Login: lv, NewCodes: codes})
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
			s.renderSessions(w, r, u, lv, status, s.deps.Passkeys.ErrorMessage(r, err), ask, retry)
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

func (s *Site) setDisplayName(_ http.ResponseWriter, r *http.Request, u *passkeyd.User) (string, error) {
	_, err := s.deps.Passkeys.SetDisplayName(r, u, r.PostForm.Get("display_name"))
	return "display_name_changed", err
}

func (s *Site) changePassword(_ http.ResponseWriter, r *http.Request, u *passkeyd.User) (string, error) {
	return "password_changed", s.deps.Passkeys.ChangePassword(r, u, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"))
}
