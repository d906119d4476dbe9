package site

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/passkeyd/passkeyd"
)

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", page{Title: "Home"})
}

// loginForm shows the login form. A next that points off the site is
// refused here already, so a phishing link fails before anyone types a
// password.
func (s *Site) loginForm(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if next != "" && !passkeyd.SafeRedirect(next) {
		s.renderLogin(w, r, passkeyd.HTTPStatus(errOffsiteNext), "", "", errOffsiteNext.Message)
		return
	}
	s.renderLogin(w, r, http.StatusOK, next, "", "")
}

func (s *Site) renderLogin(w http.ResponseWriter, r *http.Request, status int, next, username, message string) {
	s.render(w, r, status, "login", page{Title: "Log in", Next: next, Username: username, Error: message,
		Scripts: []string{"passkey.js", "login.js"}})
}

// loginFields are the login form's fields; any other field is refused.
var loginFields = map[string]bool{"username": true, "password": true, "passkey": true, "next": true}

// loginSubmit is the login form's POST: with a username and a password it
// is a password login, else a passkey login (the article's rule).
func (s *Site) loginSubmit(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(r, loginFields)
	if err != nil {
		s.failLogin(w, r, "", "", err)
		return
	}
	next, username, pw, passkey := form.Get("next"), form.Get("username"), form.Get("password"), form.Get("passkey")
	if next != "" && !passkeyd.SafeRedirect(next) {
		s.failLogin(w, r, "", username, errOffsiteNext)
		return
	}
	switch {
	case username != "" && pw != "":
		err = s.passwordLogin(w, r, username, pw)
	case passkey != "":
		if _, err = s.deps.Passkeys.FinishLogin(w, r, []byte(passkey)); err != nil {
			// A passkey refused is 401 whatever the reason, as at the
			// JSON API's finish.
			s.failLoginWith(w, r, next, username, passkeyd.LoginFailureStatus(err), err)
			return
		}
	default:
		err = errEmptyLogin
	}
	if err != nil {
		s.failLogin(w, r, next, username, err)
		return
	}
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// failLogin shows the form again with the error in words. A fault of ours
// gets the error page instead.
func (s *Site) failLogin(w http.ResponseWriter, r *http.Request, next, username string, err error) {
	s.failLoginWith(w, r, next, username, passkeyd.HTTPStatus(err), err)
}

// failLoginWith is failLogin with the status given.
func (s *Site) failLoginWith(w http.ResponseWriter, r *http.Request, next, username string, status int, err error) {
	if status >= 500 {
		s.failPage(w, r, status, err)
		return
	}
	s.renderLogin(w, r, status, next, username, passkeyd.Classify(err).Message)
}

// passwordLogin checks a username and password and logs the user in,
// unless the username has had too many failed attempts.
func (s *Site) passwordLogin(w http.ResponseWriter, r *http.Request, username, pw string) error {
	key := throttleKey(username)
	if blocked, until := s.failures.blocked(key, s.deps.Now()); blocked {
		e := errTooManyAttempts.Wrap(nil)
		e.Message = fmt.Sprintf("Too many failed attempts for this username. Try again after %s, or log in with a passkey.", until.UTC().Format("15:04 MST"))
		return e
	}
	err := s.checkPassword(w, r, username, pw)
	if errors.Is(err, errLoginFailed) {
		s.failures.fail(key, s.deps.Now())
	} else if err == nil {
		s.failures.succeed(key)
	}
	return err
}

// throttleKey is the fixed-size key failed attempts are counted under:
// the username in any letter case is one key.
func throttleKey(username string) string {
	if k := passkeyd.UsernameKey(username); k != "" {
		username = k
	}
	sum := sha256.Sum256([]byte(username))
	return string(sum[:16])
}

// maxHashWait bounds how long a password login waits for a hashing slot.
const maxHashWait = 3 * time.Second

// hashBusy turns a hashing wait that timed out into errBusy; the request's
// own end, or a malformed stored hash, stays as it is.
func hashBusy(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return errBusy.Wrap(err)
	}
	return err
}

