package passkeytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math/big"
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// credential is a credential with its private key. Fields other than the
// counter and flags never change after registration.
type credential struct {
	id              []byte
	userHandle      []byte
	userName        string
	userDisplayName string
	rpID            string
	alg             Algorithm
	signer          crypto.Signer
	cose            []byte // COSE_Key of the public key
	spki            []byte // DER SubjectPublicKeyInfo of the public key

	signCount uint32
	be, bs    bool
}

// public returns the exported view of c, with copied slices.
func (c *credential) public() Credential {
	return Credential{
		ID:              slices.Clone(c.id),
		UserHandle:      slices.Clone(c.userHandle),
		UserName:        c.userName,
		UserDisplayName: c.userDisplayName,
		RPID:            c.rpID,
		Algorithm:       c.alg,
		PublicKey:       slices.Clone(c.cose),
		PublicKeySPKI:   slices.Clone(c.spki),
		SignCount:       c.signCount,
		BackupEligible:  c.be,
		BackupState:     c.bs,
	}
}

// newKey generates a key pair for alg and returns the private key with the
// public key as a COSE_Key and as SubjectPublicKeyInfo.
func newKey(alg Algorithm) (signer crypto.Signer, coseKey, spki []byte, err error) {
	// COSE_Key labels (RFC 9052/9053): 1 kty, 3 alg, -1 crv or n,
	// -2 x or e, -3 y. Integer keys, encoded canonically by cborMarshal.
	var key map[int]any
	switch alg {
	case ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, nil, err
		}
		// Bytes is the uncompressed point 0x04 || X || Y with X and Y
		// padded to 32 bytes, which is the fixed width COSE requires.
		pt, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, nil, nil, err
		}
		signer = k
		key = map[int]any{1: 2, 3: int(ES256), -1: 1, -2: pt[1:33], -3: pt[33:65]}
	case EdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, nil, err
		}
		signer = priv
		key = map[int]any{1: 1, 3: int(EdDSA), -1: 6, -2: []byte(pub)}
	case RS256:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, nil, err
		}
		signer = k
		// The exponent is an unsigned big-endian byte string without
		// leading zeros (RFC 8230).
		key = map[int]any{1: 3, 3: int(RS256), -1: k.N.Bytes(), -2: big.NewInt(int64(k.E)).Bytes()}
	default:
		return nil, nil, nil, fmt.Errorf("passkeytest: unsupported %v", alg)
	}
	if coseKey, err = cborMarshal(key); err != nil {
		return nil, nil, nil, err
	}
	if spki, err = x509.MarshalPKIXPublicKey(signer.Public()); err != nil {
		return nil, nil, nil, err
	}
	return signer, coseKey, spki, nil
}

// sign signs msg (authenticatorData || SHA-256(clientDataJSON), for both
// assertions and packed attestation) the way alg prescribes: ECDSA
// signatures are ASN.1 DER, Ed25519 signs the message itself, RSA is
// PKCS #1 v1.5 over the SHA-256 digest.
func sign(signer crypto.Signer, alg Algorithm, msg []byte) ([]byte, error) {
	switch alg {
	case ES256, RS256:
		digest := sha256.Sum256(msg)
		// ecdsa.PrivateKey.Sign yields ASN.1 DER, rsa.PrivateKey.Sign with
		// a crypto.Hash yields PKCS #1 v1.5: both what WebAuthn wants.
		return signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	case EdDSA:
		return signer.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	return nil, fmt.Errorf("passkeytest: unsupported %v", alg)
}

// cborMarshal encodes v in the CTAP2 canonical CBOR form, which is what
// authenticators produce and strict servers expect (sorted map keys,
// shortest lengths, no indefinite lengths or tags). The encoding mode is
// built per call so the package has no global state; it is cheap.
func cborMarshal(v any) ([]byte, error) {
	em, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		return nil, err
	}
	return em.Marshal(v)
}
