package passkeyd

import (
	"net/http"
	"slices"
)

// errNoRelatedOrigins answers /.well-known/webauthn on a site that lists
// no related origins: there is no such document.
var errNoRelatedOrigins = NewError("not_found", "This site lists no related origins.")

// handleRelatedOrigins serves /.well-known/webauthn, the document a
// browser reads from the RP id's own origin before it lets a page on
// another domain use the site's passkeys (WebAuthn Level 3, Related
// Origin Requests). It lists every origin that may: the site's own and
// the related ones.
func (s *Service) handleRelatedOrigins(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.RelatedOrigins) == 0 {
		s.writeError(w, r, http.StatusNotFound, errNoRelatedOrigins)
		return
	}
	origins := slices.Concat(s.cfg.Origins, s.cfg.RelatedOrigins)
	// Browsers fetch it at every ceremony from a related origin; it
	// changes only with the configuration.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, struct {
		Origins []string `json:"origins"`
	}{origins})
}
