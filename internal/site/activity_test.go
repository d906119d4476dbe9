package site_test

import (
	"net/http"
	"net/url"
	"testing"
)

// The activity page lists the user's newest security events, newest
// first; anonymous visitors are sent to log in.
func TestActivityPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, alice, alicePw)
	// A wrong password first, then the right one.
	r := ts.postForm(t, ts.client(t), "/login", url.Values{"username": {alice}, "password": {"wrong"}}.Encode())
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.StatusCode)
	}
	c := ts.client(t)
	ts.login(t, c, alice, alicePw)
	page := ts.get(t, c, "/activity")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET /activity = %d", page.StatusCode)
	}
	byID(t, page.body, "activity-list")
	rows := find(page.body, "tr", "class", "activity-row")
	if len(rows) != 2 {
		t.Fatalf("%d activity rows, want 2; page:\n%s", len(rows), page.body)
	}
	if rows[0].attrs["data-event"] != "login" || rows[0].attrs["data-outcome"] != "ok" ||
		rows[1].attrs["data-event"] != "login" || rows[1].attrs["data-outcome"] != "refused" {
		t.Errorf("rows %+v, want the login, then the refused one", rows)
	}
	if got := text(page.body, find(page.body, "td", "class", "activity-what")[0]); got != "Log in with your password" {
		t.Errorf("the newest row says %q", got)
	}
	if r := ts.get(t, ts.client(t), "/activity"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=%2Factivity" {
		t.Errorf("anonymous GET /activity = %d to %q, want a redirect to the login", r.StatusCode, r.Header.Get("Location"))
	}
}
