package passkeytest_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyd/passkeyd/passkeytest"
)

const testOrigin = "https://localhost:8000"

// testUser is the smallest webauthn.User: a random handle and the
// credentials registered so far.
type testUser struct {
	id    []byte
	creds []webauthn.Credential
}

func newTestUser(t *testing.T) *testUser {
	t.Helper()
	id := make([]byte, 32)
	rand.Read(id)
	return &testUser{id: id}
}

func (u *testUser) WebAuthnID() []byte                         { return u.id }
func (u *testUser) WebAuthnName() string                       { return "alice" }
func (u *testUser) WebAuthnDisplayName() string                { return "Alice" }
func (u *testUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// newRP returns the relying party the tests verify against: the real
// go-webauthn library, configured as passkeyd is in development.
func newRP(t *testing.T) *webauthn.WebAuthn {
	t.Helper()
	rp, err := webauthn.New(&webauthn.Config{
		RPID:          "localhost",
		RPDisplayName: "passkeytest",
		RPOrigins:     []string{testOrigin},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// register runs a registration through a with t applied and returns what
// go-webauthn makes of it. Errors from the authenticator are fatal; errors
// from the relying party are returned.
func register(t *testing.T, rp *webauthn.WebAuthn, a *passkeytest.Authenticator, u *testUser, tamper passkeytest.Tamper, opts ...webauthn.RegistrationOption) (*webauthn.Credential, error) {
	t.Helper()
	opts = append([]webauthn.RegistrationOption{
		webauthn.WithCredentialParameters(webauthn.CredentialParametersRecommendedL3()),
	}, opts...)
	// Last, so that a WithAuthenticatorSelection in opts cannot undo it.
	opts = append(opts, webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	creation, session, err := rp.BeginRegistration(u, opts...)
	if err != nil {
		t.Fatal(err)
	}
	optionsJSON, err := json.Marshal(creation)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.RegisterWith(optionsJSON, tamper)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	if err != nil {
		return nil, err
	}
	return rp.CreateCredential(u, *session, parsed)
}

// mustRegister registers and stores the credential on u.
func mustRegister(t *testing.T, rp *webauthn.WebAuthn, a *passkeytest.Authenticator, u *testUser) *webauthn.Credential {
	t.Helper()
	cred, err := register(t, rp, a, u, passkeytest.Tamper{})
	if err != nil {
		t.Fatalf("CreateCredential: %v", describe(err))
	}
	u.creds = append(u.creds, *cred)
	return cred
}

// login runs a discoverable login through a with t applied, returning what
// go-webauthn makes of it. A successful login's credential replaces the
// stored one on u, as a server would persist the counter and flags.
func login(t *testing.T, rp *webauthn.WebAuthn, a *passkeytest.Authenticator, u *testUser, tamper passkeytest.Tamper, opts ...webauthn.LoginOption) (*webauthn.Credential, error) {
	t.Helper()
	assertion, session, err := rp.BeginDiscoverableLogin(opts...)
	if err != nil {
		t.Fatal(err)
	}
	optionsJSON, err := json.Marshal(assertion)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.LoginWith(optionsJSON, tamper)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		return nil, err
	}
	_, cred, err := rp.ValidatePasskeyLogin(func(_, userHandle []byte) (webauthn.User, error) {
		if !bytes.Equal(userHandle, u.id) {
			return nil, errors.New("unknown user handle")
		}
		return u, nil
	}, *session, parsed)
	if err != nil {
		return nil, err
	}
	for i := range u.creds {
		if bytes.Equal(u.creds[i].ID, cred.ID) {
			u.creds[i] = *cred
		}
	}
	return cred, nil
}

// describe renders a go-webauthn error with its debug information, which
// is where it says what exactly failed.
func describe(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: %s (%s)", pe.Type, pe.Details, pe.DevInfo)
	}
	return err.Error()
}

func TestCeremonies(t *testing.T) {
	kinds := []struct {
		name string
		opts passkeytest.Options
	}{
		{"synced platform", passkeytest.Options{}},
		{"security key", passkeytest.Options{
			Attachment:  passkeytest.CrossPlatform,
			DeviceBound: true,
			AAGUID:      [16]byte{0xde, 0xad, 0xbe, 0xef, 15: 1},
		}},
	}
	for _, alg := range []passkeytest.Algorithm{passkeytest.ES256, passkeytest.EdDSA, passkeytest.RS256} {
		for _, att := range []string{passkeytest.AttestationNone, passkeytest.AttestationPacked} {
			for _, kind := range kinds {
				t.Run(fmt.Sprintf("%v/%s/%s", alg, att, kind.name), func(t *testing.T) {
					t.Parallel()
					opts := kind.opts
					opts.Algorithm = alg
					opts.Attestation = att
					rp, a, u := newRP(t), passkeytest.New(testOrigin, opts), newTestUser(t)

					cred := mustRegister(t, rp, a, u)
					if cred.AttestationFormat != att {
						t.Errorf("attestation format = %q, want %q", cred.AttestationFormat, att)
					}
					wantType := "none"
					if att == passkeytest.AttestationPacked {
						wantType = "basic_surrogate" // self attestation
					}
					if cred.AttestationType != wantType {
						t.Errorf("attestation type = %q, want %q", cred.AttestationType, wantType)
					}
					if got := cred.Attestation.PublicKeyAlgorithm; got != int64(alg) {
						t.Errorf("publicKeyAlgorithm = %d, want %d", got, alg)
					}
					synced := !opts.DeviceBound
					if f := cred.Flags; !f.UserPresent || !f.UserVerified || f.BackupEligible != synced || f.BackupState != synced {
						t.Errorf("flags = %+v, want UP UV and BE=BS=%v", f, synced)
					}
					if !bytes.Equal(cred.Authenticator.AAGUID, opts.AAGUID[:]) {
						t.Errorf("AAGUID = %x, want %x", cred.Authenticator.AAGUID, opts.AAGUID)
					}
					wantAttachment, wantTransport := "platform", "internal"
					if opts.Attachment == passkeytest.CrossPlatform {
						wantAttachment, wantTransport = "cross-platform", "usb"
					}
					if string(cred.Authenticator.Attachment) != wantAttachment {
						t.Errorf("attachment = %q, want %q", cred.Authenticator.Attachment, wantAttachment)
					}
					if len(cred.Transport) != 1 || string(cred.Transport[0]) != wantTransport {
						t.Errorf("transports = %v, want [%s]", cred.Transport, wantTransport)
					}
					held := a.Credentials()
					if len(held) != 1 || !bytes.Equal(held[0].ID, cred.ID) || !bytes.Equal(held[0].PublicKey, cred.PublicKey) ||
						!bytes.Equal(held[0].UserHandle, u.id) || held[0].RPID != "localhost" || held[0].Algorithm != alg {
						t.Errorf("Credentials() = %+v, does not match the registered credential", held)
					}
					if n := len(cred.ID); n < 16 || n > 32 {
						t.Errorf("credential ID is %d bytes", n)
					}

					for i := uint32(1); i <= 3; i++ {
						got, err := login(t, rp, a, u, passkeytest.Tamper{})
						if err != nil {
							t.Fatalf("login %d: %v", i, describe(err))
						}
						want := uint32(0)
						if opts.DeviceBound {
							want = i
						}
						if got.Authenticator.SignCount != want || got.Authenticator.CloneWarning {
							t.Errorf("login %d: signCount = %d (clone warning %v), want %d",
								i, got.Authenticator.SignCount, got.Authenticator.CloneWarning, want)
						}
						if c := a.Credentials()[0]; c.SignCount != want {
							t.Errorf("login %d: authenticator's SignCount = %d, want %d", i, c.SignCount, want)
						}
					}
				})
			}
		}
	}
}

func TestLoginTampered(t *testing.T) {
	counter := uint32(0)
	cases := []struct {
		name   string
		tamper passkeytest.Tamper
		opts   []webauthn.LoginOption
		want   string // in go-webauthn's error; "" for success
	}{
		{name: "untampered"},
		{name: "untampered with UV required", opts: []webauthn.LoginOption{webauthn.WithUserVerification(protocol.VerificationRequired)}},
		{name: "wrong origin", tamper: passkeytest.Tamper{Origin: "https://evil.example"}, want: "Error validating origin"},
		{name: "wrong rpIdHash", tamper: passkeytest.Tamper{RPID: "example.com"}, want: "RP Hash mismatch"},
		{name: "wrong challenge", tamper: passkeytest.Tamper{Challenge: "AAAAAAAAAAAAAAAAAAAAAA"}, want: "Error validating challenge"},
		{name: "wrong type", tamper: passkeytest.Tamper{Type: "webauthn.create"}, want: "Error validating ceremony type"},
		{name: "cross origin", tamper: passkeytest.Tamper{CrossOrigin: true}, want: "cross"},
		{name: "no UP", tamper: passkeytest.Tamper{NoUP: true}, want: "User presence required"},
		{name: "no UV, UV preferred", tamper: passkeytest.Tamper{NoUV: true}},
		{name: "no UV, UV required", tamper: passkeytest.Tamper{NoUV: true},
			opts: []webauthn.LoginOption{webauthn.WithUserVerification(protocol.VerificationRequired)},
			want: "User verification required"},
		{name: "bad signature", tamper: passkeytest.Tamper{BadSignature: true}, want: "Error validating the assertion signature"},
		{name: "other user handle", tamper: passkeytest.Tamper{UserHandle: []byte("someone else")}, want: "unknown user handle"},
		{name: "malformed client data", tamper: passkeytest.Tamper{ClientDataJSON: []byte("{")}, want: "unexpected end of JSON"},
		{name: "counter override", tamper: passkeytest.Tamper{Counter: &counter}},
	}
	for _, alg := range []passkeytest.Algorithm{passkeytest.ES256, passkeytest.EdDSA, passkeytest.RS256} {
		t.Run(alg.String(), func(t *testing.T) {
			t.Parallel()
			rp, a, u := newRP(t), passkeytest.New(testOrigin, passkeytest.Options{Algorithm: alg}), newTestUser(t)
			mustRegister(t, rp, a, u)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, err := login(t, rp, a, u, tc.tamper, tc.opts...)
					checkErr(t, err, tc.want)
				})
			}
		})
	}
}

