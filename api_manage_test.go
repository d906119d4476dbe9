package passkeyd_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// listAnswer is GET /api/passkeys.
type listAnswer struct {
	Passkeys []passkeyd.PasskeyInfo `json:"passkeys"`
	Page     int                    `json:"page"`
	Pages    int                    `json:"pages"`
}

func (c *client) list(t testing.TB, query string) listAnswer {
	t.Helper()
	b := c.must(t, http.StatusOK, "GET", "/api/passkeys"+query, nil)
	var shape map[string]json.RawMessage
	if err := json.Unmarshal(b, &shape); err != nil {
		t.Fatal(err)
	}
	if len(shape) != 3 || shape["passkeys"] == nil || shape["page"] == nil || shape["pages"] == nil {
		t.Fatalf("list answer %s, want {passkeys, page, pages}", b)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(shape["passkeys"], &raw); err != nil || raw == nil {
		t.Fatalf("passkeys is not a list: %s", shape["passkeys"])
	}
	for _, p := range raw {
		checkPasskeyObject(t, p)
	}
	var l listAnswer
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestListPasskeys(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	_, c := w.userClient(t, "alice")
	_, bob := w.userClient(t, "bob")

	if got := c.list(t, ""); len(got.Passkeys) != 0 || got.Page != 1 || got.Pages != 1 {
		t.Fatalf("empty list: %+v", got)
	}
	// 53 passkeys, one a second, so that newest first is well defined;
	// bob's passkeys are interleaved and must not show.
	const n = 53
	for i := range n {
		w.clock.Advance(time.Second)
		c.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), fmt.Sprintf("key %02d", i))
		if i%10 == 0 {
			bob.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), "bob's")
		}
	}
	names := func(l listAnswer) string {
		var s []string
		for _, p := range l.Passkeys {
			s = append(s, p.Name)
		}
		return strings.Join(s, ",")
	}
	want := func(from, to int) string { // names from key from down to key to
		var s []string
		for i := from; i >= to; i-- {
			s = append(s, fmt.Sprintf("key %02d", i))
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		name, query string
		page        int
		want        string
	}{
		{"no page", "", 1, want(52, 3)},
		{"page 1", "?page=1", 1, want(52, 3)},
		{"page 2", "?page=2", 2, want(2, 0)},
		{"page past the end", "?page=3", 3, ""},
		{"far past the end", "?page=1000000", 1000000, ""},
		{"beyond any offset", "?page=9000000000000", 9000000000000, ""},
		{"empty page value", "?page=", 1, want(52, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := c.list(t, tc.query)
			if got.Page != tc.page || got.Pages != 2 || names(got) != tc.want {
				t.Errorf("page %d of %d: %s\nwant page %d of 2: %s", got.Page, got.Pages, names(got), tc.page, tc.want)
			}
		})
	}
	if got := bob.list(t, ""); got.Pages != 1 || len(got.Passkeys) != 6 {
		t.Errorf("bob's list: %d passkeys, %d pages", len(got.Passkeys), got.Pages)
	}
	for _, page := range []string{"abc", "0", "-1", "1.5", "1e2", "%20", "1%00", "0x10", "+", "99999999999999999999"} {
		t.Run("malformed page "+page, func(t *testing.T) {
			c.mustError(t, http.StatusBadRequest, "invalid_page", "GET", "/api/passkeys?page="+page, nil)
		})
	}
}

