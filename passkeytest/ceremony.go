package passkeytest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagBE = 0x08 // backup eligible
	flagBS = 0x10 // backup state
	flagAT = 0x40 // attested credential data included
)

// publicKeyType is the only PublicKeyCredentialType there is.
const publicKeyType = "public-key"

// descriptor is a PublicKeyCredentialDescriptorJSON.
type descriptor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// creationOptions is the part of PublicKeyCredentialCreationOptionsJSON the
// Authenticator acts on; unknown members are ignored, as a browser does.
type creationOptions struct {
	RP struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	} `json:"user"`
	Challenge        string `json:"challenge"`
	PubKeyCredParams []struct {
		Type string `json:"type"`
		Alg  int    `json:"alg"`
	} `json:"pubKeyCredParams"`
	ExcludeCredentials     []descriptor `json:"excludeCredentials"`
	AuthenticatorSelection struct {
		AuthenticatorAttachment string `json:"authenticatorAttachment"`
		UserVerification        string `json:"userVerification"`
	} `json:"authenticatorSelection"`
	Extensions struct {
		CredProps bool `json:"credProps"`
	} `json:"extensions"`
}

// requestOptions is the part of PublicKeyCredentialRequestOptionsJSON the
// Authenticator acts on.
type requestOptions struct {
	Challenge        string       `json:"challenge"`
	RPID             string       `json:"rpId"`
	AllowCredentials []descriptor `json:"allowCredentials"`
	UserVerification string       `json:"userVerification"`
}

// clientData is CollectedClientData; the field order is the order browsers
// serialise it in.
type clientData struct {
	Type        string `json:"type"`
	Challenge   string `json:"challenge"`
	Origin      string `json:"origin"`
	CrossOrigin bool   `json:"crossOrigin"`
	TopOrigin   string `json:"topOrigin,omitempty"`
}

// registrationResponse is RegistrationResponseJSON (WebAuthn L3 §5.1.8).
type registrationResponse struct {
	ID                      string         `json:"id"`
	RawID                   string         `json:"rawId"`
	Type                    string         `json:"type"`
	AuthenticatorAttachment string         `json:"authenticatorAttachment"`
	ClientExtensionResults  map[string]any `json:"clientExtensionResults"`
	Response                struct {
		ClientDataJSON     string   `json:"clientDataJSON"`
		AuthenticatorData  string   `json:"authenticatorData"`
		Transports         []string `json:"transports"`
		PublicKey          string   `json:"publicKey"`
		PublicKeyAlgorithm int      `json:"publicKeyAlgorithm"`
		AttestationObject  string   `json:"attestationObject"`
	} `json:"response"`
}

// authenticationResponse is AuthenticationResponseJSON (WebAuthn L3 §5.1.8).
type authenticationResponse struct {
	ID                      string         `json:"id"`
	RawID                   string         `json:"rawId"`
	Type                    string         `json:"type"`
	AuthenticatorAttachment string         `json:"authenticatorAttachment"`
	ClientExtensionResults  map[string]any `json:"clientExtensionResults"`
	Response                struct {
		ClientDataJSON    string `json:"clientDataJSON"`
		AuthenticatorData string `json:"authenticatorData"`
		Signature         string `json:"signature"`
		UserHandle        string `json:"userHandle,omitempty"`
	} `json:"response"`
}

// Register answers creation options the way navigator.credentials.create
// would, creating a new credential. optionsJSON is what the server's
// registration "begin" step returned: either {"publicKey": {...}} or the
// inner PublicKeyCredentialCreationOptionsJSON. The result is the
// RegistrationResponseJSON a browser posts back (base64url without padding).
//
// It honours rp.id (defaulting to the origin's host, and refused with
// ErrNotAllowed unless it is that host or a parent domain of it), the
// challenge, pubKeyCredParams (ErrUnsupportedAlgorithm unless the
// Authenticator's algorithm is offered; an empty list offers ES256 and
// RS256), excludeCredentials (ErrExcluded if it holds one for that RP),
// authenticatorSelection's authenticatorAttachment and userVerification
// (ErrNotAllowed if unsatisfiable) and the credProps extension.
func (a *Authenticator) Register(optionsJSON []byte) ([]byte, error) {
	return a.RegisterWith(optionsJSON, Tamper{})
}