func TestRegisterTampered(t *testing.T) {
	uvRequired := webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{UserVerification: protocol.VerificationRequired})
	cases := []struct {
		name   string
		tamper passkeytest.Tamper
		opts   []webauthn.RegistrationOption
		want   string // in go-webauthn's error; "" for success
	}{
		{name: "untampered"},
		{name: "untampered with UV required", opts: []webauthn.RegistrationOption{uvRequired}},
		{name: "wrong origin", tamper: passkeytest.Tamper{Origin: "https://localhost:8001"}, want: "Error validating origin"},
		{name: "wrong rpIdHash", tamper: passkeytest.Tamper{RPID: "localhost.example"}, want: "RP Hash mismatch"},
		{name: "wrong challenge", tamper: passkeytest.Tamper{Challenge: "AAAAAAAAAAAAAAAAAAAAAA"}, want: "Error validating challenge"},
		{name: "wrong type", tamper: passkeytest.Tamper{Type: "webauthn.get"}, want: "Error validating ceremony type"},
		{name: "no UP", tamper: passkeytest.Tamper{NoUP: true}, want: "User presence required"},
		{name: "no UV, UV required", tamper: passkeytest.Tamper{NoUV: true}, opts: []webauthn.RegistrationOption{uvRequired},
			want: "User verification required"},
		{name: "bad attestation signature", tamper: passkeytest.Tamper{BadSignature: true}, want: "Unable to verify signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rp, u := newRP(t), newTestUser(t)
			a := passkeytest.New(testOrigin, passkeytest.Options{Attestation: passkeytest.AttestationPacked})
			_, err := register(t, rp, a, u, tc.tamper, tc.opts...)
			checkErr(t, err, tc.want)
		})
	}
}

