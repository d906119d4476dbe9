package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passkeyd/passkeyd"
)

// SessionColumns are the columns of the sessions table, in the order of
// SessionArgs and scanSession.
const SessionColumns = `token_hash, id, user_id, passkey_id, auth, provider, platform, browser,
	created_at, last_seen_at, expires_at, absolute_expires_at`

// SessionArgs are a session's column values, in SessionColumns' order.
func SessionArgs(s *passkeyd.Session) ([]any, error) {
	auth, err := json.Marshal(s.Auth)
	if err != nil {
		return nil, fmt.Errorf("encode session auth: %w", err)
	}
	return []any{s.TokenHash, s.ID, s.UserID, s.PasskeyID, string(auth), s.Provider, s.Platform, s.Browser,
		micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt), micros(s.AbsoluteExpiresAt)}, nil
}

func scanSession(row Row) (*passkeyd.Session, error) {
	var s passkeyd.Session
	var auth string
	var created, seen, expires, absolute int64
	err := row.Scan(&s.TokenHash, &s.ID, &s.UserID, &s.PasskeyID, &auth, &s.Provider, &s.Platform, &s.Browser,
		&created, &seen, &expires, &absolute)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, passkeyd.ErrNotFound
		}
		return nil, err
	}
	if err := json.Unmarshal([]byte(auth), &s.Auth); err != nil {
		return nil, fmt.Errorf("session %s: auth: %w", s.ID, err)
	}
	s.CreatedAt = time.UnixMicro(created).UTC()
	s.LastSeenAt = time.UnixMicro(seen).UTC()
	s.ExpiresAt = time.UnixMicro(expires).UTC()
	s.AbsoluteExpiresAt = time.UnixMicro(absolute).UTC()
	return &s, nil
}

// insertSessionSQL stores a new session.
const insertSessionSQL = `INSERT INTO sessions (` + SessionColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

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

// SessionByToken implements passkeyd.SessionStore.
func (s *Store) SessionByToken(ctx context.Context, tokenHash []byte) (*passkeyd.Session, error) {
	sess, err := scanSession(s.c.QueryRow(ctx, `SELECT `+SessionColumns+` FROM sessions WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("session by token: %w", err)
	}
	return sess, nil
}

// TouchSession implements passkeyd.SessionStore. It is an UPDATE, never
// an upsert: a session deleted meanwhile stays deleted.
func (s *Store) TouchSession(ctx context.Context, tokenHash []byte, seen, expires time.Time) error {
	return s.updateOne(ctx, "touch session", `UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3`,
		micros(seen), micros(expires), tokenHash)
}

// DeleteSession implements passkeyd.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if _, err := s.c.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// UserSessions implements passkeyd.SessionStore.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]*passkeyd.Session, error) {
	rows, err := s.c.Query(ctx, `SELECT `+SessionColumns+` FROM sessions WHERE user_id = $1
		ORDER BY created_at DESC, id DESC`, userID)
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
	n, err := rowsAffected(s.c.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, userID, keep))
	if err != nil {
		return 0, fmt.Errorf("delete user sessions: %w", err)
	}
	return n, nil
}

// DeleteExpiredSessions implements passkeyd.SessionStore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	n, err := rowsAffected(s.c.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, micros(t)))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
