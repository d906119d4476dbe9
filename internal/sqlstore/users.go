package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passkeyd/passkeyd"
)

const userColumns = `id, username, display_name, webauthn_handle, password_hash, staff, created_at, last_login_at, locked_at`

// userRow receives a row of userColumns.
type userRow struct {
	u         passkeyd.User
	created   int64
	lastLogin sql.NullInt64
	locked    sql.NullInt64
}

// dest is what Scan fills, in userColumns' order.
func (r *userRow) dest() []any {
	u := &r.u
	return []any{&u.ID, &u.Username, &u.DisplayName, &u.Handle, &u.PasswordHash, &u.Staff, &r.created, &r.lastLogin, &r.locked}
}

// user returns the user the row held.
func (r *userRow) user() *passkeyd.User {
	r.u.CreatedAt = time.UnixMicro(r.created).UTC()
	r.u.LastLoginAt = fromMicros(r.lastLogin)
	r.u.LockedAt = fromMicros(r.locked)
	return &r.u
}

func scanUser(row Row) (*passkeyd.User, error) {
	var r userRow
	if err := row.Scan(r.dest()...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, passkeyd.ErrNotFound
		}
		return nil, err
	}
	return r.user(), nil
}

// CreateUser implements passkeyd.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *passkeyd.User) error {
	key := passkeyd.UsernameKey(u.Username)
	if key == "" {
		return fmt.Errorf("create user: %w", passkeyd.ErrInvalidUsername)
	}
	// ON CONFLICT names the one constraint that is the caller's doing; a
	// clash of any other (a handle, an id) is still an error of its own.
	n, err := rowsAffected(s.c.Exec(ctx, `INSERT INTO passkeyd_users
		(id, username, username_key, display_name, webauthn_handle, password_hash, staff, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (username_key) DO NOTHING`,
		u.ID, u.Username, key, u.DisplayName, u.Handle, u.PasswordHash, u.Staff, micros(u.CreatedAt)))
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if n == 0 {
		return passkeyd.ErrUsernameTaken
	}
	return nil
}

// UserByID implements passkeyd.UserStore.
func (s *Store) UserByID(ctx context.Context, id string) (*passkeyd.User, error) {
	u, err := scanUser(s.c.QueryRow(ctx, `SELECT `+userColumns+` FROM passkeyd_users WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("user by id: %w", err)
	}
	return u, nil
}

// UserByUsername implements passkeyd.UserStore.
func (s *Store) UserByUsername(ctx context.Context, username string) (*passkeyd.User, error) {
	key := passkeyd.UsernameKey(username)
	if key == "" {
		return nil, fmt.Errorf("user by username: %w", passkeyd.ErrNotFound)
	}
	u, err := scanUser(s.c.QueryRow(ctx, `SELECT `+userColumns+` FROM passkeyd_users WHERE username_key = $1`, key))
	if err != nil {
		return nil, fmt.Errorf("user by username: %w", err)
	}
	return u, nil
}

// UserByHandle implements passkeyd.UserStore.
func (s *Store) UserByHandle(ctx context.Context, handle []byte) (*passkeyd.User, error) {
	u, err := scanUser(s.c.QueryRow(ctx, `SELECT `+userColumns+` FROM passkeyd_users WHERE webauthn_handle = $1`, handle))
	if err != nil {
		return nil, fmt.Errorf("user by handle: %w", err)
	}
	return u, nil
}

// ListUsers implements passkeyd.UserStore.
func (s *Store) ListUsers(ctx context.Context) ([]*passkeyd.User, error) {
	rows, err := s.c.Query(ctx, `SELECT `+userColumns+` FROM passkeyd_users ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var users []*passkeyd.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// SearchUsers implements passkeyd.UserStore.
func (s *Store) SearchUsers(ctx context.Context, query string, offset, limit int) ([]*passkeyd.User, int, error) {
	// LIKE's own characters in the query match themselves.
	pattern := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(query)) + "%"
	const where = ` FROM passkeyd_users WHERE username_key LIKE $1 ESCAPE '\' OR lower(display_name) LIKE $1 ESCAPE '\'`
	var total int
	if err := s.c.QueryRow(ctx, `SELECT count(*)`+where, pattern).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("search users: %w", err)
	}
	rows, err := s.c.Query(ctx, `SELECT `+userColumns+where+` ORDER BY username_key LIMIT $2 OFFSET $3`, pattern, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("search users: %w", err)
	}
	defer rows.Close()
	var users []*passkeyd.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("search users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("search users: %w", err)
	}
	return users, total, nil
}

// SetLocked implements passkeyd.UserStore.
func (s *Store) SetLocked(ctx context.Context, userID string, at time.Time) error {
	var locked any
	if !at.IsZero() {
		locked = micros(at)
	}
	return s.updateOne(ctx, "lock user", `UPDATE passkeyd_users SET locked_at = $1 WHERE id = $2`, locked, userID)
}

// SetStaff implements passkeyd.UserStore.
func (s *Store) SetStaff(ctx context.Context, userID string, staff bool) error {
	return s.updateOne(ctx, "set staff", `UPDATE passkeyd_users SET staff = $1 WHERE id = $2`, staff, userID)
}

// SetPasswordHash implements passkeyd.UserStore.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return s.updateOne(ctx, "set password", `UPDATE passkeyd_users SET password_hash = $1 WHERE id = $2`, hash, userID)
}

// SetDisplayName implements passkeyd.UserStore.
func (s *Store) SetDisplayName(ctx context.Context, userID, name string) error {
	return s.updateOne(ctx, "set display name", `UPDATE passkeyd_users SET display_name = $1 WHERE id = $2`, name, userID)
}

// RecordLogin implements passkeyd.UserStore.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	return s.updateOne(ctx, "record login", `UPDATE passkeyd_users SET last_login_at = $1 WHERE id = $2`, micros(at), userID)
}

// DeleteUser implements passkeyd.UserStore. No foreign key ties the
// passkeys and sessions to the user (an app's users may live elsewhere),
// so they are deleted here, in the same transaction.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.c.Write(ctx, func(tx Tx) error {
		n, err := rowsAffected(tx.Exec(`DELETE FROM passkeyd_users WHERE id = $1`, id))
		if err != nil {
			return err
		}
		if n == 0 {
			return passkeyd.ErrNotFound
		}
		if _, err := tx.Exec(`DELETE FROM passkeyd_passkeys WHERE user_id = $1`, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM passkeyd_sessions WHERE user_id = $1`,
			`DELETE FROM passkeyd_recovery_codes WHERE user_id = $1`,
			`DELETE FROM passkeyd_login_links WHERE user_id = $1`,
		} {
			if _, err := tx.Exec(q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// updateOne runs an UPDATE of one row and reports ErrNotFound when
// no row had that id.
func (s *Store) updateOne(ctx context.Context, what, query string, args ...any) error {
	n, err := rowsAffected(s.c.Exec(ctx, query, args...))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, passkeyd.ErrNotFound)
	}
	return nil
}
