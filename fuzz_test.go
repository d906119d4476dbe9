package passkeyd_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// The fuzz targets share one harness per target (made before f.Fuzz) and
// report through the iteration's t, passed to every helper.

// fuzzWorld is a harness with alice, her passkey and its authenticator.
type fuzzWorld struct {
	h     *harness
	alice *passkeyd.User
	owner *client // logged in as alice
	a     *passkeytest.Authenticator
	p     passkeyd.PasskeyInfo
}

func newFuzzWorld(f *testing.F) *fuzzWorld {
	f.Helper()
	h := newHarness(f, harnessOptions{})
	fw := &fuzzWorld{h: h, alice: h.user(f, "alice"), owner: h.client()}
	// A password, so that disabling her one passkey leaves a way in.
	h.setPassword(f, fw.alice, "pw")
	fw.owner.logInAs(f, fw.alice)
	fw.owner.ua = uaIPhone
	fw.a = passkeytest.New(h.origin, passkeytest.Options{})
	fw.p = fw.owner.register(f, fw.a, "Phone")
	return fw
}

// splice replaces del bytes at pos (both taken modulo what fits) with ins.
func splice(b []byte, pos uint16, del uint8, ins []byte) []byte {
	p := int(pos) % (len(b) + 1)
	d := min(int(del), len(b)-p)
	out := append([]byte{}, b[:p]...)
	out = append(out, ins...)
	return append(out, b[p+d:]...)
}

// checkRefused checks that an answer is a 4xx JSON error: status want,
// or 413 for a body over the limit.
func checkRefused(t *testing.T, status int, hdr http.Header, b []byte, bodyLen int, want ...int) {
	t.Helper()
	if status >= 500 {
		t.Fatalf("server error %d %s", status, b)
	}
	if bodyLen > passkeyd.MaxBodyBytes {
		want = []int{http.StatusRequestEntityTooLarge}
	}
	for _, w := range want {
		if status == w {
			checkError(t, hdr, b, "")
			return
		}
	}
	t.Fatalf("status %d %s, want one of %v", status, b, want)
}

