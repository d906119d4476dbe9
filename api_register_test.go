package passkeyd_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

func TestRegisterRequiresLogin(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	// A real response to a real begin, posted by a client that is not
	// logged in: the login check comes first.
	_, owner := w.userClient(t, "alice")
	opts := owner.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
	resp := owner.registration(t, passkeytest.New(w.h.origin, passkeytest.Options{}), opts, passkeytest.Tamper{}, nil)
	for _, tc := range []struct {
		name string
		path string
		body []byte
	}{
		{"begin without a body", "/api/passkeys/register/begin", nil},
		{"begin with {}", "/api/passkeys/register/begin", []byte("{}")},
		{"finish with a valid response", "/api/passkeys/register/finish", resp},
		{"finish with garbage", "/api/passkeys/register/finish", []byte("garbage")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.h.snapshot(t)
			anon := w.h.client()
			anon.mustError(t, http.StatusUnauthorized, "not_logged_in", "POST", tc.path, tc.body)
			if got := w.h.snapshot(t); got != before {
				t.Errorf("refused request changed the database:\n%s\n->\n%s", before, got)
			}
		})
	}
	// The ceremony is still the owner's: the anonymous attempt did not
	// even read it.
	owner.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", resp)
}

func TestRegisterOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		uv          string
		attachment  string
		ttl         time.Duration
		wantUV      string
		wantTimeout int64
		authOpts    passkeytest.Options
	}{
		{name: "defaults", wantUV: "preferred", wantTimeout: 300_000},
		{name: "uv required, 2m", uv: "required", ttl: 2 * time.Minute, wantUV: "required", wantTimeout: 120_000},
		{name: "uv discouraged, 90s", uv: "discouraged", ttl: 90 * time.Second, wantUV: "discouraged", wantTimeout: 90_000},
		{name: "platform attachment", attachment: "platform", wantUV: "preferred", wantTimeout: 300_000},
		{name: "cross-platform attachment", attachment: "cross-platform", wantUV: "preferred", wantTimeout: 300_000,
			authOpts: passkeytest.Options{Attachment: passkeytest.CrossPlatform}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, harnessOptions{userVerification: tc.uv, attachment: tc.attachment, ceremonyTTL: tc.ttl})
			alice, c := w.userClient(t, "alice")
			_, bobC := w.userClient(t, "bob")
			bobC.register(t, passkeytest.New(w.h.origin, tc.authOpts), "")

			// With no passkeys yet, nothing is excluded.
			var o creationOptions
			b := c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", []byte("{}"))
			if err := json.Unmarshal(b, &o); err != nil {
				t.Fatal(err)
			}
			if len(o.PublicKey.ExcludeCredentials) != 0 {
				t.Errorf("excludeCredentials = %v for a user without passkeys", o.PublicKey.ExcludeCredentials)
			}

			// Two passkeys, one of them disabled: both are excluded.
			a1 := passkeytest.New(w.h.origin, tc.authOpts)
			a2 := passkeytest.New(w.h.origin, tc.authOpts)
			c.register(t, a1, "")
			p2 := c.register(t, a2, "")
			c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p2.ID, []byte(`{"enabled":false}`))

			b = c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
			o = creationOptions{}
			if err := json.Unmarshal(b, &o); err != nil {
				t.Fatal(err)
			}
			pk := o.PublicKey
			var excluded []string
			for _, d := range pk.ExcludeCredentials {
				if d.Type != "public-key" {
					t.Errorf("excludeCredentials entry of type %q", d.Type)
				}
				excluded = append(excluded, d.ID)
			}
			slices.Sort(excluded)
			if want := credIDs(a1, a2); !slices.Equal(excluded, want) {
				t.Errorf("excludeCredentials = %v, want the user's passkeys (enabled and disabled) %v", excluded, want)
			}
			sel := pk.AuthenticatorSelection
			if sel.ResidentKey != "preferred" {
				t.Errorf("residentKey = %q, want preferred", sel.ResidentKey)
			}
			if sel.RequireResidentKey != nil && *sel.RequireResidentKey {
				t.Error("requireResidentKey = true, want false with residentKey preferred")
			}
			if sel.UserVerification != tc.wantUV {
				t.Errorf("userVerification = %q, want %q", sel.UserVerification, tc.wantUV)
			}
			if sel.AuthenticatorAttachment != tc.attachment {
				t.Errorf("authenticatorAttachment = %q, want %q", sel.AuthenticatorAttachment, tc.attachment)
			}
			var algs []int
			for _, p := range pk.PubKeyCredParams {
				if p.Type != "public-key" {
					t.Errorf("pubKeyCredParams entry of type %q", p.Type)
				}
				algs = append(algs, p.Alg)
			}
			for _, alg := range []int{-7, -8, -257} {
				if !slices.Contains(algs, alg) {
					t.Errorf("pubKeyCredParams %v lacks %d", algs, alg)
				}
			}
			if pk.Attestation != "none" {
				t.Errorf("attestation = %q, want none", pk.Attestation)
			}
			if pk.Timeout == nil || *pk.Timeout != tc.wantTimeout {
				t.Errorf("timeout = %v, want %d (the ceremony TTL in ms)", pk.Timeout, tc.wantTimeout)
			}
			if pk.RP.ID != "localhost" || pk.RP.Name != "passkeyd test" {
				t.Errorf("rp = %+v", pk.RP)
			}
			if pk.User.Name != "alice" || pk.User.ID == "" || pk.User.ID == b64([]byte(alice.ID)) || pk.User.ID != b64(alice.Handle) {
				t.Errorf("user = %+v, want name alice and id the random WebAuthn handle", pk.User)
			}
			if len(pk.Challenge) < 22 { // 16 bytes
				t.Errorf("challenge %q is too short", pk.Challenge)
			}

			// The authenticators honour the exclusion, as browsers do.
			if _, err := a1.Register(b); !errors.Is(err, passkeytest.ErrExcluded) {
				t.Errorf("an enabled passkey's authenticator registering again: %v, want ErrExcluded", err)
			}
			if _, err := a2.Register(b); !errors.Is(err, passkeytest.ErrExcluded) {
				t.Errorf("a disabled passkey's authenticator registering again: %v, want ErrExcluded", err)
			}
		})
	}
}