// checkErr fails unless err is nil and want empty, or err mentions want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("refused: %s", describe(err))
	case want != "" && err == nil:
		t.Errorf("accepted, want an error with %q", want)
	case want != "" && !strings.Contains(describe(err), want):
		t.Errorf("error %q, want one with %q", describe(err), want)
	}
}

func TestRegisterTamperedNoneAttestationBadSignature(t *testing.T) {
	rp, u := newRP(t), newTestUser(t)
	creation, _, err := rp.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	optionsJSON, _ := json.Marshal(creation)
	a := passkeytest.New(testOrigin, passkeytest.Options{})
	if _, err := a.RegisterWith(optionsJSON, passkeytest.Tamper{BadSignature: true}); err == nil {
		t.Error("BadSignature with none attestation: no error")
	}
}

// beginRegistration returns the creation options JSON for u.
func beginRegistration(t *testing.T, rp *webauthn.WebAuthn, u *testUser, opts ...webauthn.RegistrationOption) []byte {
	t.Helper()
	creation, _, err := rp.BeginRegistration(u, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(creation)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRegisterRefusals(t *testing.T) {
	rp, u := newRP(t), newTestUser(t)
	a := passkeytest.New(testOrigin, passkeytest.Options{})
	mustRegister(t, rp, a, u)

	excluded := beginRegistration(t, rp, u, webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	if _, err := a.Register(excluded); !errors.Is(err, passkeytest.ErrExcluded) {
		t.Errorf("excluded credential: err = %v, want ErrExcluded", err)
	}
	// The same exclusion list does not bother another authenticator.
	if _, err := passkeytest.New(testOrigin, passkeytest.Options{}).Register(excluded); err != nil {
		t.Errorf("other authenticator, excluded credential: %v", err)
	}

	rsaOnly := beginRegistration(t, rp, u, webauthn.WithCredentialParameters([]protocol.CredentialParameter{
		{Type: protocol.PublicKeyCredentialType, Algorithm: -257},
	}))
	if _, err := a.Register(rsaOnly); !errors.Is(err, passkeytest.ErrUnsupportedAlgorithm) {
		t.Errorf("ES256 authenticator, RS256 only: err = %v, want ErrUnsupportedAlgorithm", err)
	}

	crossPlatform := beginRegistration(t, rp, u, webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
		AuthenticatorAttachment: protocol.CrossPlatform,
	}))
	if _, err := a.Register(crossPlatform); !errors.Is(err, passkeytest.ErrNotAllowed) {
		t.Errorf("platform authenticator, cross-platform required: err = %v, want ErrNotAllowed", err)
	}

	uvRequired := beginRegistration(t, rp, u, webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
		UserVerification: protocol.VerificationRequired,
	}))
	noUV := passkeytest.New(testOrigin, passkeytest.Options{NoUserVerification: true})
	if _, err := noUV.Register(uvRequired); !errors.Is(err, passkeytest.ErrNotAllowed) {
		t.Errorf("no UV, UV required: err = %v, want ErrNotAllowed", err)
	}

	otherSite := passkeytest.New("https://example.com", passkeytest.Options{})
	if _, err := otherSite.Register(beginRegistration(t, rp, u)); !errors.Is(err, passkeytest.ErrNotAllowed) {
		t.Errorf("rp.id localhost from example.com: err = %v, want ErrNotAllowed", err)
	}

	if _, err := a.Register([]byte(`{"publicKey":`)); err == nil {
		t.Error("malformed options: no error")
	}
}

