package scaleout_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// sharedTransport is the connection pool of every test client: cookies
// are per client (its jar), connections are not. It never uses a proxy
// from the environment.
var sharedTransport = &http.Transport{
	MaxIdleConns:        256,
	MaxIdleConnsPerHost: 64,
	IdleConnTimeout:     30 * time.Second,
}

// browser is one user agent: a cookie jar and a connection pool. Go's
// cookie jar keys cookies by host, not by port, so one browser's session
// cookie from http://localhost:A is also sent to http://localhost:B, as
// one shared cookie is across the instances behind a load balancer.
type browser struct {
	hc  *http.Client
	jar *cookiejar.Jar
	// lastCeremony is the sealed state of the last ceremony it began.
	lastCeremony string
}

// ceremonyHeader carries a ceremony's sealed state.
const ceremonyHeader = passkeyd.CeremonyHeader

func newBrowser(tr http.RoundTripper) *browser {
	if tr == nil {
		tr = sharedTransport
	}
	jar, _ := cookiejar.New(nil)
	return &browser{
		jar: jar,
		hc: &http.Client{
			Transport: tr,
			Jar:       jar,
			Timeout:   requestTimeout,
			// Redirects are part of what the tests check.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// reply is an answer: status, headers and body.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string {
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body))
}

// errorCode returns the "error" of a JSON error answer, or "" when the
// answer is not one.
func (r reply) errorCode() string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(r.body, &e) != nil {
		return ""
	}
	return e.Error
}

// jsonBody decodes r's body into v.
func jsonBody(r reply, v any) error { return json.Unmarshal(r.body, v) }

// do sends a request. body is sent as JSON unless contentType says
// otherwise; extra headers are added.
func (b *browser) do(method, rawURL string, body []byte, contentType string, extra ...string) (reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: read body: %w", method, rawURL, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// expect sends a request and wants the status want.
func (b *browser) expect(want int, method, rawURL string, body []byte) (reply, error) {
	r, err := b.do(method, rawURL, body, "")
	if err != nil {
		return r, err
	}
	if r.status != want {
		return r, fmt.Errorf("%s %s: got %s, want %d", method, rawURL, r, want)
	}
	return r, nil
}

// sessionToken returns the session cookie the browser holds for base.
func (b *browser) sessionToken(base string) string {
	u, _ := url.Parse(base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == passkeyd.CookieName {
			return c.Value
		}
	}
	return ""
}

// tokenKey is how a session token is stored, in hex (in Redis keys; the
// database column holds the bytes): the token's first 8 bytes (its
// expiry), then the SHA-256 of the rest (its secret).
func tokenKey(token string) string {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 40 {
		return "not a token: " + token
	}
	sum := sha256.Sum256(raw[8:])
	return hex.EncodeToString(append(raw[:8:8], sum[:]...))
}

// withToken returns a new browser holding only the session cookie token
// for base, as a copied cookie would be replayed.
func withToken(base, token string) *browser {
	b := newBrowser(nil)
	u, _ := url.Parse(base)
	b.jar.SetCookies(u, []*http.Cookie{{Name: passkeyd.CookieName, Value: token, Path: "/"}})
	return b
}

// passwordLogin logs in through the login form, as a browser posts it.
func (b *browser) passwordLogin(base, username string) error {
	form := url.Values{"username": {username}, "password": {testPassword}}.Encode()
	r, err := b.do("POST", base+"/login", []byte(form), "application/x-www-form-urlencoded")
	if err != nil {
		return err
	}
	if r.status != http.StatusSeeOther {
		return fmt.Errorf("password login of %s at %s: got %d, want 303", username, base, r.status)
	}
	return nil
}

// The JSON API's shapes, as far as the tests read them.
type (
	userJSON struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	}
	authJSON struct {
		UsePasskey bool    `json:"use_passkey"`
		ID         *string `json:"id"`
	}
	sessionJSON struct {
		User *userJSON `json:"user"`
		Auth *authJSON `json:"auth"`
	}
	passkeyJSON struct {
		ID           string     `json:"id"`
		SignCount    uint32     `json:"sign_count"`
		LastUsedAt   *time.Time `json:"last_used_at"`
		CloneWarning bool       `json:"clone_warning"`
	}
)

// session asks base who the browser's session logs in.
func (b *browser) session(base string) (sessionJSON, error) {
	var s sessionJSON
	r, err := b.expect(http.StatusOK, "GET", base+"/api/session", nil)
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(r.body, &s)
}

// beginRegistration asks base for creation options.
func (b *browser) beginRegistration(base string) ([]byte, error) {
	r, err := b.expect(http.StatusOK, "POST", base+"/api/passkeys/register/begin", []byte("{}"))
	b.lastCeremony = r.header.Get(ceremonyHeader)
	return r.body, err
}

// register begins a registration at beginBase, lets a create a credential
// and finishes at finishBase; it returns the stored passkey.
func (b *browser) register(a *passkeytest.Authenticator, beginBase, finishBase string) (passkeyJSON, error) {
	var p passkeyJSON
	opts, err := b.beginRegistration(beginBase)
	if err != nil {
		return p, err
	}
	resp, err := a.Register(opts)
	if err != nil {
		return p, err
	}
	r, err := b.expect(http.StatusCreated, "POST", finishBase+"/api/passkeys/register/finish", resp)
	if err != nil {
		return p, err
	}
	var body struct {
		Passkey passkeyJSON `json:"passkey"`
	}
	err = json.Unmarshal(r.body, &body)
	return body.Passkey, err
}

