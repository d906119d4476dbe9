package site

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/passkeyd/passkeyd"
)

// The admin's pages (/admin/…) show staff the users and what passkeyd
// keeps of each; their buttons and forms call the admin JSON API
// (admin.js, through PasskeyAPI.Call), which asks for a recent login and
// writes the audit log. To anyone not staff there is no admin: 404.

// requireStaff returns the logged-in staff member, or answers 404 and
// returns nil.
func (s *Site) requireStaff(w http.ResponseWriter, r *http.Request) (*passkeyd.User, *loginView) {
	u, sess, err := s.deps.Passkeys.CurrentUser(r)
	if err != nil && !errors.Is(err, passkeyd.ErrNotLoggedIn) {
		s.fail(w, r, err)
		return nil, nil
	}
	if err != nil || !u.Staff {
		s.failPage(w, r, http.StatusNotFound, errNotFound)
		return nil, nil
	}
	return u, newLoginView(u, sess)
}

// adminUsersPage lists the users, a page at a time, those matching ?q= only.
func (s *Site) adminUsersPage(w http.ResponseWriter, r *http.Request) {
	staff, lv := s.requireStaff(w, r)
	if staff == nil {
		return
	}
	n, err := passkeyd.ParsePage(r)
	if err != nil {
		s.failPage(w, r, passkeyd.HTTPStatus(err), err)
		return
	}
	query := r.URL.Query().Get("q")
	users, pages, err := s.deps.Passkeys.SearchUsers(r.Context(), query, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	views := make([]passkeyd.AdminUser, len(users))
	for i, u := range users {
		views[i] = u.AdminView()
	}
	s.render(w, r, http.StatusOK, "admin_users", page{
		Title: msg("Users"), Login: lv, StepUp: true, Scripts: []string{"passkey.js", "reauth.js", "admin.js"},
		AdminUsers: views, Query: query, Page: n, Pages: pages, PageURL: "/admin/?q=" + url.QueryEscape(query) + "&page=",
	})
}

// adminUserPage shows one user: their passkeys, sessions and newest audit
// events, with the staff's actions.
func (s *Site) adminUserPage(w http.ResponseWriter, r *http.Request) {
	staff, lv := s.requireStaff(w, r)
	if staff == nil {
		return
	}
	d, err := s.deps.Passkeys.AdminUserDetail(r, r.PathValue("id"))
	if err != nil {
		if passkeyd.HTTPStatus(err) == http.StatusNotFound {
			s.failPage(w, r, http.StatusNotFound, err)
			return
		}
		s.fail(w, r, err)
		return
	}
	events := make([]activityView, len(d.Events))
	for i, e := range d.Events {
		events[i] = activityView{At: e.At, Event: e.Event, Outcome: e.Outcome, What: eventText(e.Event, e.Method), Platform: e.Platform, Address: e.Address, Actor: e.Actor}
	}
	s.render(w, r, http.StatusOK, "admin_user", page{
		Title: msg("User"), Login: lv, StepUp: true, Scripts: []string{"passkey.js", "reauth.js", "admin.js"},
		AdminUser: &d.User, Self: d.User.ID == staff.ID, Passkeys: adminPasskeys(d.Passkeys), Sessions: d.Sessions, Activity: events,
	})
}

// adminPasskeys are a user's passkeys as the passkey list shows them.
func adminPasskeys(infos []passkeyd.PasskeyInfo) []passkeyView {
	out := make([]passkeyView, len(infos))
	for i, p := range infos {
		out[i] = passkeyView{PasskeyInfo: p}
	}
	return out
}

// adminNotFound answers every other path under /admin/: 404 to everyone,
// staff too, with the same page, so the admin tells nothing of itself.
func (s *Site) adminNotFound(w http.ResponseWriter, r *http.Request) {
	s.failPage(w, r, http.StatusNotFound, errNotFound)
}
