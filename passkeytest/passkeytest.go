// Package passkeytest provides a software WebAuthn authenticator and client
// for tests, in the spirit of net/http/httptest.
//
// An [Authenticator] plays both the browser and the authenticator: it takes
// the JSON a relying party's "begin" endpoint returns (creation or request
// options), and produces the JSON a browser's PublicKeyCredential.toJSON()
// would post to the "finish" endpoint. The attestations and assertions are
// real: keys are generated with crypto/ecdsa, crypto/ed25519 or crypto/rsa,
// the authenticator data and CBOR are laid out as the WebAuthn Level 3
// specification says, and the signatures verify with any conforming server
// library, such as github.com/go-webauthn/webauthn.
//
// The zero [Options] describe a typical synced platform passkey (ES256, user
// present and verified, backup eligible and backed up, counter always 0).
// Options and the per-credential mutators ([Authenticator.SetSignCount],
// [Authenticator.SetFlags]) describe other authenticators; [Tamper], passed to
// [Authenticator.RegisterWith] or [Authenticator.LoginWith], produces the bad
// input a server must refuse (wrong origin, wrong challenge, bad signature,
// and so on), still correctly signed unless a bad signature is asked for.
//
// Like httptest, the constructor and mutators panic on programmer errors
// (invalid options, unknown credential IDs) rather than returning errors, so
// tests stay short; ceremonies return errors because a server may legitimately
// send options the authenticator must refuse.
package passkeytest

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Algorithm is a COSE algorithm identifier (IANA "COSE Algorithms"
// registry), the value a server lists in pubKeyCredParams.
type Algorithm int

// The algorithms the Authenticator can create credentials with. They are the
// three WebAuthn Level 3 recommends every relying party accept.
const (
	// ES256 is ECDSA on P-256 with SHA-256, DER-encoded signatures.
	ES256 Algorithm = -7
	// EdDSA is Ed25519.
	EdDSA Algorithm = -8
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit key.
	RS256 Algorithm = -257
)

// String returns the algorithm's COSE name, e.g. "ES256".
func (alg Algorithm) String() string {
	switch alg {
	case ES256:
		return "ES256"
	case EdDSA:
		return "EdDSA"
	case RS256:
		return "RS256"
	}
	return fmt.Sprintf("Algorithm(%d)", int(alg))
}

// Attachment and attestation values accepted in [Options].
const (
	// Platform is the authenticatorAttachment of an authenticator built into
	// the client device (Touch ID, Windows Hello, a password manager).
	Platform = "platform"
	// CrossPlatform is the authenticatorAttachment of a roaming
	// authenticator such as a USB security key.
	CrossPlatform = "cross-platform"
	// AttestationNone returns fmt "none" with an empty attStmt; what most
	// passkey providers send.
	AttestationNone = "none"
	// AttestationPacked returns fmt "packed" self attestation: alg and sig,
	// no x5c, signed with the new credential's own key.
	AttestationPacked = "packed"
)

// Errors returned by ceremonies. They are wrapped with details, so compare
// with errors.Is.
var (
	// ErrExcluded means the creation options' excludeCredentials lists a
	// credential the Authenticator already holds for that relying party;
	// a browser reports this as InvalidStateError.
	ErrExcluded = errors.New("passkeytest: authenticator holds an excluded credential")
	// ErrNoCredential means the Authenticator holds no credential the request
	// options accept.
	ErrNoCredential = errors.New("passkeytest: no matching credential")
	// ErrUnsupportedAlgorithm means pubKeyCredParams does not offer the
	// Authenticator's algorithm.
	ErrUnsupportedAlgorithm = errors.New("passkeytest: algorithm not offered in pubKeyCredParams")
	// ErrNotAllowed means the options ask for something this authenticator
	// cannot do (user verification it lacks, another attachment, an rp.id
	// the origin may not use); a browser reports these as NotAllowedError
	// or SecurityError.
	ErrNotAllowed = errors.New("passkeytest: options not satisfiable by this authenticator")
)

// Options describe the simulated authenticator. The zero value is a synced
// platform passkey: ES256, user present and verified, backup eligible and
// backed up, a signature counter that stays 0, "none" attestation.
type Options struct {
	// Algorithm of the credentials created; ES256 when zero.
	Algorithm Algorithm
	// AAGUID identifies the authenticator model in attested credential
	// data; zero (unknown) by default.
	AAGUID [16]byte
	// Attachment is reported as authenticatorAttachment: Platform (the
	// default when empty) or CrossPlatform. Creation options that demand
	// the other attachment fail with ErrNotAllowed.
	Attachment string
	// Transports reported at registration; ["internal"] for a platform
	// authenticator and ["usb"] for a cross-platform one when nil.
	Transports []string
	// NoUserVerification makes the authenticator unable to verify the user:
	// the UV flag is clear, and options with userVerification "required"
	// fail with ErrNotAllowed, as a browser would. To send UV=0 to a server
	// that requires it, use Tamper.NoUV instead.
	NoUserVerification bool
	// NoUserPresence clears the UP flag in every ceremony.
	NoUserPresence bool
	// DeviceBound makes a security-key-like credential: BE and BS clear,
	// and a signature counter that is incremented before each assertion
	// (so the first assertion reports 1). Otherwise BE and BS are set and
	// the counter stays where it is (0 unless changed by SetSignCount),
	// as synced passkeys do.
	DeviceBound bool
	// NonDiscoverable makes credentials a security key keeps no record
	// of (server-side, not resident): a login finds one only when its
	// allowCredentials lists it, and the answer carries no userHandle.
	NonDiscoverable bool
	// Attestation is AttestationNone (the default when empty) or
	// AttestationPacked. It is returned whatever the options' attestation
	// conveyance preference says.
	Attestation string
}

// Credential describes a credential the Authenticator holds. The slices are
// copies; changing them does not change the Authenticator.
type Credential struct {
	// ID is the credential ID (16 to 32 random bytes).
	ID []byte
	// UserHandle is the user.id of the creation options.
	UserHandle []byte
	// UserName and UserDisplayName are user.name and user.displayName of
	// the creation options.
	UserName, UserDisplayName string
	// RPID is the relying party ID the credential is scoped to.
	RPID string
	// Algorithm of the credential key.
	Algorithm Algorithm
	// PublicKey is the credential public key as a COSE_Key (CBOR), as it
	// appears in the attested credential data.
	PublicKey []byte
	// PublicKeySPKI is the public key as DER SubjectPublicKeyInfo, as it
	// appears in the registration response's publicKey.
	PublicKeySPKI []byte
	// SignCount is the signature counter the last ceremony reported (or
	// the value set by SetSignCount).
	SignCount uint32
	// BackupEligible and BackupState are the BE and BS flags the credential
	// reports.
	BackupEligible, BackupState bool
}

// Authenticator is a software authenticator holding credentials, together
// with the client (browser) that calls it from one origin. It is safe for
// concurrent use.
type Authenticator struct {
	origin string
	host   string // origin's host name, the default and the scope of RP IDs
	opts   Options

	mu    sync.Mutex
	creds []*credential // in registration order, so the last is the newest
}

// New returns an Authenticator whose client runs at origin (the web origin,
// e.g. "https://localhost:8000", written into clientDataJSON). It panics if
// origin is not an absolute URL with a host or if opts has an invalid value,
// because either is a mistake in the test, not in the code under test.
func New(origin string, opts Options) *Authenticator {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Hostname() == "" {
		panic(fmt.Sprintf("passkeytest: origin %q is not an absolute URL with a host", origin))
	}
	if opts.Algorithm == 0 {
		opts.Algorithm = ES256
	}
	switch opts.Algorithm {
	case ES256, EdDSA, RS256:
	default:
		panic(fmt.Sprintf("passkeytest: unsupported %v", opts.Algorithm))
	}
	if opts.Attachment == "" {
		opts.Attachment = Platform
	}
	switch opts.Attachment {
	case Platform:
		if opts.Transports == nil {
			opts.Transports = []string{"internal"}
		}
	case CrossPlatform:
		if opts.Transports == nil {
			opts.Transports = []string{"usb"}
		}
	default:
		panic(fmt.Sprintf("passkeytest: attachment %q is neither %q nor %q", opts.Attachment, Platform, CrossPlatform))
	}
	// Copied so that the caller reusing its slice cannot change us.
	opts.Transports = slices.Clone(opts.Transports)
	if opts.Attestation == "" {
		opts.Attestation = AttestationNone
	}
	if opts.Attestation != AttestationNone && opts.Attestation != AttestationPacked {
		panic(fmt.Sprintf("passkeytest: attestation %q is neither %q nor %q", opts.Attestation, AttestationNone, AttestationPacked))
	}
	return &Authenticator{
		origin: origin,
		host:   strings.ToLower(u.Hostname()),
		opts:   opts,
	}
}

// Origin returns the origin the Authenticator's client claims.
func (a *Authenticator) Origin() string { return a.origin }

// Credentials returns copies of the credentials the Authenticator holds, in
// the order they were registered.
func (a *Authenticator) Credentials() []Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Credential, 0, len(a.creds))
	for _, c := range a.creds {
		out = append(out, c.public())
	}
	return out
}

