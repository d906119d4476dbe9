package passkeyd_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

func TestLoginBeginOptions(t *testing.T) {
	t.Parallel()
	for _, uv := range []string{"preferred", "required", "discouraged"} {
		t.Run("uv "+uv, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, harnessOptions{userVerification: uv, ceremonyTTL: 3 * time.Minute})
			_, alice := w.userClient(t, "alice")
			_, bob := w.userClient(t, "bob")
			enabled1 := passkeytest.New(w.h.origin, passkeytest.Options{})
			enabled2 := passkeytest.New(w.h.origin, passkeytest.Options{DeviceBound: true, Attachment: passkeytest.CrossPlatform})
			disabled := passkeytest.New(w.h.origin, passkeytest.Options{})
			bobs := passkeytest.New(w.h.origin, passkeytest.Options{})
			alice.register(t, enabled1, "")
			alice.register(t, enabled2, "")
			off := alice.register(t, disabled, "")
			alice.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+off.ID, []byte(`{"enabled":false}`))
			bob.register(t, bobs, "")
			_, carol := w.userClient(t, "carol") // no passkeys

			for _, tc := range []struct {
				name string
				c    *client
				body []byte
				want []string
			}{
				{"anonymous", w.h.client(), nil, []string{}},
				{"anonymous with {}", w.h.client(), []byte("{}"), []string{}},
				{"anonymous with a body to ignore", w.h.client(), []byte(`{"allowCredentials":[{"type":"public-key","id":"AAAA"}]}`), []string{}},
				{"logged in: enabled passkeys only", alice, nil, credIDs(enabled1, enabled2)},
				{"logged in: another user", bob, nil, credIDs(bobs)},
				{"logged in without passkeys", carol, nil, []string{}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					b := tc.c.must(t, http.StatusOK, "POST", "/api/login/begin", tc.body)
					if got := allowedIDs(t, b); !slices.Equal(got, tc.want) {
						t.Errorf("allowCredentials = %v, want %v", got, tc.want)
					}
					var o requestOptions
					if err := json.Unmarshal(b, &o); err != nil {
						t.Fatal(err)
					}
					pk := o.PublicKey
					if len(tc.want) == 0 && pk.AllowCredentials != nil && len(*pk.AllowCredentials) != 0 {
						t.Errorf("allowCredentials %v, want empty or absent", *pk.AllowCredentials)
					}
					if pk.UserVerification != uv || pk.RPID != "localhost" || pk.Timeout == nil || *pk.Timeout != 180_000 || len(pk.Challenge) < 22 {
						t.Errorf("options %s", b)
					}
				})
			}
		})
	}
}

