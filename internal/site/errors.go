package site

import (
	"net/http"
	"strings"

	"github.com/passkeyd/passkeyd"
)

// The errors a client can get wrong on the site's own routes.
var (
	errCrossOrigin = passkeyd.NewError("cross_origin", "This request came from another site and was refused.")
	errBadForm     = passkeyd.NewError("bad_form", "The form could not be read. Reload the page and try again.")
	errOffsiteNext = passkeyd.NewError("bad_next", "The link you followed would send you to another site after login, so it was refused.")
	errNotFound    = passkeyd.NewError("not_found", "There is nothing here.")
	errMethod      = passkeyd.NewError("method_not_allowed", "This method is not allowed here.")
)

// fail answers a request with err: JSON for the API, an error page
// otherwise. Our own faults are logged with their cause; the client sees
// only a generic message.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, err error) {
	if wantsJSON(r) {
		// The Service writes it, and logs a fault of ours.
		s.deps.Passkeys.WriteError(w, r, err)
		return
	}
	s.failPage(w, r, passkeyd.HTTPStatus(err), err)
}

// failPage shows the error page with status, logging a fault of ours once.
func (s *Site) failPage(w http.ResponseWriter, r *http.Request, status int, err error) {
	e := passkeyd.Classify(err)
	passkeyd.LogFailure(s.log, r, status, err)
	s.render(w, r, status, "error", page{Title: statusTitle(status), Error: e.LocalizedMessage(s.deps.Passkeys.Localizer(r))})
}

// wantsJSON reports whether the request is for the JSON API.
func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/")
}

// statusTitle names an error page by its status, in English (the
// catalog's id).
func statusTitle(status int) string {
	switch status {
	case http.StatusBadRequest:
		return msg("Bad request")
	case http.StatusUnauthorized:
		return msg("Not logged in")
	case http.StatusForbidden:
		return msg("Not allowed")
	case http.StatusNotFound:
		return msg("Page not found")
	case http.StatusMethodNotAllowed:
		return msg("Method not allowed")
	case http.StatusConflict:
		return msg("Conflict")
	case http.StatusRequestEntityTooLarge:
		return msg("Request too large")
	case http.StatusUnsupportedMediaType:
		return msg("Unsupported request")
	case http.StatusTooManyRequests:
		return msg("Too many requests")
	case http.StatusServiceUnavailable:
		return msg("Temporarily unavailable")
	}
	if status >= 500 {
		return msg("Something went wrong")
	}
	return msg("Error")
}
