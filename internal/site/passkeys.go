package site

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/passkeyd/passkeyd"
)

// The fields of the passkey page's forms.
var (
	noFields     = map[string]bool{}
	renameFields = map[string]bool{"name": true}
)

// requireLogin returns the logged-in user and, for the page, how they
// logged in; or it sends the browser to the login page with a way back
// and returns nil.
func (s *Site) requireLogin(w http.ResponseWriter, r *http.Request) (*passkeyd.User, *loginView) {
	u, sess, err := s.deps.Passkeys.CurrentUser(r)
	if err == nil {
		return u, newLoginView(u, sess)
	}
	if !errors.Is(err, passkeyd.ErrNotLoggedIn) {
		s.fail(w, r, err)
		return nil, nil
	}
	// Back to the page asked for; a form post goes back to its page.
	back := "/passkeys"
	if r.Method == http.MethodGet {
		back = r.URL.Path
		if r.URL.RawQuery != "" {
			back += "?" + r.URL.RawQuery
		}
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(back), http.StatusSeeOther)
	return nil, nil
}

// syncEventsLimit is how far back the passkey page looks for passkeys
// that started syncing.
const syncEventsLimit = 200

// passkeysPage lists the user's passkeys, newest first, a page at a time.
func (s *Site) passkeysPage(w http.ResponseWriter, r *http.Request) {
	u, lv := s.requireLogin(w, r)
	if u == nil {
		return
	}
	pageNum, err := passkeyd.ParsePage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderPasskeys(w, r, u, lv, pageNum, http.StatusOK, "", "")
}

func (s *Site) renderPasskeys(w http.ResponseWriter, r *http.Request, u *passkeyd.User, lv *loginView, pageNum, status int, message, reauthRetry string) {
	list, pages, err := s.deps.Passkeys.ListPage(r.Context(), u.ID, pageNum)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	infos := make([]passkeyView, len(list.Passkeys))
	for i, p := range list.Passkeys {
		infos[i] = passkeyView{PasskeyInfo: p.Info(), Attachment: p.Attachment}
	}
	// A passkey that started syncing after it was made is in the audit
	// log; its owner should know where it now lives.
	events, err := s.deps.Passkeys.AuditEvents(r.Context(), u.ID, syncEventsLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	synced := map[string]bool{}
	for _, e := range events {
		if e.Event == passkeyd.AuditBackupEligible {
			synced[e.PasskeyID] = true
		}
	}
	s.render(w, r, status, "passkeys", page{
		Title:       msg("Passkeys"),
		Login:       lv,
		Error:       message,
		Flash:       s.popFlash(w, r),
		Passkeys:    infos,
		Page:        pageNum,
		Pages:       pages,
		PageURL:     "/passkeys?page=",
		SyncStarted: synced,
		ReauthRetry: reauthRetry,
		ReauthAsk:   reauthRetry != "",
		StepUp:      true,
		Signal:      true,
		Scripts:     []string{"passkey.js", "reauth.js", "passkeys.js"},
	})
}

// passkeyAction handles the passkey page's forms: it runs act on the
// user's passkey {id} and redirects back with a message, or shows the page
// again with the error.
func (s *Site) passkeyAction(act func(r *http.Request, userID, id string) (outcome, name string, err error), fields map[string]bool, stepUp bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, lv := s.requireLogin(w, r)
		if u == nil {
			return
		}
		if _, err := readForm(r, fields); err != nil {
			s.failPasskeys(w, r, u, lv, err)
			return
		}
		if stepUp {
			if err := s.deps.Passkeys.RequireRecentAuth(r); err != nil {
				s.failPasskeys(w, r, u, lv, err)
				return
			}
		}
		outcome, name, err := act(r, u.ID, r.PathValue("id"))
		if err != nil {
			s.failPasskeys(w, r, u, lv, err)
			return
		}
		s.setFlash(w, outcome, name)
		http.Redirect(w, r, "/passkeys", http.StatusSeeOther)
	}
}

// failPasskeys shows the passkey page again with the error and its
// status; our own faults get the error page.
func (s *Site) failPasskeys(w http.ResponseWriter, r *http.Request, u *passkeyd.User, lv *loginView, err error) {
	status := passkeyd.HTTPStatus(err)
	if status >= 500 {
		s.fail(w, r, err)
		return
	}
	retry := ""
	if passkeyd.Classify(err).Code == passkeyd.CodeReauthRequired {
		retry = r.URL.Path
	}
	s.renderPasskeys(w, r, u, lv, 1, status, s.deps.Passkeys.ErrorMessage(r, err), retry)
}

func (s *Site) togglePasskey(r *http.Request, userID, id string) (string, string, error) {
	p, err := s.userPasskey(r, userID, id)
	if err != nil {
		return "", "", err
	}
	enabled := !p.Enabled
	p, err = s.deps.Passkeys.UpdatePasskey(r.Context(), userID, p.ID, passkeyd.PasskeyUpdate{Enabled: &enabled})
	if err != nil {
		return "", "", err
	}
	if p.Enabled {
		return "enabled", p.Name, nil
	}
	return "disabled", p.Name, nil
}

func (s *Site) renamePasskey(r *http.Request, userID, id string) (string, string, error) {
	p, err := s.userPasskey(r, userID, id)
	if err != nil {
		return "", "", err
	}
	name := r.PostForm.Get("name")
	p, err = s.deps.Passkeys.UpdatePasskey(r.Context(), userID, p.ID, passkeyd.PasskeyUpdate{Name: &name})
	if err != nil {
		return "", "", err
	}
	return "renamed", p.Name, nil
}

func (s *Site) deletePasskey(r *http.Request, userID, id string) (string, string, error) {
	p, err := s.userPasskey(r, userID, id)
	if err != nil {
		return "", "", err
	}
	if err := s.deps.Passkeys.DeletePasskey(r.Context(), userID, p.ID); err != nil {
		return "", "", err
	}
	return "deleted", p.Name, nil
}

// userPasskey returns the user's passkey with that id; anything else,
// a malformed id included, is 404.
func (s *Site) userPasskey(r *http.Request, userID, id string) (*passkeyd.Passkey, error) {
	return s.deps.Passkeys.Passkey(r.Context(), userID, id)
}
