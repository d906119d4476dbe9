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

// The display name form changes the name the site and the user's passkeys
// show; a bad one is the form again with the error, and changes nothing.
func TestDisplayNameForm(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, "fumiko", "correct horse battery")
	c := ts.client(t)
	ts.login(t, c, "fumiko", "correct horse battery")

	for _, tc := range []struct {
		name, form string
		status     int
		want       string
	}{
		{"a new name", "display_name=%E6%96%87%E5%AD%90", http.StatusSeeOther, "文子"},
		{"too long", "display_name=" + strings.Repeat("x", 151), http.StatusBadRequest, "文子"},
		{"a control character", "display_name=a%07b", http.StatusBadRequest, "文子"},
		{"a field twice", "display_name=a&display_name=b", http.StatusBadRequest, "文子"},
		{"empty: the username", "display_name=", http.StatusSeeOther, "fumiko"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.postForm(t, c, "/display-name", tc.form)
			if r.StatusCode != tc.status {
				t.Fatalf("%d, want %d: %s", r.StatusCode, tc.status, r.body)
			}
			if tc.status != http.StatusSeeOther && len(find(r.body, "div", "id", "sessions-error")) != 1 {
				t.Error("the form again without #sessions-error")
			}
			inputs := find(ts.get(t, c, "/sessions").body, "input", "id", "display-name")
			if len(inputs) != 1 || inputs[0].attrs["value"] != tc.want {
				t.Errorf("#display-name %+v, want the value %q", inputs, tc.want)
			}
		})
	}
}
