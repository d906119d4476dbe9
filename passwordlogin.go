package passkeyd

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
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

// maxHashWait bounds how long a password login waits for a hashing slot.
const maxHashWait = 3 * time.Second

// PasswordLogIn checks a username and password and, when they are right,
// logs the user in as LogIn does. An unknown user, a user without a
// password and a wrong password get one error (login_failed) after the
// same work, so neither the answer nor its timing says whether the
// account exists. After too many failures for one username its password
// login is refused for a while (too_many_attempts); passkey login is not.
// A Service built without Deps.Passwords refuses every password login.
func (s *Service) PasswordLogIn(w http.ResponseWriter, r *http.Request, username, pw string) (*LoginResult, error) {
	if s.passwords == nil {
		return nil, errNoPasswordLogin
	}
	if username == "" || pw == "" {
		return nil, errMissingCredential
	}
	key := throttleKey(username)
	if blocked, until := s.failures.blocked(key, s.now()); blocked {
		e := errTooManyAttempts.Wrap(nil)
		e.Message = fmt.Sprintf("Too many failed attempts for this username. Try again after %s, or log in with a passkey.", until.UTC().Format("15:04 MST"))
		return nil, e
	}
	ctx := r.Context()
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
		s.failures.fail(key, s.now())
		return nil, errPasswordLoginFailed
	}
	s.failures.succeed(key)
	return s.LogIn(w, r, u)
}

// throttleKey is the fixed-size key failed attempts are counted under:
// the username in any letter case is one key.
func throttleKey(username string) string {
	if k := UsernameKey(username); k != "" {
		username = k
	}
	sum := sha256.Sum256([]byte(username))
	return string(sum[:16])
}

// hashBusy turns a hashing wait that timed out into ErrBusy; the
// request's own end, or a malformed stored hash, stays as it is.
func hashBusy(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return ErrBusy.Wrap(err)
	}
	return err
}
