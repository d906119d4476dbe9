package site_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/site"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// The Google Password Manager's AAGUID, so the provider has a name.
var gpmAAGUID = [16]byte{0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5, 0x75, 0xd4}

// registerPasskey registers a passkey of a for the user logged in on c,
// through the JSON API, and returns it.
func (ts *testServer) registerPasskey(t testing.TB, c *http.Client, a *passkeytest.Authenticator, name string) passkeyd.PasskeyInfo {
	t.Helper()
	client := &passkeytest.Client{BaseURL: ts.URL, HTTP: c, Authenticator: a}
	p, err := client.Register(context.Background(), name)
	if err != nil {
		t.Fatalf("register a passkey: %v", err)
	}
	return *p
}

// passkeyForm begins a login on c and returns the login form's passkey
// field as a's answer.
func (ts *testServer) passkeyForm(t testing.TB, c *http.Client, a *passkeytest.Authenticator) string {
	t.Helper()
	begin := ts.do(t, c, ts.request(t, http.MethodPost, "/api/login/begin", nil))
	if begin.StatusCode != http.StatusOK {
		t.Fatalf("login begin: %d %s", begin.StatusCode, begin.body)
	}
	resp, err := a.Login([]byte(begin.body))
	if err != nil {
		t.Fatal(err)
	}
	return string(resp)
}

// withPasskey makes a user with a password and one registered passkey.
func withPasskey(t *testing.T, ts *testServer, username string) (*passkeytest.Authenticator, passkeyd.PasskeyInfo) {
	t.Helper()
	ts.addUser(t, username, "correct horse battery")
	c := ts.client(t)
	ts.login(t, c, username, "correct horse battery")
	a := passkeytest.New(ts.passkeyOrigin, passkeytest.Options{AAGUID: gpmAAGUID})
	return a, ts.registerPasskey(t, c, a, "Pixel")
}

func TestLoginFormWithPasskey(t *testing.T) {
	ts := newTestServer(t, testOpts{})
	a, p := withPasskey(t, ts, "alice")

	c := ts.client(t)
	form := url.Values{"passkey": {ts.passkeyForm(t, c, a)}, "next": {"/passkeys"}}
	r := ts.postForm(t, c, "/login", form.Encode())
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/passkeys" {
		t.Fatalf("passkey login: %d to %q, want 303 to /passkeys; body %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	s := ts.assertLoggedIn(t, c, "alice")
	if !s.Auth.UsePasskey || s.Auth.ID == nil || *s.Auth.ID != p.ID || *s.Auth.Name != "Pixel" {
		t.Fatalf("auth = %+v, want the passkey %s", s.Auth, p.ID)
	}
	home := ts.get(t, c, "/")
	state := text(home.body, byID(t, home.body, "login-state"))
	for _, want := range []string{"alice", "Pixel", "Google Password Manager"} {
		if !strings.Contains(state, want) {
			t.Errorf("#login-state %q does not name %q", state, want)
		}
	}
}

func TestLoginFormPasskeyFailures(t *testing.T) {
	ts := newTestServer(t, testOpts{})
	a, p := withPasskey(t, ts, "bob")
	owner := ts.client(t)
	ts.login(t, owner, "bob", "correct horse battery")

	tests := []struct {
		name    string
		passkey func(c *http.Client) string
		setup   func()
		want    string
	}{
		{"not JSON", func(*http.Client) string { return "{not json" }, nil, "could not be read"},
		{"unknown challenge", func(*http.Client) string {
			other := ts.client(t)
			return ts.passkeyForm(t, other, a) // begun in another session
		}, nil, "not started here"},
		{"disabled passkey", func(c *http.Client) string { return ts.passkeyForm(t, c, a) }, func() {
			r := ts.postForm(t, owner, "/passkeys/"+p.ID+"/toggle", "")
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("disable: %d %s", r.StatusCode, r.body)
			}
		}, "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := ts
			if tt.setup != nil {
				tt.setup()
			}
			c := ts.client(t)
			r := ts.postForm(t, c, "/login", url.Values{"passkey": {tt.passkey(c)}}.Encode())
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401; body %s", r.StatusCode, r.body)
			}
			msg := text(r.body, byID(t, r.body, "login-error"))
			if !strings.Contains(msg, tt.want) {
				t.Errorf("#login-error %q, want it to say %q", msg, tt.want)
			}
			ts.assertAnonymous(t, c)
		})
	}
}