func TestLoginFinish(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	alice, owner := w.userClient(t, "alice")
	owner.ua = uaIPhone
	a := passkeytest.New(w.h.origin, passkeytest.Options{DeviceBound: true})
	p := owner.register(t, a, "My phone")

	for i, tc := range []struct {
		name string
		c    func() *client
	}{
		{"discoverable login", func() *client { return w.h.client() }},
		{"second discoverable login", func() *client { return w.h.client() }},
		{"re-authentication of the logged-in user", func() *client { return owner }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c()
			c.ua = uaIPhone
			w.clock.Advance(time.Hour)
			at := w.clock.Now().UTC().Truncate(time.Second)
			opts := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
			resp, err := a.Login(opts)
			if err != nil {
				t.Fatal(err)
			}
			status, hdr, b := c.doFull(t, "POST", "/api/login/finish", resp)
			if status != http.StatusOK {
				t.Fatalf("finish = %d %s", status, b)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			// Exactly {user, auth}, with the SPEC's fields.
			var shape map[string]map[string]any
			if err := json.Unmarshal(b, &shape); err != nil {
				t.Fatalf("answer %s: %v", b, err)
			}
			if len(shape) != 2 || len(shape["user"]) != 3 || len(shape["auth"]) != 5 {
				t.Errorf("answer %s, want {user{id,username,display_name}, auth{use_passkey,name,id,platform,cross_platform}}", b)
			}
			var got loginAnswer
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			wantAuth := passkeyd.Auth{UsePasskey: true, Name: ptr("My phone"), ID: ptr(p.ID), Platform: ptr("Apple"), CrossPlatform: ptr(false)}
			if got.User != alice.Info() || !equalAuth(got.Auth, wantAuth) {
				t.Errorf("answer %s", b)
			}
			// The session is logged in, with the same record.
			var who whoami
			if err := json.Unmarshal(c.must(t, http.StatusOK, "GET", "/test/whoami", nil), &who); err != nil {
				t.Fatal(err)
			}
			if who.UserID != alice.ID || !equalAuth(who.Auth, wantAuth) {
				t.Errorf("session %+v", who)
			}
			// A protected endpoint works with the same client; the use is
			// recorded.
			var list struct{ Passkeys []passkeyd.PasskeyInfo }
			if err := json.Unmarshal(c.must(t, http.StatusOK, "GET", "/api/passkeys", nil), &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Passkeys) != 1 {
				t.Fatalf("list %+v", list)
			}
			got1 := list.Passkeys[0]
			if got1.LastUsedAt == nil || !got1.LastUsedAt.Equal(at) {
				t.Errorf("last_used_at = %v, want %v", got1.LastUsedAt, at)
			}
			if got1.SignCount != uint32(i+1) || got1.SignCount != a.Credentials()[0].SignCount {
				t.Errorf("sign_count = %d, want %d (the authenticator's)", got1.SignCount, i+1)
			}
			var last int64
			if err := w.h.db.SQL().QueryRow("SELECT last_login_at FROM passkeyd_users WHERE id = $1", alice.ID).Scan(&last); err != nil {
				t.Fatal(err)
			}
			if !time.UnixMicro(last).Truncate(time.Second).Equal(at) {
				t.Errorf("user's last_login_at = %v, want %v", time.UnixMicro(last), at)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func equalAuth(a, b passkeyd.Auth) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// The session token is renewed at every login: the token the client had
// before logs nobody in afterwards.
func TestLoginRenewsSessionToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	alice, owner := w.userClient(t, "alice")
	a := passkeytest.New(w.h.origin, passkeytest.Options{})
	owner.register(t, a, "")

	for _, tc := range []struct {
		name   string
		before func(t *testing.T) *client
	}{
		{"anonymous before (a planted token)", func(t *testing.T) *client {
			return w.h.clientWithCookie(randomB64(32))
		}},
		{"logged in before (re-authentication)", func(t *testing.T) *client {
			c := w.h.client()
			c.logInAs(t, alice)
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.before(t)
			opts := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
			old := c.sessionCookie()
			if old == "" {
				t.Fatal("no session cookie before the login")
			}
			resp, err := a.Login(opts)
			if err != nil {
				t.Fatal(err)
			}
			c.must(t, http.StatusOK, "POST", "/api/login/finish", resp)
			renewed := c.sessionCookie()
			if renewed == "" || renewed == old {
				t.Fatalf("session cookie %q -> %q, want a new token", old, renewed)
			}
			w.h.clientWithCookie(old).mustError(t, http.StatusUnauthorized, "not_logged_in", "GET", "/api/passkeys", nil)
			if got := w.h.clientWithCookie(old).whoami(t); got != "" {
				t.Errorf("the old token logs %q in", got)
			}
			w.h.clientWithCookie(renewed).must(t, http.StatusOK, "GET", "/api/passkeys", nil)
		})
	}
}

func TestLoginCrossPlatform(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	for _, tc := range []struct {
		name       string
		attachment string
		regUA      string
		loginUA    string
		want       bool
	}{
		{"platform authenticator, same device", passkeytest.Platform, uaIPhone, uaIPhone, false},
		{"platform authenticator, same platform other browser", passkeytest.Platform, uaAndroid, "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", false},
		{"synced to another platform", passkeytest.Platform, uaIPhone, uaWindows, true},
		{"registered on Windows, used on Android", passkeytest.Platform, uaWindows, uaAndroid, true},
		{"security key on the same device", passkeytest.CrossPlatform, uaWindows, uaWindows, true},
		{"phone as a security key (hybrid)", passkeytest.CrossPlatform, uaIPhone, uaIPhone, true},
		{"unknown platforms", passkeytest.Platform, "curl/8", "curl/8", false},
		{"unknown at registration, known at login", passkeytest.Platform, "curl/8", uaIPhone, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, owner := w.userClient(t, uniqueName("cross"))
			owner.ua = tc.regUA
			a := passkeytest.New(w.h.origin, passkeytest.Options{Attachment: tc.attachment})
			p := owner.register(t, a, "")
			c := w.h.client()
			c.ua = tc.loginUA
			got := c.login(t, a)
			if got.Auth.CrossPlatform == nil || *got.Auth.CrossPlatform != tc.want {
				t.Errorf("cross_platform = %v, want %v", deref(got.Auth.CrossPlatform), tc.want)
			}
			if got.Auth.Platform == nil || *got.Auth.Platform != p.Platform {
				t.Errorf("auth.platform = %v, want the passkey's %q", deref(got.Auth.Platform), p.Platform)
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// loginCase is a login finish that must be refused.
type loginCase struct {
	name   string
	uv     string
	status int    // 401 unless set
	code   string // "" accepts any code
	// make registers what the case needs and returns the client that
	// posts and the body; the client has begun the ceremony when it needs
	// one.
	make func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte)
}

// beginLogin begins a discoverable login from a new anonymous client.
func beginLogin(t *testing.T, w *world) (*client, []byte) {
	t.Helper()
	c := w.h.client()
	return c, c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
}

func assertion(t testing.TB, a *passkeytest.Authenticator, opts []byte, tm passkeytest.Tamper) []byte {
	t.Helper()
	resp, err := a.LoginWith(opts, tm)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// tamperedLogin is a case body: begin anonymously, answer with tamper tm.
func tamperedLogin(tm passkeytest.Tamper) func(*testing.T, *world, *passkeytest.Authenticator) (*client, []byte) {
	return func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
		c, opts := beginLogin(t, w)
		return c, assertion(t, a, opts, tm)
	}
}

// editedLogin is a case body: begin, answer, then set the member at path.
func editedLogin(v any, path ...string) func(*testing.T, *world, *passkeytest.Authenticator) (*client, []byte) {
	return func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
		c, opts := beginLogin(t, w)
		return c, setPath(t, assertion(t, a, opts, passkeytest.Tamper{}), v, path...)
	}
}

func rawLogin(body string) func(*testing.T, *world, *passkeytest.Authenticator) (*client, []byte) {
	return func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
		c, _ := beginLogin(t, w)
		return c, []byte(body)
	}
}

// ownerPatch PATCHes the passkey of a's newest credential as its owner
// and returns the passkey's id.
func ownerPatch(t *testing.T, w *world, a *passkeytest.Authenticator, body string) string {
	t.Helper()
	id := passkeyIDOf(t, w, a)
	owner := ownerClient(t, w, a)
	owner.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+id, []byte(body))
	return id
}

// passkeyIDOf returns the id of the passkey of a's newest credential.
func passkeyIDOf(t *testing.T, w *world, a *passkeytest.Authenticator) string {
	t.Helper()
	var id string
	if err := w.h.db.SQL().QueryRow("SELECT id FROM passkeyd_passkeys WHERE credential_id = $1", lastCredID(t, a)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// ownerClient returns a new client logged in as the owner of a's newest
// credential.
func ownerClient(t *testing.T, w *world, a *passkeytest.Authenticator) *client {
	t.Helper()
	var userID string
	if err := w.h.db.SQL().QueryRow("SELECT user_id FROM passkeyd_passkeys WHERE credential_id = $1", lastCredID(t, a)).Scan(&userID); err != nil {
		t.Fatal(err)
	}
	c := w.h.client()
	c.must(t, http.StatusOK, "POST", "/test/login/"+userID, nil)
	return c
}

func loginBadInputCases() []loginCase {
	return []loginCase{
		{name: "malformed JSON", make: rawLogin(`{"id":`)},
		{name: "empty body", make: rawLogin(``)},
		{name: "JSON array", make: rawLogin(`[]`)},
		{name: "JSON null", make: rawLogin(`null`)},
		{name: "empty object", make: rawLogin(`{}`)},
		{name: "response not an object", make: editedLogin("x", "response")},
		{name: "id not a string", make: editedLogin(42, "id")},
		{name: "signature not a string", make: editedLogin([]int{1}, "response", "signature")},
		{name: "type not public-key", make: editedLogin("password", "type")},
		{name: "id not matching rawId", make: editedLogin(randomB64(16), "id")},
		{name: "bad base64url clientDataJSON", make: editedLogin("***", "response", "clientDataJSON")},
		{name: "bad base64url authenticatorData", make: editedLogin("!!", "response", "authenticatorData")},
		{name: "bad base64url signature", make: editedLogin("a+b/c", "response", "signature")},
		{name: "bad base64url userHandle", make: editedLogin("~~", "response", "userHandle")},
		{name: "garbage authenticatorData", make: editedLogin(b64([]byte{0xff, 0x00, 0x13}), "response", "authenticatorData")},
		{name: "bad CBOR extensions in authenticatorData", make: func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
			c, opts := beginLogin(t, w)
			resp := assertion(t, a, opts, passkeytest.Tamper{})
			ad := decodeB64(t, getPath(t, resp, "response", "authenticatorData"))
			ad[32] |= 0x80 // ED: extension data follows
			ad = append(ad, 0xff, 0xfe, 0x1f)
			return c, setPath(t, resp, b64(ad), "response", "authenticatorData")
		}},
		{name: "clientDataJSON not JSON", make: tamperedLogin(passkeytest.Tamper{ClientDataJSON: []byte("{{")})},
		{name: "unknown challenge", code: "unknown_challenge", make: tamperedLogin(passkeytest.Tamper{Challenge: randomB64(32)})},
		{name: "expired challenge", code: "expired_challenge", make: func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
			c, opts := beginLogin(t, w)
			w.clock.Advance(5*time.Minute + time.Second)
			return c, assertion(t, a, opts, passkeytest.Tamper{})
		}},
		{name: "begun in another session", code: "unknown_challenge", make: func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
			_, opts := beginLogin(t, w)
			other, _ := beginLogin(t, w)
			return other, assertion(t, a, opts, passkeytest.Tamper{})
		}},
		{name: "posted without a session", code: "unknown_challenge", make: func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
			_, opts := beginLogin(t, w)
			return w.h.client(), assertion(t, a, opts, passkeytest.Tamper{})
		}},
		{name: "registration challenge", code: "unknown_challenge", make: func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
			_, c := w.userClient(t, uniqueName("reg"))
			reg := beginReg(t, c)
			// A registration ceremony answered as a login from the
			// same session.
			_, opts := beginLogin(t, w)
			return c, assertion(t, a, opts, passkeytest.Tamper{Challenge: getPath(t, reg, "publicKey", "challenge")})
		}},
		{name: "wrong origin", code: "login_failed", make: tamperedLogin(passkeytest.Tamper{Origin: "https://evil.example"})},
		{name: "wrong port", code: "login_failed", make: tamperedLogin(passkeytest.Tamper{Origin: "https://localhost:1"})},
		{name: "cross-origin iframe", code: "login_failed", make: tamperedLogin(passkeytest.Tamper{CrossOrigin: true, TopOrigin: "https://evil.example"})},
		{name: "type webauthn.create", code: "login_failed", make: tamperedLogin(passkeytest.Tamper{Type: "webauthn.create"})},
		{name: "wrong RP id hash", code: "login_failed", make: tamperedLogin(passkeytest.Tamper{RPID: "evil.example"})},
		{name: "missing user presence", code: "login_failed", make: tamperedLogin(passkeytest.Tamper{NoUP: true})},
		{name: "missing user verification when required", uv: "required", code: "login_failed", make: tamperedLogin(passkeytest.Tamper{NoUV: true})},
		{name: "bad signature", code: "login_failed", make: tamperedLogin(passkeytest.Tamper{BadSignature: true})},
		{name: "signature of another key", code: "login_failed", make: func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
			c, opts := beginLogin(t, w)
			resp := assertion(t, a, opts, passkeytest.Tamper{})
			// A second authenticator of the same user signs the same
			// challenge; its signature is put under a's credential id.
			other := passkeytest.New(w.h.origin, passkeytest.Options{})
			ownerClient(t, w, a).register(t, other, "")
			sig := getPath(t, assertion(t, other, opts, passkeytest.Tamper{}), "response", "signature")
			return c, setPath(t, resp, sig, "response", "signature")
		}},
		{name: "user handle of another user", code: "login_failed", make: func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
			bob := w.h.user(t, uniqueName("bob"))
			return tamperedLogin(passkeytest.Tamper{UserHandle: bob.Handle})(t, w, a)
		}},
		{name: "missing user handle", code: "login_failed", make: editedLogin("", "response", "userHandle")},
		{name: "unknown credential", code: "unknown_passkey", make: func(t *testing.T, w *world, _ *passkeytest.Authenticator) (*client, []byte) {
			// A credential made for this site whose registration was
			// never finished.
			_, u := w.userClient(t, uniqueName("unfinished"))
			a := passkeytest.New(w.h.origin, passkeytest.Options{})
			if _, err := a.Register(beginReg(t, u)); err != nil {
				t.Fatal(err)
			}
			return tamperedLogin(passkeytest.Tamper{})(t, w, a)
		}},
		{name: "disabled credential", code: "passkey_disabled", make: func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
			ownerPatch(t, w, a, `{"enabled":false}`)
			return tamperedLogin(passkeytest.Tamper{})(t, w, a)
		}},
		{name: "deleted credential", code: "unknown_passkey", make: func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
			id := ownerPatch(t, w, a, `{"enabled":false}`)
			ownerClient(t, w, a).must(t, http.StatusNoContent, "DELETE", "/api/passkeys/"+id, nil)
			return tamperedLogin(passkeytest.Tamper{})(t, w, a)
		}},
		{name: "another user's credential on re-authentication", code: "wrong_user", make: func(t *testing.T, w *world, a *passkeytest.Authenticator) (*client, []byte) {
			_, mallory := w.userClient(t, uniqueName("mallory"))
			mallory.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), "")
			opts := mallory.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
			// A client that ignores allowCredentials answers with a's
			// credential, another user's.
			opts = setPath(t, opts, []any{}, "publicKey", "allowCredentials")
			return mallory, assertion(t, a, opts, passkeytest.Tamper{})
		}},
		{name: "body over 64 KiB", status: http.StatusRequestEntityTooLarge, code: "body_too_large",
			make: editedLogin(strings.Repeat("p", passkeyd.MaxBodyBytes), "padding")},
	}
}