func TestLoginSelection(t *testing.T) {
	rp := newRP(t)
	a := passkeytest.New(testOrigin, passkeytest.Options{})
	alice, bob := newTestUser(t), newTestUser(t)
	first := mustRegister(t, rp, a, alice)
	second := mustRegister(t, rp, a, alice)
	newest := mustRegister(t, rp, a, bob)

	// Discoverable: the most recently registered.
	got, err := login(t, rp, a, bob, passkeytest.Tamper{})
	if err != nil {
		t.Fatal(describe(err))
	}
	if !bytes.Equal(got.ID, newest.ID) {
		t.Errorf("discoverable login used %x, want the newest %x", got.ID, newest.ID)
	}

	// Allow list: the first listed that it holds.
	assertion, session, err := rp.BeginLogin(alice)
	if err != nil {
		t.Fatal(err)
	}
	assertion.Response.AllowedCredentials = []protocol.CredentialDescriptor{
		{Type: protocol.PublicKeyCredentialType, CredentialID: []byte("not held by the authenticator")},
		second.Descriptor(),
		first.Descriptor(),
	}
	optionsJSON, _ := json.Marshal(assertion)
	resp, err := a.Login(optionsJSON)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		t.Fatal(describe(err))
	}
	if !bytes.Equal(parsed.RawID, second.ID) {
		t.Errorf("allow-list login used %x, want %x", parsed.RawID, second.ID)
	}
	if _, err := rp.ValidateLogin(alice, *session, parsed); err != nil {
		t.Errorf("ValidateLogin: %s", describe(err))
	}

	// Nothing for this RP, or nothing allowed.
	empty := passkeytest.New(testOrigin, passkeytest.Options{})
	discoverable, _, _ := rp.BeginDiscoverableLogin()
	optionsJSON, _ = json.Marshal(discoverable)
	if _, err := empty.Login(optionsJSON); !errors.Is(err, passkeytest.ErrNoCredential) {
		t.Errorf("empty authenticator: err = %v, want ErrNoCredential", err)
	}
	if _, err := a.Login([]byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","rpId":"localhost","allowCredentials":[{"type":"public-key","id":"AAAA"}]}`)); !errors.Is(err, passkeytest.ErrNoCredential) {
		t.Errorf("unknown allowed credential: err = %v, want ErrNoCredential", err)
	}

	// A UV-less authenticator refuses options requiring UV, as a browser would.
	uvRequired, _, _ := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	optionsJSON, _ = json.Marshal(uvRequired)
	noUV := passkeytest.New(testOrigin, passkeytest.Options{NoUserVerification: true})
	mustRegister(t, rp, noUV, newTestUser(t))
	if _, err := noUV.Login(optionsJSON); !errors.Is(err, passkeytest.ErrNotAllowed) {
		t.Errorf("no UV, UV required: err = %v, want ErrNotAllowed", err)
	}
}

