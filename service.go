package passkeyd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyd/passkeyd/locale"
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
	// addresses limits the ceremonies of each client address; nil when
	// that is off.
	addresses *addressLimiter
	metrics   Metrics
	sealer    *sealer
	platforms *platformDetector
	providers *providers
	messages  *locale.Catalog
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
	if err := checkSignUp(cfg.SignUp, deps); err != nil {
		return nil, err
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPName,
		RPOrigins:             slices.Concat(cfg.Origins, cfg.RelatedOrigins),
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
	platforms, err := newPlatformDetector()
	if err != nil {
		return nil, err
	}
	providers, err := newProviders()
	if err != nil {
		return nil, err
	}
	messages := cfg.Messages
	if messages == nil {
		if messages, err = locale.New(""); err != nil {
			return nil, fmt.Errorf("passkeyd: %w", err)
		}
	}
	s := &Service{
		messages: messages, cfg: cfg, webauthn: wa, users: deps.Users, store: deps.Store, passwords: deps.Passwords,
		secure: ServedOverHTTPS(cfg.Origins), addresses: newAddressLimiter(cfg), metrics: cfg.Metrics, platforms: platforms, providers: providers, log: cfg.Logger, now: cfg.Now,
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
	if s.metrics == nil {
		s.metrics = noMetrics{}
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

// sweepInterval is how often Run removes what has expired.
const sweepInterval = time.Minute

// retiredKeyKept is how long a retired ceremony key stays stored: longer
// than any ceremony TTL, after which it opens nothing anyway.
const retiredKeyKept = 2 * time.Hour

// Run removes what has expired — used challenges, sessions, retired
// ceremony keys, ended windows of attempts, audit events past the
// retention, login links — once a minute until ctx ends. Everything expired is
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
	_, err4 := s.store.DeleteExpiredAttempts(ctx, now)
	_, err5 := s.store.DeleteAuditEvents(ctx, now.Add(-s.cfg.AuditRetention))
	_, err6 := s.store.DeleteExpiredLoginLinks(ctx, now)
	return errors.Join(err1, err2, err3, err4, err5, err6)
}