func decodeB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every bad login is a 4xx JSON error (401 but for the body limit),
// logs nobody in and changes nothing stored.
func TestLoginBadInput(t *testing.T) {
	t.Parallel()
	worlds := map[string]*world{
		"":         newWorld(t, harnessOptions{}),
		"required": newWorld(t, harnessOptions{userVerification: "required"}),
	}
	for _, tc := range loginBadInputCases() {
		t.Run(tc.name, func(t *testing.T) {
			w := worlds[tc.uv]
			_, owner := w.userClient(t, uniqueName("login"))
			// A device-bound key, so that a login that got through would
			// show in the sign count as well as in last_used_at.
			a := passkeytest.New(w.h.origin, passkeytest.Options{DeviceBound: true})
			owner.register(t, a, "")
			poster, body := tc.make(t, w, a)
			who := poster.whoami(t)
			cookie := poster.sessionCookie()
			before := w.h.snapshot(t)
			status := tc.status
			if status == 0 {
				status = http.StatusUnauthorized
			}
			poster.mustError(t, status, tc.code, "POST", "/api/login/finish", body)
			if got := w.h.snapshot(t); got != before {
				t.Errorf("refused login changed the database:\n%s\n->\n%s", before, got)
			}
			if got := poster.whoami(t); got != who {
				t.Errorf("session user %q after a refused login, was %q", got, who)
			}
			if who == "" {
				poster.mustError(t, http.StatusUnauthorized, "not_logged_in", "GET", "/api/passkeys", nil)
			}
			if got := poster.sessionCookie(); got != cookie {
				t.Errorf("session token renewed by a refused login")
			}
		})
	}
}

