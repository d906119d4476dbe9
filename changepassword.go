package passkeyd

import (
	"bytes"
	"context"
	"net/http"
)

// errWrongPassword refuses a password change whose current password is
// wrong.
var errWrongPassword = NewError("wrong_password", "Your current password is not right.")

// ChangePassword sets the logged-in user's password, and ends every
// other session of theirs, on every instance: a password that changes
// because it leaked must not leave the thief logged in. It needs a
// recent login (RequireRecentAuth) and, when the user has a password,
// the current one. A user without a password (passkeys only) sets a
// first one.
func (s *Service) ChangePassword(r *http.Request, user *User, current, next string) error {
	hasher, ok := s.passwords.(PasswordHasher)
	if !ok {
		return errNoPasswordLogin
	}
	if err := s.RequireRecentAuth(r); err != nil {
		return err
	}
	r = s.withRequestInfo(r)
	ctx := r.Context()
	if user.PasswordHash != "" {
		ok, err := s.passwords.CheckPassword(ctx, user, current)
		if err != nil {
			return err
		}
		if !ok {
			return errWrongPassword
		}
	}
	return s.setPassword(ctx, hasher, user, next, requestToken(r))
}

// setPassword hashes and stores user's new password, and ends every
// session of theirs but keep's (nil: all), on every instance.
func (s *Service) setPassword(ctx context.Context, hasher PasswordHasher, user *User, next string, keep []byte) error {
	hash, err := hasher.HashPassword(ctx, next)
	if err != nil {
		return err
	}
	if err := s.userStore().SetPasswordHash(ctx, user.ID, hash); err != nil {
		return err
	}
	events := []AuditEvent{s.auditEvent(ctx, user.ID, AuditPasswordChanged, AuditOK)}
	if s.sessions != nil {
		n, err := s.sessions.store.DeleteUserSessions(ctx, user.ID, keep)
		if err != nil {
			return err
		}
		if n > 0 {
			events = append(events, s.sessionsEnded(ctx, user, "password_changed"))
		}
	}
	s.audit(ctx, events...)
	return nil
}

// endPasskeySessions ends the user's sessions that logged in with the
// passkey, on every instance, when it is disabled or deleted — but for
// the session of the request making the change (ctx's), which the user
// is using to make it.
func (s *Service) endPasskeySessions(ctx context.Context, userID, passkeyID string) error {
	if s.sessions == nil {
		return nil
	}
	var keep []byte
	if r, ok := ctx.Value(requestKey{}).(*http.Request); ok {
		keep = requestToken(r)
	}
	list, err := s.sessions.store.UserSessions(ctx, userID)
	if err != nil {
		return err
	}
	ended := 0
	for _, sess := range list {
		if sess.PasskeyID != passkeyID || bytes.Equal(sess.Key, keep) {
			continue
		}
		if err := s.sessions.store.DeleteSession(ctx, sess.Key); err != nil {
			return err
		}
		ended++
	}
	if ended > 0 {
		e := s.auditEvent(ctx, userID, AuditSessionsEnded, AuditOK)
		e.PasskeyID, e.Reason = passkeyID, "passkey_removed"
		s.audit(ctx, e)
	}
	return nil
}

func (s *Service) handleChangePassword(_ http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
	var req struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, s.ChangePassword(r, user, req.Current, req.New)
}
