package sqlite

// The store's methods, spelled out so that go doc lists them: the queries
// themselves are internal/sqlstore's, shared by both SQL backends.

import (
	"context"
	"time"

	"github.com/passkeyd/passkeyd"
)

// AddCeremonyKey stores a key that seals pending ceremonies; see
// passkeyd.CeremonyKeyStore.
func (d *DB) AddCeremonyKey(ctx context.Context, k passkeyd.CeremonyKey, retire bool) error {
	return d.q.AddCeremonyKey(ctx, k, retire)
}

// AppendAudit adds events to the audit log.
func (d *DB) AppendAudit(ctx context.Context, events ...passkeyd.AuditEvent) error {
	return d.q.AppendAudit(ctx, events...)
}

// AuditEvents returns the user's newest audit events, newest first, at
// most limit (userID "" for everyone's).
func (d *DB) AuditEvents(ctx context.Context, userID string, limit int) ([]passkeyd.AuditEvent, error) {
	return d.q.AuditEvents(ctx, userID, limit)
}

// CeremonyKeys returns every stored ceremony key, newest first.
func (d *DB) CeremonyKeys(ctx context.Context) ([]passkeyd.CeremonyKey, error) {
	return d.q.CeremonyKeys(ctx)
}

// ClearAttempts forgets key's attempts.
func (d *DB) ClearAttempts(ctx context.Context, key []byte) error {
	return d.q.ClearAttempts(ctx, key)
}

// CommitLogin writes what a login changes in one transaction: the used
// challenge, the passkey's counter and flags, the last login, the new
// session and the end of the one it replaces.
func (d *DB) CommitLogin(ctx context.Context, c *passkeyd.LoginCommit) error {
	return d.q.CommitLogin(ctx, c)
}

// CommitRegistration records the used challenge and stores the new passkey
// in one transaction.
func (d *DB) CommitRegistration(ctx context.Context, c *passkeyd.RegistrationCommit) error {
	return d.q.CommitRegistration(ctx, c)
}

// CountSessions returns how many sessions have not ended at now.
func (d *DB) CountSessions(ctx context.Context, now time.Time) (int64, error) {
	return d.q.CountSessions(ctx, now)
}

// CreatePasskey stores a passkey; passkeyd.ErrCredentialExists when its
// credential id is taken.
func (d *DB) CreatePasskey(ctx context.Context, p *passkeyd.Passkey) error {
	return d.q.CreatePasskey(ctx, p)
}

// CreateSession stores a new session.
func (d *DB) CreateSession(ctx context.Context, sess *passkeyd.Session) error {
	return d.q.CreateSession(ctx, sess)
}

// CreateUser stores a user made by passkeyd.NewUser;
// passkeyd.ErrUsernameTaken when the name is in use in any letter case.
func (d *DB) CreateUser(ctx context.Context, u *passkeyd.User) error {
	return d.q.CreateUser(ctx, u)
}

// DeleteAuditEvents removes the audit events from before t.
func (d *DB) DeleteAuditEvents(ctx context.Context, t time.Time) (int64, error) {
	return d.q.DeleteAuditEvents(ctx, t)
}

// DeleteCeremonyKeys removes the ceremony keys retired before t.
func (d *DB) DeleteCeremonyKeys(ctx context.Context, t time.Time) (int64, error) {
	return d.q.DeleteCeremonyKeys(ctx, t)
}

// DeleteExpiredAttempts removes the attempt windows that ended before t.
func (d *DB) DeleteExpiredAttempts(ctx context.Context, t time.Time) (int64, error) {
	return d.q.DeleteExpiredAttempts(ctx, t)
}

// DeletePasskey deletes one of the user's passkeys, which must be disabled
// (passkeyd.ErrPasskeyEnabled).
func (d *DB) DeletePasskey(ctx context.Context, userID, id string, keepWayIn bool) error {
	return d.q.DeletePasskey(ctx, userID, id, keepWayIn)
}

// DeleteSession deletes the session with that key; one that does not exist
// is no error.
func (d *DB) DeleteSession(ctx context.Context, key []byte) error {
	return d.q.DeleteSession(ctx, key)
}

// DeleteUsedChallenges removes the records of used challenges that expired
// before t.
func (d *DB) DeleteUsedChallenges(ctx context.Context, t time.Time) (int64, error) {
	return d.q.DeleteUsedChallenges(ctx, t)
}

// DeleteUser deletes the user with their passkeys and sessions, in one
// transaction; passkeyd.ErrNotFound when there is none.
func (d *DB) DeleteUser(ctx context.Context, id string) error {
	return d.q.DeleteUser(ctx, id)
}

// DeleteUserSessions deletes the user's sessions but the one with key keep
// (nil keeps none).
func (d *DB) DeleteUserSessions(ctx context.Context, userID string, keep []byte) (int64, error) {
	return d.q.DeleteUserSessions(ctx, userID, keep)
}

// ListPasskeys returns a page of the user's passkeys, newest first, and
// their total.
func (d *DB) ListPasskeys(ctx context.Context, userID string, offset, limit int) (passkeyd.PasskeyPage, error) {
	return d.q.ListPasskeys(ctx, userID, offset, limit)
}

// ListUsers returns every user, oldest first.
func (d *DB) ListUsers(ctx context.Context) ([]*passkeyd.User, error) {
	return d.q.ListUsers(ctx)
}

// Passkey returns one of the user's passkeys, or passkeyd.ErrNotFound.
func (d *DB) Passkey(ctx context.Context, userID, id string) (*passkeyd.Passkey, error) {
	return d.q.Passkey(ctx, userID, id)
}

