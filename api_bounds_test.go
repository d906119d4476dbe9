package passkeyd_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// Registration stores only what it can vouch for: a public key that is a
// valid key of an algorithm passkeyd offered, known transports and not
// too many, a known attachment. Each refusal is 400 and stores nothing.
func TestRegistrationInputsBounded(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	zeros := func(n int) []byte { return make([]byte, n) }
	pad := func(b *big.Int, n int) []byte { return b.FillBytes(make([]byte, n)) }
	tests := []struct {
		name    string
		opts    passkeytest.Options
		edit    func(t *testing.T, resp []byte) []byte
		message string // part of the refusal's message
	}{
		{"a P-384 key labelled ES256", passkeytest.Options{}, func(t *testing.T, resp []byte) []byte {
			return withCOSEKey(t, resp, map[int]any{1: 2, 3: -7, -1: 2, -2: zeros(48), -3: zeros(48)})
		}, "public key"},
		{"an ES256 key off its curve", passkeytest.Options{}, func(t *testing.T, resp []byte) []byte {
			return withCOSEKey(t, resp, map[int]any{1: 2, 3: -7, -1: 1, -2: zeros(32), -3: zeros(32)})
		}, "public key"},
		{"a valid ES384 key, which was not offered", passkeytest.Options{}, func(t *testing.T, resp []byte) []byte {
			return withCOSEKey(t, resp, map[int]any{1: 2, 3: -35, -1: 2, -2: pad(p384.X, 48), -3: pad(p384.Y, 48)})
		}, ""},
		{"a 1024-bit RSA key", passkeytest.Options{}, func(t *testing.T, resp []byte) []byte {
			return withCOSEKey(t, resp, map[int]any{1: 3, 3: -257, -1: weakRSA.N.Bytes(), -2: big.NewInt(int64(weakRSA.E)).Bytes()})
		}, "public key"},
		{"an unknown transport", passkeytest.Options{Transports: []string{"internal", "carrier-pigeon"}}, nil, "transports"},
		{"nine transports", passkeytest.Options{Transports: []string{"usb", "nfc", "ble", "hybrid", "internal", "smart-card", "usb", "nfc", "ble"}}, nil, "transports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			c := h.client()
			c.logInAs(t, h.user(t, "bounded"))
			before := h.snapshot(t)
			opts := c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
			resp := c.registration(t, passkeytest.New(h.origin, tt.opts), opts, passkeytest.Tamper{}, nil)
			if tt.edit != nil {
				resp = tt.edit(t, resp)
			}
			e := c.mustError(t, http.StatusBadRequest, "registration_failed", "POST", "/api/passkeys/register/finish", resp)
			if !strings.Contains(e.Message, tt.message) {
				t.Errorf("message %q, want it to say what was wrong (%q)", e.Message, tt.message)
			}
			if h.snapshot(t) != before {
				t.Error("a refused registration stored something")
			}
		})
	}
}

// An attachment that is neither of WebAuthn's two is stored as unknown,
// never as the string the client sent.
func TestUnknownAttachmentNotStored(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.client()
	c.logInAs(t, h.user(t, "attached"))
	opts := c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
	resp := c.registration(t, passkeytest.New(h.origin, passkeytest.Options{}), opts, passkeytest.Tamper{}, nil)
	c.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", setPath(t, resp, "usb-stick", "authenticatorAttachment"))
	var stored string
	if err := h.db.SQL().QueryRow("SELECT attachment FROM passkeyd_passkeys").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != "" {
		t.Fatalf("attachment %q stored, want \"\" (unknown)", stored)
	}
}

// A user has at most MaxPasskeys passkeys: the next begin and finish are
// 409 too_many_passkeys.
func TestPasskeysPerUserBounded(t *testing.T) {
	h := newHarness(t, harnessOptions{maxPasskeys: 2})
	c := h.client()
	c.logInAs(t, h.user(t, "collector"))
	opts := c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
	c.register(t, passkeytest.New(h.origin, passkeytest.Options{}), "one")
	c.register(t, passkeytest.New(h.origin, passkeytest.Options{}), "two")
	a := passkeytest.New(h.origin, passkeytest.Options{})
	c.mustError(t, http.StatusConflict, "too_many_passkeys", "POST", "/api/passkeys/register/begin", nil)
	// A ceremony begun before the limit was reached is refused too.
	c.mustError(t, http.StatusConflict, "too_many_passkeys", "POST", "/api/passkeys/register/finish", c.registration(t, a, opts, passkeytest.Tamper{}, nil))
	if n := h.passkeyCount(t); n != 2 {
		t.Fatalf("%d passkeys stored, want 2", n)
	}
}

// Names are text to show: no control characters, no bidi overrides or
// zero-width characters that make one name look like another, no invalid
// UTF-8. An emoji sequence joined by zero-width joiners is text.
func TestPasskeyNamesAreText(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.client()
	c.logInAs(t, h.user(t, "namer"))
	p := c.register(t, passkeytest.New(h.origin, passkeytest.Options{}), "plain")
	for _, tt := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"a bidi override", `{"name":"evil\u202egpj.exe"}`, 400, "invalid_name"},
		{"a zero-width space", `{"name":"Pho\u200bne"}`, 400, "invalid_name"},
		{"a C1 control", `{"name":"a\u0085b"}`, 400, "invalid_name"},
		{"invalid UTF-8", "{\"name\":\"\xff\xfe\"}", 400, "invalid_json"},
		{"an emoji sequence", `{"name":"👩‍💻 laptop"}`, 200, ""},
	} {
		status, hdr, b := c.doFull(t, "PATCH", "/api/passkeys/"+p.ID, []byte(tt.body))
		if status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, status, b, tt.status)
			continue
		}
		if tt.code != "" {
			checkError(t, hdr, b, tt.code)
		}
	}
	if got := c.passkey(t, p.ID).Name; got != "👩‍💻 laptop" {
		t.Fatalf("name %q after the refusals, want only the last change", got)
	}
}
