package passkeyd

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// BeginLogin starts a login and returns the options for
// navigator.credentials.get: {"publicKey": {...}}. With nobody logged in
// (current nil) it is a discoverable login, with empty allowCredentials;
// for a logged-in user it lists their enabled passkeys, and the finish
// refuses anyone else's. The ceremony's sealed state goes to the client
// with w; nothing is stored.
func (s *Service) BeginLogin(w http.ResponseWriter, r *http.Request, current *User) (*protocol.CredentialAssertion, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	if current == nil {
		return s.beginLogin(w, r, nil, nil, "")
	}
	passkeys, err := s.store.UserPasskeys(r.Context(), current.ID)
	if err != nil {
		return nil, err
	}
	return s.beginLogin(w, r, current, passkeys, "")
}

// BeginUsernameLogin starts a login for the user named username, listing
// their enabled passkeys in allowCredentials: the way to log in with a
// security key that keeps no credential of its own (a non-discoverable
// one), which the browser can only offer when told its id. An unknown
// name, or one without an enabled passkey, gets the same shape of answer
// with fake credential ids, derived from the name and a server secret and
// so the same at every ask: the answer does not tell whether the account
// exists.
func (s *Service) BeginUsernameLogin(w http.ResponseWriter, r *http.Request, username string) (*protocol.CredentialAssertion, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	ctx := r.Context()
	u, err := s.users.UserByUsername(ctx, username)
	switch {
	case errors.Is(err, ErrNotFound):
		return s.beginLogin(w, r, nil, nil, username)
	case err != nil:
		return nil, err
	}
	passkeys, err := s.store.UserPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return s.beginLogin(w, r, u, passkeys, username)
}

// beginLogin begins a login: for user with their enabled passkeys listed
// (a re-authentication, or a username-first login), or a discoverable one
// when user is nil. Without an enabled passkey to list, a username-first
// login (fakeFor, the name; "" for any other) lists fake ones instead.
func (s *Service) beginLogin(w http.ResponseWriter, r *http.Request, user *User, passkeys []*Passkey, fakeFor string) (*protocol.CredentialAssertion, error) {
	ctx := r.Context()
	st := &ceremonyState{kind: kindLogin, expiresAt: s.now().Add(s.cfg.CeremonyTTL)}
	opts := []webauthn.LoginOption{
		webauthn.WithChallenge(newChallenge(st.expiresAt)),
		webauthn.WithUserVerification(protocol.UserVerificationRequirement(s.cfg.UserVerification)),
	}
	var creds []webauthn.Credential
	for _, p := range passkeys {
		if p.Enabled {
			creds = append(creds, credential(p))
		}
	}
	var assertion *protocol.CredentialAssertion
	var sd *webauthn.SessionData
	var err error
	switch {
	case len(creds) > 0:
		// The session knows the user's handle: a security key that keeps
		// no credential answers without one.
		assertion, sd, err = s.webauthn.BeginLogin(&webauthnUser{user: user, creds: creds}, opts...)
		st.userID = user.ID
	case fakeFor != "":
		fake, ferr := s.fakeDescriptors(ctx, fakeFor)
		if ferr != nil {
			return nil, ferr
		}
		assertion, sd, err = s.webauthn.BeginDiscoverableLogin(append(opts, webauthn.WithAllowedCredentials(fake))...)
	default:
		if user != nil {
			// A re-authentication of a user without an enabled passkey:
			// nothing to list, and nobody else's passkey is taken.
			st.userID = user.ID
			opts = append(opts, webauthn.WithAllowedCredentials([]protocol.CredentialDescriptor{}))
		}
		assertion, sd, err = s.webauthn.BeginDiscoverableLogin(opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("begin login: %w", err)
	}
	st.data = *sd
	if err := s.handOut(ctx, w, r, st); err != nil {
		return nil, err
	}
	return assertion, nil
}

// fakeDescriptors are the credential ids a username-first login lists for
// a name without passkeys: one or two, 16 to 64 bytes, from an HMAC of the
// name under a key of the ceremony keys, so the same name gets the same
// ids until the keys rotate.
func (s *Service) fakeDescriptors(ctx context.Context, username string) ([]protocol.CredentialDescriptor, error) {
	ring, err := s.sealer.keys(ctx)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, ring.sealing.fakeIDKey)
	mac.Write([]byte(UsernameKey(username)))
	seed := mac.Sum(nil)
	stream := sha256.New()
	var out []protocol.CredentialDescriptor
	for i := range 1 + int(seed[0]%2) {
		n := 16 + int(seed[1+i])%49
		var id []byte
		for counter := byte(0); len(id) < n; counter++ {
			stream.Reset()
			stream.Write(seed)
			stream.Write([]byte{byte(i), counter})
			id = stream.Sum(id)
		}
		out = append(out, protocol.CredentialDescriptor{
			Type: protocol.PublicKeyCredentialType, CredentialID: id[:n],
			Transport: []protocol.AuthenticatorTransport{protocol.USB, protocol.NFC},
		})
	}
	return out, nil
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
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	r = s.withRequestInfo(r)
	res, _, err := s.finishLoginAs(w, r, response, "")
	s.countCeremony("login", err)
	return res, err
}

// finishLoginAs is FinishLogin; a wantUser other than "" takes only a
// ceremony that user began (a re-authentication). It writes a refusal
// of a pending ceremony to the audit log.
func (s *Service) finishLoginAs(w http.ResponseWriter, r *http.Request, response []byte, wantUser string) (*LoginResult, *Passkey, error) {
	res, found, err := s.finishLogin(w, r, response, wantUser)
	if err != nil && found != nil && Classify(err).Code != errPossibleClone.Code {
		// A refusal of a pending ceremony goes in the audit log (a
		// possible clone's went in with its commit), under the passkey's
		// owner; an unknown passkey's under nobody.
		e := s.auditEvent(r.Context(), found.UserID, AuditLogin, AuditRefused)
		e.Method, e.PasskeyID, e.Reason = "passkey", found.ID, Classify(err).Code
		s.audit(r.Context(), e)
	}
	return res, found, err
}

// finishLogin is FinishLogin; found is the passkey the response named
// once the ceremony was found pending (an empty one when unknown), nil
// before.
func (s *Service) finishLogin(w http.ResponseWriter, r *http.Request, response []byte, wantUser string) (_ *LoginResult, found *Passkey, _ error) {
	ctx := r.Context()
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, nil, errBadLogin.Wrap(err)
	}
	challenge := parsed.Response.CollectedClientData.Challenge
	st, err := s.pendingCeremony(ctx, r, challenge, kindLogin, errCeremonyUnknown, errCeremonyExpired)
	if err != nil {
		return nil, nil, err
	}
	if wantUser != "" && st.userID != wantUser {
		return nil, nil, errReauthOtherUser
	}
	p, user, err := s.passkeyAndOwner(ctx, parsed.RawID, parsed.Response.UserHandle)
	if errors.Is(err, ErrNotFound) {
		return nil, &Passkey{}, errUnknownPasskey.Wrap(err)
	}
	if err != nil {
		return nil, nil, err
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
		return nil, p, refusedFor(errLoginFailed, problem)
	}
	wu := &webauthnUser{user: user, creds: []webauthn.Credential{stored}}
	var cred *webauthn.Credential
	if len(st.data.UserID) > 0 {
		// A login that named its user: the response may carry no user
		// handle (a security key's non-discoverable credential). The
		// signature is checked against the passkey's owner; whether that
		// is the user named is checked below, once it has verified, so
		// that a stranger learns nothing.
		sd := st.data
		sd.UserID = user.Handle
		cred, err = s.webauthn.ValidateLogin(wu, sd, parsed)
	} else {
		_, cred, err = s.webauthn.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			return wu, nil
		}, st.data, parsed)
	}
	if err != nil {
		return nil, p, errLoginFailed.Wrap(err)
	}
	// Only now that the signature shows the key's holder sent this does
	// the answer say anything of the passkey: whose it is, whether it is
	// enabled. A stranger with a credential id learns nothing from it.
	if st.userID != "" && p.UserID != st.userID {
		return nil, p, errWrongUser
	}
	if !p.Enabled {
		return nil, p, errDisabledPasskey
	}
	if p.UserVerified && !flags.HasUserVerified() {
		// A passkey that verified its user before does so every time:
		// one that stops may be a copy, or a device whose lock was
		// taken off.
		return nil, p, refusedFor(errLoginFailed, msg("This passkey verified it was you (a PIN, fingerprint or face) before, and did not this time."))
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
			"disabled", !updated.Enabled,
			"passkey_id", p.ID, "user_id", p.UserID, "stored_count", p.SignCount,
			"received_count", parsed.Response.AuthenticatorData.Counter, "backup_eligible", updated.BackupEligible)
	}
	// event is an audit event of this passkey's owner.
	event := func(name, outcome, reason string) AuditEvent {
		e := s.auditEvent(ctx, p.UserID, name, outcome)
		e.Method, e.PasskeyID, e.Reason = "passkey", p.ID, reason
		return e
	}
	if cred.Authenticator.CloneWarning {
		updated.CloneWarning = true
		commit.Audit = append(commit.Audit, event(AuditCloneWarning, AuditOK, ""))
		// The stored flag decides: a login that also claims to have become
		// backup eligible must not slip a cloned key past this check.
		if !p.BackupEligible {
			// A device-bound key never goes backwards; a copy of it
			// would. Keep the warning, refuse the login, and disable the
			// passkey for both copies: whichever is the real one, its
			// owner re-enables it from the passkeys page.
			updated.Enabled = false
			disabled := event(AuditPasskeyDisabled, AuditOK, errPossibleClone.Code)
			disabled.Actor = "passkeyd"
			commit.Audit = append(commit.Audit, event(AuditLogin, AuditRefused, errPossibleClone.Code), disabled)
			if err := s.commitLogin(ctx, commit); err != nil {
				return nil, p, err
			}
			logClone()
			return nil, p, errPossibleClone
		}
	}
	updated.LastUsedAt = now
	commit.At = now
	loginPlatform := s.platforms.Platform(r.UserAgent())
	cross := parsed.AuthenticatorAttachment == protocol.CrossPlatform || loginPlatform != p.Platform
	name, id, platform := p.Name, p.ID, p.Platform
	how := Auth{UsePasskey: true, Name: &name, ID: &id, Platform: &platform, CrossPlatform: &cross}
	commit.Audit = append(commit.Audit, event(AuditLogin, AuditOK, ""))
	if beUpgrade {
		commit.Audit = append(commit.Audit, event(AuditBackupEligible, AuditOK, ""))
	}
	res, err := s.completeLogin(w, r, user, how, &updated, commit, func() {
		if cred.Authenticator.CloneWarning {
			logClone()
		}
		if beUpgrade {
			s.log.InfoContext(ctx, "passkey became backup eligible; stored flag upgraded", "passkey_id", p.ID, "user_id", p.UserID)
		}
	})
	if err != nil {
		return nil, p, err
	}
	s.expireCeremonyCookie(w, ceremonyCookie(challenge))
	return res, p, nil
}

