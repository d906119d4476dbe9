package passkeyd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
)

// UserLookup is what the passkey ceremonies need of the host's users.
type UserLookup interface {
	// UserByID returns the user, or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// RecordLogin notes a successful login.
	RecordLogin(ctx context.Context, userID string, at time.Time) error
}

// Stores are the storage a Service works on.
type Stores struct {
	Users      UserLookup
	Passkeys   PasskeyStore
	Ceremonies CeremonyStore
}

// Service runs passkey registration and login and manages passkeys. It
// is safe for concurrent use; make one at start-up.
type Service struct {
	cfg       Config
	webauthn  *webauthn.WebAuthn
	stores    Stores
	sessions  *Sessions
	platforms *PlatformDetector
	providers *Providers
	log       *slog.Logger
	now       func() time.Time
}

// NewService checks cfg and returns a Service.
func NewService(cfg Config, stores Stores, sessions *Sessions) (*Service, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if stores.Users == nil || stores.Passkeys == nil || stores.Ceremonies == nil || sessions == nil {
		return nil, errors.New("passkeyd: Users, Passkeys, Ceremonies and Sessions are required")
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPName,
		RPOrigins:             append([]string(nil), cfg.Origins...),
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			UserVerification: protocol.UserVerificationRequirement(cfg.UserVerification),
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.CeremonyTTL, TimeoutUVD: cfg.CeremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.CeremonyTTL, TimeoutUVD: cfg.CeremonyTTL},
		},
		// Password managers add extension outputs nobody asked for; they
		// change nothing we rely on, so they must not fail a registration.
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
	if err != nil {
		return nil, fmt.Errorf("passkeyd: %w", err)
	}
	platforms, err := NewPlatformDetector()
	if err != nil {
		return nil, err
	}
	providers, err := NewProviders()
	if err != nil {
		return nil, err
	}
	return &Service{
		cfg: cfg, webauthn: wa, stores: stores, sessions: sessions,
		platforms: platforms, providers: providers, log: cfg.Logger, now: time.Now,
	}, nil
}

// Errors of the ceremonies, as the client is told.
var (
	ErrNotLoggedIn      = NewError(http.StatusUnauthorized, "not_logged_in", "You need to log in first.")
	errBadRegistration  = NewError(http.StatusBadRequest, "invalid_registration", "The passkey's registration response could not be read.")
	errRegistrationFail = NewError(http.StatusBadRequest, "registration_failed", "The passkey could not be verified.")
	errCredentialExists = NewError(http.StatusConflict, "credential_exists", "This passkey is registered already.")
	errCeremonyUnknown  = NewError(http.StatusBadRequest, "unknown_challenge", "This request was not started here, was used already or has expired. Please try again.")
	errCeremonyExpired  = NewError(http.StatusBadRequest, "expired_challenge", "This request took too long and has expired. Please try again.")
	errBadLogin         = NewError(http.StatusUnauthorized, "invalid_assertion", "The passkey's response could not be read.")
	errLoginUnknown     = NewError(http.StatusUnauthorized, "unknown_challenge", "This login request was not started here, was used already or has expired. Please try again.")
	errLoginExpired     = NewError(http.StatusUnauthorized, "expired_challenge", "This login request took too long and has expired. Please try again.")
	errUnknownPasskey   = NewError(http.StatusUnauthorized, "unknown_passkey", "This passkey is not registered here. It may have been deleted.")
	errDisabledPasskey  = NewError(http.StatusUnauthorized, "passkey_disabled", "This passkey is disabled. Enable it on the passkeys page, or use another way to log in.")
	errWrongUser        = NewError(http.StatusUnauthorized, "wrong_user", "This passkey belongs to another account.")
	errLoginFailed      = NewError(http.StatusUnauthorized, "login_failed", "The passkey could not be verified.")
	errPossibleClone    = NewError(http.StatusUnauthorized, "possible_clone", "This passkey's signature counter went backwards, a sign that it may have been copied. It was refused; use another passkey or your password.")
)

// sessionKeyOwner is the session key of the random value that ties
// pending ceremonies to the session that began them. Unlike the session
// token it survives the token renewal at login, so a login in one tab does
// not cancel a ceremony pending in another.
const sessionKeyOwner = "ceremony_owner"

func (s *Service) owner(ctx context.Context) (string, error) {
	if o := s.sessions.Manager.GetString(ctx, sessionKeyOwner); o != "" {
		return o, nil
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make ceremony owner: %w", err)
	}
	o := base64.RawURLEncoding.EncodeToString(b)
	s.sessions.Manager.Put(ctx, sessionKeyOwner, o)
	return o, nil
}

// challengeKey is how a ceremony is stored: by the hash of its challenge,
// so the store never holds a usable challenge.
func challengeKey(challenge string) []byte {
	sum := sha256.Sum256([]byte(challenge))
	return sum[:]
}

// saveCeremony keeps what a begin handed out until its finish.
func (s *Service) saveCeremony(ctx context.Context, kind, userID string, sd *webauthn.SessionData) error {
	owner, err := s.owner(ctx)
	if err != nil {
		return err
	}
	if _, loggedIn := s.sessions.Current(ctx); !loggedIn {
		// A session that exists only to hold pending ceremonies lives as
		// long as they do, not for the session lifetime: a flood of
		// anonymous begins must not fill the session store for a day.
		// Logging in gives it the full lifetime.
		s.sessions.Manager.SetDeadline(ctx, s.now().Add(s.cfg.CeremonyTTL))
	}
	data, err := json.Marshal(sd)
	if err != nil {
		return fmt.Errorf("encode ceremony: %w", err)
	}
	return s.stores.Ceremonies.SaveCeremony(ctx, &Ceremony{
		Key: challengeKey(sd.Challenge), Kind: kind, Owner: owner, UserID: userID,
		Data: data, ExpiresAt: s.now().Add(s.cfg.CeremonyTTL),
	})
}

// takeCeremony finds and uses up the ceremony a response answers. A
// ceremony of another session, of another kind or for another user is as
// good as none; an expired one is said to be expired.
func (s *Service) takeCeremony(ctx context.Context, challenge, kind, userID string, unknown, expired *Error) (*webauthn.SessionData, *Ceremony, error) {
	c, err := s.stores.Ceremonies.TakeCeremony(ctx, challengeKey(challenge))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, unknown
	}
	if err != nil {
		return nil, nil, err
	}
	owner := s.sessions.Manager.GetString(ctx, sessionKeyOwner)
	if owner == "" || c.Owner != owner || c.Kind != kind || (kind == CeremonyRegistration && c.UserID != userID) {
		return nil, nil, unknown
	}
	if !s.now().Before(c.ExpiresAt) {
		return nil, nil, expired
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return nil, nil, fmt.Errorf("decode ceremony: %w", err)
	}
	return &sd, c, nil
}

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