func TestRegisterAlgorithmsAndAttestation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	for _, tc := range []struct {
		name string
		opts passkeytest.Options
	}{
		{"ES256 none", passkeytest.Options{Algorithm: passkeytest.ES256}},
		{"EdDSA none", passkeytest.Options{Algorithm: passkeytest.EdDSA}},
		{"RS256 none", passkeytest.Options{Algorithm: passkeytest.RS256}},
		{"ES256 packed self attestation", passkeytest.Options{Algorithm: passkeytest.ES256, Attestation: passkeytest.AttestationPacked}},
		{"EdDSA packed self attestation", passkeytest.Options{Algorithm: passkeytest.EdDSA, Attestation: passkeytest.AttestationPacked}},
		{"RS256 packed self attestation", passkeytest.Options{Algorithm: passkeytest.RS256, Attestation: passkeytest.AttestationPacked}},
		{"device-bound security key", passkeytest.Options{DeviceBound: true, Attachment: passkeytest.CrossPlatform}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, c := w.userClient(t, uniqueName("alg"))
			c.ua = uaIPhone
			a := passkeytest.New(w.h.origin, tc.opts)
			opts := c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
			resp := c.registration(t, a, opts, passkeytest.Tamper{}, nil)
			start := w.clock.Now().UTC().Truncate(time.Second)
			status, hdr, b := c.doFull(t, "POST", "/api/passkeys/register/finish", resp)
			if status != http.StatusCreated {
				t.Fatalf("finish = %d %s, want 201", status, b)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			p := checkPasskeyJSON(t, b)
			bound := tc.opts.DeviceBound
			wantTransports := []string{"internal"}
			if tc.opts.Attachment == passkeytest.CrossPlatform {
				wantTransports = []string{"usb"}
			}
			if p.Name != "Apple" || p.Platform != "Apple" || p.Provider != "" ||
				p.AAGUID != "00000000-0000-0000-0000-000000000000" || !p.Enabled ||
				p.LastUsedAt != nil || p.BackupEligible == bound || p.BackedUp == bound ||
				!slices.Equal(p.Transports, wantTransports) || p.SignCount != 0 || p.CloneWarning ||
				p.CreatedAt.Before(start) || p.CreatedAt.After(start.Add(time.Second)) {
				t.Errorf("registered passkey %+v", p)
			}
			if got := c.passkey(t, p.ID); !equalInfo(got, p) {
				t.Errorf("GET = %+v, want the registered %+v", got, p)
			}
			// The stored key (an RSA one does not fit 255 bytes) verifies a
			// login.
			got := w.h.client().login(t, a)
			if got.User.ID != u.ID || got.Auth.ID == nil || *got.Auth.ID != p.ID {
				t.Errorf("login with the new passkey: %+v", got)
			}
		})
	}
}