// RegisterWith is Register with the deviations in t.
func (a *Authenticator) RegisterWith(optionsJSON []byte, t Tamper) ([]byte, error) {
	var o creationOptions
	if err := unmarshalOptions(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: parsing creation options: %w", err)
	}
	challenge, err := decodeChallenge(o.Challenge)
	if err != nil {
		return nil, err
	}
	userHandle, err := decodeB64(o.User.ID)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: user.id: %w", err)
	}
	// Browsers refuse an empty or over-long user handle with a TypeError.
	if len(userHandle) == 0 || len(userHandle) > 64 {
		return nil, fmt.Errorf("passkeytest: user.id is %d bytes, not 1 to 64", len(userHandle))
	}
	rpID, err := a.rpID(o.RP.ID)
	if err != nil {
		return nil, err
	}
	if !a.offered(o) {
		return nil, fmt.Errorf("%w: want %v", ErrUnsupportedAlgorithm, a.opts.Algorithm)
	}
	if att := o.AuthenticatorSelection.AuthenticatorAttachment; att != "" && att != a.opts.Attachment {
		return nil, fmt.Errorf("%w: options ask for a %s authenticator, this is %s", ErrNotAllowed, att, a.opts.Attachment)
	}
	if err := a.checkUV(o.AuthenticatorSelection.UserVerification); err != nil {
		return nil, err
	}
	if t.BadSignature && a.opts.Attestation == AttestationNone {
		return nil, fmt.Errorf("passkeytest: Tamper.BadSignature at registration needs %q attestation", AttestationPacked)
	}
	excluded := make([][]byte, 0, len(o.ExcludeCredentials))
	for _, d := range o.ExcludeCredentials {
		if d.Type != publicKeyType {
			continue // browsers skip descriptors of unknown types
		}
		id, err := decodeB64(d.ID)
		if err != nil {
			return nil, fmt.Errorf("passkeytest: excludeCredentials id: %w", err)
		}
		excluded = append(excluded, id)
	}
	clientDataJSON, err := a.clientDataJSON("webauthn.create", challenge, t)
	if err != nil {
		return nil, err
	}

	// Generate the key before taking the lock: RSA key generation is slow.
	signer, coseKey, spki, err := newKey(a.opts.Algorithm)
	if err != nil {
		return nil, err
	}
	id, err := newCredentialID()
	if err != nil {
		return nil, err
	}
	c := &credential{
		id:              id,
		userHandle:      userHandle,
		userName:        o.User.Name,
		userDisplayName: o.User.DisplayName,
		rpID:            rpID,
		alg:             a.opts.Algorithm,
		signer:          signer,
		cose:            coseKey,
		spki:            spki,
		be:              !a.opts.DeviceBound,
		bs:              !a.opts.DeviceBound,
	}

	// The lock covers the exclusion check and the insertion, so two
	// concurrent registrations excluding each other's credential cannot
	// both succeed.
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, held := range a.creds {
		for _, ex := range excluded {
			if held.rpID == rpID && bytes.Equal(held.id, ex) {
				return nil, fmt.Errorf("%w: %x", ErrExcluded, ex)
			}
		}
	}

	// Attested credential data: AAGUID | credentialIdLength (2 bytes, big
	// endian) | credentialId | credentialPublicKey.
	attested := make([]byte, 0, 18+len(id)+len(coseKey))
	attested = append(attested, a.opts.AAGUID[:]...)
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(id)))
	attested = append(attested, id...)
	attested = append(attested, coseKey...)
	authData := a.authData(c, rpID, flagAT, c.signCount, t, attested)

	attStmt := map[string]any{}
	if a.opts.Attestation == AttestationPacked {
		// Self attestation: the credential key signs its own creation.
		sig, err := signCeremony(c, authData, clientDataJSON, t.BadSignature)
		if err != nil {
			return nil, err
		}
		attStmt = map[string]any{"alg": int(c.alg), "sig": sig}
	}
	attObj, err := cborMarshal(map[string]any{
		"fmt":      a.opts.Attestation,
		"attStmt":  attStmt,
		"authData": authData,
	})
	if err != nil {
		return nil, err
	}

	var r registrationResponse
	r.ID = b64(id)
	r.RawID = r.ID
	r.Type = publicKeyType
	r.AuthenticatorAttachment = a.opts.Attachment
	r.ClientExtensionResults = map[string]any{}
	if o.Extensions.CredProps {
		r.ClientExtensionResults["credProps"] = map[string]bool{"rk": !a.opts.NonDiscoverable}
	}
	r.Response.ClientDataJSON = b64(clientDataJSON)
	r.Response.AuthenticatorData = b64(authData)
	r.Response.Transports = append([]string{}, a.opts.Transports...) // [] rather than null
	r.Response.PublicKey = b64(spki)
	r.Response.PublicKeyAlgorithm = int(c.alg)
	r.Response.AttestationObject = b64(attObj)
	out, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	a.creds = append(a.creds, c)
	return out, nil
}