func TestInnerOptionsAndResponseShape(t *testing.T) {
	rp, u := newRP(t), newTestUser(t)
	a := passkeytest.New(testOrigin, passkeytest.Options{Algorithm: passkeytest.EdDSA})
	creation, session, err := rp.BeginRegistration(u,
		webauthn.WithCredentialParameters(webauthn.CredentialParametersRecommendedL3()),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := json.Marshal(creation.Response) // no {"publicKey": ...} wrapper
	resp, err := a.Register(inner)
	if err != nil {
		t.Fatal(err)
	}

	var r struct {
		ID, RawID, Type, AuthenticatorAttachment string
		ClientExtensionResults                   map[string]map[string]bool
		Response                                 struct {
			ClientDataJSON, AuthenticatorData, PublicKey, AttestationObject string
			Transports                                                      []string
			PublicKeyAlgorithm                                              int
		}
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(resp), "=+/") {
		t.Errorf("response is not unpadded base64url: %s", resp)
	}
	if r.ID != r.RawID || r.Type != "public-key" || r.AuthenticatorAttachment != "platform" {
		t.Errorf("id %q rawId %q type %q attachment %q", r.ID, r.RawID, r.Type, r.AuthenticatorAttachment)
	}
	if !r.ClientExtensionResults["credProps"]["rk"] {
		t.Errorf("clientExtensionResults = %v, want credProps.rk true", r.ClientExtensionResults)
	}
	if r.Response.PublicKeyAlgorithm != -8 || len(r.Response.Transports) != 1 || r.Response.Transports[0] != "internal" {
		t.Errorf("publicKeyAlgorithm %d transports %v", r.Response.PublicKeyAlgorithm, r.Response.Transports)
	}
	spki, _ := base64.RawURLEncoding.DecodeString(r.Response.PublicKey)
	if _, err := x509.ParsePKIXPublicKey(spki); err != nil {
		t.Errorf("publicKey is not SPKI: %v", err)
	}
	cdj, _ := base64.RawURLEncoding.DecodeString(r.Response.ClientDataJSON)
	want := fmt.Sprintf(`{"type":"webauthn.create","challenge":%q,"origin":%q,"crossOrigin":false}`, session.Challenge, testOrigin)
	if string(cdj) != want {
		t.Errorf("clientDataJSON = %s, want %s", cdj, want)
	}
	authData, _ := base64.RawURLEncoding.DecodeString(r.Response.AuthenticatorData)
	rpIDHash := sha256.Sum256([]byte("localhost"))
	if !bytes.HasPrefix(authData, rpIDHash[:]) || authData[32] != 0x01|0x04|0x08|0x10|0x40 {
		t.Errorf("authenticatorData %x: wrong rpIdHash or flags", authData[:33])
	}

	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	if err != nil {
		t.Fatal(describe(err))
	}
	if !bytes.Equal(parsed.Response.AttestationObject.RawAuthData, authData) {
		t.Error("response.authenticatorData differs from the attestation object's authData")
	}
	cred, err := rp.CreateCredential(u, *session, parsed)
	if err != nil {
		t.Fatal(describe(err))
	}
	if cred.Extensions.RK == nil || !*cred.Extensions.RK {
		t.Errorf("credential RK = %v, want true", cred.Extensions.RK)
	}
	u.creds = append(u.creds, *cred)

	// Login with the inner request options, too.
	assertion, loginSession, _ := rp.BeginDiscoverableLogin()
	inner, _ = json.Marshal(assertion.Response)
	resp, err = a.Login(inner)
	if err != nil {
		t.Fatal(err)
	}
	pca, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		t.Fatal(describe(err))
	}
	if _, _, err := rp.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return u, nil }, *loginSession, pca); err != nil {
		t.Error(describe(err))
	}
}