func TestPasskeysPageNeedsLogin(t *testing.T) {
	ts := newTestServer(t, testOpts{})
	c := ts.client(t)
	for path, next := range map[string]string{"/passkeys": "/passkeys", "/passkeys?page=2": "/passkeys?page=2"} {
		r := ts.get(t, c, path)
		if want := "/login?next=" + url.QueryEscape(next); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 303 to %q", path, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
	id := uuid.NewString()
	for _, action := range []string{"toggle", "rename", "delete"} {
		r := ts.postForm(t, c, "/passkeys/"+id+"/"+action, "")
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login?next=") {
			t.Errorf("POST %s anonymously: %d to %q, want 303 to the login page", action, r.StatusCode, r.Header.Get("Location"))
		}
	}
}

// rowOf returns the passkey's row on the passkey page.
func rowOf(t *testing.T, page, id string) element {
	t.Helper()
	rows := find(page, "tr", "data-passkey-id", id)
	if len(rows) != 1 {
		t.Fatalf("%d rows for passkey %s, want 1", len(rows), id)
	}
	return rows[0]
}

func TestPasskeysPageManagement(t *testing.T) {
	ts := newTestServer(t, testOpts{})
	_, p := withPasskey(t, ts, "carol")
	c := ts.client(t)
	ts.login(t, c, "carol", "correct horse battery")

	page := ts.get(t, c, "/passkeys").body
	row := rowOf(t, page, p.ID)
	if row.attrs["data-enabled"] != "true" || !strings.Contains(row.attrs["class"], "passkey-row") {
		t.Fatalf("row %+v, want an enabled tr.passkey-row", row.attrs)
	}
	del := find(page, "button", "data-passkey-id", p.ID)
	if len(del) != 1 || !del[0].has("disabled") || !strings.Contains(del[0].attrs["class"], "js-delete-passkey") {
		t.Fatalf("delete button %+v, want a disabled .js-delete-passkey", del)
	}

	// Delete while enabled: 409, the page with a message, still there.
	r := ts.postForm(t, c, "/passkeys/"+p.ID+"/delete", "")
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "Disable the passkey") {
		t.Fatalf("delete enabled: %d, want 409 with a message; body %s", r.StatusCode, r.body)
	}
	rowOf(t, ts.get(t, c, "/passkeys").body, p.ID)

	// Rename: trimmed; too long is 400 and changes nothing.
	if r := ts.postForm(t, c, "/passkeys/"+p.ID+"/rename", "name=+Work+phone+"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d %s", r.StatusCode, r.body)
	}
	page = ts.get(t, c, "/passkeys").body
	if !strings.Contains(page, ">Work phone</div>") || !strings.Contains(page, "renamed") {
		t.Fatalf("the page does not show the new name and the outcome")
	}
	if r := ts.postForm(t, c, "/passkeys/"+p.ID+"/rename", "name="+strings.Repeat("x", 65)); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("rename to 65 characters: %d, want 400", r.StatusCode)
	}
	if r := ts.postForm(t, c, "/passkeys/"+p.ID+"/rename", "name=a&extra=1"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("rename with an unknown field: %d, want 400", r.StatusCode)
	}

	// Disable, then delete.
	if r := ts.postForm(t, c, "/passkeys/"+p.ID+"/toggle", ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("toggle: %d %s", r.StatusCode, r.body)
	}
	page = ts.get(t, c, "/passkeys").body
	if row := rowOf(t, page, p.ID); row.attrs["data-enabled"] != "false" || !strings.Contains(page, ">Work phone</div>") {
		t.Fatalf("after toggle: %+v", row.attrs)
	}
	if r := ts.postForm(t, c, "/passkeys/"+p.ID+"/delete", ""); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/passkeys" {
		t.Fatalf("delete disabled: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if rows := find(ts.get(t, c, "/passkeys").body, "tr", "data-passkey-id", p.ID); len(rows) != 0 {
		t.Fatal("deleted passkey still listed")
	}
}

func TestPasskeysPageOtherUsersPasskey(t *testing.T) {
	ts := newTestServer(t, testOpts{})
	_, p := withPasskey(t, ts, "dave")
	ts.addUser(t, "eve", "correct horse battery")
	eve := ts.client(t)
	ts.login(t, eve, "eve", "correct horse battery")
	for _, id := range []string{p.ID, uuid.NewString(), "not-a-uuid", strings.ToUpper(p.ID)} {
		for _, action := range []string{"toggle", "rename", "delete"} {
			r := ts.postForm(t, eve, "/passkeys/"+id+"/"+action, "")
			if action == "rename" {
				r = ts.postForm(t, eve, "/passkeys/"+id+"/"+action, "name=mine")
			}
			if r.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s as another user: %d, want 404", action, id, r.StatusCode)
			}
		}
	}
	got, err := ts.db.Passkey(context.Background(), ts.user(t, "dave").ID, p.ID)
	if err != nil || got.Name != "Pixel" || !got.Enabled {
		t.Fatalf("dave's passkey changed: %+v, %v", got, err)
	}
}

