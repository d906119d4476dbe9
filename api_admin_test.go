package passkeyd_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// staffClient makes a staff member and a client logged in as them.
func staffClient(t *testing.T, w *world, name string) (*passkeyd.User, *client) {
	t.Helper()
	u, c := w.userClient(t, name)
	if err := w.h.db.SetStaff(t.Context(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	u.Staff = true
	return u, c
}

// eventsBy returns the events of userID's audit log that actor did,
// oldest first.
func eventsBy(t *testing.T, w *world, userID, actor string) []string {
	t.Helper()
	all, err := w.h.svc.AuditEvents(t.Context(), userID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range slices.Backward(all) {
		if e.Actor == actor {
			out = append(out, e.Event)
		}
	}
	return out
}

// fakeUUID is a passkey id nobody has.
const fakeUUID = "00000000-0000-4000-8000-000000000000"

// adminUsers is GET /api/admin/users's answer.
type adminUsers struct {
	Users []passkeyd.AdminUser `json:"users"`
	Page  int                  `json:"page"`
	Pages int                  `json:"pages"`
}

// To anyone not staff the admin API does not exist: 404 for every route,
// logged in or not, and nothing changes.
func TestAdminHiddenFromOthers(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	target, plain := w.userClient(t, "plainuser")
	before := w.h.snapshot(t)
	for _, c := range []*client{plain, w.h.client()} {
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/api/admin/users", ""},
			{"GET", "/api/admin/users?q=plain&page=1", ""},
			{"GET", "/api/admin/users/" + target.ID, ""},
			{"PATCH", "/api/admin/users/" + target.ID, `{"staff": true}`},
			{"PATCH", "/api/admin/users/" + target.ID, `{"locked": true}`},
			{"POST", "/api/admin/users", `{"username": "sneaky", "staff": true}`},
			{"PATCH", "/api/admin/users/" + target.ID + "/passkeys/" + fakeUUID, `{"enabled": false}`},
			{"DELETE", "/api/admin/users/" + target.ID + "/passkeys/" + fakeUUID, ""},
			{"DELETE", "/api/admin/users/" + target.ID + "/sessions/x", ""},
			{"POST", "/api/admin/users/" + target.ID + "/sessions/end-all", ""},
			{"POST", "/api/admin/users/" + target.ID + "/password", `{"password": "taken over now"}`},
			{"POST", "/api/admin/users/" + target.ID + "/login-link", ""},
		} {
			c.mustError(t, http.StatusNotFound, "not_found", r.method, r.path, []byte(r.body))
		}
	}
	if after := w.h.snapshot(t); after != before {
		t.Errorf("a non-staff request changed the database:\n%s\nwant:\n%s", after, before)
	}
}

// Staff list users with search and pages, see one with their passkeys,
// sessions and audit events, and lock or unlock them and give or take
// the staff role, with a recent login; never their own staff role or
// lock. Each change is in the user's audit log with the staff member's
// name.
func TestAdminUsers(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	staff, sc := staffClient(t, w, "admin-ann")
	for i := range 23 {
		w.h.user(t, fmt.Sprintf("member%02d", i))
	}
	target, tc := w.userClient(t, "member-target")
	tc.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), "Phone")

	var list adminUsers
	if err := json.Unmarshal(sc.must(t, http.StatusOK, "GET", "/api/admin/users?q=MEMBER&page=2", nil), &list); err != nil {
		t.Fatal(err)
	}
	if list.Page != 2 || list.Pages != 2 || len(list.Users) != 4 {
		t.Fatalf("page 2 of the members: page %d of %d, %d users", list.Page, list.Pages, len(list.Users))
	}
	if err := json.Unmarshal(sc.must(t, http.StatusOK, "GET", "/api/admin/users?q=target", nil), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Users) != 1 || list.Users[0].ID != target.ID || !list.Users[0].HasPassword || list.Users[0].Locked {
		t.Fatalf("search for the target: %+v", list.Users)
	}

	var d passkeyd.AdminUserDetail
	if err := json.Unmarshal(sc.must(t, http.StatusOK, "GET", "/api/admin/users/"+target.ID, nil), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Passkeys) != 1 || d.Passkeys[0].Name != "Phone" || len(d.Sessions) != 1 || len(d.Events) == 0 {
		t.Fatalf("the target's page: %d passkeys, %d sessions, %d events", len(d.Passkeys), len(d.Sessions), len(d.Events))
	}

	// Lock: the target's session ends at once.
	sc.must(t, http.StatusOK, "PATCH", "/api/admin/users/"+target.ID, []byte(`{"locked": true}`))
	tc.mustError(t, http.StatusUnauthorized, "not_logged_in", "GET", "/api/passkeys", nil)
	sc.must(t, http.StatusOK, "PATCH", "/api/admin/users/"+target.ID, []byte(`{"locked": false, "staff": true}`))
	// A change on an old login asks to confirm first, and changes nothing.
	w.clock.Advance(passkeyd.DefaultReauthWindow + time.Minute)
	before := w.h.snapshot(t)
	sc.mustError(t, http.StatusUnauthorized, "reauth_required", "PATCH", "/api/admin/users/"+target.ID, []byte(`{"staff": false}`))
	if after := w.h.snapshot(t); after != before {
		t.Error("a change refused for want of a recent login changed the database")
	}
	if got := eventsBy(t, w, target.ID, staff.Username); fmt.Sprint(got) != "[account_locked account_unlocked staff_granted]" {
		t.Errorf("the target's events by staff: %v", got)
	}

	// Bad requests change nothing.
	for _, tc := range []struct {
		name, method, path, body, code string
		status                         int
	}{
		{"own staff role", "PATCH", "/api/admin/users/" + staff.ID, `{"staff": false}`, "cannot_change_self", http.StatusConflict},
		{"own lock", "PATCH", "/api/admin/users/" + staff.ID, `{"locked": true}`, "cannot_change_self", http.StatusConflict},
		{"unknown user", "GET", "/api/admin/users/nobody", "", "user_not_found", http.StatusNotFound},
		{"unknown user's change", "PATCH", "/api/admin/users/nobody", `{"locked": true}`, "user_not_found", http.StatusNotFound},
		{"unknown field", "PATCH", "/api/admin/users/" + target.ID, `{"admin": true}`, "unknown_field", http.StatusBadRequest},
		{"wrong type", "PATCH", "/api/admin/users/" + target.ID, `{"locked": "yes"}`, "invalid_type", http.StatusBadRequest},
		{"not json", "PATCH", "/api/admin/users/" + target.ID, `locked`, "invalid_json", http.StatusBadRequest},
		{"page zero", "GET", "/api/admin/users?page=0", "", "invalid_page", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc.mustError(t, tc.status, tc.code, tc.method, tc.path, []byte(tc.body))
		})
	}
	if after := w.h.snapshot(t); after != before {
		t.Error("refused admin requests changed the database")
	}
}