// A re-authentication with another user's credential leaves the session
// as it was: still the logged-in user, not the credential's owner.
func TestLoginReauthOtherUsersCredential(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	alice, aliceC := w.userClient(t, "alice")
	_, bobC := w.userClient(t, "bob")
	aliceKey := passkeytest.New(w.h.origin, passkeytest.Options{})
	bobKey := passkeytest.New(w.h.origin, passkeytest.Options{})
	aliceC.register(t, aliceKey, "")
	bobC.register(t, bobKey, "")

	opts := aliceC.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
	if got, want := allowedIDs(t, opts), credIDs(aliceKey); !slices.Equal(got, want) {
		t.Fatalf("allowCredentials %v, want %v", got, want)
	}
	if _, err := bobKey.Login(opts); err == nil {
		t.Fatal("bob's authenticator answered options that list only alice's passkeys")
	}
	opts = setPath(t, opts, []any{}, "publicKey", "allowCredentials")
	before := w.h.snapshot(t)
	aliceC.mustError(t, http.StatusUnauthorized, "wrong_user", "POST", "/api/login/finish", assertion(t, bobKey, opts, passkeytest.Tamper{}))
	if got := aliceC.whoami(t); got != alice.ID {
		t.Errorf("session user %q, want alice %q", got, alice.ID)
	}
	if got := w.h.snapshot(t); got != before {
		t.Errorf("refused login changed the database:\n%s\n->\n%s", before, got)
	}
	// Alice's own passkey still re-authenticates her.
	if got := aliceC.login(t, aliceKey); got.User.ID != alice.ID {
		t.Errorf("re-authentication answer %+v", got)
	}
}