// equalInfo compares passkeys as the API shows them.
func equalInfo(a, b passkeyd.PasskeyInfo) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestRegisterNameAndPlatform(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	long64 := strings.Repeat("n", 64)
	wide64 := strings.Repeat("é", 64) // 128 bytes, 64 characters
	for _, tc := range []struct {
		name         string
		ua           string
		body         json.RawMessage // the "name" member; nil leaves it out
		status       int
		code         string
		wantName     string
		wantPlatform string
	}{
		{name: "iPhone, no name", ua: uaIPhone, status: 201, wantName: "Apple", wantPlatform: "Apple"},
		{name: "Windows, no name", ua: uaWindows, status: 201, wantName: "Microsoft", wantPlatform: "Microsoft"},
		{name: "Android, no name", ua: uaAndroid, status: 201, wantName: "Google", wantPlatform: "Google"},
		{name: "unknown browser, no name", ua: "curl/8.5.0", status: 201, wantName: "Unknown", wantPlatform: "Unknown"},
		{name: "null name", ua: uaIPhone, body: json.RawMessage(`null`), status: 201, wantName: "Apple", wantPlatform: "Apple"},
		{name: "empty name", ua: uaIPhone, body: json.RawMessage(`""`), status: 201, wantName: "Apple", wantPlatform: "Apple"},
		{name: "blank name", ua: uaWindows, body: json.RawMessage(`"  \t "`), status: 201, wantName: "Microsoft", wantPlatform: "Microsoft"},
		{name: "name trimmed", ua: uaIPhone, body: json.RawMessage(`"  My iPhone \n"`), status: 201, wantName: "My iPhone", wantPlatform: "Apple"},
		{name: "64 characters", ua: uaIPhone, body: json.RawMessage(`"` + long64 + `"`), status: 201, wantName: long64, wantPlatform: "Apple"},
		{name: "64 two-byte characters", ua: uaIPhone, body: json.RawMessage(`"` + wide64 + `"`), status: 201, wantName: wide64, wantPlatform: "Apple"},
		{name: "64 characters after trimming", ua: uaIPhone, body: json.RawMessage(`"  ` + long64 + `  "`), status: 201, wantName: long64, wantPlatform: "Apple"},
		{name: "65 characters", ua: uaIPhone, body: json.RawMessage(`"` + long64 + `x"`), status: 400, code: "invalid_name"},
		{name: "65 two-byte characters", ua: uaIPhone, body: json.RawMessage(`"` + wide64 + `é"`), status: 400, code: "invalid_name"},
		{name: "control character", ua: uaIPhone, body: json.RawMessage(`"a\u0007b"`), status: 400, code: "invalid_name"},
		{name: "number", ua: uaIPhone, body: json.RawMessage(`42`), status: 400, code: "invalid_name"},
		{name: "boolean", ua: uaIPhone, body: json.RawMessage(`true`), status: 400, code: "invalid_name"},
		{name: "object", ua: uaIPhone, body: json.RawMessage(`{"name":"x"}`), status: 400, code: "invalid_name"},
		{name: "array", ua: uaIPhone, body: json.RawMessage(`["x"]`), status: 400, code: "invalid_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := w.userClient(t, uniqueName("name"))
			c.ua = tc.ua
			opts := c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
			var name any
			if tc.body != nil {
				name = tc.body
			}
			resp := c.registration(t, passkeytest.New(w.h.origin, passkeytest.Options{}), opts, passkeytest.Tamper{}, name)
			if tc.status != http.StatusCreated {
				before := w.h.snapshot(t)
				c.mustError(t, tc.status, tc.code, "POST", "/api/passkeys/register/finish", resp)
				if got := w.h.snapshot(t); got != before {
					t.Errorf("refused registration changed the database:\n%s\n->\n%s", before, got)
				}
				return
			}
			p := checkPasskeyJSON(t, c.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", resp))
			if p.Name != tc.wantName || p.Platform != tc.wantPlatform {
				t.Errorf("name %q platform %q, want %q %q", p.Name, p.Platform, tc.wantName, tc.wantPlatform)
			}
		})
	}
}