// Staff manage a user's passkeys and sessions, reset their password, make
// them a login link, and create users: each with a recent login, each in
// the user's audit log with the staff member's name; bad input changes
// nothing.
func TestAdminActions(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	staff, sc := staffClient(t, w, "admin-bea")
	target, phone := w.userClient(t, "managed")
	a := passkeytest.New(w.h.origin, passkeytest.Options{})
	p := phone.register(t, a, "Phone")
	laptop := w.h.client()
	laptop.logInAs(t, target)
	base := "/api/admin/users/" + target.ID

	sc.must(t, http.StatusOK, "PATCH", base+"/passkeys/"+p.ID, []byte(`{"enabled": false}`))
	if got := phone.passkey(t, p.ID); got.Enabled {
		t.Error("the passkey is still enabled")
	}
	sc.must(t, http.StatusNoContent, "DELETE", base+"/passkeys/"+p.ID, nil)
	sc.mustError(t, http.StatusNotFound, "passkey_not_found", "DELETE", base+"/passkeys/"+p.ID, nil)

	var d passkeyd.AdminUserDetail
	if err := json.Unmarshal(sc.must(t, http.StatusOK, "GET", base, nil), &d); err != nil || len(d.Sessions) != 2 {
		t.Fatalf("the target's sessions: %+v, %v", d.Sessions, err)
	}
	sc.must(t, http.StatusNoContent, "DELETE", base+"/sessions/"+d.Sessions[0].ID, nil)
	if err := json.Unmarshal(sc.must(t, http.StatusOK, "GET", base, nil), &d); err != nil || len(d.Sessions) != 1 {
		t.Fatalf("after ending one: %+v, %v", d.Sessions, err)
	}
	sc.must(t, http.StatusNoContent, "POST", base+"/sessions/end-all", nil)
	phone.mustError(t, http.StatusUnauthorized, "not_logged_in", "GET", "/api/passkeys", nil)
	laptop.mustError(t, http.StatusUnauthorized, "not_logged_in", "GET", "/api/passkeys", nil)

	sc.must(t, http.StatusNoContent, "POST", base+"/password", []byte(`{"password": "a brand new password"}`))
	other := w.h.client()
	other.mustError(t, http.StatusUnauthorized, "login_failed", "POST", "/api/login/password", passwordBody(t, "managed", "pw"))
	other.must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "managed", "a brand new password"))

	var link struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(sc.must(t, http.StatusCreated, "POST", base+"/login-link", nil), &link); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimPrefix(link.Path, "/recover/")
	w.h.client().must(t, http.StatusOK, "POST", "/api/login/link", []byte(`{"token": "`+token+`"}`))

	created := sc.must(t, http.StatusCreated, "POST", "/api/admin/users", []byte(`{"username": "Newbie", "display_name": "New Bie", "password": "a long password"}`))
	var nu struct {
		User passkeyd.AdminUser `json:"user"`
	}
	if err := json.Unmarshal(created, &nu); err != nil || nu.User.Username != "Newbie" || !nu.User.HasPassword || nu.User.Staff {
		t.Fatalf("created %s, %v", created, err)
	}
	w.h.client().must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "newbie", "a long password"))
	var boss struct {
		User passkeyd.AdminUser `json:"user"`
	}
	if err := json.Unmarshal(sc.must(t, http.StatusCreated, "POST", "/api/admin/users", []byte(`{"username": "second-boss", "staff": true}`)), &boss); err != nil || !boss.User.Staff || boss.User.HasPassword {
		t.Fatalf("a staff member created: %+v, %v", boss.User, err)
	}
	if got := eventsBy(t, w, boss.User.ID, staff.Username); fmt.Sprint(got) != "[signed_up staff_granted]" {
		t.Errorf("a staff member's creation in their log: %v", got)
	}

	want := "[passkey_disabled passkey_deleted sessions_ended sessions_ended password_changed login_link_created]"
	if got := eventsBy(t, w, target.ID, staff.Username); fmt.Sprint(got) != want {
		t.Errorf("the target's events by staff: %v, want %s", got, want)
	}

	before := w.h.snapshot(t)
	for _, tc := range []struct {
		name, method, path, body, code string
		status                         int
	}{
		{"taken username", "POST", "/api/admin/users", `{"username": "NEWBIE"}`, "username_taken", http.StatusConflict},
		{"bad username", "POST", "/api/admin/users", `{"username": ""}`, "invalid_username", http.StatusBadRequest},
		{"weak password", "POST", "/api/admin/users", `{"username": "weakling", "password": "short"}`, "weak_password", http.StatusBadRequest},
		{"weak reset", "POST", base + "/password", `{"password": "short"}`, "weak_password", http.StatusBadRequest},
		{"another user's passkey", "PATCH", base + "/passkeys/" + fakeUUID, `{"enabled": true}`, "passkey_not_found", http.StatusNotFound},
		{"malformed passkey id", "DELETE", base + "/passkeys/nope", "", "passkey_not_found", http.StatusNotFound},
		{"unknown session", "DELETE", base + "/sessions/nope", "", "session_not_found", http.StatusNotFound},
		{"unknown user", "POST", "/api/admin/users/nobody/password", `{"password": "a long password"}`, "user_not_found", http.StatusNotFound},
		{"unknown field", "POST", base + "/password", `{"password": "a long password", "force": true}`, "unknown_field", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc.mustError(t, tc.status, tc.code, tc.method, tc.path, []byte(tc.body))
		})
	}
	// On an old login every change asks to confirm first.
	w.clock.Advance(passkeyd.DefaultReauthWindow + time.Minute)
	sc.mustError(t, http.StatusUnauthorized, "reauth_required", "POST", base+"/login-link", nil)
	sc.mustError(t, http.StatusUnauthorized, "reauth_required", "POST", "/api/admin/users", []byte(`{"username": "late"}`))
	if after := w.h.snapshot(t); after != before {
		t.Errorf("refused admin changes changed the database:\n%s\nwant:\n%s", after, before)
	}
}