func TestPasskeysPagePagination(t *testing.T) {
	ts := newTestServer(t, testOpts{})
	u := ts.addUser(t, "frank", "correct horse battery")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < passkeyd.PageSize+1; i++ {
		id := make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			t.Fatal(err)
		}
		p := &passkeyd.Passkey{
			ID: uuid.NewString(), UserID: u.ID, CredentialID: id, PublicKey: []byte{1}, AAGUID: make([]byte, 16),
			Name: fmt.Sprintf("key %02d", i), Platform: "Unknown", Enabled: true, CreatedAt: base.Add(time.Duration(i) * time.Minute),
			AttestationType: "none", AttestationFormat: "none",
		}
		if err := ts.db.CreatePasskey(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.client(t)
	ts.login(t, c, "frank", "correct horse battery")
	first := ts.get(t, c, "/passkeys").body
	if n := len(find(first, "tr", "class", "passkey-row")); n != passkeyd.PageSize {
		t.Fatalf("page 1 has %d rows, want %d", n, passkeyd.PageSize)
	}
	if !strings.Contains(first, ">key 50</div>") || len(find(first, "a", "rel", "next")) != 1 || len(find(first, "a", "rel", "prev")) != 0 {
		t.Fatal("page 1 should start with the newest passkey and link to the next page only")
	}
	second := ts.get(t, c, "/passkeys?page=2").body
	if n := len(find(second, "tr", "class", "passkey-row")); n != 1 || !strings.Contains(second, ">key 00</div>") {
		t.Fatalf("page 2 has %d rows, want the oldest passkey alone", n)
	}
	if len(find(second, "a", "rel", "prev")) != 1 || len(find(second, "a", "rel", "next")) != 0 {
		t.Fatal("page 2 should link back only")
	}
	if r := ts.get(t, c, "/passkeys?page=abc"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("page=abc: %d, want 400", r.StatusCode)
	}
}

// A passkey disabled as a possible clone is explained on the passkeys
// page, with what to do; enabling it again takes the notice away.
func TestPasskeysPageCloneNotice(t *testing.T) {
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, "cloned", "correct horse battery")
	c := ts.client(t)
	ts.login(t, c, "cloned", "correct horse battery")
	a := passkeytest.New(ts.passkeyOrigin, passkeytest.Options{DeviceBound: true})
	p := ts.registerPasskey(t, c, a, "Key")
	// A login (counter 1), then the counter again: a possible clone.
	for i, want := range []int{http.StatusSeeOther, http.StatusUnauthorized} {
		b := ts.client(t)
		if r := ts.postForm(t, b, "/login", url.Values{"passkey": {ts.passkeyForm(t, b, a)}}.Encode()); r.StatusCode != want {
			t.Fatalf("login %d: %d, want %d", i, r.StatusCode, want)
		}
		a.SetSignCount(a.Credentials()[0].ID, 0)
	}
	page := ts.get(t, c, "/passkeys")
	notes := find(page.body, "div", "data-passkey-id", p.ID)
	if len(notes) != 1 || !strings.Contains(text(page.body, notes[0]), "may have been copied") {
		t.Fatalf("no notice of the disabled possible clone on the page:\n%s", page.body)
	}
	if r := ts.postForm(t, c, "/passkeys/"+p.ID+"/toggle", ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: %d", r.StatusCode)
	}
	if page := ts.get(t, c, "/passkeys"); len(find(page.body, "div", "data-passkey-id", p.ID)) != 0 {
		t.Fatal("the notice stays after the passkey was enabled again")
	}
}

// A passkey form post whose login is older than the step-up window is
// refused (401) with the page, which carries the step-up dialog and the
// form to post again; confirming with the password lets it through.
func TestPasskeysPageStepUp(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	ts := newTestServer(t, testOpts{configure: func(c *passkeyd.Config, _ *site.Config) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	}})
	_, p := withPasskey(t, ts, "dave")
	c := ts.client(t)
	ts.login(t, c, "dave", "correct horse battery")
	mu.Lock()
	now = now.Add(passkeyd.DefaultReauthWindow + time.Second)
	mu.Unlock()

	for _, action := range []string{"toggle", "delete"} {
		path := "/passkeys/" + p.ID + "/" + action
		r := ts.postForm(t, c, path, "")
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s with a stale login: %d, want 401", action, r.StatusCode)
		}
		if retry := find(r.body, "div", "id", "reauth-retry"); len(retry) != 1 || retry[0].attrs["data-action"] != path {
			t.Errorf("%s: the page does not carry the form to post again: %+v", action, retry)
		}
		if len(find(r.body, "dialog", "id", "reauth-dialog")) != 1 {
			t.Errorf("%s: no #reauth-dialog on the page", action)
		}
	}
	if row := rowOf(t, ts.get(t, c, "/passkeys").body, p.ID); row.attrs["data-enabled"] != "true" {
		t.Fatal("a refused toggle changed the passkey")
	}
	if r := ts.postForm(t, c, "/passkeys/"+p.ID+"/rename", "name=Still+mine"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("rename with a stale login: %d, want 303 (no step-up)", r.StatusCode)
	}
	req := ts.request(t, "POST", "/api/reauth/password", strings.NewReader(`{"password": "correct horse battery"}`), "Content-Type", "application/json")
	if r := ts.do(t, c, req); r.StatusCode != http.StatusOK {
		t.Fatalf("reauth: %d %s", r.StatusCode, r.body)
	}
	if r := ts.postForm(t, c, "/passkeys/"+p.ID+"/toggle", ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("toggle after confirming: %d", r.StatusCode)
	}
}