func TestManagePasskey(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	long64 := strings.Repeat("é", 64)
	type step struct {
		method, body string
		status       int
		code         string
		check        func(t *testing.T, p passkeyd.PasskeyInfo) // of the passkey afterwards; nil when it is gone
	}
	named := func(want string) func(*testing.T, passkeyd.PasskeyInfo) {
		return func(t *testing.T, p passkeyd.PasskeyInfo) {
			if p.Name != want {
				t.Errorf("name %q, want %q", p.Name, want)
			}
		}
	}
	enabled := func(want bool) func(*testing.T, passkeyd.PasskeyInfo) {
		return func(t *testing.T, p passkeyd.PasskeyInfo) {
			if p.Enabled != want {
				t.Errorf("enabled %v, want %v", p.Enabled, want)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"get", []step{{method: "GET", status: 200, check: named("Laptop")}}},
		{"rename", []step{{method: "PATCH", body: `{"name":"Work laptop"}`, status: 200, check: named("Work laptop")}}},
		{"rename trims", []step{{method: "PATCH", body: `{"name":"  Work laptop\t"}`, status: 200, check: named("Work laptop")}}},
		{"rename to 64 characters", []step{{method: "PATCH", body: `{"name":"` + long64 + `"}`, status: 200, check: named(long64)}}},
		{"rename to empty resets to the platform", []step{{method: "PATCH", body: `{"name":""}`, status: 200, check: named("Apple")}}},
		{"rename to blank resets to the platform", []step{{method: "PATCH", body: `{"name":"   "}`, status: 200, check: named("Apple")}}},
		{"rename to 65 characters", []step{{method: "PATCH", body: `{"name":"` + long64 + `x"}`, status: 400, code: "invalid_name"}}},
		{"rename with a control character", []step{{method: "PATCH", body: `{"name":"a\u0000b"}`, status: 400, code: "invalid_name"}}},
		{"null name changes nothing", []step{{method: "PATCH", body: `{"name":null}`, status: 200, check: named("Laptop")}}},
		{"empty patch changes nothing", []step{{method: "PATCH", body: `{}`, status: 200, check: named("Laptop")}}},
		{"disable and enable", []step{
			{method: "PATCH", body: `{"enabled":false}`, status: 200, check: enabled(false)},
			{method: "PATCH", body: `{"enabled":true}`, status: 200, check: enabled(true)},
		}},
		{"rename and disable at once", []step{{method: "PATCH", body: `{"name":"Old","enabled":false}`, status: 200, check: func(t *testing.T, p passkeyd.PasskeyInfo) {
			named("Old")(t, p)
			enabled(false)(t, p)
		}}}},
		{"unknown field", []step{{method: "PATCH", body: `{"nmae":"x"}`, status: 400, code: "unknown_field"}}},
		{"unknown field beside a known one", []step{{method: "PATCH", body: `{"name":"x","platform":"Evil"}`, status: 400, code: "unknown_field"}}},
		{"name not a string", []step{{method: "PATCH", body: `{"name":5}`, status: 400, code: "invalid_type"}}},
		{"enabled not a bool", []step{{method: "PATCH", body: `{"enabled":"no"}`, status: 400, code: "invalid_type"}}},
		{"enabled as a number", []step{{method: "PATCH", body: `{"enabled":0}`, status: 400, code: "invalid_type"}}},
		{"body not an object", []step{{method: "PATCH", body: `["name"]`, status: 400}}},
		{"malformed JSON", []step{{method: "PATCH", body: `{"name":`, status: 400, code: "invalid_json"}}},
		{"empty body", []step{{method: "PATCH", body: ``, status: 400, code: "invalid_json"}}},
		{"two objects", []step{{method: "PATCH", body: `{"name":"a"}{"name":"b"}`, status: 400, code: "invalid_json"}}},
		{"trailing brace", []step{{method: "PATCH", body: `{"name":"a"}}`, status: 400, code: "invalid_json"}}},
		{"body over 64 KiB", []step{{method: "PATCH", body: `{"name":"` + strings.Repeat(" ", passkeyd.MaxBodyBytes) + `x"}`, status: 413, code: "body_too_large"}}},
		{"delete while enabled", []step{{method: "DELETE", status: 409, code: "passkey_enabled", check: enabled(true)}}},
		{"delete when disabled", []step{
			{method: "PATCH", body: `{"enabled":false}`, status: 200, check: enabled(false)},
			{method: "DELETE", status: 204},
			{method: "GET", status: 404, code: "passkey_not_found"},
			{method: "PATCH", body: `{"enabled":true}`, status: 404, code: "passkey_not_found"},
			{method: "DELETE", status: 404, code: "passkey_not_found"},
		}},
		{"delete after enabling again", []step{
			{method: "PATCH", body: `{"enabled":false}`, status: 200},
			{method: "PATCH", body: `{"enabled":true}`, status: 200},
			{method: "DELETE", status: 409, code: "passkey_enabled", check: enabled(true)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := w.userClient(t, uniqueName("manage"))
			c.ua = uaIPhone
			p := c.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), "Laptop")
			path := "/api/passkeys/" + p.ID
			for i, s := range tc.steps {
				before := w.h.snapshot(t)
				var body []byte
				if s.body != "" || s.method == "PATCH" {
					body = []byte(s.body)
				}
				if s.status >= 400 {
					c.mustError(t, s.status, s.code, s.method, path, body)
					if got := w.h.snapshot(t); got != before {
						t.Errorf("step %d: refused %s changed the database:\n%s\n->\n%s", i, s.method, before, got)
					}
				} else {
					b := c.must(t, s.status, s.method, path, body)
					switch {
					case s.status == http.StatusNoContent && len(b) != 0:
						t.Errorf("step %d: 204 with a body %q", i, b)
					case s.status == http.StatusOK && s.check != nil:
						s.check(t, checkPasskeyJSON(t, b)) // what was answered
					}
				}
				if s.check != nil {
					s.check(t, c.passkey(t, p.ID)) // what is stored
				}
			}
		})
	}
}