func TestRegisterProvider(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	for _, tc := range []struct {
		name, aaguid, want string
	}{
		{"Google Password Manager", gpmAAGUID, "Google Password Manager"},
		{"zero AAGUID", "00000000-0000-0000-0000-000000000000", ""},
		{"unlisted AAGUID", "0badc0de-0000-4000-8000-123456789abc", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := w.userClient(t, uniqueName("prov"))
			p := c.register(t, passkeytest.New(w.h.origin, passkeytest.Options{AAGUID: mustAAGUID(tc.aaguid)}), "")
			if p.Provider != tc.want || p.AAGUID != tc.aaguid {
				t.Errorf("provider %q aaguid %q, want %q %q", p.Provider, p.AAGUID, tc.want, tc.aaguid)
			}
		})
	}
}

func TestRegisterDuplicateCredentialID(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	_, aliceC := w.userClient(t, "alice")
	_, bobC := w.userClient(t, "bob")
	a := passkeytest.New(w.h.origin, passkeytest.Options{})
	aliceC.register(t, a, "")
	taken := lastCredID(t, a)

	// passkeytest makes a fresh random id for every credential, and the
	// same authenticator is stopped by excludeCredentials; so a second
	// authenticator answers the ceremony and its response is rewritten to
	// claim the taken id (with "none" attestation nothing signs it).
	for _, tc := range []struct {
		name string
		c    *client
	}{
		{"another user's credential id", bobC},
		{"the user's own credential id", aliceC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			opts := c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
			other := passkeytest.New(w.h.origin, passkeytest.Options{})
			resp := withCredentialID(t, c.registration(t, other, opts, passkeytest.Tamper{}, nil), taken)
			before := w.h.snapshot(t)
			c.mustError(t, http.StatusConflict, "credential_exists", "POST", "/api/passkeys/register/finish", resp)
			if got := w.h.snapshot(t); got != before {
				t.Errorf("refused registration changed the database:\n%s\n->\n%s", before, got)
			}
		})
	}
	// The rewriting itself is sound: with a fresh id the same kind of
	// response registers.
	opts := bobC.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
	fresh := []byte("a credential id nobody has yet")
	resp := withCredentialID(t, bobC.registration(t, passkeytest.New(w.h.origin, passkeytest.Options{}), opts, passkeytest.Tamper{}, nil), fresh)
	bobC.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", resp)
}

// regCase is a registration finish that must be refused.
type regCase struct {
	name   string
	uv     string
	status int
	code   string // "" accepts any code
	// make begins a ceremony (or not) and returns who posts what.
	make func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte)
}

