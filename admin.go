package passkeyd

import (
	"context"
	"errors"
	"math"
	"net/http"
	"time"
)

// The admin API (/api/admin/…) is for staff (User.Staff) of a site whose
// users passkeyd keeps. To anyone else — nobody logged in, or a user who
// is not staff — it does not exist: every route answers 404 not_found,
// so it does not even tell that there is an admin. Every change needs a
// recent login (RequireRecentAuth) and is written to the audit log of the
// user it changes, with the staff member's username as its Actor.

// The audit events of staff roles.
const (
	AuditStaffGranted = "staff_granted"
	AuditStaffRevoked = "staff_revoked"
)

// AdminPageSize is how many users a page of the admin's list shows.
const AdminPageSize = 20

// adminEventLimit is how many of a user's newest audit events the admin
// shows.
const adminEventLimit = 50

var (
	// errNoAdmin is every admin route's answer to anyone not staff.
	errNoAdmin = NewError("not_found", "There is nothing here.")
	// errNoSuchUser answers an admin route naming no user.
	errNoSuchUser = NewError("user_not_found", "There is no such user.")
)

// AdminUser is a user as the admin shows them.
type AdminUser struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Staff       bool       `json:"staff"`
	Locked      bool       `json:"locked"`
	HasPassword bool       `json:"has_password"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

// AdminView returns u as the admin shows them.
func (u *User) AdminView() AdminUser {
	v := AdminUser{
		ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Staff: u.Staff,
		Locked: !u.LockedAt.IsZero(), HasPassword: u.PasswordHash != "", CreatedAt: u.CreatedAt.UTC(),
	}
	if !u.LastLoginAt.IsZero() {
		t := u.LastLoginAt.UTC()
		v.LastLoginAt = &t
	}
	return v
}

// AdminEvent is an audit event as the admin shows it.
type AdminEvent struct {
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	Outcome   string    `json:"outcome"`
	Method    string    `json:"method"`
	PasskeyID string    `json:"passkey_id"`
	Platform  string    `json:"platform"`
	Address   string    `json:"address"`
	Reason    string    `json:"reason"`
	Actor     string    `json:"actor"`
}

// AdminUserDetail is what the admin shows of one user: the user, their
// passkeys, their sessions and their newest audit events.
type AdminUserDetail struct {
	User     AdminUser     `json:"user"`
	Passkeys []PasskeyInfo `json:"passkeys"`
	Sessions []SessionInfo `json:"sessions"`
	Events   []AdminEvent  `json:"events"`
}

// staffOnly adapts an admin route: its handler runs for staff only, and
// anyone else gets 404 not_found.
func (s *Service) staffOnly(h apiFunc) http.Handler {
	return s.api(userOptional, func(w http.ResponseWriter, r *http.Request, user *User) (int, any, error) {
		if user == nil || !user.Staff {
			return 0, nil, errNoAdmin
		}
		return h(w, r, user)
	})
}

// SearchUsers returns a page (from 1) of the users whose username or
// display name contains query, and how many pages there are.
func (s *Service) SearchUsers(ctx context.Context, query string, page int) ([]*User, int, error) {
	store, err := s.keptUsers()
	if err != nil {
		return nil, 0, err
	}
	offset := math.MaxInt32
	if page-1 < math.MaxInt32/AdminPageSize {
		offset = (page - 1) * AdminPageSize
	}
	users, total, err := store.SearchUsers(ctx, query, offset, AdminPageSize)
	if err != nil {
		return nil, 0, err
	}
	return users, max(1, (total+AdminPageSize-1)/AdminPageSize), nil
}

// AdminUserDetail returns what the admin shows of the user with id.
func (s *Service) AdminUserDetail(r *http.Request, id string) (*AdminUserDetail, error) {
	ctx := r.Context()
	u, err := s.adminTarget(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &AdminUserDetail{User: u.AdminView(), Passkeys: []PasskeyInfo{}, Sessions: []SessionInfo{}, Events: []AdminEvent{}}
	passkeys, err := s.store.UserPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range passkeys {
		d.Passkeys = append(d.Passkeys, p.Info())
	}
	if s.sessions != nil {
		sessions, err := s.UserSessions(r, u)
		if err != nil {
			return nil, err
		}
		d.Sessions = sessions
	}
	events, err := s.store.AuditEvents(ctx, u.ID, adminEventLimit)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		d.Events = append(d.Events, AdminEvent{
			At: e.At.UTC(), Event: e.Event, Outcome: e.Outcome, Method: e.Method, PasskeyID: e.PasskeyID,
			Platform: e.Platform, Address: e.Address, Reason: e.Reason, Actor: e.Actor,
		})
	}
	return d, nil
}

// adminTarget finds the user an admin route names.
func (s *Service) adminTarget(ctx context.Context, id string) (*User, error) {
	u, err := s.users.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, errNoSuchUser
	}
	return u, err
}

// SetStaff gives target the staff role, or takes it away, for staff.
// Staff cannot take away their own.
func (s *Service) SetStaff(ctx context.Context, staff, target *User, isStaff bool) error {
	if staff.ID == target.ID && !isStaff {
		return errLockSelf
	}
	store, err := s.keptUsers()
	if err != nil {
		return err
	}
	if err := store.SetStaff(ctx, target.ID, isStaff); err != nil {
		return err
	}
	event := AuditStaffRevoked
	if isStaff {
		event = AuditStaffGranted
	}
	s.audit(ctx, s.auditEvent(withActor(ctx, staff.Username), target.ID, event, AuditOK))
	return nil
}

func (s *Service) handleAdminUsers(_ http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	page, err := ParsePage(r)
	if err != nil {
		return 0, nil, err
	}
	users, pages, err := s.SearchUsers(r.Context(), r.URL.Query().Get("q"), page)
	if err != nil {
		return 0, nil, err
	}
	out := make([]AdminUser, len(users))
	for i, u := range users {
		out[i] = u.AdminView()
	}
	return http.StatusOK, struct {
		Users []AdminUser `json:"users"`
		Page  int         `json:"page"`
		Pages int         `json:"pages"`
	}{out, page, pages}, nil
}

func (s *Service) handleAdminUser(_ http.ResponseWriter, r *http.Request, _ *User) (int, any, error) {
	d, err := s.AdminUserDetail(r, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, d, nil
}

func (s *Service) handleAdminUpdateUser(_ http.ResponseWriter, r *http.Request, staff *User) (int, any, error) {
	var req struct {
		Locked *bool `json:"locked"`
		Staff  *bool `json:"staff"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	target, err := s.adminTarget(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	// Refusals that need no step-up come first: nothing is asked in vain.
	if target.ID == staff.ID && (req.Locked != nil && *req.Locked || req.Staff != nil && !*req.Staff) {
		return 0, nil, errLockSelf
	}
	if err := s.RequireRecentAuth(r); err != nil {
		return 0, nil, err
	}
	if req.Locked != nil && *req.Locked != !target.LockedAt.IsZero() {
		if err := s.LockAccount(ctx, staff, target, *req.Locked); err != nil {
			return 0, nil, err
		}
	}
	if req.Staff != nil && *req.Staff != target.Staff {
		if err := s.SetStaff(ctx, staff, target, *req.Staff); err != nil {
			return 0, nil, err
		}
	}
	updated, err := s.adminTarget(ctx, target.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		User AdminUser `json:"user"`
	}{updated.AdminView()}, nil
}