// A finish that fails uses nothing up: the owner's right answer to the
// same options still logs in, so a stranger who learns a challenge (or a
// broken answer) cannot cancel the owner's ceremony.
func TestLoginFailedFinishUsesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	for _, tc := range []struct {
		name string
		bad  func(t *testing.T, c *client, opts []byte, a *passkeytest.Authenticator) (*client, []byte)
	}{
		{"bad signature", func(t *testing.T, c *client, opts []byte, a *passkeytest.Authenticator) (*client, []byte) {
			return c, assertion(t, a, opts, passkeytest.Tamper{BadSignature: true})
		}},
		{"wrong origin", func(t *testing.T, c *client, opts []byte, a *passkeytest.Authenticator) (*client, []byte) {
			return c, assertion(t, a, opts, passkeytest.Tamper{Origin: "https://evil.example"})
		}},
		{"missing user presence", func(t *testing.T, c *client, opts []byte, a *passkeytest.Authenticator) (*client, []byte) {
			return c, assertion(t, a, opts, passkeytest.Tamper{NoUP: true})
		}},
		{"unknown credential", func(t *testing.T, c *client, opts []byte, _ *passkeytest.Authenticator) (*client, []byte) {
			stranger := passkeytest.New(w.h.origin, passkeytest.Options{})
			_, u := w.userClient(t, uniqueName("stranger"))
			if _, err := stranger.Register(beginReg(t, u)); err != nil {
				t.Fatal(err)
			}
			return c, assertion(t, stranger, opts, passkeytest.Tamper{})
		}},
		{"posted from another session", func(t *testing.T, c *client, opts []byte, a *passkeytest.Authenticator) (*client, []byte) {
			other, _ := beginLogin(t, w)
			return other, assertion(t, a, opts, passkeytest.Tamper{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, owner := w.userClient(t, uniqueName("used"))
			a := passkeytest.New(w.h.origin, passkeytest.Options{})
			owner.register(t, a, "")
			c, opts := beginLogin(t, w)
			poster, bad := tc.bad(t, c, opts, a)
			poster.mustError(t, http.StatusUnauthorized, "", "POST", "/api/login/finish", bad)
			good := assertion(t, a, opts, passkeytest.Tamper{})
			got := c.must(t, http.StatusOK, "POST", "/api/login/finish", good)
			if id := getPath(t, got, "user", "id"); id != c.whoami(t) || id == "" {
				t.Errorf("logged in as %q, session says %q", id, c.whoami(t))
			}
			c.mustError(t, http.StatusUnauthorized, "unknown_challenge", "POST", "/api/login/finish", good)
		})
	}
}

// A replayed response (the same good response posted twice) is refused
// the second time and changes nothing.
func TestLoginReplay(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	_, owner := w.userClient(t, "alice")
	a := passkeytest.New(w.h.origin, passkeytest.Options{DeviceBound: true})
	owner.register(t, a, "")
	c, opts := beginLogin(t, w)
	resp := assertion(t, a, opts, passkeytest.Tamper{})
	c.must(t, http.StatusOK, "POST", "/api/login/finish", resp)
	for _, tc := range []struct {
		name string
		c    *client
	}{
		{"same session", c},
		{"another session", w.h.client()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.h.snapshot(t)
			tc.c.mustError(t, http.StatusUnauthorized, "unknown_challenge", "POST", "/api/login/finish", resp)
			if got := w.h.snapshot(t); got != before {
				t.Errorf("replay changed the database:\n%s\n->\n%s", before, got)
			}
		})
	}
}

