package site

import (
	"net/http"
	"strings"

	"github.com/passkeyd/passkeyd"
)

// The errors a client can get wrong on the site's own routes.
var (
	errCrossOrigin     = passkeyd.NewError(http.StatusForbidden, "cross_origin", "This request came from another site and was refused.")
	errLoginFailed     = passkeyd.NewError(http.StatusUnauthorized, "login_failed", "Wrong username or password.")
	errTooManyAttempts = passkeyd.NewError(http.StatusTooManyRequests, "too_many_attempts", "Too many failed attempts for this username. Try again later, or log in with a passkey.")
	errBusy            = passkeyd.NewError(http.StatusServiceUnavailable, "busy", "Too many password logins at once. Please try again in a moment, or log in with a passkey.")
	errEmptyLogin      = passkeyd.NewError(http.StatusBadRequest, "missing_credentials", "Enter your username and password, or log in with a passkey.")
	errBadForm         = passkeyd.NewError(http.StatusBadRequest, "bad_form", "The form could not be read. Reload the page and try again.")
	errOffsiteNext     = passkeyd.NewError(http.StatusBadRequest, "bad_next", "The link you followed would send you to another site after login, so it was refused.")
	errNotFound        = passkeyd.NewError(http.StatusNotFound, "not_found", "There is nothing here.")
	errMethod          = passkeyd.NewError(http.StatusMethodNotAllowed, "method_not_allowed", "This method is not allowed here.")
)

// fail answers a request with err: JSON for the API, an error page
// otherwise. Our own faults are logged with their cause; the client sees
// only a generic message.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := s.classify(err)
	if e.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if wantsJSON(r) {
		passkeyd.WriteError(w, e)
		return
	}
	s.render(w, r, e.Status, "error", page{Title: http.StatusText(e.Status), Error: e.Message})
}

// classify turns any error into the *passkeyd.Error the client sees.
func (s *Site) classify(err error) *passkeyd.Error { return passkeyd.Classify(err) }

// wantsJSON reports whether the request is for the JSON API.
func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/")
}