// checkPassword checks a username and password and logs the user in. An
// unknown user, a user without a password and a wrong password all cost
// one argon2id verification and get the same error, so neither the answer
// nor its timing tells whether the username exists.
func (s *Site) checkPassword(w http.ResponseWriter, r *http.Request, username, pw string) error {
	ctx := r.Context()
	u, err := s.deps.Users.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, passkeyd.ErrNotFound) {
		return err
	}
	// Hashing waits for a free slot, but not for long: under a burst of
	// password attempts the rest queue briefly, then are told to retry,
	// rather than piling up behind one another.
	hashCtx, cancel := context.WithTimeout(ctx, maxHashWait)
	defer cancel()
	if u == nil || u.PasswordHash == "" {
		s.deps.Hasher.VerifyDummy(hashCtx, pw)
		if err := hashCtx.Err(); err != nil {
			return hashBusy(ctx, err)
		}
		return errLoginFailed
	}
	ok, err := s.deps.Hasher.Verify(hashCtx, pw, u.PasswordHash)
	if err != nil {
		return hashBusy(ctx, err)
	}
	if !ok {
		return errLoginFailed
	}
	if _, err := s.deps.Passkeys.LogIn(w, r, u); err != nil {
		return err
	}
	if s.deps.Hasher.NeedsRehash(u.PasswordHash) {
		// The hash was made with older parameters: upgrade it now that we
		// know the password. A failure here must not fail the login.
		if h, err := s.deps.Hasher.Hash(ctx, pw); err == nil {
			if err := s.deps.Users.SetPasswordHash(ctx, u.ID, h); err != nil {
				s.log.WarnContext(ctx, "rehash password", "user_id", u.ID, "err", err)
			}
		}
	}
	return nil
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.deps.Passkeys.LogOut(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// errFormType answers a form post whose body is not urlencoded.
var errFormType = passkeyd.NewError("unsupported_media_type",
	"The form must be sent as application/x-www-form-urlencoded.")

// readForm reads an urlencoded form body and refuses fields it does not
// know or that appear twice, so that a confused client hears about it.
func readForm(r *http.Request, allowed map[string]bool) (url.Values, error) {
	// ParseForm silently reads any other content type as an empty form,
	// which would tell a client that sent JSON to enter a password. A
	// bodiless POST without a content type is an empty form.
	if ct := r.Header.Get("Content-Type"); ct != "" || r.ContentLength != 0 {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, errFormType
		}
	}
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, passkeyd.ErrBodyTooLarge
		}
		return nil, errBadForm.Wrap(err)
	}
	for name, values := range r.PostForm {
		if !allowed[name] {
			return nil, passkeyd.NewError("unknown_field", "The form has a field this page does not know: "+truncate(name, 40)+".")
		}
		if len(values) > 1 {
			return nil, passkeyd.NewError("duplicate_field", "The form has the field "+truncate(name, 40)+" more than once.")
		}
	}
	return r.PostForm, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// apiSession tells who is logged in and how.
func (s *Site) apiSession(w http.ResponseWriter, r *http.Request) {
	type body struct {
		User *passkeyd.UserInfo `json:"user"`
		Auth *passkeyd.Auth     `json:"auth"`
	}
	u, sess, err := s.deps.Passkeys.CurrentUser(r)
	if errors.Is(err, passkeyd.ErrNotLoggedIn) {
		passkeyd.WriteJSON(w, http.StatusOK, body{})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	info := u.Info()
	passkeyd.WriteJSON(w, http.StatusOK, body{User: &info, Auth: &sess.Auth})
}

func (s *Site) apiLogout(w http.ResponseWriter, r *http.Request) {
	if _, _, err := s.deps.Passkeys.CurrentUser(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Passkeys.LogOut(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// healthz answers 200 "ok" while the database answers, else 503.
func (s *Site) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.deps.Health(ctx); err != nil {
		s.log.WarnContext(r.Context(), "health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("unavailable"))
		return
	}
	_, _ = w.Write([]byte("ok"))
}
