package passkeyd

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/passkeyd/passkeyd/password"
)

// PasswordChecker checks passwords, for a Service's password login. An
// app whose users have passwords implements it over its own hashes, or
// uses HashedPasswords for passkeyd's.
type PasswordChecker interface {
	// CheckPassword reports whether password is user's. user is nil when
	// no user has the username tried. A nil user, and a user without a
	// password, must cost what a real check costs and report false, so
	// that the time an answer takes tells nobody whether an account
	// exists. ctx ends when the Service stops waiting (see
	// ErrBusy); an error is a fault, not a wrong password.
	CheckPassword(ctx context.Context, user *User, password string) (bool, error)
}

// HashedPasswords checks passwords against User.PasswordHash, argon2id
// hashes made by hasher, and spends one verification on an unknown user
// too. After a good password whose hash was made with older parameters
// it stores a new hash through users.
func HashedPasswords(hasher *password.Hasher, users UserStore) PasswordChecker {
	return &hashedPasswords{hasher: hasher, users: users}
}

type hashedPasswords struct {
	hasher *password.Hasher
	users  UserStore
}

func (h *hashedPasswords) CheckPassword(ctx context.Context, u *User, pw string) (bool, error) {
	if u == nil || u.PasswordHash == "" {
		h.hasher.VerifyDummy(ctx, pw)
		return false, ctx.Err()
	}
	ok, err := h.hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil || !ok {
		return false, err
	}
	if h.hasher.NeedsRehash(u.PasswordHash) {
		// A failure to upgrade the hash must not fail the login; the
		// next login tries again.
		if hash, err := h.hasher.Hash(ctx, pw); err == nil {
			_ = h.users.SetPasswordHash(ctx, u.ID, hash)
		}
	}
	return true, nil
}

// Errors of password login.
var (
	errPasswordLoginFailed = NewError("login_failed", "Wrong username or password.")
	errTooManyAttempts     = NewError("too_many_attempts", "Too many failed attempts for this username. Try again later, or log in with a passkey.")
	// ErrBusy is the answer to a password login that waited too long for
	// a hashing slot: under a burst of attempts the rest are told to
	// retry rather than pile up.
	ErrBusy              = NewError("busy", "Too many password logins at once. Please try again in a moment, or log in with a passkey.")
	errNoPasswordLogin   = NewError("password_login_off", "This site does not log in with passwords. Use a passkey.")
	errMissingCredential = NewError("missing_credentials", "Enter your username and password, or log in with a passkey.")
)

// takePasswordAttempts counts an attempt at username's password (or
// recovery code) from r's client in each of passwordLimits, and refuses
// one over any of them.
func (s *Service) takePasswordAttempts(ctx context.Context, r *http.Request, username string) error {
	account, addr := throttleKey(username), addrKey(s.ClientAddr(r))
	keys := map[string][]byte{
		"account+address": s.accountAddressKey(r, username),
		"account":         attemptKey("password", account),
		"address":         attemptKey("password-from", addr),
	}
	for _, l := range passwordLimits {
		n, resets, err := s.store.TakeAttempt(ctx, keys[l.kind], l.window, s.now())
		if err != nil {
			return err
		}
		if n > l.max {
			if n == l.max+1 {
				// The first refusal of a window goes in the owner's log:
				// a lock-out they should know of. Its repeats would only
				// let a guesser fill the log.
				s.auditPassword(ctx, username, AuditLockout, errTooManyAttempts.Code)
			}
			return tooManyAttempts(resets.Sub(s.now()))
		}
	}
	return nil
}

// accountAddressKey is the attempt key of username's password from r's
// client address.
func (s *Service) accountAddressKey(r *http.Request, username string) []byte {
	return attemptKey("password", throttleKey(username), addrKey(s.ClientAddr(r)))
}

// maxHashWait bounds how long a password login waits for a hashing slot.
const maxHashWait = 3 * time.Second

// The limits of password attempts. Every attempt is counted in the
// shared store before its password is hashed, so neither a burst nor any
// number of instances gets more. A stranger guessing from one address
// uses up that address's attempts at the account long before the
// account's own, slower limit; locking the account's password login needs
// many addresses, and lasts an hour at most. Passkey login is never
// limited by these.
var passwordLimits = []struct {
	kind   string
	max    int
	window time.Duration
}{
	{"account+address", 10, 15 * time.Minute},
	{"account", 100, time.Hour},
	// One address trying many accounts; high enough for an office behind
	// one NAT address.
	{"address", 1000, 15 * time.Minute},
}

