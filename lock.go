package passkeyd

import (
	"context"
	"fmt"
	"time"
)

// The audit events of locking an account.
const (
	AuditAccountLocked   = "account_locked"
	AuditAccountUnlocked = "account_unlocked"
)

// errUsersNotKept answers a change to a user where the app keeps its
// users itself.
var errUsersNotKept = NewError("users_not_kept", "This site keeps its users itself; passkeyd cannot change them.")

// keptUsers is Deps.Users as a UserStore, or errUsersNotKept where the
// app keeps its users itself.
func (s *Service) keptUsers() (UserStore, error) {
	store, ok := s.users.(UserStore)
	if !ok {
		return nil, errUsersNotKept
	}
	return store, nil
}

// errLockSelf refuses staff locking their own account.
var errLockSelf = NewError("cannot_change_self", "You cannot lock your own account or take away your own staff role.")

// LockAccount locks user's account (locked) or unlocks it, and writes it
// to the audit log as done by by (a staff member's username, or the
// command that did it). A locked account cannot log in in any way, and
// its sessions count as nobody's on every instance at once (CurrentUser);
// Service.LockAccount also deletes them. It is for a tool that has the
// stores but no Service (passkeyd user lock).
func LockAccount(ctx context.Context, users UserStore, audit AuditStore, user *User, locked bool, by string, now time.Time) error {
	at, event := time.Time{}, AuditAccountUnlocked
	if locked {
		at, event = now.UTC(), AuditAccountLocked
	}
	if err := users.SetLocked(ctx, user.ID, at); err != nil {
		return fmt.Errorf("lock the account: %w", err)
	}
	e := AuditEvent{At: now.UTC(), UserID: user.ID, Event: event, Outcome: AuditOK, Actor: by}
	if err := audit.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("audit the lock: %w", err)
	}
	return nil
}

// LockAccount locks or unlocks target's account for staff, and ends the
// sessions of a locked one. Staff cannot lock themselves out.
func (s *Service) LockAccount(ctx context.Context, staff, target *User, locked bool) error {
	if staff.ID == target.ID && locked {
		return errLockSelf
	}
	store, err := s.keptUsers()
	if err != nil {
		return err
	}
	if err := LockAccount(ctx, store, s.store, target, locked, staff.Username, s.now()); err != nil {
		return err
	}
	if locked && s.sessions != nil {
		if _, err := s.sessions.store.DeleteUserSessions(ctx, target.ID, nil); err != nil {
			return fmt.Errorf("end the locked account's sessions: %w", err)
		}
	}
	return nil
}