// Several ceremonies can be pending in one session (two tabs), finished
// in any order, and a login does not cancel the other tab's ceremony.
func TestTwoTabs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, alice *passkeyd.User, c *client)
	}{
		{"two logins finished in reverse order", func(t *testing.T, alice *passkeyd.User, owner *client) {
			a := passkeytest.New(w.h.origin, passkeytest.Options{})
			owner.register(t, a, "")
			c := w.h.client()
			opts1 := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
			opts2 := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
			c.must(t, http.StatusOK, "POST", "/api/login/finish", assertion(t, a, opts2, passkeytest.Tamper{}))
			c.must(t, http.StatusOK, "POST", "/api/login/finish", assertion(t, a, opts1, passkeytest.Tamper{}))
			if got := c.whoami(t); got != alice.ID {
				t.Errorf("logged in as %q", got)
			}
		}},
		{"two registrations finished in reverse order", func(t *testing.T, alice *passkeyd.User, c *client) {
			a := passkeytest.New(w.h.origin, passkeytest.Options{})
			opts1 := beginReg(t, c)
			opts2 := beginReg(t, c)
			p2 := checkPasskeyJSON(t, c.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", c.registration(t, a, opts2, passkeytest.Tamper{}, "tab 2")))
			p1 := checkPasskeyJSON(t, c.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", c.registration(t, a, opts1, passkeytest.Tamper{}, "tab 1")))
			if p1.Name != "tab 1" || p2.Name != "tab 2" || p1.ID == p2.ID {
				t.Errorf("registered %+v and %+v", p1, p2)
			}
		}},
		{"a login in one tab keeps a registration pending in another", func(t *testing.T, alice *passkeyd.User, c *client) {
			a := passkeytest.New(w.h.origin, passkeytest.Options{})
			c.register(t, a, "")
			reg := beginReg(t, c)
			token := c.sessionCookie()
			c.login(t, a) // re-authentication in the other tab renews the token
			if c.sessionCookie() == token {
				t.Fatal("token not renewed")
			}
			b := passkeytest.New(w.h.origin, passkeytest.Options{})
			c.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", c.registration(t, b, reg, passkeytest.Tamper{}, nil))
		}},
		{"a login in one tab keeps another login pending", func(t *testing.T, alice *passkeyd.User, owner *client) {
			a := passkeytest.New(w.h.origin, passkeytest.Options{})
			owner.register(t, a, "")
			c := w.h.client()
			opts1 := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
			c.login(t, a)
			c.must(t, http.StatusOK, "POST", "/api/login/finish", assertion(t, a, opts1, passkeytest.Tamper{}))
		}},
		{"a password login keeps an anonymous tab's login pending", func(t *testing.T, alice *passkeyd.User, owner *client) {
			// An anonymous tab begins a login, the other tab logs in with
			// a password; the first tab's login still finishes.
			a := passkeytest.New(w.h.origin, passkeytest.Options{})
			owner.register(t, a, "")
			c := w.h.client()
			opts := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
			c.logInAs(t, alice)
			c.must(t, http.StatusOK, "POST", "/api/login/finish", assertion(t, a, opts, passkeytest.Tamper{}))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice, c := w.userClient(t, uniqueName("tabs"))
			tc.run(t, alice, c)
		})
	}
}

// counterWorld is one user's passkey and its authenticator, for the sign
// counter and backup flag rules.
type counterWorld struct {
	w     *world
	a     *passkeytest.Authenticator
	owner *client
	id    string // the passkey's id
	cred  []byte // its credential id
}

// login logs in anonymously and returns the status, and the error code
// when refused.
func (cw *counterWorld) login(t *testing.T) (int, string) {
	t.Helper()
	c, opts := beginLogin(t, cw.w)
	status, hdr, b := c.doFull(t, "POST", "/api/login/finish", assertion(t, cw.a, opts, passkeytest.Tamper{}))
	switch status {
	case http.StatusOK:
		if c.whoami(t) == "" {
			t.Error("login answered 200 but the session is not logged in")
		}
		return status, ""
	case http.StatusUnauthorized:
		if c.whoami(t) != "" {
			t.Error("refused login left the session logged in")
		}
		return status, checkError(t, hdr, b, "").Error
	}
	t.Fatalf("login finish = %d %s", status, b)
	return 0, ""
}

func (cw *counterWorld) mustLogin(t *testing.T, want int, code string) passkeyd.PasskeyInfo {
	t.Helper()
	status, got := cw.login(t)
	if status != want || got != code {
		t.Fatalf("login = %d %q, want %d %q", status, got, want, code)
	}
	return cw.owner.passkey(t, cw.id)
}

func TestSignCounterAndBackupFlags(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	const ok, refused = http.StatusOK, http.StatusUnauthorized
	for _, tc := range []struct {
		name        string
		deviceBound bool
		run         func(t *testing.T, cw *counterWorld)
	}{
		{"device-bound: counter increases", true, func(t *testing.T, cw *counterWorld) {
			for i := 1; i <= 3; i++ {
				p := cw.mustLogin(t, ok, "")
				if p.SignCount != uint32(i) || p.CloneWarning || p.BackupEligible || p.BackedUp {
					t.Fatalf("after login %d: %+v", i, p)
				}
			}
		}},
		{"device-bound: counter repeats", true, func(t *testing.T, cw *counterWorld) {
			first := cw.mustLogin(t, ok, "") // counter 1
			cw.a.SetSignCount(cw.cred, 0)    // reports 1 again
			p := cw.mustLogin(t, refused, "possible_clone")
			if !p.CloneWarning || p.Enabled || p.SignCount != 1 || !equalTime(p.LastUsedAt, first.LastUsedAt) {
				t.Errorf("after the refused login: %+v, want clone_warning, disabled, sign_count 1 and last_used_at %v", p, first.LastUsedAt)
			}
			// Disabled for both copies: the next login, whichever copy
			// it comes from, is refused, until the owner re-enables it.
			cw.mustLogin(t, refused, "passkey_disabled")
			cw.owner.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+cw.id, []byte(`{"enabled":true}`))
			cw.a.SetSignCount(cw.cred, 5)
			if p := cw.mustLogin(t, ok, ""); p.SignCount != 6 || !p.CloneWarning {
				t.Errorf("after re-enabling: %+v, want a login with the counter at 6 and the warning kept", p)
			}
		}},
		{"device-bound: counter goes backwards", true, func(t *testing.T, cw *counterWorld) {
			cw.a.SetSignCount(cw.cred, 9)
			cw.mustLogin(t, ok, "") // counter 10
			cw.a.SetSignCount(cw.cred, 3)
			p := cw.mustLogin(t, refused, "possible_clone")
			if !p.CloneWarning || p.SignCount != 10 {
				t.Errorf("after the refused login: %+v", p)
			}
		}},
		{"device-bound: counter wraps to 0", true, func(t *testing.T, cw *counterWorld) {
			cw.a.SetSignCount(cw.cred, 41)
			cw.mustLogin(t, ok, "") // 42
			cw.a.SetSignCount(cw.cred, ^uint32(0))
			p := cw.mustLogin(t, refused, "possible_clone") // reports 0
			if !p.CloneWarning || p.SignCount != 42 {
				t.Errorf("after the refused login: %+v", p)
			}
		}},
		{"synced: counter stays 0", false, func(t *testing.T, cw *counterWorld) {
			for range 2 {
				if p := cw.mustLogin(t, ok, ""); p.SignCount != 0 || p.CloneWarning {
					t.Fatalf("%+v", p)
				}
			}
		}},
		{"synced: counter goes backwards", false, func(t *testing.T, cw *counterWorld) {
			cw.a.SetSignCount(cw.cred, 5)
			if p := cw.mustLogin(t, ok, ""); p.SignCount != 5 || p.CloneWarning {
				t.Fatalf("%+v", p)
			}
			cw.a.SetSignCount(cw.cred, 3)
			p := cw.mustLogin(t, ok, "")
			if !p.CloneWarning || p.SignCount != 5 || p.LastUsedAt == nil {
				t.Errorf("after the regression: %+v, want clone_warning and sign_count kept at 5", p)
			}
			// The warning stays.
			cw.a.SetSignCount(cw.cred, 6)
			if p := cw.mustLogin(t, ok, ""); !p.CloneWarning || p.SignCount != 6 {
				t.Errorf("later: %+v", p)
			}
		}},
		{"synced: counter repeats", false, func(t *testing.T, cw *counterWorld) {
			cw.a.SetSignCount(cw.cred, 7)
			cw.mustLogin(t, ok, "")
			if p := cw.mustLogin(t, ok, ""); !p.CloneWarning || p.SignCount != 7 {
				t.Errorf("%+v", p)
			}
		}},
		{"backup eligible 0 to 1 (iCloud Keychain) is accepted", true, func(t *testing.T, cw *counterWorld) {
			cw.mustLogin(t, ok, "")
			cw.a.SetFlags(cw.cred, true, true)
			p := cw.mustLogin(t, ok, "")
			if !p.BackupEligible || !p.BackedUp || p.SignCount != 2 || p.CloneWarning {
				t.Errorf("after the upgrade: %+v", p)
			}
			// Now a synced passkey: going back to 0 is refused.
			cw.a.SetFlags(cw.cred, false, false)
			if p := cw.mustLogin(t, refused, "login_failed"); !p.BackupEligible {
				t.Errorf("after the refused downgrade: %+v", p)
			}
		}},
		{"backup eligible 0 to 1 does not excuse a repeated counter", true, func(t *testing.T, cw *counterWorld) {
			cw.a.SetSignCount(cw.cred, 4)
			cw.mustLogin(t, ok, "") // 5
			cw.a.SetSignCount(cw.cred, 1)
			cw.a.SetFlags(cw.cred, true, true)
			if p := cw.mustLogin(t, refused, "possible_clone"); !p.CloneWarning || p.SignCount != 5 {
				t.Errorf("after the refused login: %+v", p)
			}
		}},
		{"backup eligible 0 to 1, not yet backed up", true, func(t *testing.T, cw *counterWorld) {
			cw.a.SetFlags(cw.cred, true, false)
			if p := cw.mustLogin(t, ok, ""); !p.BackupEligible || p.BackedUp {
				t.Errorf("%+v", p)
			}
		}},
		{"backup eligible 1 to 0 is refused", false, func(t *testing.T, cw *counterWorld) {
			before := cw.owner.passkey(t, cw.id)
			cw.a.SetFlags(cw.cred, false, false)
			p := cw.mustLogin(t, refused, "login_failed")
			if !equalInfo(p, before) {
				t.Errorf("refused login changed the passkey: %+v -> %+v", before, p)
			}
		}},
		{"backed up without backup eligible is refused (device-bound)", true, func(t *testing.T, cw *counterWorld) {
			before := cw.owner.passkey(t, cw.id)
			cw.a.SetFlags(cw.cred, false, true)
			if p := cw.mustLogin(t, refused, "login_failed"); !equalInfo(p, before) {
				t.Errorf("refused login changed the passkey: %+v -> %+v", before, p)
			}
		}},
		{"backed up without backup eligible is refused (synced)", false, func(t *testing.T, cw *counterWorld) {
			cw.a.SetFlags(cw.cred, false, true)
			cw.mustLogin(t, refused, "login_failed")
		}},
		{"backed up follows the latest login", false, func(t *testing.T, cw *counterWorld) {
			cw.a.SetFlags(cw.cred, true, false)
			if p := cw.mustLogin(t, ok, ""); !p.BackupEligible || p.BackedUp {
				t.Errorf("%+v", p)
			}
			cw.a.SetFlags(cw.cred, true, true)
			if p := cw.mustLogin(t, ok, ""); !p.BackupEligible || !p.BackedUp {
				t.Errorf("%+v", p)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, owner := w.userClient(t, uniqueName("counter"))
			a := passkeytest.New(w.h.origin, passkeytest.Options{DeviceBound: tc.deviceBound})
			p := owner.register(t, a, "")
			if p.BackupEligible == tc.deviceBound || p.BackedUp == tc.deviceBound {
				t.Fatalf("registered %+v", p)
			}
			w.clock.Advance(time.Second)
			tc.run(t, &counterWorld{w: w, a: a, owner: owner, id: p.ID, cred: lastCredID(t, a)})
		})
	}
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// A begin gives the browser no session, only the ceremony's sealed state
// in a cookie that lives as long as the ceremony; the login's session
// cookie then has the session lifetime.
func TestBeginMakesNoSession(t *testing.T) {
	h := newHarness(t, harnessOptions{ceremonyTTL: time.Minute})
	alice := h.user(t, "alice-short")
	owner := h.client()
	owner.logInAs(t, alice)
	a := passkeytest.New(h.origin, passkeytest.Options{})
	owner.register(t, a, "")

	c := h.client()
	cookies := func(hdr http.Header) map[string]*http.Cookie {
		out := map[string]*http.Cookie{}
		for _, line := range hdr.Values("Set-Cookie") {
			ck, err := http.ParseSetCookie(line)
			if err != nil {
				t.Fatal(err)
			}
			out[ck.Name] = ck
		}
		return out
	}
	status, hdr, opts := c.doFull(t, "POST", "/api/login/begin", nil)
	if status != http.StatusOK {
		t.Fatalf("begin: %d", status)
	}
	set := cookies(hdr)
	if _, ok := set[passkeyd.CookieName]; ok {
		t.Fatal("an anonymous begin set a session cookie")
	}
	if len(set) != 1 {
		t.Fatalf("begin set cookies %v, want one ceremony cookie", set)
	}
	for name, ck := range set {
		if !strings.HasPrefix(name, "passkeyd_ceremony_") || ck.MaxAge != 60 || !ck.HttpOnly || !ck.Secure ||
			ck.SameSite != http.SameSiteStrictMode || ck.Value != hdr.Get(passkeyd.CeremonyHeader) {
			t.Errorf("ceremony cookie %+v (header %q)", ck, hdr.Get(passkeyd.CeremonyHeader))
		}
	}
	resp, err := a.Login(opts)
	if err != nil {
		t.Fatal(err)
	}
	status, hdr, body := c.doFull(t, "POST", "/api/login/finish", resp)
	if status != http.StatusOK {
		t.Fatalf("finish: %d %s", status, body)
	}
	set = cookies(hdr)
	if ck := set[passkeyd.CookieName]; ck == nil || ck.Expires.Before(time.Now().Add(23*time.Hour)) || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v, want one for the session lifetime", ck)
	}
	for name, ck := range set {
		if strings.HasPrefix(name, "passkeyd_ceremony_") && ck.MaxAge >= 0 {
			t.Errorf("the finish kept its ceremony cookie %+v", ck)
		}
	}
}