// Another user's passkey is 404 for GET, PATCH and DELETE, enabled or
// not, and nothing about it changes.
func TestManageOtherUsersPasskey(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	_, alice := w.userClient(t, "alice")
	_, bob := w.userClient(t, "bob")
	on := bob.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), "bob's on")
	off := bob.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), "bob's off")
	bob.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+off.ID, []byte(`{"enabled":false}`))
	alice.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), "alice's")
	for _, p := range []passkeyd.PasskeyInfo{on, off} {
		for _, r := range []struct{ method, body string }{
			{"GET", ""},
			{"PATCH", `{"name":"pwned"}`},
			{"PATCH", `{"name":""}`},
			{"PATCH", `{"enabled":false}`},
			{"PATCH", `{"enabled":true}`},
			{"PATCH", `{}`},
			{"DELETE", ""},
		} {
			t.Run(p.Name+" "+r.method+" "+r.body, func(t *testing.T) {
				before := w.h.snapshot(t)
				var body []byte
				if r.method == "PATCH" {
					body = []byte(r.body)
				}
				alice.mustError(t, http.StatusNotFound, "passkey_not_found", r.method, "/api/passkeys/"+p.ID, body)
				if got := w.h.snapshot(t); got != before {
					t.Errorf("changed the database:\n%s\n->\n%s", before, got)
				}
			})
		}
	}
	if got := bob.list(t, ""); len(got.Passkeys) != 2 {
		t.Errorf("bob has %d passkeys", len(got.Passkeys))
	}
}

func TestManageMalformedID(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	_, c := w.userClient(t, "alice")
	p := c.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), "")
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled":false}`))
	for _, id := range []string{
		"not-a-uuid",
		"1",
		strings.ToUpper(p.ID),
		strings.ReplaceAll(p.ID, "-", ""),
		"{" + p.ID + "}",
		"urn:uuid:" + p.ID,
		p.ID + "0",
		p.ID[:35],
		uuid.NewString(), // well formed, unknown
		"00000000-0000-0000-0000-000000000000",
		"%27%20OR%201=1--",
	} {
		for _, method := range []string{"GET", "PATCH", "DELETE"} {
			t.Run(method+" "+id, func(t *testing.T) {
				var body []byte
				if method == "PATCH" {
					body = []byte(`{"name":""}`)
				}
				before := w.h.snapshot(t)
				c.mustError(t, http.StatusNotFound, "passkey_not_found", method, "/api/passkeys/"+id, body)
				if got := w.h.snapshot(t); got != before {
					t.Errorf("changed the database:\n%s\n->\n%s", before, got)
				}
			})
		}
	}
}

func TestManageNotLoggedIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	_, c := w.userClient(t, "alice")
	p := c.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), "")
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p.ID, []byte(`{"enabled":false}`))
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"list", "GET", "/api/passkeys", ""},
		{"list page 2", "GET", "/api/passkeys?page=2", ""},
		{"list malformed page", "GET", "/api/passkeys?page=abc", ""},
		{"get", "GET", "/api/passkeys/" + p.ID, ""},
		{"get malformed id", "GET", "/api/passkeys/x", ""},
		{"rename", "PATCH", "/api/passkeys/" + p.ID, `{"name":"x"}`},
		{"patch malformed body", "PATCH", "/api/passkeys/" + p.ID, `{`},
		{"delete disabled", "DELETE", "/api/passkeys/" + p.ID, ""},
		{"register begin", "POST", "/api/passkeys/register/begin", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.h.snapshot(t)
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			w.h.client().mustError(t, http.StatusUnauthorized, "not_logged_in", tc.method, tc.path, body)
			// A session that exists but logs nobody in is no better.
			anon, _ := beginLogin(t, w)
			anon.mustError(t, http.StatusUnauthorized, "not_logged_in", tc.method, tc.path, body)
			if got := w.h.snapshot(t); got != before {
				t.Errorf("changed the database:\n%s\n->\n%s", before, got)
			}
		})
	}
}