// completeLogin commits a login and starts its session. With passkeyd's
// sessions the new session (and the end of the one it replaces) is part
// of the one commit; with the app's, the app starts its own once the
// commit is made. committed runs once the commit is made.
func (s *Service) completeLogin(w http.ResponseWriter, r *http.Request, user *User, how Auth, p *Passkey, commit *LoginCommit, committed func()) (*LoginResult, error) {
	if !user.LockedAt.IsZero() {
		return nil, errAccountLocked
	}
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
	err := s.timed(ctx, "login", func(ctx context.Context) error { return s.store.CommitLogin(ctx, c) })
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
	return s.logInBy(w, r, user, "")
}

// logInBy is LogIn, noting the method in the audit log.
func (s *Service) logInBy(w http.ResponseWriter, r *http.Request, user *User, method string) (*LoginResult, error) {
	r = s.withRequestInfo(r)
	e := s.auditEvent(r.Context(), user.ID, AuditLogin, AuditOK)
	e.Method = method
	return s.completeLogin(w, r, user, Auth{}, nil, &LoginCommit{Audit: []AuditEvent{e}}, nil)
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
// ErrNotLoggedIn. A session whose user is gone or locked counts as nobody. With the
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
	// A session of a locked account counts as nobody on every instance,
	// also one a login in flight made as the lock was set.
	if err == nil && !u.LockedAt.IsZero() {
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
	if s.sessions != nil {
		next = s.sessions.handler(next)
	}
	// The audit events of what a request does name its client.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, s.withRequestInfo(r))
	})
}
