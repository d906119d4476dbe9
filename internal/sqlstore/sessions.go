package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passkeyd/passkeyd"
)

// SessionColumns are the columns of the sessions table, in the order of
// SessionArgs and scanSession.
const SessionColumns = `key, user_id, passkey_id, auth, provider, platform, browser,
	created_at, last_seen_at, expires_at, absolute_expires_at`

// SessionArgs are a session's column values, in SessionColumns' order.
func SessionArgs(s *passkeyd.Session) ([]any, error) {
	auth, err := json.Marshal(s.Auth)
	if err != nil {
		return nil, fmt.Errorf("encode session auth: %w", err)
	}
	return []any{s.Key, s.UserID, s.PasskeyID, string(auth), s.Provider, s.Platform, s.Browser,
		micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt), micros(s.AbsoluteExpiresAt)}, nil
}

func scanSession(row Row) (*passkeyd.Session, error) {
	var s passkeyd.Session
	var auth string
	var created, seen, expires, absolute int64
	err := row.Scan(&s.Key, &s.UserID, &s.PasskeyID, &auth, &s.Provider, &s.Platform, &s.Browser,
		&created, &seen, &expires, &absolute)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, passkeyd.ErrNotFound
		}
		return nil, err
	}
	if err := json.Unmarshal([]byte(auth), &s.Auth); err != nil {
		return nil, fmt.Errorf("session %s: auth: %w", s.ID(), err)
	}
	s.CreatedAt = time.UnixMicro(created).UTC()
	s.LastSeenAt = time.UnixMicro(seen).UTC()
	s.ExpiresAt = time.UnixMicro(expires).UTC()
	s.AbsoluteExpiresAt = time.UnixMicro(absolute).UTC()
	return &s, nil
}

// insertSessionSQL stores a new session.
const insertSessionSQL = `INSERT INTO passkeyd_sessions (` + SessionColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

// CreateSession implements passkeyd.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess *passkeyd.Session) error {
	args, err := SessionArgs(sess)
	if err != nil {
		return err
	}
	if _, err := s.c.Exec(ctx, insertSessionSQL, args...); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByKey implements passkeyd.SessionStore.
func (s *Store) SessionByKey(ctx context.Context, key []byte) (*passkeyd.Session, error) {
	sess, err := scanSession(s.c.QueryRow(ctx, `SELECT `+SessionColumns+` FROM passkeyd_sessions WHERE key = $1`, key))
	if err != nil {
		return nil, fmt.Errorf("session by token: %w", err)
	}
	return sess, nil
}

// TouchSession implements passkeyd.SessionStore. It is an UPDATE, never
// an upsert: a session deleted meanwhile stays deleted.
func (s *Store) TouchSession(ctx context.Context, key []byte, seen, expires time.Time) error {
	return s.updateOne(ctx, "touch session", `UPDATE passkeyd_sessions SET last_seen_at = $1, expires_at = $2 WHERE key = $3`,
		micros(seen), micros(expires), key)
}

// DeleteSession implements passkeyd.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, key []byte) error {
	if _, err := s.c.Exec(ctx, `DELETE FROM passkeyd_sessions WHERE key = $1`, key); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// UserSessions implements passkeyd.SessionStore.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]*passkeyd.Session, error) {
	rows, err := s.c.Query(ctx, `SELECT `+SessionColumns+` FROM passkeyd_sessions WHERE user_id = $1
		ORDER BY created_at DESC, key DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("user sessions: %w", err)
	}
	defer rows.Close()
	out := []*passkeyd.Session{}
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("user sessions: %w", err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("user sessions: %w", err)
	}
	return out, nil
}

// DeleteUserSessions implements passkeyd.SessionStore.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string, keep []byte) (int64, error) {
	if keep == nil {
		// No hash is empty, and NULL would compare as unknown.
		keep = []byte{}
	}
	n, err := rowsAffected(s.c.Exec(ctx, `DELETE FROM passkeyd_sessions WHERE user_id = $1 AND key <> $2`, userID, keep))
	if err != nil {
		return 0, fmt.Errorf("delete user sessions: %w", err)
	}
	return n, nil
}

// DeleteExpiredSessions implements passkeyd.SessionStore: the sessions
// past their lifetime are a range of the key; those that ended by not
// being used are found by a scan of expires_at.
func (s *Store) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	n, err := rowsAffected(s.c.Exec(ctx, `DELETE FROM passkeyd_sessions WHERE key < $1 OR expires_at < $2`, KeyBefore(t), micros(t)))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}

// KeyBefore is the smallest key of what expires at t or later: a key that
// starts with its expiry (a session's, a used challenge's) sorts before
// it exactly when that expiry is before t.
func KeyBefore(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(t.UnixMilli()))
}

// CountSessions implements passkeyd.SessionCounter: the sessions that
// have not ended at now (a scan: for a gauge read once a scrape).
func (s *Store) CountSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	if err := s.c.QueryRow(ctx, `SELECT COUNT(*) FROM passkeyd_sessions WHERE expires_at > $1`, micros(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}