// SetSignCount sets the signature counter of the credential with ID credID.
// A device-bound credential reports n+1 in its next assertion, any other
// reports n from now on. It panics if the Authenticator holds no such
// credential.
func (a *Authenticator) SetSignCount(credID []byte, n uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mustFind(credID).signCount = n
}

// SetFlags sets the backup eligibility (BE) and backup state (BS) flags the
// credential with ID credID reports from its next ceremony on, e.g. to test
// how a server reacts to BE changing after registration. It panics if the
// Authenticator holds no such credential.
func (a *Authenticator) SetFlags(credID []byte, be, bs bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.mustFind(credID)
	c.be, c.bs = be, bs
}

// mustFind returns the credential with ID id; a.mu must be held.
func (a *Authenticator) mustFind(id []byte) *credential {
	for _, c := range a.creds {
		if bytes.Equal(c.id, id) {
			return c
		}
	}
	panic(fmt.Sprintf("passkeytest: no credential with ID %x", id))
}

// Tamper lists deviations from a correct ceremony, for testing that a server
// refuses bad input. The zero value changes nothing. Everything but
// BadSignature is applied before signing, so the result is correctly signed
// and only the tampered property is wrong.
type Tamper struct {
	// Type replaces clientDataJSON.type ("webauthn.create" or
	// "webauthn.get").
	Type string
	// Challenge replaces clientDataJSON.challenge, verbatim (a server
	// compares the base64url string).
	Challenge string
	// Origin replaces clientDataJSON.origin.
	Origin string
	// CrossOrigin sets clientDataJSON.crossOrigin to true.
	CrossOrigin bool
	// TopOrigin sets clientDataJSON.topOrigin.
	TopOrigin string
	// ClientDataJSON, when non-nil, is sent and signed instead of the
	// client data built from the fields above, e.g. to send malformed JSON.
	ClientDataJSON []byte
	// RPID replaces the relying party ID whose SHA-256 is the rpIdHash of
	// the authenticator data. It does not change the RP ID the credential
	// is scoped to.
	RPID string
	// NoUP and NoUV clear the user present and user verified flags.
	NoUP, NoUV bool
	// Counter, when non-nil, is reported as the signature counter instead
	// of the credential's. The stored counter still advances as usual.
	Counter *uint32
	// BadSignature makes the signature (the assertion signature at login,
	// the attestation signature at registration) a well-formed signature
	// by the right key over the wrong data. Registration with "none"
	// attestation has no signature, so it fails with an error then.
	BadSignature bool
	// UserHandle, when non-nil, is sent as the assertion's userHandle
	// instead of the credential's. Login only.
	UserHandle []byte
}