// beginReg begins a registration and returns its options.
func beginReg(t testing.TB, c *client) []byte {
	t.Helper()
	return c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
}

// tamperedReg is a case body: begin, answer with tamper t.
func tamperedReg(tm passkeytest.Tamper) func(*testing.T, *world, *client, *passkeytest.Authenticator) (*client, []byte) {
	return func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
		return c, c.registration(t, a, beginReg(t, c), tm, nil)
	}
}

// editedReg is a case body: begin, answer, then set the member at path.
func editedReg(v any, path ...string) func(*testing.T, *world, *client, *passkeytest.Authenticator) (*client, []byte) {
	return func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
		return c, setPath(t, c.registration(t, a, beginReg(t, c), passkeytest.Tamper{}, nil), v, path...)
	}
}

// rawReg is a case body that posts body as it is.
func rawReg(body string) func(*testing.T, *world, *client, *passkeytest.Authenticator) (*client, []byte) {
	return func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
		beginReg(t, c)
		return c, []byte(body)
	}
}

func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func registrationBadInputCases() []regCase {
	return []regCase{
		{name: "malformed JSON", status: 400, code: "invalid_json", make: rawReg(`{"id": "abc",`)},
		{name: "empty body", status: 400, code: "invalid_json", make: rawReg(``)},
		{name: "JSON array", status: 400, code: "invalid_json", make: rawReg(`[1, 2]`)},
		{name: "JSON string", status: 400, code: "invalid_json", make: rawReg(`"x"`)},
		{name: "empty object", status: 400, code: "invalid_registration", make: rawReg(`{}`)},
		{name: "response not an object", status: 400, code: "invalid_registration", make: editedReg("x", "response")},
		{name: "id not a string", status: 400, code: "invalid_registration", make: editedReg(123, "id")},
		{name: "rawId not a string", status: 400, code: "invalid_registration", make: editedReg(true, "rawId")},
		{name: "clientDataJSON not a string", status: 400, code: "invalid_registration", make: editedReg(7, "response", "clientDataJSON")},
		{name: "type not public-key", status: 400, code: "invalid_registration", make: editedReg("password", "type")},
		{name: "id not matching rawId", status: 400, code: "invalid_registration", make: editedReg(randomB64(16), "id")},
		{name: "bad base64url clientDataJSON", status: 400, code: "invalid_registration", make: editedReg("***not base64***", "response", "clientDataJSON")},
		{name: "bad base64url attestationObject", status: 400, code: "invalid_registration", make: editedReg("@@@", "response", "attestationObject")},
		{name: "bad base64url rawId", status: 400, code: "invalid_registration", make: editedReg("a b", "rawId")},
		{name: "garbage CBOR attestationObject", status: 400, code: "invalid_registration", make: editedReg(b64([]byte{0xff, 0x13, 0x37, 0x00, 0x9f}), "response", "attestationObject")},
		{name: "attestationObject not a CBOR map", status: 400, code: "invalid_registration", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			return editedReg(b64(mustCBOR(t, []int{1, 2, 3})), "response", "attestationObject")(t, w, c, a)
		}},
		{name: "truncated authData", status: 400, code: "invalid_registration", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			obj := mustCBOR(t, map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": []byte{1, 2, 3}})
			return editedReg(b64(obj), "response", "attestationObject")(t, w, c, a)
		}},
		{name: "clientDataJSON not JSON", status: 400, code: "invalid_registration", make: tamperedReg(passkeytest.Tamper{ClientDataJSON: []byte("not json")})},
		{name: "unknown challenge", status: 400, code: "unknown_challenge", make: tamperedReg(passkeytest.Tamper{Challenge: randomB64(32)})},
		{name: "replayed challenge", status: 400, code: "unknown_challenge", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			resp := c.registration(t, a, beginReg(t, c), passkeytest.Tamper{}, nil)
			c.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", resp)
			return c, resp
		}},
		{name: "expired challenge", status: 400, code: "expired_challenge", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			resp := c.registration(t, a, beginReg(t, c), passkeytest.Tamper{}, nil)
			w.clock.Advance(5*time.Minute + time.Second)
			return c, resp
		}},
		{name: "expired at exactly the TTL", status: 400, code: "expired_challenge", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			resp := c.registration(t, a, beginReg(t, c), passkeytest.Tamper{}, nil)
			w.clock.Advance(5 * time.Minute)
			return c, resp
		}},
		{name: "begun in another session of the same user", status: 400, code: "unknown_challenge", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			resp := c.registration(t, a, beginReg(t, c), passkeytest.Tamper{}, nil)
			other := w.h.client()
			other.must(t, http.StatusOK, "POST", "/test/login/"+c.whoami(t), nil)
			return other, resp
		}},
		{name: "begun by another user", status: 400, code: "unknown_challenge", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			resp := c.registration(t, a, beginReg(t, c), passkeytest.Tamper{}, nil)
			_, other := w.userClient(t, uniqueName("thief"))
			return other, resp
		}},
		{name: "begun by another user in the same session", status: 400, code: "unknown_challenge", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			// The session's ceremonies survive a login (two tabs), so the
			// ceremony must also be tied to the user who began it: here
			// another user logs in in the same browser and finishes it.
			resp := c.registration(t, a, beginReg(t, c), passkeytest.Tamper{}, nil)
			c.logInAs(t, w.h.user(t, uniqueName("next")))
			return c, resp
		}},
		{name: "login challenge", status: 400, code: "unknown_challenge", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			login := c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
			return c, c.registration(t, a, beginReg(t, c), passkeytest.Tamper{Challenge: getPath(t, login, "publicKey", "challenge")}, nil)
		}},
		{name: "wrong origin", status: 400, code: "registration_failed", make: tamperedReg(passkeytest.Tamper{Origin: "https://evil.example"})},
		{name: "wrong port", status: 400, code: "registration_failed", make: tamperedReg(passkeytest.Tamper{Origin: "https://localhost:1"})},
		{name: "http origin", status: 400, code: "registration_failed", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			return tamperedReg(passkeytest.Tamper{Origin: strings.Replace(w.h.origin, "https:", "http:", 1)})(t, w, c, a)
		}},
		{name: "cross-origin iframe", status: 400, code: "registration_failed", make: tamperedReg(passkeytest.Tamper{CrossOrigin: true, TopOrigin: "https://evil.example"})},
		{name: "type webauthn.get", status: 400, code: "registration_failed", make: tamperedReg(passkeytest.Tamper{Type: "webauthn.get"})},
		{name: "wrong RP id hash", status: 400, code: "registration_failed", make: tamperedReg(passkeytest.Tamper{RPID: "evil.example"})},
		{name: "missing user presence", status: 400, code: "registration_failed", make: tamperedReg(passkeytest.Tamper{NoUP: true})},
		{name: "missing user verification when required", uv: "required", status: 400, code: "registration_failed", make: tamperedReg(passkeytest.Tamper{NoUV: true})},
		{name: "bad packed attestation signature", status: 400, code: "registration_failed", make: func(t *testing.T, w *world, c *client, _ *passkeytest.Authenticator) (*client, []byte) {
			a := passkeytest.New(w.h.origin, passkeytest.Options{Attestation: passkeytest.AttestationPacked})
			return c, c.registration(t, a, beginReg(t, c), passkeytest.Tamper{BadSignature: true}, nil)
		}},
		{name: "name over 64 characters", status: 400, code: "invalid_name", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			return c, c.registration(t, a, beginReg(t, c), passkeytest.Tamper{}, strings.Repeat("x", 65))
		}},
		{name: "name not a string", status: 400, code: "invalid_name", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			return c, c.registration(t, a, beginReg(t, c), passkeytest.Tamper{}, []string{"x"})
		}},
		{name: "body over 64 KiB", status: 413, code: "body_too_large", make: editedReg(strings.Repeat("p", passkeyd.MaxBodyBytes), "padding")},
		{name: "not logged in", status: 401, code: "not_logged_in", make: func(t *testing.T, w *world, c *client, a *passkeytest.Authenticator) (*client, []byte) {
			return w.h.client(), c.registration(t, a, beginReg(t, c), passkeytest.Tamper{}, nil)
		}},
	}
}

