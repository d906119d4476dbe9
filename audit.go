package passkeyd

import (
	"context"
	"net/http"
	"time"
)

// AuditEvent is one security event of an account, kept in the audit log:
// an append-only record that the user and the site's operators can read.
type AuditEvent struct {
	// ID orders events: a newer one has a higher id. The store sets it.
	ID int64
	At time.Time
	// UserID is whose account it concerns; "" when none is known (a
	// refused login with an unknown passkey).
	UserID string
	// Event is one of the Audit… constants.
	Event string
	// Method is how a login was tried: "passkey", "password", or "".
	Method string
	// PasskeyID is the passkey concerned, or "".
	PasskeyID string
	// Platform is the device's, from its User-Agent ("Apple", "Google"…).
	Platform string
	// Address is the client's (see Service.ClientAddr).
	Address string
	// Outcome is "ok" or "refused".
	Outcome string
	// Reason is the error code of a refusal ("login_failed").
	Reason string
	// Actor is who did it when it was not the user: an administrator.
	Actor string
}

// The events the audit log keeps.
const (
	AuditLogin           = "login"
	AuditLockout         = "lockout"
	AuditPasskeyAdded    = "passkey_added"
	AuditPasskeyRenamed  = "passkey_renamed"
	AuditPasskeyDisabled = "passkey_disabled"
	AuditPasskeyEnabled  = "passkey_enabled"
	AuditPasskeyDeleted  = "passkey_deleted"
	AuditPasswordChanged = "password_changed"
	AuditSessionsEnded   = "sessions_ended"
	AuditCloneWarning    = "clone_warning"
	AuditBackupEligible  = "backup_eligible"
	AuditSignedUp        = "signed_up"
	// AuditDisplayNameChanged: the user changed the name they are shown by.
	AuditDisplayNameChanged = "display_name_changed"
)

// Outcomes of an audit event.
const (
	AuditOK      = "ok"
	AuditRefused = "refused"
)

// AuditStore keeps the audit log. It only adds and, past the retention,
// removes: no event is ever changed.
type AuditStore interface {
	// AppendAudit adds events.
	AppendAudit(ctx context.Context, events ...AuditEvent) error
	// AuditEvents returns the user's newest events, newest first, at most
	// limit; userID "" returns everyone's.
	AuditEvents(ctx context.Context, userID string, limit int) ([]AuditEvent, error)
	// DeleteAuditEvents removes the events from before t.
	DeleteAuditEvents(ctx context.Context, t time.Time) (int64, error)
}

// DefaultAuditRetention is how long the audit log keeps an event unless
// Config.AuditRetention says otherwise.
const DefaultAuditRetention = 180 * 24 * time.Hour

// requestKey carries, in a request's context, the request itself, so
// that an audit event of what it does (from code that has only the
// context) can name its client: the address and device are read when an
// event is made, not for every request.
type requestKey struct{}

// withRequestInfo notes r in its context, for the audit events of what it
// does.
func (s *Service) withRequestInfo(r *http.Request) *http.Request {
	if _, ok := r.Context().Value(requestKey{}).(*http.Request); ok {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), requestKey{}, r))
}

// auditEvent is an event of userID at now, with what ctx's request says of
// the client.
func (s *Service) auditEvent(ctx context.Context, userID, event, outcome string) AuditEvent {
	e := AuditEvent{At: s.now().UTC(), UserID: userID, Event: event, Outcome: outcome}
	e.Actor, _ = ctx.Value(actorKey{}).(string)
	if r, ok := ctx.Value(requestKey{}).(*http.Request); ok {
		e.Address, e.Platform = s.ClientAddr(r).String(), s.platforms.Platform(r.UserAgent())
	}
	return e
}

// actorKey is the context key of the staff member on whose request a
// change to another user is made: the Actor of its audit events.
type actorKey struct{}

// withActor is ctx of a change staff (by username) make to a user.
func withActor(ctx context.Context, staff string) context.Context {
	return context.WithValue(ctx, actorKey{}, staff)
}

// audit appends events made outside a commit (a refusal, a change of a
// passkey). The log is a record, not a gate: a failure to write it is
// logged and the request goes on.
func (s *Service) audit(ctx context.Context, events ...AuditEvent) {
	if err := s.store.AppendAudit(ctx, events...); err != nil {
		s.log.WarnContext(ctx, "append to the audit log", "err", err, "event", events[0].Event)
	}
}

// AuditEvents returns the user's newest events, newest first, at most
// limit (userID "" for everyone's).
func (s *Service) AuditEvents(ctx context.Context, userID string, limit int) ([]AuditEvent, error) {
	return s.store.AuditEvents(ctx, userID, limit)
}
