package site

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"

	"github.com/passkeyd/passkeyd"
)

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", page{Title: msg("Home")})
}

// loginForm shows the login form. A next that points off the site is
// refused here already, so a phishing link fails before anyone types a
// password.
func (s *Site) loginForm(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if next != "" && !passkeyd.SafeRedirect(next) {
		s.renderLogin(w, r, passkeyd.HTTPStatus(errOffsiteNext), "", "", s.deps.Passkeys.ErrorMessage(r, errOffsiteNext))
		return
	}
	s.renderLogin(w, r, http.StatusOK, next, "", "")
}

func (s *Site) renderLogin(w http.ResponseWriter, r *http.Request, status int, next, username, message string) {
	s.renderLoginPage(w, r, status, page{Next: next, Username: username, Error: message})
}

// renderLoginPage renders the login page with what p says.
func (s *Site) renderLoginPage(w http.ResponseWriter, r *http.Request, status int, p page) {
	svc := s.deps.Passkeys
	p.Title, p.RPID = msg("Log in"), svc.RPID()
	p.SignUpPasskey, p.SignUpPassword = svc.SignUpAllows(passkeyd.SignUpPasskey), svc.SignUpAllows(passkeyd.SignUpPassword)
	p.Scripts = []string{"passkey.js", "login.js"}
	s.render(w, r, status, "login", p)
}

// credentialIDOf is the "id" of an AuthenticationResponseJSON, when it
// is base64url: what the Signal API names a credential by.
func credentialIDOf(response string) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(response), &v) != nil {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(v.ID); err != nil || v.ID == "" {
		return ""
	}
	return v.ID
}

// loginFields are the login form's fields; any other field is refused.
var loginFields = map[string]bool{"username": true, "password": true, "passkey": true, "next": true, "recovery_code": true}

// loginSubmit is the login form's POST: with a username and a password it
// is a password login, else a passkey login (the article's rule).
func (s *Site) loginSubmit(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(r, loginFields)
	if err != nil {
		s.failLogin(w, r, "", "", err)
		return
	}
	next, username, pw, passkey := form.Get("next"), form.Get("username"), form.Get("password"), form.Get("passkey")
	code := form.Get("recovery_code")
	if next != "" && !passkeyd.SafeRedirect(next) {
		s.failLogin(w, r, "", username, errOffsiteNext)
		return
	}
	if code != "" && pw == "" && passkey == "" {
		// A recovery code in place of the password.
		_, err = s.deps.Passkeys.LogInWithRecoveryCode(w, r, username, code)
	} else if passkey != "" && (username == "" || pw == "") {
		if _, err = s.deps.Passkeys.FinishLogin(w, r, []byte(passkey)); err != nil {
			// A passkey refused is 401 whatever the reason, as at the
			// JSON API's finish. One the site does not know is signalled
			// to the browser, so it leaves the password manager.
			unknown := ""
			if passkeyd.Classify(err).Code == passkeyd.CodeUnknownPasskey {
				unknown = credentialIDOf(passkey)
			}
			s.renderLoginPage(w, r, passkeyd.LoginFailureStatus(err), page{Next: next, Username: username,
				Error: s.deps.Passkeys.ErrorMessage(r, err), UnknownCredential: unknown})
			return
		}
	} else {
		// Empty fields are answered missing_credentials.
		_, err = s.deps.Passkeys.PasswordLogIn(w, r, username, pw)
	}
	if err != nil {
		s.failLogin(w, r, next, username, err)
		return
	}
	if next == "" {
		next = "/"
	}
	s.markSignal(w)
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
	passkeyd.SetRetryAfter(w, err)
	s.renderLogin(w, r, status, next, username, s.deps.Passkeys.ErrorMessage(r, err))
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

// readyz answers 200 "ready" while the site can serve (Deps.Ready), else
// 503, and logs why at ERROR: a database that takes no writes, or whose
// file was deleted or replaced, needs an operator.
func (s *Site) readyz(w http.ResponseWriter, r *http.Request) {
	s.probe(w, r, s.deps.Ready, "ready", "not ready", slog.LevelError)
}

// healthz answers 200 "ok" while the database answers, else 503.
func (s *Site) healthz(w http.ResponseWriter, r *http.Request) {
	s.probe(w, r, s.deps.Health, "ok", "unavailable", slog.LevelWarn)
}

// probe answers a health check: up while check passes within
// healthTimeout, else 503 with down, logged at level.
func (s *Site) probe(w http.ResponseWriter, r *http.Request, check func(context.Context) error, up, down string, level slog.Level) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := check(ctx); err != nil {
		s.log.Log(r.Context(), level, down, "path", r.URL.Path, "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(down))
		return
	}
	_, _ = w.Write([]byte(up))
}