func TestRegisterBadInput(t *testing.T) {
	t.Parallel()
	worlds := map[string]*world{
		"":         newWorld(t, harnessOptions{}),
		"required": newWorld(t, harnessOptions{userVerification: "required"}),
	}
	for _, tc := range registrationBadInputCases() {
		t.Run(tc.name, func(t *testing.T) {
			w := worlds[tc.uv]
			_, c := w.userClient(t, uniqueName("reg"))
			a := passkeytest.New(w.h.origin, passkeytest.Options{})
			poster, body := tc.make(t, w, c, a)
			who := poster.whoami(t)
			before := w.h.snapshot(t)
			poster.mustError(t, tc.status, tc.code, "POST", "/api/passkeys/register/finish", body)
			if got := w.h.snapshot(t); got != before {
				t.Errorf("refused registration changed the database:\n%s\n->\n%s", before, got)
			}
			if got := poster.whoami(t); got != who {
				t.Errorf("session user %q after a refused registration, was %q", got, who)
			}
		})
	}
}

// A finish that fails uses nothing up: the owner's right answer to the
// same options is still accepted, so a stranger (or a broken answer)
// cannot cancel a ceremony.
func TestRegisterFailedFinishUsesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{})
	for _, tc := range []struct {
		name    string
		tamper  passkeytest.Tamper
		other   bool // posted from another session of the same user
		badName any  // a "name" that is refused
	}{
		{name: "bad packed signature", tamper: passkeytest.Tamper{BadSignature: true}},
		{name: "wrong origin", tamper: passkeytest.Tamper{Origin: "https://evil.example"}},
		{name: "wrong RP id hash", tamper: passkeytest.Tamper{RPID: "evil.example"}},
		{name: "missing user presence", tamper: passkeytest.Tamper{NoUP: true}},
		{name: "posted from another session", other: true},
		{name: "name too long", badName: strings.Repeat("n", 65)},
		{name: "name not a string", badName: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, c := w.userClient(t, uniqueName("used"))
			opts := beginReg(t, c)
			bad := c.registration(t, passkeytest.New(w.h.origin, passkeytest.Options{Attestation: passkeytest.AttestationPacked}), opts, tc.tamper, tc.badName)
			poster := c
			if tc.other {
				poster = w.h.client()
				poster.logInAs(t, u)
			}
			if status, b := poster.do(t, "POST", "/api/passkeys/register/finish", bad); status != http.StatusBadRequest {
				t.Fatalf("bad finish = %d %s, want 400", status, b)
			}
			good := c.registration(t, passkeytest.New(w.h.origin, passkeytest.Options{}), opts, passkeytest.Tamper{}, nil)
			c.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", good)
			// And, used, it is used up.
			again := c.registration(t, passkeytest.New(w.h.origin, passkeytest.Options{}), opts, passkeytest.Tamper{}, nil)
			c.mustError(t, http.StatusBadRequest, "unknown_challenge", "POST", "/api/passkeys/register/finish", again)
		})
	}
}

// The ceremony TTL is exact: a finish just before it is accepted.
func TestRegisterJustBeforeExpiry(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harnessOptions{ceremonyTTL: time.Minute})
	_, c := w.userClient(t, "alice")
	resp := c.registration(t, passkeytest.New(w.h.origin, passkeytest.Options{}), beginReg(t, c), passkeytest.Tamper{}, nil)
	w.clock.Advance(time.Minute - time.Millisecond)
	c.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", resp)
}
