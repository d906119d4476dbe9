package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/passkeyd/passkeyd"
)

// lockUser serialises, within a transaction, the changes that must leave
// a user a way to log in: a disable, a delete, a recovery code's use.
// SQLite runs one write transaction at a time already; PostgreSQL takes
// a transaction-scoped advisory lock on the user's id (LockUserSQL).
func (s *Store) lockUser(tx Tx, userID string) error {
	if s.LockUserSQL == "" {
		return nil
	}
	var ignored any
	return tx.QueryRow(s.LockUserSQL, userID).Scan(&ignored)
}

// keepWayIn refuses, with ErrLastLoginMethod, to disable (or, deleting,
// to delete) the user's passkey id when it is their last way to log in:
// no other enabled passkey (deleting: no other passkey at all, which they
// could enable again) and no unused recovery code. A passkey that is not
// the user's, or one whose change changes nothing, is left to the change
// itself to answer.
func (s *Store) keepWayIn(tx Tx, userID, id string, deleting bool) error {
	if err := s.lockUser(tx, userID); err != nil {
		return err
	}
	var enabled bool
	err := tx.QueryRow(`SELECT enabled FROM passkeyd_passkeys WHERE id = $1 AND user_id = $2`, id, userID).Scan(&enabled)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && enabled == deleting) {
		return nil
	}
	if err != nil {
		return err
	}
	var n int64
	q := `SELECT (SELECT count(*) FROM passkeyd_passkeys WHERE user_id = $1 AND id <> $2 AND (enabled OR $3))
		+ (SELECT count(*) FROM passkeyd_recovery_codes WHERE user_id = $1 AND used_at IS NULL)`
	if err := tx.QueryRow(q, userID, id, deleting).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return passkeyd.ErrLastLoginMethod
	}
	return nil
}

// ReplaceRecoveryCodes implements passkeyd.RecoveryStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error {
	err := s.c.Write(ctx, func(tx Tx) error {
		if err := s.lockUser(tx, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM passkeyd_recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.Exec(`INSERT INTO passkeyd_recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`, userID, h, micros(at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	return nil
}

// UseRecoveryCode implements passkeyd.RecoveryStore.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) error {
	err := s.c.Write(ctx, func(tx Tx) error {
		if err := s.lockUser(tx, userID); err != nil {
			return err
		}
		n, err := rowsAffected(tx.Exec(`UPDATE passkeyd_recovery_codes SET used_at = $1
			WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`, micros(at), userID, hash))
		if err != nil {
			return err
		}
		if n == 0 {
			return passkeyd.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("use recovery code: %w", err)
	}
	return nil
}

// RecoveryCodesLeft implements passkeyd.RecoveryStore.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.c.QueryRow(ctx, `SELECT count(*) FROM passkeyd_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

// CreateLoginLink implements passkeyd.RecoveryStore.
func (s *Store) CreateLoginLink(ctx context.Context, hash []byte, userID string, expires time.Time) error {
	if _, err := s.c.Exec(ctx, `INSERT INTO passkeyd_login_links (link_hash, user_id, expires_at) VALUES ($1, $2, $3)`, hash, userID, micros(expires)); err != nil {
		return fmt.Errorf("create login link: %w", err)
	}
	return nil
}

// UseLoginLink implements passkeyd.RecoveryStore: one DELETE, so that a
// link is used once across all instances.
func (s *Store) UseLoginLink(ctx context.Context, hash []byte, now time.Time) (string, error) {
	var userID string
	err := s.c.Write(ctx, func(tx Tx) error {
		return tx.QueryRow(`DELETE FROM passkeyd_login_links WHERE link_hash = $1 AND expires_at > $2 RETURNING user_id`, hash, micros(now)).Scan(&userID)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", passkeyd.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("use login link: %w", err)
	}
	return userID, nil
}

// DeleteExpiredLoginLinks implements passkeyd.RecoveryStore.
func (s *Store) DeleteExpiredLoginLinks(ctx context.Context, t time.Time) (int64, error) {
	n, err := rowsAffected(s.c.Exec(ctx, `DELETE FROM passkeyd_login_links WHERE expires_at < $1`, micros(t)))
	if err != nil {
		return 0, fmt.Errorf("delete expired login links: %w", err)
	}
	return n, nil
}