// Each row says whether the passkey is synced or lives on one device,
// where it is (built in, or a key or phone), and marks the one this
// session logged in with.
func TestPasskeysPageTellsTheTruth(t *testing.T) {
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, "fay", "correct horse battery")
	c := ts.client(t)
	ts.login(t, c, "fay", "correct horse battery")
	synced := passkeytest.New(ts.passkeyOrigin, passkeytest.Options{})
	key := passkeytest.New(ts.passkeyOrigin, passkeytest.Options{Attachment: "cross-platform", DeviceBound: true})
	ps := ts.registerPasskey(t, c, synced, "Phone")
	pk := ts.registerPasskey(t, c, key, "YubiKey")
	if !ps.BackedUp || pk.BackedUp {
		t.Fatalf("API: %+v %+v", ps, pk)
	}
	// Log in with the key on another client: that page marks the key.
	other := ts.client(t)
	ts.postForm(t, other, "/login", "passkey="+url.QueryEscape(ts.passkeyForm(t, other, key)))
	page := ts.get(t, other, "/passkeys").body
	for _, tc := range []struct {
		id, want, not string
	}{
		{ps.ID, "passkey-synced", "this-device"},
		{pk.ID, "this-device", "passkey-synced"},
	} {
		row := rowHTML(t, page, tc.id)
		if !strings.Contains(row, tc.want) || strings.Contains(row, tc.not) {
			t.Errorf("row of %s: want %s, not %s:\n%s", tc.id, tc.want, tc.not, row)
		}
	}
	if !strings.Contains(rowHTML(t, page, pk.ID), "passkey-device-bound") || !strings.Contains(rowHTML(t, page, pk.ID), "security key or phone") {
		t.Error("the key's row does not say it lives on one device, a key or phone")
	}
}

// rowHTML is the HTML of the passkey's row.
func rowHTML(t *testing.T, page, id string) string {
	t.Helper()
	start := strings.Index(page, `data-passkey-id="`+id+`" data-enabled`)
	if start < 0 {
		t.Fatalf("no row for %s", id)
	}
	end := strings.Index(page[start:], "</tr>")
	return page[start : start+end]
}

// A device-bound passkey that starts syncing is shown to its owner with
// what it means and what to do.
func TestPasskeysPageSyncNotice(t *testing.T) {
	ts := newTestServer(t, testOpts{})
	ts.addUser(t, "gil", "correct horse battery")
	c := ts.client(t)
	ts.login(t, c, "gil", "correct horse battery")
	a := passkeytest.New(ts.passkeyOrigin, passkeytest.Options{DeviceBound: true})
	p := ts.registerPasskey(t, c, a, "Laptop")
	if notes := find(ts.get(t, c, "/passkeys").body, "div", "class", "alert alert-info sync-notice"); len(notes) != 0 {
		t.Fatal("a sync notice before the passkey synced")
	}
	a.SetFlags(a.Credentials()[0].ID, true, true)
	b := ts.client(t)
	if r := ts.postForm(t, b, "/login", url.Values{"passkey": {ts.passkeyForm(t, b, a)}}.Encode()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after the passkey started syncing: %d", r.StatusCode)
	}
	page := ts.get(t, c, "/passkeys").body
	notes := find(page, "div", "data-passkey-id", p.ID)
	if len(notes) != 1 || !strings.Contains(text(page, notes[0]), "is now synced") {
		t.Fatalf("no sync notice for the passkey:\n%s", page)
	}
}

// Each passkey's provider shows with a key, and its platform with its
// own mark (a question mark when unknown).
func TestPasskeyIcons(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{})
	_, _ = withPasskey(t, ts, "iconic")
	c := ts.client(t)
	ts.login(t, c, "iconic", "correct horse battery")
	page := ts.get(t, c, "/passkeys").body
	for _, want := range []string{`class="bi bi-key"`, `class="bi bi-question-circle"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the passkeys page has no %s", want)
		}
	}
	if !strings.Contains(page, `<svg aria-hidden="true"`) {
		t.Error("the icons are not hidden from screen readers")
	}
}
