package site_test

import (
	"net/http"
	"strings"
	"testing"
)

// The sessions page lists where the user is logged in, ends one other
// session or all of them, and changes the password, which ends the rest.
func TestSessionsPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, "erin", "correct horse battery")
	c, phone, tablet := ts.client(t), ts.client(t), ts.client(t)
	for _, x := range []*http.Client{c, phone, tablet} {
		ts.login(t, x, "erin", "correct horse battery")
	}
	page := ts.get(t, c, "/sessions").body
	rows := find(page, "tr", "class", "session-row")
	if len(rows) != 3 || len(find(page, "tr", "data-current", "true")) != 1 {
		t.Fatalf("%d session rows, want 3 with one current", len(rows))
	}
	var other string
	for _, r := range rows {
		if r.attrs["data-current"] == "false" {
			other = r.attrs["data-session-id"]
			break
		}
	}
	if r := ts.postForm(t, c, "/sessions/"+other+"/end", ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end a session: %d %s", r.StatusCode, r.body)
	}
	if page := ts.get(t, c, "/sessions").body; len(find(page, "tr", "class", "session-row")) != 2 || !strings.Contains(page, "Session ended.") {
		t.Error("after ending one, the page does not list two and say so")
	}
	r := ts.postForm(t, c, "/password", "current_password=wrong&new_password=brand+new+password")
	if r.StatusCode != http.StatusForbidden || len(find(r.body, "div", "id", "sessions-error")) != 1 {
		t.Errorf("a wrong current password: %d, want 403 with the error", r.StatusCode)
	}
	if r := ts.postForm(t, c, "/password", "current_password=correct+horse+battery&new_password=brand+new+password"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("change the password: %d %s", r.StatusCode, r.body)
	}
	if rows := find(ts.get(t, c, "/sessions").body, "tr", "class", "session-row"); len(rows) != 1 {
		t.Errorf("%d sessions after the password change, want this one", len(rows))
	}
	ts.assertAnonymous(t, phone)
	ts.assertAnonymous(t, tablet)
	ts.login(t, ts.client(t), "erin", "brand new password")
}
