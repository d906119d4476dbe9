package site_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The admin's pages are there for staff only: 404 to anyone else, for
// every path under /admin/.
func TestAdminPagesHidden(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	u := ts.addUser(t, "notstaff", "correct horse battery")
	c := ts.client(t)
	ts.login(t, c, "notstaff", "correct horse battery")
	for _, client := range []*http.Client{c, ts.client(t)} {
		for _, path := range []string{"/admin/", "/admin/users/" + u.ID, "/admin/users/nobody", "/admin/anything", "/admin/?q=a&page=2"} {
			if r := ts.get(t, client, path); r.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, r.StatusCode)
			}
		}
		if r := ts.postForm(t, client, "/admin/users", "username=x"); r.StatusCode != http.StatusNotFound {
			t.Errorf("POST /admin/users: %d, want 404", r.StatusCode)
		}
	}
	if page := ts.get(t, c, "/passkeys").body; len(find(page, "a", "id", "admin-link")) != 0 {
		t.Error("a user who is not staff sees the admin's link")
	}
}

// Staff see the users, a page at a time and by search, and each user's
// passkeys, sessions and events, with the actions; on their own page no
// lock or staff button.
func TestAdminPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	staff := ts.addUser(t, "boss", "correct horse battery")
	if err := ts.db.SetStaff(t.Context(), staff.ID, true); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		ts.addUser(t, fmt.Sprintf("worker%02d", i), "correct horse battery")
	}
	worker := ts.user(t, "worker07")
	wc := ts.client(t)
	ts.login(t, wc, "worker07", "correct horse battery")
	c := ts.client(t)
	ts.login(t, c, "boss", "correct horse battery")

	list := ts.get(t, c, "/admin/")
	if rows := find(list.body, "tr", "class", "admin-user-row"); list.StatusCode != http.StatusOK || len(rows) != 20 {
		t.Fatalf("the first page: %d, %d rows", list.StatusCode, len(rows))
	}
	if len(find(list.body, "a", "id", "admin-link")) != 1 {
		t.Error("no admin link for staff")
	}
	if rows := find(ts.get(t, c, "/admin/?q=WORKER&page=2").body, "tr", "class", "admin-user-row"); len(rows) != 5 {
		t.Errorf("page 2 of the workers: %d rows, want 5", len(rows))
	}
	if page := ts.get(t, c, "/admin/?q=nobody-like-this").body; len(find(page, "p", "id", "admin-no-users")) != 1 {
		t.Error("a search without match does not say so")
	}
	if r := ts.get(t, c, "/admin/?page=0"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("page 0: %d, want 400", r.StatusCode)
	}

	page := ts.get(t, c, "/admin/users/"+worker.ID).body
	if len(find(page, "tr", "class", "admin-session-row")) != 1 || len(find(page, "button", "id", "admin-lock")) != 1 || len(find(page, "tr", "class", "activity-row")) == 0 {
		t.Errorf("the worker's page lacks its session, the lock button or the events:\n%s", page)
	}
	self := ts.get(t, c, "/admin/users/"+staff.ID).body
	if len(find(self, "button", "id", "admin-lock")) != 0 || len(find(self, "button", "id", "admin-revoke-staff")) != 0 || !strings.Contains(self, `id="admin-self"`) {
		t.Error("staff's own page offers to lock them or take their role")
	}
	if r := ts.get(t, c, "/admin/users/nobody"); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown user's page: %d, want 404", r.StatusCode)
	}
}