// PasswordLogIn checks a username and password and, when they are right,
// logs the user in as LogIn does. An unknown user, a user without a
// password and a wrong password get one error (login_failed) after the
// same work, so neither the answer nor its timing says whether the
// account exists. Each attempt is counted first, per account and client
// address, per account and per address (passwordLimits); one over a limit
// is refused (too_many_attempts, with when to retry) without hashing.
// A Service built without Deps.Passwords refuses every password login.
func (s *Service) PasswordLogIn(w http.ResponseWriter, r *http.Request, username, pw string) (*LoginResult, error) {
	res, err := s.passwordLogIn(w, r, username, pw)
	s.countCeremony("password", err)
	return res, err
}

func (s *Service) passwordLogIn(w http.ResponseWriter, r *http.Request, username, pw string) (*LoginResult, error) {
	if err := s.limitAddress(r); err != nil {
		return nil, err
	}
	if s.passwords == nil {
		return nil, errNoPasswordLogin
	}
	if username == "" || pw == "" {
		return nil, errMissingCredential
	}
	r = s.withRequestInfo(r)
	ctx := r.Context()
	if err := s.takePasswordAttempts(ctx, r, username); err != nil {
		return nil, err
	}
	u, err := s.users.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	hashCtx, cancel := context.WithTimeout(ctx, maxHashWait)
	defer cancel()
	ok, err := s.passwords.CheckPassword(hashCtx, u, pw)
	if err != nil {
		return nil, hashBusy(ctx, err)
	}
	if !ok {
		e := s.auditEvent(ctx, "", AuditLogin, AuditRefused)
		if u != nil {
			e.UserID = u.ID
		}
		e.Method, e.Reason = "password", errPasswordLoginFailed.Code
		s.audit(ctx, e)
		return nil, errPasswordLoginFailed
	}
	// The right password from this address forgets its failures here;
	// the account's count stays, so that a guesser elsewhere gains nothing.
	if err := s.store.ClearAttempts(ctx, s.accountAddressKey(r, username)); err != nil {
		s.log.WarnContext(ctx, "clear password attempts", "err", err)
	}
	return s.logInBy(w, r, u, "password")
}

// auditPassword notes a password login's refusal in the log of the
// account the username names, if there is one.
func (s *Service) auditPassword(ctx context.Context, username, event, reason string) {
	e := s.auditEvent(ctx, "", event, AuditRefused)
	if u, err := s.users.UserByUsername(ctx, username); err == nil {
		e.UserID = u.ID
	}
	e.Method, e.Reason = "password", reason
	s.audit(ctx, e)
}

// tooManyAttempts is too_many_attempts, retried after d.
func tooManyAttempts(d time.Duration) *Error {
	d = max(d, time.Second)
	e := errTooManyAttempts.Wrap(nil).withTexts(retryText(d))
	e.RetryAfter = d
	return e
}

// retryText says when to try again after too many password attempts:
// in whole minutes, or seconds under a minute.
func retryText(d time.Duration) text {
	if d < time.Minute {
		return text{
			template: msg("Too many password attempts for this username. Try again in {{.Seconds}} seconds, or log in with a passkey."),
			data:     map[string]any{"Seconds": int((d + time.Second - 1) / time.Second)},
		}
	}
	m := int((d + time.Minute - 1) / time.Minute)
	if m == 1 {
		return text{template: msg("Too many password attempts for this username. Try again in 1 minute, or log in with a passkey.")}
	}
	return text{
		template: msg("Too many password attempts for this username. Try again in {{.Minutes}} minutes, or log in with a passkey."),
		data:     map[string]any{"Minutes": m},
	}
}

// attemptKey is the key attempts are counted under: a hash of its parts,
// so that the store keeps no username or address.
func attemptKey(parts ...string) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)[:16]
}

// throttleKey is the account a username names, in any letter case.
func throttleKey(username string) string {
	if k := UsernameKey(username); k != "" {
		return k
	}
	return username
}

// hashBusy turns a hashing wait that timed out into ErrBusy; the
// request's own end, or a malformed stored hash, stays as it is.
func hashBusy(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return ErrBusy.Wrap(err)
	}
	return err
}
