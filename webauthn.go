package passkeyd

// What passkeyd gives go-webauthn, and reads of what it gets back.

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
)

// webauthnUser adapts a User and some of its passkeys to the library.
type webauthnUser struct {
	user  *User
	creds []webauthn.Credential
}

func (u *webauthnUser) WebAuthnID() []byte                         { return u.user.Handle }
func (u *webauthnUser) WebAuthnName() string                       { return u.user.Username }
func (u *webauthnUser) WebAuthnDisplayName() string                { return u.user.DisplayName }
func (u *webauthnUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func credential(p *Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                p.CredentialID,
		PublicKey:         p.PublicKey,
		AttestationType:   p.AttestationType,
		AttestationFormat: p.AttestationFormat,
		Transport:         transports,
		Flags: webauthn.CredentialFlags{
			UserPresent:    true,
			UserVerified:   p.UserVerified,
			BackupEligible: p.BackupEligible,
			BackupState:    p.BackupState,
		},
		Authenticator: webauthn.Authenticator{
			AAGUID:     p.AAGUID,
			SignCount:  p.SignCount,
			Attachment: protocol.AuthenticatorAttachment(p.Attachment),
		},
	}
}

func descriptors(ps []*Passkey, onlyEnabled bool) []protocol.CredentialDescriptor {
	out := []protocol.CredentialDescriptor{}
	for _, p := range ps {
		if onlyEnabled && !p.Enabled {
			continue
		}
		c := credential(p)
		out = append(out, c.Descriptor())
	}
	return out
}

// credentialParameters are the key algorithms offered: EdDSA, ES256 and
// RS256, WebAuthn Level 3's recommendation.
func credentialParameters() []protocol.CredentialParameter {
	return []protocol.CredentialParameter{
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
	}
}

// aaguidBytes returns a 16-byte AAGUID, zeros when the authenticator gave
// none.
func aaguidBytes(b []byte) []byte {
	if len(b) == 16 {
		return b
	}
	return make([]byte, 16)
}

// authenticatorProblem explains, in words a person can act on, why a
// response's authenticator data will not verify — made for another site,
// no user presence, no user verification where it is required — or
// returns "". It reads the data itself, before go-webauthn verifies the
// response, rather than matching the library's messages.
func (s *Service) authenticatorProblem(ad protocol.AuthenticatorData, uv protocol.UserVerificationRequirement) string {
	rpIDHash := sha256.Sum256([]byte(s.cfg.RPID))
	switch {
	case !bytes.Equal(ad.RPIDHash, rpIDHash[:]):
		return msg("The passkey was made for another site.")
	case !ad.Flags.HasUserPresent():
		return msg("The authenticator did not confirm that you were present (a touch or a click).")
	case uv == protocol.VerificationRequired && !ad.Flags.HasUserVerified():
		return msg("This site requires your device to verify it is you (a PIN, fingerprint or face), and it did not.")
	}
	return ""
}

// refusedFor returns e saying why the authenticator's data is refused.
func refusedFor(e *Error, problem string) *Error {
	return e.Wrap(errors.New(problem)).withTexts(slices.Concat(e.texts, []text{{template: problem}})...)
}