// loginJSON is the answer of /api/login/finish.
type loginJSON struct {
	User userJSON `json:"user"`
	Auth authJSON `json:"auth"`
}

// beginLogin asks base for request options.
func (b *browser) beginLogin(base string) ([]byte, error) {
	r, err := b.expect(http.StatusOK, "POST", base+"/api/login/begin", []byte("{}"))
	b.lastCeremony = r.header.Get(ceremonyHeader)
	return r.body, err
}

// passkeyLogin begins a login at beginBase, lets a answer it and finishes
// at finishBase.
func (b *browser) passkeyLogin(a *passkeytest.Authenticator, beginBase, finishBase string) (loginJSON, error) {
	var l loginJSON
	opts, err := b.beginLogin(beginBase)
	if err != nil {
		return l, err
	}
	resp, err := a.Login(opts)
	if err != nil {
		return l, err
	}
	r, err := b.expect(http.StatusOK, "POST", finishBase+"/api/login/finish", resp)
	if err != nil {
		return l, err
	}
	return l, json.Unmarshal(r.body, &l)
}

// checkUnavailable checks that r is the 503 JSON error a storage outage
// must give: {"error":"unavailable","message":"..."} and nothing else.
func checkUnavailable(r reply) error {
	if r.status != http.StatusServiceUnavailable {
		return fmt.Errorf("got %s, want 503", r)
	}
	if ct, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); ct != "application/json" {
		return fmt.Errorf("503 with Content-Type %q, want application/json: %s", r.header.Get("Content-Type"), r)
	}
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return fmt.Errorf("503 body is not the JSON error: %v: %s", err, r)
	}
	if dec.More() || strings.TrimSpace(string(r.body[dec.InputOffset():])) != "" {
		return fmt.Errorf("503 body has more than one JSON value: %s", r)
	}
	if e.Error != "unavailable" || e.Message == "" {
		return fmt.Errorf("503 body %s, want error \"unavailable\" and a message", r)
	}
	return nil
}

// ---- forging a registration ----

// b64 is WebAuthn's JSON encoding of bytes.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// credentialID returns the id of a RegistrationResponseJSON.
func credentialID(resp []byte) ([]byte, error) {
	var r struct {
		RawID string `json:"rawId"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return nil, err
	}
	return base64.RawURLEncoding.DecodeString(r.RawID)
}

// withCredentialID rewrites a RegistrationResponseJSON with "none"
// attestation so that it claims the credential id id: in id, rawId and the
// attested credential data of the authenticator data (in the attestation
// object and in response.authenticatorData). Nothing signs any of these
// with "none" attestation, so the result is a registration a server must
// verify as good, except that another account may hold that id already:
// the credential-id hijack WebAuthn §7.1 step 22 guards against, which a
// malicious or broken authenticator can attempt.
func withCredentialID(resp, id []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(resp, &top); err != nil {
		return nil, err
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(top["response"], &inner); err != nil {
		return nil, err
	}
	var attB64 string
	if err := json.Unmarshal(inner["attestationObject"], &attB64); err != nil {
		return nil, err
	}
	attRaw, err := base64.RawURLEncoding.DecodeString(attB64)
	if err != nil {
		return nil, err
	}
	var att struct {
		Fmt      string         `cbor:"fmt"`
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}
	if err := cbor.Unmarshal(attRaw, &att); err != nil {
		return nil, err
	}
	if att.Fmt != "none" {
		return nil, fmt.Errorf("attestation %q signs the authenticator data; want none", att.Fmt)
	}
	// rpIdHash (32) | flags (1) | signCount (4) | AAGUID (16) |
	// credentialIdLength (2) | credentialId | credentialPublicKey.
	ad := att.AuthData
	const atOffset = 32 + 1 + 4 + 16
	if len(ad) < atOffset+2 || ad[32]&0x40 == 0 || ad[32]&0x80 != 0 {
		return nil, fmt.Errorf("authenticator data without attested credential data, or with extensions")
	}
	oldLen := int(binary.BigEndian.Uint16(ad[atOffset:]))
	if len(ad) < atOffset+2+oldLen {
		return nil, fmt.Errorf("authenticator data too short")
	}
	newAD := append([]byte{}, ad[:atOffset]...)
	newAD = binary.BigEndian.AppendUint16(newAD, uint16(len(id)))
	newAD = append(newAD, id...)
	newAD = append(newAD, ad[atOffset+2+oldLen:]...)
	if att.AttStmt == nil {
		att.AttStmt = map[string]any{}
	}
	newAtt, err := cbor.Marshal(map[string]any{"fmt": att.Fmt, "attStmt": att.AttStmt, "authData": newAD})
	if err != nil {
		return nil, err
	}
	str := func(s string) json.RawMessage { m, _ := json.Marshal(s); return m }
	inner["attestationObject"] = str(b64(newAtt))
	inner["authenticatorData"] = str(b64(newAD))
	if top["response"], err = json.Marshal(inner); err != nil {
		return nil, err
	}
	top["id"], top["rawId"] = str(b64(id)), str(b64(id))
	return json.Marshal(top)
}