// FuzzLoginFinish posts arbitrary bytes to /api/login/finish from a
// session with pending ceremonies: always a 401 JSON error (413 over the
// body limit), and nobody is logged in. No seed is a live, valid
// response.
func FuzzLoginFinish(f *testing.F) {
	fw := newFuzzWorld(f)
	anon := fw.h.client()
	begin := func() []byte { return anon.must(f, http.StatusOK, "POST", "/api/login/begin", nil) }

	// A valid response whose ceremony is used up (replay).
	used := fw.h.client()
	opts := used.must(f, http.StatusOK, "POST", "/api/login/begin", nil)
	valid := assertion(f, fw.a, opts, passkeytest.Tamper{})
	used.must(f, http.StatusOK, "POST", "/api/login/finish", valid)
	f.Add(valid)
	// Live ceremonies of anon's, answered wrongly: the first run of each
	// reaches verification.
	for _, tm := range []passkeytest.Tamper{
		{BadSignature: true}, {Origin: "https://evil.example"}, {RPID: "evil.example"}, {NoUP: true},
		{Type: "webauthn.create"}, {UserHandle: []byte("someone else")}, {ClientDataJSON: []byte(`{"type":"webauthn.get"}`)},
	} {
		f.Add(assertion(f, fw.a, begin(), tm))
	}
	f.Add(setPath(f, assertion(f, fw.a, begin(), passkeytest.Tamper{}), "AAAA", "response", "signature"))
	f.Add(setPath(f, valid, "", "response", "userHandle"))
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"id":`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiQUFBQSJ9","authenticatorData":"` + b64(make([]byte, 37)) + `","signature":"AAAA","userHandle":"AAAA"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := anon
		status, hdr, b := c.doFull(t, "POST", "/api/login/finish", body)
		checkRefused(t, status, hdr, b, len(body), http.StatusUnauthorized)
		if who := c.whoami(t); who != "" {
			t.Fatalf("logged in as %q", who)
		}
	})
}

// FuzzLoginFinishMutated mutates a valid response to a live ceremony:
// never a 5xx; a refusal is a 401 JSON error that changes nothing; and a
// login only succeeds when what the signature covers (and the credential
// id and user handle) is unchanged.
func FuzzLoginFinishMutated(f *testing.F) {
	fw := newFuzzWorld(f)
	f.Add(uint16(0), uint8(0), []byte{})        // unchanged
	f.Add(uint16(2), uint8(0), []byte(" "))     // white space
	f.Add(uint16(30), uint8(1), []byte("A"))    // in the id
	f.Add(uint16(200), uint8(3), []byte("___")) // in clientDataJSON
	f.Add(uint16(400), uint8(2), []byte("-_"))  // further on
	f.Add(uint16(0), uint8(255), []byte("{\"")) // truncated
	f.Add(uint16(9999), uint8(1), []byte("}"))
	f.Fuzz(func(t *testing.T, pos uint16, del uint8, ins []byte) {
		c, opts := beginLogin(t, &world{h: fw.h})
		valid := assertion(t, fw.a, opts, passkeytest.Tamper{})
		body := splice(valid, pos, del, ins)
		h := fw.h
		before := h.snapshot(t)
		status, hdr, b := c.doFull(t, "POST", "/api/login/finish", body)
		if status == http.StatusOK {
			want, err := protocol.ParseCredentialRequestResponseBytes(valid)
			if err != nil {
				t.Fatal(err)
			}
			got, err := protocol.ParseCredentialRequestResponseBytes(body)
			if err != nil {
				t.Fatalf("login succeeded with a response that does not parse: %v: %s", err, body)
			}
			if !bytes.Equal(got.RawID, want.RawID) ||
				!bytes.Equal(got.Raw.AssertionResponse.ClientDataJSON, want.Raw.AssertionResponse.ClientDataJSON) ||
				!bytes.Equal(got.Raw.AssertionResponse.AuthenticatorData, want.Raw.AssertionResponse.AuthenticatorData) ||
				!bytes.Equal(got.Raw.AssertionResponse.Signature, want.Raw.AssertionResponse.Signature) ||
				!bytes.Equal(got.Response.UserHandle, want.Response.UserHandle) {
				t.Fatalf("login succeeded with altered signed data:\n%s\nwas\n%s", body, valid)
			}
			if who := c.whoami(t); who != fw.alice.ID {
				t.Fatalf("logged in as %q", who)
			}
			return
		}
		checkRefused(t, status, hdr, b, len(body), http.StatusUnauthorized)
		if got := h.snapshot(t); got != before {
			t.Fatalf("refused login changed the database:\n%s\n->\n%s", before, got)
		}
		if who := c.whoami(t); who != "" {
			t.Fatalf("refused login, yet logged in as %q", who)
		}
	})
}

// FuzzRegisterFinish posts arbitrary bytes to /api/passkeys/register/finish
// as a logged-in user with pending ceremonies: never a 5xx; a refusal is
// a 4xx JSON error that stores nothing; a success is a valid Passkey.
func FuzzRegisterFinish(f *testing.F) {
	fw := newFuzzWorld(f)
	c := fw.owner
	begin := func() []byte { return beginReg(f, c) }
	fresh := func(opts passkeytest.Options) *passkeytest.Authenticator { return passkeytest.New(fw.h.origin, opts) }
	f.Add(c.registration(f, fresh(passkeytest.Options{}), begin(), passkeytest.Tamper{}, "seed"))
	f.Add(c.registration(f, fresh(passkeytest.Options{Algorithm: passkeytest.RS256, Attestation: passkeytest.AttestationPacked}), begin(), passkeytest.Tamper{}, nil))
	f.Add(c.registration(f, fresh(passkeytest.Options{Attestation: passkeytest.AttestationPacked}), begin(), passkeytest.Tamper{BadSignature: true}, nil))
	f.Add(c.registration(f, fresh(passkeytest.Options{}), begin(), passkeytest.Tamper{Origin: "https://evil.example"}, nil))
	f.Add(c.registration(f, fresh(passkeytest.Options{}), begin(), passkeytest.Tamper{}, strings.Repeat("x", 65)))
	f.Add(c.registration(f, fresh(passkeytest.Options{}), begin(), passkeytest.Tamper{}, 7))
	f.Add(withCredentialID(f, c.registration(f, fresh(passkeytest.Options{}), begin(), passkeytest.Tamper{}, nil), lastCredID(f, fw.a)))
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"name":"x"}`, `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkRegistration(t, fw, c, body)
	})
}

// FuzzRegisterFinishMutated mutates a valid response to a live
// registration ceremony, with the same checks as FuzzRegisterFinish.
func FuzzRegisterFinishMutated(f *testing.F) {
	fw := newFuzzWorld(f)
	f.Add(uint16(0), uint8(0), []byte{}, false)
	f.Add(uint16(0), uint8(0), []byte{}, true)
	f.Add(uint16(2), uint8(0), []byte(" "), false)
	f.Add(uint16(40), uint8(1), []byte("A"), false)
	f.Add(uint16(300), uint8(4), []byte("AAAA"), true)
	f.Add(uint16(700), uint8(2), []byte("__"), false)
	f.Add(uint16(0), uint8(255), []byte("{"), false)
	f.Fuzz(func(t *testing.T, pos uint16, del uint8, ins []byte, packed bool) {
		c := fw.owner
		o := passkeytest.Options{}
		if packed {
			o.Attestation = passkeytest.AttestationPacked
		}
		valid := c.registration(t, passkeytest.New(fw.h.origin, o), beginReg(t, c), passkeytest.Tamper{}, nil)
		checkRegistration(t, fw, c, splice(valid, pos, del, ins))
	})
}

// checkRegistration posts a registration finish and checks the outcome.
func checkRegistration(t *testing.T, fw *fuzzWorld, c *client, body []byte) {
	t.Helper()
	h := fw.h
	n := h.passkeyCount(t)
	status, hdr, b := c.doFull(t, "POST", "/api/passkeys/register/finish", body)
	if status == http.StatusCreated {
		p := checkPasskeyJSON(t, b)
		if got := c.passkey(t, p.ID); !equalInfo(got, p) {
			t.Fatalf("stored %+v, answered %+v", got, p)
		}
		if cleaned, err := passkeyd.CleanPasskeyName(p.Name); err != nil || cleaned != p.Name || p.Name == "" {
			t.Fatalf("stored name %q is not a valid name", p.Name)
		}
		if got := h.passkeyCount(t); got != n+1 {
			t.Fatalf("%d passkeys after a registration, was %d", got, n)
		}
		return
	}
	checkRefused(t, status, hdr, b, len(body), http.StatusBadRequest, http.StatusConflict)
	if got := h.passkeyCount(t); got != n {
		t.Fatalf("%d passkeys after a refused registration, was %d", got, n)
	}
}

// FuzzUpdatePasskey sends arbitrary PATCH bodies for one of the user's
// passkeys: never a 5xx; a refusal is a 400/413 JSON error that changes
// nothing; a success answers the passkey as stored, with a valid name.
func FuzzUpdatePasskey(f *testing.F) {
	fw := newFuzzWorld(f)
	for _, s := range []string{
		`{"name":"Work"}`, `{"name":"  padded  "}`, `{"name":""}`, `{"name":null}`, `{"enabled":false}`,
		`{"enabled":true,"name":"x"}`, `{}`, ``, `null`, `[]`, `{"name":5}`, `{"enabled":"yes"}`,
		`{"nmae":"x"}`, `{"name":"a"}}`, `{"name":"a"} {}`, `{"name":"` + strings.Repeat("é", 65) + `"}`,
		`{"name":"\u0000"}`, `{"name":"\ud800"}`, `{"Name":"case"}`, `{"name":"a","name":"b"}`,
	} {
		f.Add([]byte(s))
	}
	path := "/api/passkeys/" + fw.p.ID
	f.Fuzz(func(t *testing.T, body []byte) {
		c := fw.owner
		h := fw.h
		before := h.snapshot(t)
		status, hdr, b := c.doFull(t, "PATCH", path, body)
		if status == http.StatusOK {
			p := checkPasskeyJSON(t, b)
			if got := c.passkey(t, fw.p.ID); !equalInfo(got, p) {
				t.Fatalf("stored %+v, answered %+v", got, p)
			}
			if cleaned, err := passkeyd.CleanPasskeyName(p.Name); err != nil || cleaned != p.Name || p.Name == "" {
				t.Fatalf("stored name %q is not a valid name", p.Name)
			}
			if p.ID != fw.p.ID || p.Platform != fw.p.Platform || p.CreatedAt != fw.p.CreatedAt {
				t.Fatalf("PATCH changed more than name and enabled: %+v", p)
			}
			checkOnlyKnownFields(t, body)
			return
		}
		checkRefused(t, status, hdr, b, len(body), http.StatusBadRequest)
		if got := h.snapshot(t); got != before {
			t.Fatalf("refused PATCH changed the database:\n%s\n->\n%s", before, got)
		}
	})
}

// checkOnlyKnownFields checks that an accepted PATCH body is one JSON
// value whose members (if an object) are name and enabled only (Go's
// decoder matches member names case-insensitively).
func checkOnlyKnownFields(t *testing.T, body []byte) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("accepted a body that is not one JSON value: %q", body)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("accepted a body that is not a JSON object: %q", body)
	}
	for k := range m {
		if !strings.EqualFold(k, "name") && !strings.EqualFold(k, "enabled") {
			t.Fatalf("accepted unknown member %q in %q", k, body)
		}
	}
}

// FuzzDecodeJSON calls DecodeJSON directly: it never panics, every
// refusal is a 400 *Error, and what it accepts is exactly one JSON value
// with known members, decoded as encoding/json would.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"x","enabled":true}`, `{}`, ` {} `, `{}{}`, `{}}`, `{}]`, `{} x`, `null`, `[]`, `""`, `1`,
		`{"name":1}`, `{"enabled":"x"}`, `{"other":1}`, `{"name":"x"`, ``, "\xff", `{"name":"\u00e9"}`,
	} {
		f.Add([]byte(s))
	}
	type target struct {
		Name    *string `json:"name"`
		Enabled *bool   `json:"enabled"`
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("PATCH", "/", bytes.NewReader(body))
		var got target
		err := passkeyd.DecodeJSON(r, &got)
		if err != nil {
			var e *passkeyd.Error
			if !errors.As(err, &e) || passkeyd.HTTPStatus(err) != http.StatusBadRequest || e.Code == "" || e.Message == "" {
				t.Fatalf("error %v is not a 400 *Error", err)
			}
			if !utf8.ValidString(e.Message) {
				t.Fatalf("message %q is not UTF-8", e.Message)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted %q, which is not one JSON value", body)
		}
		var want target
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Fatalf("decoded %s, encoding/json %s", gj, wj)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) == nil {
			for k := range m {
				if !strings.EqualFold(k, "name") && !strings.EqualFold(k, "enabled") {
					t.Fatalf("accepted unknown member %q", k)
				}
			}
		}
	})
}