func TestSetFlags(t *testing.T) {
	rp, u := newRP(t), newTestUser(t)
	a := passkeytest.New(testOrigin, passkeytest.Options{DeviceBound: true, Attachment: passkeytest.CrossPlatform})
	cred := mustRegister(t, rp, a, u)

	a.SetFlags(cred.ID, true, true) // BE 0 -> 1 after registration
	if c := a.Credentials()[0]; !c.BackupEligible || !c.BackupState {
		t.Errorf("Credentials() after SetFlags: %+v", c)
	}
	_, err := login(t, rp, a, u, passkeytest.Tamper{})
	checkErr(t, err, "Backup Eligible flag inconsistency")

	a.SetFlags(cred.ID, false, true) // BS without BE is invalid
	_, err = login(t, rp, a, u, passkeytest.Tamper{})
	checkErr(t, err, "Backup")

	a.SetFlags(cred.ID, false, false)
	_, err = login(t, rp, a, u, passkeytest.Tamper{})
	checkErr(t, err, "")
}

func TestSignCount(t *testing.T) {
	rp, u := newRP(t), newTestUser(t)
	a := passkeytest.New(testOrigin, passkeytest.Options{DeviceBound: true})
	cred := mustRegister(t, rp, a, u)

	a.SetSignCount(cred.ID, 41)
	got, err := login(t, rp, a, u, passkeytest.Tamper{})
	if err != nil {
		t.Fatal(describe(err))
	}
	if got.Authenticator.SignCount != 42 {
		t.Errorf("signCount after SetSignCount(41) = %d, want 42", got.Authenticator.SignCount)
	}

	// A counter going backwards is what a cloned key looks like.
	a.SetSignCount(cred.ID, 10)
	got, err = login(t, rp, a, u, passkeytest.Tamper{})
	if err != nil {
		t.Fatal(describe(err))
	}
	if !got.Authenticator.CloneWarning {
		t.Error("counter 42 -> 11: no clone warning")
	}

	// Tamper.Counter reports a value without changing the stored counter.
	n := uint32(7)
	if _, err := login(t, rp, a, u, passkeytest.Tamper{Counter: &n}); err != nil {
		t.Fatal(describe(err))
	}
	if c := a.Credentials()[0].SignCount; c != 12 {
		t.Errorf("stored counter after Tamper.Counter = %d, want 12", c)
	}
}

func TestMutatorsPanicOnUnknownCredential(t *testing.T) {
	a := passkeytest.New(testOrigin, passkeytest.Options{})
	for name, f := range map[string]func(){
		"SetSignCount": func() { a.SetSignCount([]byte("nope"), 1) },
		"SetFlags":     func() { a.SetFlags([]byte("nope"), true, true) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestNewPanicsOnInvalidOptions(t *testing.T) {
	cases := map[string]struct {
		origin string
		opts   passkeytest.Options
	}{
		"relative origin": {"localhost:8000", passkeytest.Options{}},
		"algorithm":       {testOrigin, passkeytest.Options{Algorithm: -35}},
		"attachment":      {testOrigin, passkeytest.Options{Attachment: "internal"}},
		"attestation":     {testOrigin, passkeytest.Options{Attestation: "tpm"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			passkeytest.New(tc.origin, tc.opts)
		})
	}
}

// TestConcurrent is for the race detector: one authenticator shared by
// concurrent ceremonies and readers.
func TestConcurrent(t *testing.T) {
	rp := newRP(t)
	a := passkeytest.New(testOrigin, passkeytest.Options{DeviceBound: true})
	u := newTestUser(t)
	cred := mustRegister(t, rp, a, u)
	creation, _, _ := rp.BeginRegistration(newTestUser(t))
	regOptions, _ := json.Marshal(creation)
	assertion, _, _ := rp.BeginDiscoverableLogin()
	loginOptions, _ := json.Marshal(assertion)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := a.Register(regOptions); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := a.Login(loginOptions); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			a.SetFlags(cred.ID, false, false)
			_ = a.Credentials()
		})
	}
	wg.Wait()
	if n := len(a.Credentials()); n != 9 {
		t.Errorf("%d credentials, want 9", n)
	}
}
