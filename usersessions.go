package passkeyd

import (
	"bytes"
	"context"
	"net/http"
	"time"
)

// SessionInfo is one of a user's sessions as the JSON API shows it.
type SessionInfo struct {
	ID         string    `json:"id"`
	Current    bool      `json:"current"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	Platform   string    `json:"platform"`
	Browser    string    `json:"browser"`
	// Method is how the session logged in: "passkey" or "password".
	Method string `json:"method"`
}

var (
	errSessionNotFound = NewError("session_not_found", "There is no such session.")
	errSessionsNotKept = NewError("sessions_not_kept", "This site keeps its sessions itself; passkeyd cannot list or end them.")
)

// UserSessions returns the logged-in user's active sessions, newest
// first, the request's own marked current. It needs passkeyd's sessions.
func (s *Service) UserSessions(r *http.Request, user *User) ([]SessionInfo, error) {
	if s.sessions == nil {
		return nil, errSessionsNotKept
	}
	current := requestToken(r)
	list, err := s.sessions.store.UserSessions(r.Context(), user.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []SessionInfo{}
	for _, sess := range list {
		if !now.Before(sess.ExpiresAt) {
			continue
		}
		method := "password"
		if sess.Auth.UsePasskey {
			method = "passkey"
		}
		out = append(out, SessionInfo{
			ID: sess.ID(), Current: bytes.Equal(sess.Key, current),
			CreatedAt: sess.CreatedAt.UTC().Truncate(time.Second), LastSeenAt: sess.LastSeenAt.UTC().Truncate(time.Second),
			Platform: sess.Platform, Browser: sess.Browser, Method: method,
		})
	}
	return out, nil
}

// EndSession ends one of the logged-in user's sessions, by its id, on
// every instance; ending the request's own logs it out. Another user's
// session, or none, is session_not_found.
func (s *Service) EndSession(w http.ResponseWriter, r *http.Request, user *User, id string) error {
	if s.sessions == nil {
		return errSessionsNotKept
	}
	ctx := r.Context()
	list, err := s.sessions.store.UserSessions(ctx, user.ID)
	if err != nil {
		return err
	}
	for _, sess := range list {
		if sess.ID() != id {
			continue
		}
		if bytes.Equal(sess.Key, requestToken(r)) {
			// Ending one's own session is a logout: no step-up.
			if err := s.LogOut(w, r); err != nil {
				return err
			}
		} else if err := s.RequireRecentAuth(r); err != nil {
			return err
		} else if err := s.sessions.store.DeleteSession(ctx, sess.Key); err != nil {
			return err
		}
		s.audit(ctx, s.sessionsEnded(ctx, user, ""))
		return nil
	}
	return errSessionNotFound
}

// EndOtherSessions ends every session of the logged-in user but the
// request's own, on every instance.
func (s *Service) EndOtherSessions(r *http.Request, user *User) error {
	if s.sessions == nil {
		return errSessionsNotKept
	}
	if err := s.RequireRecentAuth(r); err != nil {
		return err
	}
	ctx := r.Context()
	n, err := s.sessions.store.DeleteUserSessions(ctx, user.ID, requestToken(r))
	if err != nil {
		return err
	}
	if n > 0 {
		s.audit(ctx, s.sessionsEnded(ctx, user, "all_others"))
	}
	return nil
}

// sessionsEnded is the audit event of a user ending sessions: which ones
// in reason ("" for one, "all_others").
func (s *Service) sessionsEnded(ctx context.Context, user *User, reason string) AuditEvent {
	e := s.auditEvent(ctx, user.ID, AuditSessionsEnded, AuditOK)
	e.Reason = reason
	return e
}

func (s *Service) handleSessions(_ http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	list, err := s.UserSessions(r, user)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		Sessions []SessionInfo `json:"sessions"`
	}{list}, nil
}

func (s *Service) handleEndSession(w http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	return http.StatusNoContent, nil, s.EndSession(w, r, user, r.PathValue("id"))
}

func (s *Service) handleEndOtherSessions(_ http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	return http.StatusNoContent, nil, s.EndOtherSessions(r, user)
}
