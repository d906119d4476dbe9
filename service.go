package passkeyd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
)

// PasskeyOwnerLookup is what a Users may also do when it is the
// database that holds the passkeys too (sqlite.DB, postgres.DB): read a
// passkey and its user in one query, so that a login reads once, not
// twice. The Service uses it only when the Users are its Store.
type PasskeyOwnerLookup interface {
	// PasskeyAndOwner returns the passkey with that credential id and its
	// user, or ErrNotFound.
	PasskeyAndOwner(ctx context.Context, credentialID []byte) (*Passkey, *User, error)
}

// Deps are what a Service works on.
type Deps struct {
	// Users are the site's users: passkeyd's own (sqlite.DB,
	// postgres.DB) or the app's. Required.
	Users Users
	// Store keeps passkeys, used challenges, ceremony keys and, unless
	// SessionStore or AppSessions says otherwise, passkeyd's sessions:
	// sqlite.DB or postgres.DB. Required.
	Store Store
	// Passwords, when set, checks passwords: the Service then offers
	// password login (PasswordLogIn). Nil means passkeys only, or an app
	// that logs in with passwords by itself.
	Passwords PasswordChecker
	// SessionStore, when set, keeps passkeyd's sessions instead of Store:
	// Redis, say, for many instances.
	SessionStore SessionStore
	// AppSessions, when set, are the app's own sessions: the Service asks
	// them who is logged in and tells them when a login succeeds or ends,
	// and sets no session cookie of its own. Nil means passkeyd's
	// sessions.
	AppSessions AppSessions
}

// Service runs passkey registration and login, password login, logs users
// in and out, and manages passkeys. It is safe for concurrent use; make
// one at start-up.
type Service struct {
	cfg      Config
	webauthn *webauthn.WebAuthn
	users    Users
	// owners reads a passkey and its user at once, when the users are in
	// the Store; nil otherwise.
	owners    PasskeyOwnerLookup
	store     Store
	passwords PasswordChecker
	// Exactly one of sessions (passkeyd's) and app (the app's) is set.
	sessions *sessions
	app      AppSessions
	// secure marks cookies Secure: the site is served over HTTPS.
	secure bool
	// failures slows password guessing per username.
	failures  *failureCounter
	sealer    *sealer
	platforms *PlatformDetector
	providers *Providers
	log       *slog.Logger
	now       func() time.Time
}

// NewService checks cfg and deps and returns a Service. Its errors name
// the field that is wrong and what would be right.
func NewService(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	switch {
	case deps.Users == nil:
		return nil, errors.New("passkeyd: NewService: Deps.Users is required: the site's users (sqlite.DB, postgres.DB, or your own implementation of passkeyd.Users)")
	case deps.Store == nil:
		return nil, errors.New("passkeyd: NewService: Deps.Store is required: a Store such as sqlite.DB or postgres.DB")
	case deps.SessionStore != nil && deps.AppSessions != nil:
		return nil, errors.New("passkeyd: NewService: Deps.SessionStore and Deps.AppSessions are both set: SessionStore keeps passkeyd's sessions, AppSessions replaces them with the app's; set one")
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
	s := &Service{
		cfg: cfg, webauthn: wa, users: deps.Users, store: deps.Store, passwords: deps.Passwords,
		secure: ServedOverHTTPS(cfg.Origins), failures: newFailureCounter(), platforms: platforms, providers: providers, log: cfg.Logger, now: cfg.Now,
	}
	if deps.AppSessions != nil {
		s.app = deps.AppSessions
	} else {
		kept := SessionStore(deps.Store)
		if deps.SessionStore != nil {
			kept = deps.SessionStore
			s.store = splitSessions(deps.Store, deps.SessionStore)
		}
		s.sessions = newSessions(kept, cfg)
	}
	if owners, ok := deps.Users.(PasskeyOwnerLookup); ok && any(deps.Users) == any(deps.Store) {
		s.owners = owners
	}
	if len(cfg.CeremonyKeys) > 0 {
		if s.sealer, err = newFixedSealer(cfg.CeremonyKeys, s.clock); err != nil {
			return nil, err
		}
	} else {
		s.sealer = &sealer{store: s.store, ttl: cfg.CeremonyTTL, now: s.clock}
	}
	return s, nil
}

// Start reads the keys that seal pending ceremonies — making the first on
// a site's first start — so that a database out of reach fails the start,
// not the first login. Call it before serving; a Service that was not
// started reads them at its first ceremony.
func (s *Service) Start(ctx context.Context) error {
	_, err := s.sealer.keys(ctx)
	return err
}

// passkeyAndOwner returns the passkey with that credential id and its
// user: one query when the users are in the Store. Else the user is found
// by the handle the authenticator gave, which must be the passkey's
// owner's. A passkey whose user is gone is as unknown as a missing one.
func (s *Service) passkeyAndOwner(ctx context.Context, credentialID, userHandle []byte) (*Passkey, *User, error) {
	if s.owners != nil {
		return s.owners.PasskeyAndOwner(ctx, credentialID)
	}
	p, err := s.store.PasskeyByCredentialID(ctx, credentialID)
	if err != nil {
		return nil, nil, err
	}
	var u *User
	if len(userHandle) > 0 {
		u, err = s.users.UserByHandle(ctx, userHandle)
	} else {
		u, err = s.users.UserByID(ctx, p.UserID)
	}
	if err != nil {
		return nil, nil, err
	}
	if u.ID != p.UserID {
		return nil, nil, fmt.Errorf("the user handle is not the passkey owner's: %w", ErrNotFound)
	}
	return p, u, nil
}

// clock is the Service's time, for the parts it hands out.
func (s *Service) clock() time.Time { return s.now() }

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
// options for navigator.credentials.create: {"publicKey": {...}}. The
// ceremony's sealed state goes to the client with w; nothing is stored.
func (s *Service) BeginRegistration(w http.ResponseWriter, r *http.Request, user *User) (*protocol.CredentialCreation, error) {
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
	if errors.As(err, &perr) && perr.Details != "" {
		out.Message = e.Message + " (" + perr.Details + ")"
	}
	return out
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
		return "The passkey was made for another site."
	case !ad.Flags.HasUserPresent():
		return "The authenticator did not confirm that you were present (a touch or a click)."
	case uv == protocol.VerificationRequired && !ad.Flags.HasUserVerified():
		return "This site requires your device to verify it is you (a PIN, fingerprint or face), and it did not."
	}
	return ""
}

// refusedFor returns e saying why the authenticator's data is refused.
func refusedFor(e *Error, problem string) *Error {
	out := e.Wrap(errors.New(problem))
	out.Message = e.Message + " " + problem
	return out
}

// BeginLogin starts a login and returns the options for
// navigator.credentials.get: {"publicKey": {...}}. With nobody logged in
// (current nil) it is a discoverable login, with empty allowCredentials;
// for a logged-in user it lists their enabled passkeys, and the finish
// refuses anyone else's. The ceremony's sealed state goes to the client
// with w; nothing is stored.
func (s *Service) BeginLogin(w http.ResponseWriter, r *http.Request, current *User) (*protocol.CredentialAssertion, error) {
	ctx := r.Context()
	st := &ceremonyState{kind: kindLogin, expiresAt: s.now().Add(s.cfg.CeremonyTTL)}
	opts := []webauthn.LoginOption{
		webauthn.WithChallenge(newChallenge(st.expiresAt)),
		webauthn.WithUserVerification(protocol.UserVerificationRequirement(s.cfg.UserVerification)),
	}
	if current != nil {
		passkeys, err := s.store.UserPasskeys(ctx, current.ID)
		if err != nil {
			return nil, err
		}
		opts = append(opts, webauthn.WithAllowedCredentials(descriptors(passkeys, true)))
		st.userID = current.ID
	}
	assertion, sd, err := s.webauthn.BeginDiscoverableLogin(opts...)
	if err != nil {
		return nil, fmt.Errorf("begin login: %w", err)
	}
	st.data = *sd
	if err := s.handOut(ctx, w, r, st); err != nil {
		return nil, err
	}
	return assertion, nil
}

// LoginResult is who a login logged in, and how.
type LoginResult struct {
	User *User
	// Passkey is the passkey used, as the login left it; nil after a
	// password login.
	Passkey *Passkey
	// Auth is how the user logged in, as the JSON API shows it.
	Auth Auth
	// Session is the new session; nil when the app keeps its own
	// (Deps.AppSessions).
	Session *Session
}

