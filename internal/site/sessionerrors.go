package site

import (
	"fmt"
	"net/http"
)

// The session middleware (scs) loads the session before the handler runs
// and saves it when the handler starts its answer. When the session store
// fails — the database or Redis unreachable — scs calls its ErrorFunc,
// whose default answers a plain-text 500; and a save that fails while the
// handler writes would then have the handler's own status and body
// written after it. sessionErrors makes such a failure an answer like any
// other (Classify: 503 "unavailable" JSON under /api/ while the store is
// down) and drops what the handler writes after it.

// sessionErrors wraps the session middleware in a sessionGuard, which
// onSessionError, the session manager's ErrorFunc, gets as its writer.
func (s *Site) sessionErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&sessionGuard{ResponseWriter: w}, r)
	})
}

// onSessionError is the session manager's ErrorFunc.
func (s *Site) onSessionError(w http.ResponseWriter, r *http.Request, err error) {
	// A redirect the handler meant to send must not ride on the error.
	w.Header().Del("Location")
	s.fail(w, r, fmt.Errorf("session store: %w", err))
	if g, ok := w.(*sessionGuard); ok {
		g.failed = true
	}
}

// sessionGuard passes writes on until a session error has been answered,
// then drops them.
type sessionGuard struct {
	http.ResponseWriter
	failed bool
}

func (g *sessionGuard) WriteHeader(status int) {
	if !g.failed {
		g.ResponseWriter.WriteHeader(status)
	}
}

func (g *sessionGuard) Write(b []byte) (int, error) {
	if g.failed {
		return len(b), nil
	}
	return g.ResponseWriter.Write(b)
}

func (g *sessionGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }
