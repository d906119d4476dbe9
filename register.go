package passkeyd

import (
	"context"
	"math/big"
	"unicode/utf8"

	"encoding/json"
	"errors"
	"fmt"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
)

// BeginRegistration starts registering a passkey for user and returns the
// options for navigator.credentials.create: {"publicKey": {...}}. The
// ceremony's sealed state goes to the client with w; nothing is stored.
func (s *Service) BeginRegistration(w http.ResponseWriter, r *http.Request, user *User) (*protocol.CredentialCreation, error) {
	return s.beginRegistration(w, r, user, kindRegistration, false)
}

// BeginConditionalRegistration is BeginRegistration for a conditional
// create ("automatic passkey upgrade"): the browser makes the passkey
// without asking, right after a password login, where the password
// manager that filled the password in can. Its finish, and only its,
// takes a response without user presence.
func (s *Service) BeginConditionalRegistration(w http.ResponseWriter, r *http.Request, user *User) (*protocol.CredentialCreation, error) {
	return s.beginRegistration(w, r, user, kindRegistration, true)
}

// beginRegistration begins a ceremony of kind (a registration, or a
// sign-up's first passkey) for user.
func (s *Service) beginRegistration(w http.ResponseWriter, r *http.Request, user *User, kind byte, conditional bool) (*protocol.CredentialCreation, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	ctx := r.Context()
	existing, err := s.store.UserPasskeys(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	if len(existing) >= s.cfg.MaxPasskeys {
		return nil, errTooManyKeys
	}
	selection := protocol.AuthenticatorSelection{
		UserVerification: protocol.UserVerificationRequirement(s.cfg.UserVerification),
	}
	if s.cfg.Attachment != AttachmentAny {
		selection.AuthenticatorAttachment = protocol.AuthenticatorAttachment(s.cfg.Attachment)
	}
	expires := s.now().Add(s.cfg.CeremonyTTL)
	mediation := protocol.MediationDefault
	if conditional {
		mediation = protocol.MediationConditional
	}
	creation, sd, err := s.webauthn.BeginMediatedRegistration(&webauthnUser{user: user}, mediation,
		withChallenge(newChallenge(expires)),
		webauthn.WithAuthenticatorSelection(selection),
		// After WithAuthenticatorSelection, which would overwrite it.
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
		webauthn.WithExclusions(descriptors(existing, false)),
		webauthn.WithCredentialParameters(credentialParameters()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
	)
	if err != nil {
		return nil, fmt.Errorf("begin registration: %w", err)
	}
	st := &ceremonyState{kind: kind, userID: user.ID, expiresAt: expires, data: *sd}
	if kind == kindSignUp {
		st.newUser = user
	}
	if err := s.handOut(ctx, w, r, st); err != nil {
		return nil, err
	}
	return creation, nil
}

// FinishRegistration verifies a registration response for user — the
// browser's RegistrationResponseJSON, with an optional "name" for the
// passkey beside its fields ("" or none gives the platform's name) — and
// stores the new passkey. A response that fails verification uses up
// nothing: the ceremony stays pending until it expires or succeeds.
func (s *Service) FinishRegistration(w http.ResponseWriter, r *http.Request, user *User, response []byte) (*Passkey, error) {
	p, err := s.finishRegistration(w, r, user, response)
	s.countCeremony("registration", err)
	return p, err
}

func (s *Service) finishRegistration(w http.ResponseWriter, r *http.Request, user *User, response []byte) (*Passkey, error) {
	r = s.withRequestInfo(r)
	reg, err := s.verifyRegistration(r, response, kindRegistration, func(st *ceremonyState) (*User, error) {
		if st.userID != user.ID {
			return nil, errCeremonyUnknown.Wrap(errors.New("the ceremony was begun by another user"))
		}
		return user, nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.checkPasskeyCount(r.Context(), user); err != nil {
		return nil, err
	}
	if err := s.commitRegistration(w, r, reg); err != nil {
		return nil, err
	}
	return reg.Passkey, nil
}

// registration is a verified registration response, not yet stored.
type registration struct {
	Passkey   *Passkey
	state     *ceremonyState
	challenge string
}

// verifyRegistration reads and verifies a registration response to a
// pending ceremony of kind, for the user whose returns: the user
// registering, or a new one signing up.
func (s *Service) verifyRegistration(r *http.Request, response []byte, kind byte, whose func(*ceremonyState) (*User, error)) (*registration, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	ctx := r.Context()
	var extra struct {
		Name json.RawMessage `json:"name"`
	}
	if !utf8.Valid(response) {
		return nil, errInvalidJSON.Wrap(errors.New("the body is not UTF-8"))
	}
	if err := json.Unmarshal(response, &extra); err != nil {
		return nil, errInvalidJSON.Wrap(err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, errBadRegistration.Wrap(err)
	}
	name, err := passkeyName(extra.Name)
	if err != nil {
		return nil, err
	}
	challenge := parsed.Response.CollectedClientData.Challenge
	st, err := s.pendingCeremony(ctx, r, challenge, kind, errCeremonyUnknown, errCeremonyExpired)
	if err != nil {
		return nil, err
	}
	user, err := whose(st)
	if err != nil {
		return nil, err
	}
	ad := parsed.Response.AttestationObject.AuthData
	if st.data.Mediation == protocol.MediationConditional {
		// A conditional create is made without asking (WebAuthn Level 3
		// §5.1.3): its authenticator data may lack user presence, which
		// go-webauthn then does not require either — for this ceremony
		// only, as its sealed state says.
		ad.Flags |= protocol.FlagUserPresent
	}
	if problem := s.authenticatorProblem(ad, st.data.UserVerification); problem != "" {
		return nil, refusedFor(errRegistrationFail, problem)
	}
	cred, err := s.webauthn.CreateCredential(&webauthnUser{user: user}, st.data, parsed)
	if err != nil {
		return nil, errRegistrationFail.Wrap(err)
	}
	if err := checkNewCredential(cred); err != nil {
		return nil, err
	}
	platform := s.platforms.Platform(r.UserAgent())
	if name == "" {
		name = platform
	}
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	p := &Passkey{
		ID:                 uuid.NewString(),
		UserID:             user.ID,
		CredentialID:       cred.ID,
		PublicKey:          cred.PublicKey,
		PublicKeyAlgorithm: cred.Attestation.PublicKeyAlgorithm,
		AttestationType:    cred.AttestationType,
		AttestationFormat:  cred.AttestationFormat,
		AAGUID:             aaguidBytes(cred.Authenticator.AAGUID),
		SignCount:          cred.Authenticator.SignCount,
		Transports:         transports,
		Attachment:         string(parsed.AuthenticatorAttachment),
		UserVerified:       cred.Flags.UserVerified,
		BackupEligible:     cred.Flags.BackupEligible,
		BackupState:        cred.Flags.BackupState,
		Name:               name,
		Platform:           platform,
		Provider:           s.providers.Name(cred.Authenticator.AAGUID),
		Enabled:            true,
		CreatedAt:          s.now().UTC(),
	}
	return &registration{Passkey: p, state: st, challenge: challenge}, nil
}

// commitRegistration stores a verified registration: the passkey, its
// challenge as used, and the audit event, in one commit.
func (s *Service) commitRegistration(w http.ResponseWriter, r *http.Request, reg *registration) error {
	ctx := r.Context()
	p := reg.Passkey
	added := s.auditEvent(ctx, p.UserID, AuditPasskeyAdded, AuditOK)
	added.Method, added.PasskeyID = "passkey", p.ID
	commit := &RegistrationCommit{Challenge: *usedChallenge(reg.state), Passkey: p, Audit: []AuditEvent{added}}
	err := s.timed(ctx, "registration", func(ctx context.Context) error { return s.store.CommitRegistration(ctx, commit) })
	switch {
	case errors.Is(err, ErrChallengeUsed):
		return errCeremonyUnknown.Wrap(err)
	case errors.Is(err, ErrCredentialExists):
		return errCredentialExists
	case err != nil:
		return err
	}
	s.expireCeremonyCookie(w, ceremonyCookie(reg.challenge))
	return nil
}

// Bounds of what a registration stores.
const (
	// maxTransports is more than the six transports WebAuthn defines.
	maxTransports = 8
	// DefaultMaxPasskeys is Config.MaxPasskeys when it is not set.
	DefaultMaxPasskeys = 100
)

// knownTransports are the transports WebAuthn Level 3 defines.
var knownTransports = map[protocol.AuthenticatorTransport]bool{
	protocol.USB: true, protocol.NFC: true, protocol.BLE: true, protocol.SmartCard: true,
	protocol.Hybrid: true, protocol.Internal: true,
}

// offeredAlgorithms are the key algorithms credentialParameters offers.
var offeredAlgorithms = map[int64]bool{
	int64(webauthncose.AlgEdDSA): true, int64(webauthncose.AlgES256): true, int64(webauthncose.AlgRS256): true,
}

// minRSABits is the smallest RSA key taken, as NIST and WebAuthn's RS256
// authenticators use.
const minRSABits = 2048

var (
	errBadPublicKey  = NewError("registration_failed", "The passkey's public key is not a valid key of the algorithm it names.")
	errBadTransports = NewError("registration_failed", "").withTexts(text{template: msg("The passkey names transports WebAuthn does not define, or more than {{.Max}}."), data: map[string]any{"Max": maxTransports}})
	errTooManyKeys   = NewError("too_many_passkeys", "You have as many passkeys as an account may have. Delete one you no longer use first.")
)

// checkNewCredential refuses what go-webauthn verified but passkeyd will
// not store: a public key that does not parse, or is not a valid key of
// an algorithm passkeyd offered (a P-384 point labelled ES256, a point
// off its curve, a short RSA key); transports it does not know, or too
// many. (An attachment other than WebAuthn's two is read as unknown, ""
// by go-webauthn, so no other is ever stored.)
func checkNewCredential(cred *webauthn.Credential) error {
	key, err := webauthncose.ParsePublicKey(cred.PublicKey)
	if err != nil {
		return errBadPublicKey.Wrap(err)
	}
	var alg int64
	switch k := key.(type) {
	case webauthncose.EC2PublicKeyData:
		alg = k.Algorithm
	case webauthncose.OKPPublicKeyData:
		alg = k.Algorithm
	case webauthncose.RSAPublicKeyData:
		alg = k.Algorithm
		if bits := new(big.Int).SetBytes(k.Modulus).BitLen(); bits < minRSABits {
			return errBadPublicKey.Wrap(fmt.Errorf("an RSA key of %d bits", bits))
		}
	default:
		return errBadPublicKey.Wrap(fmt.Errorf("a key of type %T", key))
	}
	if !offeredAlgorithms[alg] {
		return errBadPublicKey.Wrap(fmt.Errorf("algorithm %d was not offered", alg))
	}
	if named := int64(cred.Attestation.PublicKeyAlgorithm); named != 0 && named != alg {
		return errBadPublicKey.Wrap(fmt.Errorf("the response names algorithm %d, the key %d", named, alg))
	}
	if len(cred.Transport) > maxTransports {
		return errBadTransports.Wrap(fmt.Errorf("%d transports", len(cred.Transport)))
	}
	for _, t := range cred.Transport {
		if !knownTransports[t] {
			return errBadTransports.Wrap(fmt.Errorf("transport %q", t))
		}
	}
	return nil
}

// checkPasskeyCount refuses a new passkey to a user who has as many as an
// account may (Config.MaxPasskeys): beyond it, the list and each
// registration's exclude list only grow.
func (s *Service) checkPasskeyCount(ctx context.Context, user *User) error {
	existing, err := s.store.UserPasskeys(ctx, user.ID)
	if err != nil {
		return err
	}
	if len(existing) >= s.cfg.MaxPasskeys {
		return errTooManyKeys
	}
	return nil
}
