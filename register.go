package passkeyd

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
)

// BeginRegistration starts registering a passkey for user and returns the
// options for navigator.credentials.create: {"publicKey": {...}}. The
// ceremony's sealed state goes to the client with w; nothing is stored.
func (s *Service) BeginRegistration(w http.ResponseWriter, r *http.Request, user *User) (*protocol.CredentialCreation, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	ctx := r.Context()
	existing, err := s.store.UserPasskeys(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	selection := protocol.AuthenticatorSelection{
		UserVerification: protocol.UserVerificationRequirement(s.cfg.UserVerification),
	}
	if s.cfg.Attachment != AttachmentAny {
		selection.AuthenticatorAttachment = protocol.AuthenticatorAttachment(s.cfg.Attachment)
	}
	expires := s.now().Add(s.cfg.CeremonyTTL)
	creation, sd, err := s.webauthn.BeginRegistration(&webauthnUser{user: user},
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
	st := &ceremonyState{kind: kindRegistration, userID: user.ID, expiresAt: expires, data: *sd}
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
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	ctx := r.Context()
	var extra struct {
		Name json.RawMessage `json:"name"`
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
	st, err := s.pendingCeremony(ctx, r, challenge, kindRegistration, errCeremonyUnknown, errCeremonyExpired)
	if err != nil {
		return nil, err
	}
	if st.userID != user.ID {
		return nil, errCeremonyUnknown.Wrap(errors.New("the ceremony was begun by another user"))
	}
	if problem := s.authenticatorProblem(parsed.Response.AttestationObject.AuthData, st.data.UserVerification); problem != "" {
		return nil, refusedFor(errRegistrationFail, problem)
	}
	cred, err := s.webauthn.CreateCredential(&webauthnUser{user: user}, st.data, parsed)
	if err != nil {
		return nil, withDetails(errRegistrationFail, err)
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
	err = s.store.CommitRegistration(ctx, &RegistrationCommit{Challenge: *usedChallenge(st), Passkey: p})
	switch {
	case errors.Is(err, ErrChallengeUsed):
		return nil, errCeremonyUnknown.Wrap(err)
	case errors.Is(err, ErrCredentialExists):
		return nil, errCredentialExists
	case err != nil:
		return nil, err
	}
	s.expireCeremonyCookie(w, ceremonyCookie(challenge))
	return p, nil
}