// FinishLogin verifies a login response (AuthenticationResponseJSON) and,
// when it is good, logs its user in with a new session whose cookie goes
// out with w; a session the browser had is ended. The used challenge, the
// passkey's counter and flags, the user's last login and the new session
// are one commit. Every failure is a 401 *Error, and a response that fails
// verification uses up nothing.
func (s *Service) FinishLogin(w http.ResponseWriter, r *http.Request, response []byte) (*LoginResult, error) {
	ctx := r.Context()
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, errBadLogin.Wrap(err)
	}
	challenge := parsed.Response.CollectedClientData.Challenge
	st, err := s.pendingCeremony(ctx, r, challenge, kindLogin, errCeremonyUnknown, errCeremonyExpired)
	if err != nil {
		return nil, err
	}
	p, user, err := s.passkeyAndOwner(ctx, parsed.RawID, parsed.Response.UserHandle)
	if errors.Is(err, ErrNotFound) {
		return nil, errUnknownPasskey.Wrap(err)
	}
	if err != nil {
		return nil, err
	}
	if st.userID != "" && p.UserID != st.userID {
		return nil, errWrongUser
	}
	if !p.Enabled {
		return nil, errDisabledPasskey
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
	if problem := s.authenticatorProblem(parsed.Response.AuthenticatorData, st.data.UserVerification); problem != "" {
		return nil, refusedFor(errLoginFailed, problem)
	}
	wu := &webauthnUser{user: user, creds: []webauthn.Credential{stored}}
	_, cred, err := s.webauthn.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		return wu, nil
	}, st.data, parsed)
	if err != nil {
		return nil, withDetails(errLoginFailed, err)
	}
	now := s.now().UTC()
	updated := *p
	updated.SignCount = cred.Authenticator.SignCount
	updated.UserVerified = flags.HasUserVerified()
	updated.BackupEligible = cred.Flags.BackupEligible
	updated.BackupState = cred.Flags.BackupState
	commit := &LoginCommit{Challenge: usedChallenge(st), PasskeyUse: &updated}
	// Security events are logged once their commit succeeded: a replayed
	// response also carries a counter that did not move on.
	logClone := func() {
		s.log.WarnContext(ctx, "possible cloned authenticator: signature counter did not increase",
			"passkey_id", p.ID, "user_id", p.UserID, "stored_count", p.SignCount,
			"received_count", parsed.Response.AuthenticatorData.Counter, "backup_eligible", updated.BackupEligible)
	}
	if cred.Authenticator.CloneWarning {
		updated.CloneWarning = true
		// The stored flag decides: a login that also claims to have become
		// backup eligible must not slip a cloned key past this check.
		if !p.BackupEligible {
			// A device-bound key never goes backwards; a copy of it
			// would. Keep the warning, refuse the login.
			if err := s.commitLogin(ctx, commit); err != nil {
				return nil, err
			}
			logClone()
			return nil, errPossibleClone
		}
	}
	updated.LastUsedAt = now
	commit.At = now
	loginPlatform := s.platforms.Platform(r.UserAgent())
	cross := parsed.AuthenticatorAttachment == protocol.CrossPlatform || loginPlatform != p.Platform
	name, id, platform := p.Name, p.ID, p.Platform
	how := Auth{UsePasskey: true, Name: &name, ID: &id, Platform: &platform, CrossPlatform: &cross}
	res, err := s.completeLogin(w, r, user, how, &updated, commit, func() {
		if cred.Authenticator.CloneWarning {
			logClone()
		}
		if beUpgrade {
			s.log.InfoContext(ctx, "passkey became backup eligible; stored flag upgraded", "passkey_id", p.ID, "user_id", p.UserID)
		}
	})
	if err != nil {
		return nil, err
	}
	s.expireCeremonyCookie(w, ceremonyCookie(challenge))
	return res, nil
}

