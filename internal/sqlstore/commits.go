package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/passkeyd/passkeyd"
)

// CommitLogin implements passkeyd.Store: the login's writes, one statement
// after another in one transaction. (PostgreSQL has its own, in one
// statement.)
func (s *Store) CommitLogin(ctx context.Context, c *passkeyd.LoginCommit) error {
	var sessionArgs []any
	if c.Session != nil {
		var err error
		if sessionArgs, err = SessionArgs(c.Session); err != nil {
			return err
		}
	}
	err := s.c.Write(ctx, func(tx Tx) error {
		if c.Challenge != nil {
			if err := useChallenge(tx, c.Challenge); err != nil {
				return err
			}
		}
		if c.PasskeyUse != nil {
			n, err := rowsAffected(tx.Exec(recordPasskeyUseSQL, RecordPasskeyUseArgs(c.PasskeyUse)...))
			if err != nil {
				return err
			}
			if n == 0 {
				return passkeyd.ErrPasskeyDisabled
			}
		}
		if c.UserID != "" {
			if _, err := tx.Exec(`UPDATE passkeyd_users SET last_login_at = $1 WHERE id = $2`, micros(c.At), c.UserID); err != nil {
				return err
			}
		}
		if c.ReplacedSession != nil {
			if _, err := tx.Exec(`DELETE FROM passkeyd_sessions WHERE key = $1`, c.ReplacedSession); err != nil {
				return err
			}
		}
		if c.Session != nil {
			if _, err := tx.Exec(insertSessionSQL, sessionArgs...); err != nil {
				return err
			}
		}
		return appendAudit(tx, c.Audit)
	})
	if err != nil {
		return fmt.Errorf("commit login: %w", err)
	}
	return nil
}

// useChallenge records a challenge as used, or fails with
// ErrChallengeUsed when it was already.
func useChallenge(tx Tx, u *passkeyd.UsedChallenge) error {
	n, err := rowsAffected(tx.Exec(`INSERT INTO passkeyd_used_challenges (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`, u.Key))
	if err != nil {
		return err
	}
	if n == 0 {
		return passkeyd.ErrChallengeUsed
	}
	return nil
}

// CommitRegistration implements passkeyd.Store.
func (s *Store) CommitRegistration(ctx context.Context, c *passkeyd.RegistrationCommit) error {
	transports, err := TransportsJSON(c.Passkey)
	if err != nil {
		return err
	}
	err = s.c.Write(ctx, func(tx Tx) error {
		if err := useChallenge(tx, &c.Challenge); err != nil {
			return err
		}
		n, err := rowsAffected(tx.Exec(insertPasskeySQL, InsertPasskeyArgs(c.Passkey, transports)...))
		if err != nil {
			return err
		}
		if n == 0 {
			return passkeyd.ErrCredentialExists
		}
		return appendAudit(tx, c.Audit)
	})
	if err != nil {
		return fmt.Errorf("commit registration: %w", err)
	}
	return nil
}

// TransportsJSON is how a passkey's transports are stored: a JSON array.
func TransportsJSON(p *passkeyd.Passkey) ([]byte, error) {
	b, err := json.Marshal(nonNil(p.Transports))
	if err != nil {
		return nil, fmt.Errorf("encode transports: %w", err)
	}
	return b, nil
}

// DeleteUsedChallenges implements passkeyd.Store.
func (s *Store) DeleteUsedChallenges(ctx context.Context, t time.Time) (int64, error) {
	n, err := rowsAffected(s.c.Exec(ctx, `DELETE FROM passkeyd_used_challenges WHERE key < $1`, KeyBefore(t)))
	if err != nil {
		return 0, fmt.Errorf("delete used challenges: %w", err)
	}
	return n, nil
}

// CeremonyKeys implements passkeyd.CeremonyKeyStore.
func (s *Store) CeremonyKeys(ctx context.Context) ([]passkeyd.CeremonyKey, error) {
	rows, err := s.c.Query(ctx, `SELECT id, secret, created_at, retired_at FROM passkeyd_ceremony_keys ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("ceremony keys: %w", err)
	}
	defer rows.Close()
	var keys []passkeyd.CeremonyKey
	for rows.Next() {
		var k passkeyd.CeremonyKey
		var id, created int64
		var retired sql.NullInt64
		if err := rows.Scan(&id, &k.Secret, &created, &retired); err != nil {
			return nil, fmt.Errorf("ceremony keys: %w", err)
		}
		k.ID = uint32(id)
		k.CreatedAt = time.UnixMicro(created).UTC()
		k.RetiredAt = fromMicros(retired)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ceremony keys: %w", err)
	}
	return keys, nil
}

// AddCeremonyKey implements passkeyd.CeremonyKeyStore.
func (s *Store) AddCeremonyKey(ctx context.Context, k passkeyd.CeremonyKey, retire bool) error {
	err := s.c.Write(ctx, func(tx Tx) error {
		if retire {
			if _, err := tx.Exec(`UPDATE passkeyd_ceremony_keys SET retired_at = $1 WHERE retired_at IS NULL`, micros(k.CreatedAt)); err != nil {
				return err
			}
		}
		n, err := rowsAffected(tx.Exec(`INSERT INTO passkeyd_ceremony_keys (id, secret, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO NOTHING`, int64(k.ID), k.Secret, micros(k.CreatedAt)))
		if err != nil {
			return err
		}
		if n == 0 && retire {
			return passkeyd.ErrCeremonyKeyExists
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add ceremony key: %w", err)
	}
	return nil
}

// DeleteCeremonyKeys implements passkeyd.CeremonyKeyStore.
func (s *Store) DeleteCeremonyKeys(ctx context.Context, t time.Time) (int64, error) {
	n, err := rowsAffected(s.c.Exec(ctx, `DELETE FROM passkeyd_ceremony_keys WHERE retired_at IS NOT NULL AND retired_at < $1`, micros(t)))
	if err != nil {
		return 0, fmt.Errorf("delete ceremony keys: %w", err)
	}
	return n, nil
}