// PasskeyAndOwner returns the passkey with that credential id and its user
// in one query, or passkeyd.ErrNotFound.
func (d *DB) PasskeyAndOwner(ctx context.Context, credentialID []byte) (*passkeyd.Passkey, *passkeyd.User, error) {
	return d.q.PasskeyAndOwner(ctx, credentialID)
}

// PasskeyByCredentialID returns the passkey with that credential id, or
// passkeyd.ErrNotFound.
func (d *DB) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*passkeyd.Passkey, error) {
	return d.q.PasskeyByCredentialID(ctx, credentialID)
}

// RecordLogin notes a successful login at the given time.
func (d *DB) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	return d.q.RecordLogin(ctx, userID, at)
}

// SessionByKey returns the session with that key, expired or not, or
// passkeyd.ErrNotFound.
func (d *DB) SessionByKey(ctx context.Context, key []byte) (*passkeyd.Session, error) {
	return d.q.SessionByKey(ctx, key)
}

// SearchUsers returns a page of the users whose username or display
// name contains query, and how many match.
func (d *DB) SearchUsers(ctx context.Context, query string, offset, limit int) ([]*passkeyd.User, int, error) {
	return d.q.SearchUsers(ctx, query, offset, limit)
}

// SetLocked locks the user's account at at, or unlocks it (zero).
func (d *DB) SetLocked(ctx context.Context, userID string, at time.Time) error {
	return d.q.SetLocked(ctx, userID, at)
}

// SetStaff marks the user as staff, or not.
func (d *DB) SetStaff(ctx context.Context, userID string, staff bool) error {
	return d.q.SetStaff(ctx, userID, staff)
}

// SetDisplayName replaces the user's display name.
func (d *DB) SetDisplayName(ctx context.Context, userID, name string) error {
	return d.q.SetDisplayName(ctx, userID, name)
}

// SetPasswordHash replaces the user's password hash ("" removes it).
func (d *DB) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return d.q.SetPasswordHash(ctx, userID, hash)
}

// TakeAttempt counts one attempt against key, atomically, and returns the
// count in its window and when the window ends.
func (d *DB) TakeAttempt(ctx context.Context, key []byte, window time.Duration, now time.Time) (int, time.Time, error) {
	return d.q.TakeAttempt(ctx, key, window, now)
}

// TouchSession sets a session's last use and expiry if it still exists;
// passkeyd.ErrNotFound when it does not.
func (d *DB) TouchSession(ctx context.Context, key []byte, seen, expires time.Time) error {
	return d.q.TouchSession(ctx, key, seen, expires)
}

// UpdatePasskey renames, enables or disables one of the user's passkeys.
func (d *DB) UpdatePasskey(ctx context.Context, userID, id string, u passkeyd.PasskeyUpdate) (*passkeyd.Passkey, error) {
	return d.q.UpdatePasskey(ctx, userID, id, u)
}

// UserByHandle returns the user with that WebAuthn user handle, or
// passkeyd.ErrNotFound.
func (d *DB) UserByHandle(ctx context.Context, handle []byte) (*passkeyd.User, error) {
	return d.q.UserByHandle(ctx, handle)
}

// UserByID returns the user with that id, or passkeyd.ErrNotFound.
func (d *DB) UserByID(ctx context.Context, id string) (*passkeyd.User, error) {
	return d.q.UserByID(ctx, id)
}

// UserByUsername finds a user by username in any letter case, or returns
// passkeyd.ErrNotFound.
func (d *DB) UserByUsername(ctx context.Context, username string) (*passkeyd.User, error) {
	return d.q.UserByUsername(ctx, username)
}

// UserPasskeys returns all of the user's passkeys.
func (d *DB) UserPasskeys(ctx context.Context, userID string) ([]*passkeyd.Passkey, error) {
	return d.q.UserPasskeys(ctx, userID)
}

// UserSessions returns the user's sessions, newest first.
func (d *DB) UserSessions(ctx context.Context, userID string) ([]*passkeyd.Session, error) {
	return d.q.UserSessions(ctx, userID)
}

// ReplaceRecoveryCodes replaces the user's recovery codes (hashes).
func (d *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error {
	return d.q.ReplaceRecoveryCodes(ctx, userID, hashes, at)
}

// UseRecoveryCode uses up one of the user's unused recovery codes, or
// returns passkeyd.ErrNotFound.
func (d *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) error {
	return d.q.UseRecoveryCode(ctx, userID, hash, at)
}

// RecoveryCodesLeft says how many unused recovery codes the user has.
func (d *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return d.q.RecoveryCodesLeft(ctx, userID)
}

// CreateLoginLink stores a one-time login link (its hash).
func (d *DB) CreateLoginLink(ctx context.Context, hash []byte, userID string, expires time.Time) error {
	return d.q.CreateLoginLink(ctx, hash, userID, expires)
}

// UseLoginLink uses up an unexpired login link and returns its user's
// id, or passkeyd.ErrNotFound.
func (d *DB) UseLoginLink(ctx context.Context, hash []byte, now time.Time) (string, error) {
	return d.q.UseLoginLink(ctx, hash, now)
}

// DeleteExpiredLoginLinks removes the login links that expired before t.
func (d *DB) DeleteExpiredLoginLinks(ctx context.Context, t time.Time) (int64, error) {
	return d.q.DeleteExpiredLoginLinks(ctx, t)
}