// completeLogin commits a login and starts its session. With passkeyd's
// sessions the new session (and the end of the one it replaces) is part
// of the one commit; with the app's, the app starts its own once the
// commit is made. committed runs once the commit is made.
func (s *Service) completeLogin(w http.ResponseWriter, r *http.Request, user *User, how Auth, p *Passkey, commit *LoginCommit, committed func()) (*LoginResult, error) {
	commit.UserID = user.ID
	if commit.At.IsZero() {
		commit.At = s.now().UTC()
	}
	res := &LoginResult{User: user, Passkey: p, Auth: how}
	var token string
	if s.sessions != nil {
		res.Session, token = s.newSession(r, user, commit.At)
		res.Session.Auth = how
		if p != nil {
			res.Session.PasskeyID, res.Session.Provider = p.ID, p.Provider
		}
		commit.Session, commit.ReplacedSession = res.Session, requestToken(r)
	}
	if err := s.commitLogin(r.Context(), commit); err != nil {
		return nil, err
	}
	if committed != nil {
		committed()
	}
	if s.sessions != nil {
		s.sessions.start(w, r, res.Session, token)
		return res, nil
	}
	if err := s.app.LogIn(w, r, user, how); err != nil {
		return nil, fmt.Errorf("start the app's session: %w", err)
	}
	return res, nil
}

// commitLogin commits a login and says what a refused commit means to the
// client.
func (s *Service) commitLogin(ctx context.Context, c *LoginCommit) error {
	err := s.store.CommitLogin(ctx, c)
	switch {
	case errors.Is(err, ErrChallengeUsed):
		return errCeremonyUnknown.Wrap(err)
	case errors.Is(err, ErrPasskeyDisabled):
		return errDisabledPasskey.Wrap(err)
	}
	return err
}

// newSession makes a session for user, logged in now from the device of r.
func (s *Service) newSession(r *http.Request, user *User, now time.Time) (*Session, string) {
	sess, token := s.sessions.newSession(user.ID, now)
	sess.Platform, sess.Browser = s.platforms.Device(r.UserAgent())
	return sess, token
}

// LogIn logs user in without a passkey, once the host has checked who they
// are (a password, say): a new session and its cookie, and any session
// the browser had ended, in one commit — or the app's session, started by
// its AppSessions.
func (s *Service) LogIn(w http.ResponseWriter, r *http.Request, user *User) (*LoginResult, error) {
	return s.completeLogin(w, r, user, Auth{}, nil, &LoginCommit{}, nil)
}

// LogOut ends the request's session on every instance and clears its
// cookie (or has the app's AppSessions end it). A request without a
// session is logged out already.
func (s *Service) LogOut(w http.ResponseWriter, r *http.Request) error {
	if s.app != nil {
		return s.app.LogOut(w, r)
	}
	return s.sessions.logOut(w, r)
}

// CurrentUser returns the logged-in user and their session, or
// ErrNotLoggedIn. A session whose user is gone counts as nobody. With the
// app's sessions the *Session is nil.
func (s *Service) CurrentUser(r *http.Request) (*User, *Session, error) {
	var id string
	var sess *Session
	if s.app != nil {
		var err error
		if id, err = s.app.CurrentUserID(r); err != nil {
			return nil, nil, fmt.Errorf("the app's current user: %w", err)
		}
	} else {
		var err error
		if sess, err = s.sessions.current(r); err != nil {
			return nil, nil, err
		}
		if sess != nil {
			id = sess.UserID
		}
	}
	if id == "" {
		return nil, nil, ErrNotLoggedIn
	}
	u, err := s.users.UserByID(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrNotLoggedIn
	}
	if err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

// Handler wraps the site's handler so that each request reads its session
// from the store once, however often it is asked for. Without it
// everything works, at a read per ask.
func (s *Service) Handler(next http.Handler) http.Handler {
	if s.sessions == nil {
		return next
	}
	return s.sessions.handler(next)
}

// sweepInterval is how often Run removes what has expired.
const sweepInterval = time.Minute

// retiredKeyKept is how long a retired ceremony key stays stored: longer
// than any ceremony TTL, after which it opens nothing anyway.
const retiredKeyKept = 2 * time.Hour

// Run removes what has expired — used challenges, sessions, retired
// ceremony keys — once a minute until ctx ends. Everything expired is
// refused anyway; this keeps the store small. Run it in a goroutine of
// each instance (more than one doing it is harmless).
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "sweep expired state", "err", err)
			}
		}
	}
}

// Sweep removes, once, what Run removes every minute.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	_, err1 := s.store.DeleteUsedChallenges(ctx, now.Add(-usedChallengeGrace))
	var err2 error
	if s.sessions != nil {
		_, err2 = s.sessions.store.DeleteExpiredSessions(ctx, now)
	}
	_, err3 := s.store.DeleteCeremonyKeys(ctx, now.Add(-retiredKeyKept))
	return errors.Join(err1, err2, err3)
}