// Login answers request options the way navigator.credentials.get would.
// optionsJSON is what the server's login "begin" step returned: either
// {"publicKey": {...}} (a sibling "mediation" is ignored) or the inner
// PublicKeyCredentialRequestOptionsJSON. The result is the
// AuthenticationResponseJSON a browser posts back.
//
// With an empty allowCredentials the login is discoverable and uses the
// most recently registered credential for the rpId; otherwise it uses the
// first listed credential it holds for the rpId. It fails with
// ErrNoCredential when there is none, and with ErrNotAllowed when
// userVerification is "required" and Options.NoUserVerification is set or
// the rpId does not suit the origin. Device-bound credentials increment
// their counter first.
func (a *Authenticator) Login(optionsJSON []byte) ([]byte, error) {
	return a.LoginWith(optionsJSON, Tamper{})
}

// LoginWith is Login with the deviations in t.
func (a *Authenticator) LoginWith(optionsJSON []byte, t Tamper) ([]byte, error) {
	var o requestOptions
	if err := unmarshalOptions(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: parsing request options: %w", err)
	}
	challenge, err := decodeChallenge(o.Challenge)
	if err != nil {
		return nil, err
	}
	rpID, err := a.rpID(o.RPID)
	if err != nil {
		return nil, err
	}
	if err := a.checkUV(o.UserVerification); err != nil {
		return nil, err
	}
	var allowed [][]byte
	for _, d := range o.AllowCredentials {
		if d.Type != publicKeyType {
			continue
		}
		id, err := decodeB64(d.ID)
		if err != nil {
			return nil, fmt.Errorf("passkeytest: allowCredentials id: %w", err)
		}
		allowed = append(allowed, id)
	}
	clientDataJSON, err := a.clientDataJSON("webauthn.get", challenge, t)
	if err != nil {
		return nil, err
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.pick(rpID, allowed)
	if c == nil {
		return nil, fmt.Errorf("%w for rpId %q", ErrNoCredential, rpID)
	}
	if a.opts.DeviceBound {
		c.signCount++
	}
	authData := a.authData(c, rpID, 0, c.signCount, t, nil)
	sig, err := signCeremony(c, authData, clientDataJSON, t.BadSignature)
	if err != nil {
		return nil, err
	}
	userHandle := c.userHandle
	if a.opts.NonDiscoverable {
		userHandle = nil
	}
	if t.UserHandle != nil {
		userHandle = t.UserHandle
	}

	var r authenticationResponse
	r.ID = b64(c.id)
	r.RawID = r.ID
	r.Type = publicKeyType
	r.AuthenticatorAttachment = a.opts.Attachment
	r.ClientExtensionResults = map[string]any{}
	r.Response.ClientDataJSON = b64(clientDataJSON)
	r.Response.AuthenticatorData = b64(authData)
	r.Response.Signature = b64(sig)
	r.Response.UserHandle = b64(userHandle)
	return json.Marshal(r)
}

// pick returns the credential a login uses, or nil; a.mu must be held.
func (a *Authenticator) pick(rpID string, allowed [][]byte) *credential {
	if len(allowed) == 0 {
		if a.opts.NonDiscoverable {
			return nil
		}
		// Discoverable: a real client would let the user choose; the
		// newest is the predictable choice for tests.
		for i := len(a.creds) - 1; i >= 0; i-- {
			if a.creds[i].rpID == rpID {
				return a.creds[i]
			}
		}
		return nil
	}
	for _, id := range allowed {
		for _, c := range a.creds {
			if c.rpID == rpID && bytes.Equal(c.id, id) {
				return c
			}
		}
	}
	return nil
}

// offered reports whether the options' pubKeyCredParams include the
// Authenticator's algorithm.
func (a *Authenticator) offered(o creationOptions) bool {
	if len(o.PubKeyCredParams) == 0 {
		// WebAuthn §5.1.3: an empty list means ES256 and RS256.
		return a.opts.Algorithm == ES256 || a.opts.Algorithm == RS256
	}
	for _, p := range o.PubKeyCredParams {
		if p.Type == publicKeyType && Algorithm(p.Alg) == a.opts.Algorithm {
			return true
		}
	}
	return false
}

// checkUV fails when the options require user verification this
// authenticator cannot perform.
func (a *Authenticator) checkUV(requirement string) error {
	if requirement == "required" && a.opts.NoUserVerification {
		return fmt.Errorf("%w: user verification required but the authenticator has none", ErrNotAllowed)
	}
	return nil
}

// rpID returns the relying party ID for options that named id (possibly
// empty). Like a browser it defaults to the origin's host and refuses an
// RP ID that is neither that host nor a parent domain of it, so that a
// misconfigured server fails in tests as it would in a browser.
func (a *Authenticator) rpID(id string) (string, error) {
	if id == "" {
		return a.host, nil
	}
	l := strings.ToLower(id)
	if a.host == l || strings.HasSuffix(a.host, "."+l) {
		return id, nil
	}
	return "", fmt.Errorf("%w: rp ID %q is not valid for origin %q", ErrNotAllowed, id, a.origin)
}

// clientDataJSON builds the CollectedClientData for a ceremony of type typ
// over challenge, with t applied.
func (a *Authenticator) clientDataJSON(typ string, challenge []byte, t Tamper) ([]byte, error) {
	if t.ClientDataJSON != nil {
		return bytes.Clone(t.ClientDataJSON), nil
	}
	cd := clientData{
		Type:        typ,
		Challenge:   b64(challenge), // re-encoded, as a browser does
		Origin:      a.origin,
		CrossOrigin: t.CrossOrigin,
		TopOrigin:   t.TopOrigin,
	}
	if t.Type != "" {
		cd.Type = t.Type
	}
	if t.Challenge != "" {
		cd.Challenge = t.Challenge
	}
	if t.Origin != "" {
		cd.Origin = t.Origin
	}
	// Browsers do not escape <, > and & as json.Marshal would.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cd); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// authData lays out authenticator data: rpIdHash (32) | flags (1) |
// signCount (4, big endian) | attested (registration only). extra holds
// flags to add (AT at registration).
func (a *Authenticator) authData(c *credential, rpID string, extra byte, counter uint32, t Tamper, attested []byte) []byte {
	if t.RPID != "" {
		rpID = t.RPID
	}
	if t.Counter != nil {
		counter = *t.Counter
	}
	flags := extra
	if !a.opts.NoUserPresence && !t.NoUP {
		flags |= flagUP
	}
	if !a.opts.NoUserVerification && !t.NoUV {
		flags |= flagUV
	}
	if c.be {
		flags |= flagBE
	}
	if c.bs {
		flags |= flagBS
	}
	h := sha256.Sum256([]byte(rpID))
	out := make([]byte, 0, 37+len(attested))
	out = append(out, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, counter)
	return append(out, attested...)
}

// signCeremony signs authData || SHA-256(clientDataJSON) with c's key. If
// bad, it signs that message with its last byte flipped instead, which
// gives a well-formed signature that does not verify.
func signCeremony(c *credential, authData, clientDataJSON []byte, bad bool) ([]byte, error) {
	h := sha256.Sum256(clientDataJSON)
	msg := append(bytes.Clone(authData), h[:]...)
	if bad {
		msg[len(msg)-1] ^= 0x01
	}
	return sign(c.signer, c.alg, msg)
}

// unmarshalOptions decodes options JSON into v, accepting both the
// {"publicKey": {...}} wrapper servers return and the inner object.
func unmarshalOptions(data []byte, v any) error {
	var outer struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(data, &outer); err != nil {
		return err
	}
	if len(outer.PublicKey) > 0 && string(outer.PublicKey) != "null" {
		data = outer.PublicKey
	}
	return json.Unmarshal(data, v)
}

// decodeChallenge decodes the options' challenge, which must not be empty.
func decodeChallenge(s string) ([]byte, error) {
	c, err := decodeB64(s)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: challenge: %w", err)
	}
	if len(c) == 0 {
		return nil, errors.New("passkeytest: options have no challenge")
	}
	return c, nil
}

// newCredentialID returns 16 to 32 random bytes; the varying length makes
// servers that assume a fixed size fail in tests.
func newCredentialID() ([]byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(17))
	if err != nil {
		return nil, err
	}
	id := make([]byte, 16+n.Int64())
	_, err = rand.Read(id)
	return id, err
}

// b64 encodes base64url without padding, the encoding of WebAuthn JSON.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// decodeB64 decodes base64url. Trailing padding is tolerated, as
// go-webauthn's own decoder tolerates it, so that a server which pads is not
// failed here for something unrelated to what the test checks.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
