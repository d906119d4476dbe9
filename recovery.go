package passkeyd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// RecoveryStore keeps the ways back into an account that has lost its
// passkeys: recovery codes and one-time login links. Both are kept only
// as SHA-256 hashes (they are long random secrets, so a fast hash is
// enough); each is used at most once, on any instance.
type RecoveryStore interface {
	// ReplaceRecoveryCodes replaces the user's recovery codes with these.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error
	// UseRecoveryCode uses up the user's unused code with that hash, or
	// returns ErrNotFound. Of two uses of one code at once, one wins.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) error
	// RecoveryCodesLeft says how many unused codes the user has.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
	// CreateLoginLink stores a one-time login link.
	CreateLoginLink(ctx context.Context, hash []byte, userID string, expires time.Time) error
	// UseLoginLink uses up the link with that hash, if it has not
	// expired by now, and returns its user's id; else ErrNotFound.
	UseLoginLink(ctx context.Context, hash []byte, now time.Time) (string, error)
	// DeleteExpiredLoginLinks removes the links that expired before t.
	DeleteExpiredLoginLinks(ctx context.Context, t time.Time) (int64, error)
}

// Recovery settings.
const (
	// RecoveryCodeCount is how many codes a user gets at once.
	RecoveryCodeCount = 10
	// LoginLinkTTL is how long a login link made for an administrator
	// (passkeyd user recover) works.
	LoginLinkTTL = 15 * time.Minute
)

// Events of recovery in the audit log.
const (
	AuditRecoveryCodesCreated = "recovery_codes_created"
	AuditRecoveryCodeUsed     = "recovery_code_used"
	AuditLoginLinkCreated     = "login_link_created"
	AuditLoginLinkUsed        = "login_link_used"
)

// Errors of recovery.
var (
	errLastLoginMethod  = NewError("last_login_method", "This is your last way to log in: add another passkey, set a password or make recovery codes first, so that you cannot lock yourself out.")
	errRecoveryFailed   = NewError("login_failed", "Wrong username or recovery code.")
	errLoginLinkInvalid = NewError("invalid_link", "This login link is not valid: it was used already, has expired, or was copied wrong. Ask for a new one.")
)

// recoveryEncoding writes codes and link tokens in lower-case base32
// without padding: no letters that look alike to a person copying them,
// case-insensitive to type.
var recoveryEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newRecoveryCode returns a code of 80 random bits, written as four
// groups of four ("k7qm-2xbd-9fhw-rt3n").
func newRecoveryCode() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	s := recoveryEncoding.EncodeToString(b)
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// recoveryHash is the stored hash of a code as a person may type it:
// spaces, dashes and letter case do not matter.
func recoveryHash(code string) []byte {
	code = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	h := sha256.Sum256([]byte("passkeyd recovery code\x00" + code))
	return h[:]
}

// linkHash is the stored hash of a login link's token.
func linkHash(token string) []byte {
	h := sha256.Sum256([]byte("passkeyd login link\x00" + token))
	return h[:]
}

// NewRecoveryCodes replaces the logged-in user's recovery codes with
// RecoveryCodeCount new ones and returns them: shown once, stored only
// hashed. It needs a recent login (RequireRecentAuth).
func (s *Service) NewRecoveryCodes(r *http.Request, user *User) ([]string, error) {
	if err := s.RequireRecentAuth(r); err != nil {
		return nil, err
	}
	r = s.withRequestInfo(r)
	ctx := r.Context()
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = recoveryHash(codes[i])
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, user.ID, hashes, s.now().UTC()); err != nil {
		return nil, err
	}
	s.audit(ctx, s.auditEvent(ctx, user.ID, AuditRecoveryCodesCreated, AuditOK))
	return codes, nil
}

// RecoveryCodesLeft says how many unused recovery codes the user has.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return s.store.RecoveryCodesLeft(ctx, userID)
}

// LogInWithRecoveryCode logs a user in with one of their recovery codes,
// which is then used up. Attempts count in the password login's limits
// (a guessed code is a guessed password), and a wrong username and a
// wrong code are the same answer.
func (s *Service) LogInWithRecoveryCode(w http.ResponseWriter, r *http.Request, username, code string) (*LoginResult, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	if username == "" || strings.TrimSpace(code) == "" {
		return nil, errMissingCredential
	}
	r = s.withRequestInfo(r)
	ctx := r.Context()
	if err := s.takePasswordAttempts(ctx, r, username); err != nil {
		return nil, err
	}
	u, err := s.users.UserByUsername(ctx, username)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errRecoveryFailed
	case err != nil:
		return nil, err
	}
	switch err := s.store.UseRecoveryCode(ctx, u.ID, recoveryHash(code), s.now().UTC()); {
	case errors.Is(err, ErrNotFound):
		e := s.auditEvent(ctx, u.ID, AuditLogin, AuditRefused)
		e.Method, e.Reason = "recovery_code", errRecoveryFailed.Code
		s.audit(ctx, e)
		return nil, errRecoveryFailed
	case err != nil:
		return nil, err
	}
	s.audit(ctx, s.auditEvent(ctx, u.ID, AuditRecoveryCodeUsed, AuditOK))
	if err := s.store.ClearAttempts(ctx, s.accountAddressKey(r, username)); err != nil {
		s.log.WarnContext(ctx, "clear password attempts", "err", err)
	}
	return s.logInBy(w, r, u, "recovery_code")
}

// NewLoginLink makes a one-time login link token for the user, valid for
// LoginLinkTTL, for an administrator to hand over when the user has lost
// every way in; by names who asked for it, for the audit log. The link
// is an origin of the site + "/recover/" + token.
func (s *Service) NewLoginLink(ctx context.Context, user *User, by string) (string, error) {
	return NewLoginLink(ctx, s.store, user, by, s.now())
}

// NewLoginLink is Service.NewLoginLink for a tool that has the Store but
// no Service (passkeyd user recover): the link is stored hashed and its
// making written to the audit log.
func NewLoginLink(ctx context.Context, store Store, user *User, by string, now time.Time) (string, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token := recoveryEncoding.EncodeToString(b)
	if err := store.CreateLoginLink(ctx, linkHash(token), user.ID, now.Add(LoginLinkTTL).UTC()); err != nil {
		return "", fmt.Errorf("store the login link: %w", err)
	}
	e := AuditEvent{At: now.UTC(), UserID: user.ID, Event: AuditLoginLinkCreated, Outcome: AuditOK, Actor: by}
	if err := store.AppendAudit(ctx, e); err != nil {
		return "", fmt.Errorf("audit the login link: %w", err)
	}
	return token, nil
}

// LogInWithLink logs in the user of a login link's token, and uses the
// link up.
func (s *Service) LogInWithLink(w http.ResponseWriter, r *http.Request, token string) (*LoginResult, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	r = s.withRequestInfo(r)
	ctx := r.Context()
	id, err := s.store.UseLoginLink(ctx, linkHash(token), s.now())
	if errors.Is(err, ErrNotFound) {
		return nil, errLoginLinkInvalid
	}
	if err != nil {
		return nil, err
	}
	u, err := s.users.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, errLoginLinkInvalid
	}
	if err != nil {
		return nil, err
	}
	s.audit(ctx, s.auditEvent(ctx, u.ID, AuditLoginLinkUsed, AuditOK))
	return s.logInBy(w, r, u, "login_link")
}

// keepWayIn says whether a change to the user's passkeys must leave them
// a way to log in: they have no password to fall back on. Of an app's own
// users passkeyd knows that only where the site takes no passwords.
func (s *Service) keepWayIn(ctx context.Context, userID string) (bool, error) {
	if _, own := s.users.(UserStore); !own && s.passwords != nil {
		return false, nil
	}
	u, err := s.users.UserByID(ctx, userID)
	if err != nil {
		return false, err
	}
	return u.PasswordHash == "", nil
}

// lastMethodAs maps the store's ErrLastLoginMethod to the client's 409.
func lastMethodAs(err error) error {
	if errors.Is(err, ErrLastLoginMethod) {
		return errLastLoginMethod
	}
	return err
}

func (s *Service) handleRecoveryCodes(_ http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	codes, err := s.NewRecoveryCodes(r, user)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, struct {
		Codes []string `json:"codes"`
	}{codes}, nil
}

func (s *Service) handleRecoveryLogin(w http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	var req struct {
		Username string `json:"username"`
		Code     string `json:"code"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.LogInWithRecoveryCode(w, r, req.Username, req.Code)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, loginBody{res.User.Info(), res.Auth}, nil
}

func (s *Service) handleLinkLogin(w http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	var req struct {
		Token string `json:"token"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.LogInWithLink(w, r, req.Token)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, loginBody{res.User.Info(), res.Auth}, nil
}