// adminChange adapts an admin route that changes the user its path names
// ({id}): staff only, a recent login, and the staff member as the actor
// of every audit event the change writes.
func (s *Service) adminChange(h func(w http.ResponseWriter, r *http.Request, staff, target *User) (int, any, error)) http.Handler {
	return s.staffOnly(func(w http.ResponseWriter, r *http.Request, staff *User) (int, any, error) {
		target, err := s.adminTarget(r.Context(), r.PathValue("id"))
		if err != nil {
			return 0, nil, err
		}
		if err := s.RequireRecentAuth(r); err != nil {
			return 0, nil, err
		}
		return h(w, r.WithContext(withActor(r.Context(), staff.Username)), staff, target)
	})
}

func (s *Service) handleAdminUpdatePasskey(_ http.ResponseWriter, r *http.Request, _, target *User) (int, any, error) {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	p, err := s.UpdatePasskey(r.Context(), target.ID, r.PathValue("passkey"), PasskeyUpdate{Enabled: req.Enabled})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, passkeyBody{p.Info()}, nil
}

func (s *Service) handleAdminDeletePasskey(_ http.ResponseWriter, r *http.Request, _, target *User) (int, any, error) {
	if _, err := checkPasskeyID(r.PathValue("passkey")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, s.DeletePasskey(r.Context(), target.ID, r.PathValue("passkey"))
}

func (s *Service) handleAdminEndSession(w http.ResponseWriter, r *http.Request, _, target *User) (int, any, error) {
	return http.StatusNoContent, nil, s.EndSession(w, r, target, r.PathValue("session"))
}

func (s *Service) handleAdminEndSessions(_ http.ResponseWriter, r *http.Request, _, target *User) (int, any, error) {
	return http.StatusNoContent, nil, s.EndOtherSessions(r, target)
}

// handleAdminSetPassword sets a user's password for them (a reset): every
// session of theirs ends.
func (s *Service) handleAdminSetPassword(_ http.ResponseWriter, r *http.Request, _, target *User) (int, any, error) {
	var req struct {
		Password string `json:"password"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	hasher, ok := s.passwords.(PasswordHasher)
	if !ok {
		return 0, nil, errNoPasswordLogin
	}
	return http.StatusNoContent, nil, s.setPassword(r.Context(), hasher, target, req.Password, nil)
}

// handleAdminLoginLink makes a user a one-time login link, as passkeyd
// user recover does, for staff to hand over.
func (s *Service) handleAdminLoginLink(_ http.ResponseWriter, r *http.Request, staff, target *User) (int, any, error) {
	token, err := s.NewLoginLink(r.Context(), target, staff.Username)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, struct {
		Path      string    `json:"path"`
		ExpiresAt time.Time `json:"expires_at"`
	}{"/recover/" + token, s.now().Add(LoginLinkTTL).UTC().Truncate(time.Second)}, nil
}

// handleAdminCreateUser makes a user, with a password or without one (a
// passkeys-only user then logs in first with a login link).
func (s *Service) handleAdminCreateUser(_ http.ResponseWriter, r *http.Request, staff *User) (int, any, error) {
	var req struct {
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
		Password    string `json:"password"`
		Staff       bool   `json:"staff"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	u, err := NewUser(req.Username, req.DisplayName, s.now())
	if err != nil {
		return 0, nil, errInvalidUsername.Wrap(err)
	}
	u.Staff = req.Staff
	if err := s.RequireRecentAuth(r); err != nil {
		return 0, nil, err
	}
	ctx := withActor(r.Context(), staff.Username)
	if req.Password != "" {
		hasher, ok := s.passwords.(PasswordHasher)
		if !ok {
			return 0, nil, errNoPasswordLogin
		}
		if u.PasswordHash, err = hasher.HashPassword(ctx, req.Password); err != nil {
			return 0, nil, err
		}
	}
	if err := s.createUser(ctx, u); err != nil {
		return 0, nil, err
	}
	if u.Staff {
		s.audit(ctx, s.auditEvent(ctx, u.ID, AuditStaffGranted, AuditOK))
	}
	return http.StatusCreated, struct {
		User AdminUser `json:"user"`
	}{u.AdminView()}, nil
}