// BeginRegistration starts registering a passkey for user and returns the
// options for navigator.credentials.create: {"publicKey": {...}}.
func (s *Service) BeginRegistration(ctx context.Context, user *User) (*protocol.CredentialCreation, error) {
	existing, err := s.stores.Passkeys.UserPasskeys(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	selection := protocol.AuthenticatorSelection{
		UserVerification: protocol.UserVerificationRequirement(s.cfg.UserVerification),
	}
	if s.cfg.Attachment != AttachmentAny {
		selection.AuthenticatorAttachment = protocol.AuthenticatorAttachment(s.cfg.Attachment)
	}
	creation, sd, err := s.webauthn.BeginRegistration(&webauthnUser{user: user},
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
	if err := s.saveCeremony(ctx, CeremonyRegistration, user.ID, sd); err != nil {
		return nil, err
	}
	return creation, nil
}

// RegistrationRequest is a registration finish.
type RegistrationRequest struct {
	// Response is the browser's RegistrationResponseJSON, with an
	// optional "name" for the passkey beside its fields ("" or none gives
	// the platform's name).
	Response []byte
	// UserAgent is the registering browser's, for the platform guess.
	UserAgent string
}

// FinishRegistration verifies a registration response for user and stores
// the new passkey.
func (s *Service) FinishRegistration(ctx context.Context, user *User, req RegistrationRequest) (*Passkey, error) {
	var extra struct {
		Name json.RawMessage `json:"name"`
	}
	if err := json.Unmarshal(req.Response, &extra); err != nil {
		return nil, errInvalidJSON.Wrap(err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(req.Response)
	if err != nil {
		return nil, errBadRegistration.Wrap(err)
	}
	sd, _, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyRegistration, user.ID, errCeremonyUnknown, errCeremonyExpired)
	if err != nil {
		return nil, err
	}
	// The name is checked after the ceremony is taken: a finish that fails
	// for any reason uses its ceremony up.
	name, err := passkeyName(extra.Name)
	if err != nil {
		return nil, err
	}
	cred, err := s.webauthn.CreateCredential(&webauthnUser{user: user}, *sd, parsed)
	if err != nil {
		return nil, withDetails(errRegistrationFail, err)
	}
	platform := s.platforms.Platform(req.UserAgent)
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
	if err := s.stores.Passkeys.CreatePasskey(ctx, p); err != nil {
		if errors.Is(err, ErrCredentialExists) {
			return nil, errCredentialExists
		}
		return nil, err
	}
	return p, nil
}

// aaguidBytes returns a 16-byte AAGUID, zeros when the authenticator gave
// none.
func aaguidBytes(b []byte) []byte {
	if len(b) == 16 {
		return b
	}
	return make([]byte, 16)
}

// withDetails returns e with the library's explanation in the message, so
// that a developer sees what was wrong ("Error validating origin").
func withDetails(e *Error, err error) *Error {
	var perr *protocol.Error
	out := e.Wrap(err)
	if !errors.As(err, &perr) {
		return out
	}
	// The library says what failed in DevInfo; the cases a person can do
	// something about get words of their own.
	if msg := verificationMessage(perr.DevInfo); msg != "" {
		out.Message = e.Message + " " + msg
	} else if perr.Details != "" {
		out.Message = e.Message + " (" + perr.Details + ")"
	}
	return out
}

// verificationMessage explains the failed checks of a response that a
// person or a developer can act on, or returns "".
func verificationMessage(devInfo string) string {
	switch {
	case strings.Contains(devInfo, "User verification required"):
		return "This site requires your device to verify it is you (a PIN, fingerprint or face), and it did not."
	case strings.Contains(devInfo, "User presence required"):
		return "The authenticator did not confirm that you were present (a touch or a click)."
	case strings.Contains(devInfo, "RP Hash mismatch"):
		return "The passkey was made for another site."
	}
	return ""
}

// BeginLogin starts a login and returns the options for
// navigator.credentials.get: {"publicKey": {...}}. With nobody logged in
// (current nil) it is a discoverable login, with empty allowCredentials;
// for a logged-in user it lists their enabled passkeys, and the finish
// refuses anyone else's.
func (s *Service) BeginLogin(ctx context.Context, current *User) (*protocol.CredentialAssertion, error) {
	uv := webauthn.WithUserVerification(protocol.UserVerificationRequirement(s.cfg.UserVerification))
	if current == nil {
		assertion, sd, err := s.webauthn.BeginDiscoverableLogin(uv)
		if err != nil {
			return nil, fmt.Errorf("begin login: %w", err)
		}
		return assertion, s.saveCeremony(ctx, CeremonyLogin, "", sd)
	}
	passkeys, err := s.stores.Passkeys.UserPasskeys(ctx, current.ID)
	if err != nil {
		return nil, err
	}
	allowed := descriptors(passkeys, true)
	assertion, sd, err := s.webauthn.BeginDiscoverableLogin(uv, webauthn.WithAllowedCredentials(allowed))
	if err != nil {
		return nil, fmt.Errorf("begin login: %w", err)
	}
	return assertion, s.saveCeremony(ctx, CeremonyLogin, current.ID, sd)
}

// LoginResult is who a passkey login logged in, and how.
type LoginResult struct {
	User    *User
	Passkey *Passkey
	Login   Login
}

// FinishLogin verifies a login response (AuthenticationResponseJSON) and,
// when it is good, logs its user in: the session token is renewed and the
// session records Auth. current is the logged-in user, if any. Every
// failure is a 401 *Error.
func (s *Service) FinishLogin(ctx context.Context, response []byte, userAgent string) (*LoginResult, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, errBadLogin.Wrap(err)
	}
	sd, c, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyLogin, "", errLoginUnknown, errLoginExpired)
	if err != nil {
		return nil, err
	}
	p, err := s.stores.Passkeys.PasskeyByCredentialID(ctx, parsed.RawID)
	if errors.Is(err, ErrNotFound) {
		return nil, errUnknownPasskey
	}
	if err != nil {
		return nil, err
	}
	if c.UserID != "" && p.UserID != c.UserID {
		return nil, errWrongUser
	}
	if !p.Enabled {
		return nil, errDisabledPasskey
	}
	user, err := s.stores.Users.UserByID(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	stored := credential(p)
	flags := parsed.Response.AuthenticatorData.Flags
	beUpgrade := !p.BackupEligible && flags.HasBackupEligible()
	if beUpgrade {
		// Some providers (iCloud Keychain) start syncing a passkey that
		// was device-bound and then report it backup eligible. WebAuthn
		// allows no such change, but refusing locks the user out; accept
		// it, upgrade the stored flag and keep a record.
		stored.Flags.BackupEligible = true
	}
	wu := &webauthnUser{user: user, creds: []webauthn.Credential{stored}}
	_, cred, err := s.webauthn.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		return wu, nil
	}, *sd, parsed)
	if err != nil {
		return nil, withDetails(errLoginFailed, err)
	}
	now := s.now().UTC()
	updated := *p
	updated.SignCount = cred.Authenticator.SignCount
	updated.UserVerified = flags.HasUserVerified()
	updated.BackupEligible = cred.Flags.BackupEligible
	updated.BackupState = cred.Flags.BackupState
	if cred.Authenticator.CloneWarning {
		updated.CloneWarning = true
		s.log.WarnContext(ctx, "possible cloned authenticator: signature counter did not increase",
			"passkey_id", p.ID, "user_id", p.UserID, "stored_count", p.SignCount,
			"received_count", parsed.Response.AuthenticatorData.Counter, "backup_eligible", updated.BackupEligible)
		// The stored flag decides: a login that also claims to have become
		// backup eligible must not slip a cloned key past this check.
		if !p.BackupEligible {
			// A device-bound key never goes backwards; a copy of it
			// would. Keep the warning, refuse the login.
			if err := s.stores.Passkeys.RecordPasskeyUse(ctx, &updated); err != nil {
				return nil, err
			}
			return nil, errPossibleClone
		}
	}
	if beUpgrade {
		s.log.InfoContext(ctx, "passkey became backup eligible; stored flag upgraded", "passkey_id", p.ID, "user_id", p.UserID)
	}
	updated.LastUsedAt = now
	if err := s.stores.Passkeys.RecordPasskeyUse(ctx, &updated); err != nil {
		return nil, err
	}
	loginPlatform := s.platforms.Platform(userAgent)
	cross := parsed.AuthenticatorAttachment == protocol.CrossPlatform || loginPlatform != p.Platform
	name, id, platform := p.Name, p.ID, p.Platform
	login := Login{
		UserID:   user.ID,
		Auth:     Auth{UsePasskey: true, Name: &name, ID: &id, Platform: &platform, CrossPlatform: &cross},
		Provider: p.Provider,
		At:       now,
	}
	if err := s.sessions.LogIn(ctx, login); err != nil {
		return nil, err
	}
	if err := s.stores.Users.RecordLogin(ctx, user.ID, now); err != nil {
		return nil, err
	}
	return &LoginResult{User: user, Passkey: &updated, Login: login}, nil
}

// CurrentUser returns the logged-in user and their session record, or
// ErrNotLoggedIn. A session whose user is gone counts as nobody.
func (s *Service) CurrentUser(ctx context.Context) (*User, Login, error) {
	l, ok := s.sessions.Current(ctx)
	if !ok {
		return nil, Login{}, ErrNotLoggedIn
	}
	u, err := s.stores.Users.UserByID(ctx, l.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, Login{}, ErrNotLoggedIn
	}
	if err != nil {
		return nil, Login{}, err
	}
	return u, l, nil
}
