package passkeyd

import (
	"context"
	"fmt"
	"time"
)

// splitSessions returns a Store that keeps sessions in sessions (Redis,
// say: Deps.SessionStore) and everything else in store.
//
// A login then writes twice: first its commit to store (the used
// challenge, the passkey's counter, the last login), then its session to
// sessions. Should the second write fail, the challenge is used up and
// nobody is logged in: the client begins again. A session store in the
// database itself avoids that, and commits a login in one transaction.
func splitSessions(store Store, sessions SessionStore) Store {
	return &splitStore{Store: store, sessions: sessions}
}

type splitStore struct {
	Store
	sessions SessionStore
}

func (s *splitStore) CommitLogin(ctx context.Context, c *LoginCommit) error {
	stored := *c
	stored.Session, stored.ReplacedSession = nil, nil
	if err := s.Store.CommitLogin(ctx, &stored); err != nil {
		return err
	}
	if c.Session != nil {
		if err := s.sessions.CreateSession(ctx, c.Session); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
	}
	if c.ReplacedSession != nil {
		if err := s.sessions.DeleteSession(ctx, c.ReplacedSession); err != nil {
			return fmt.Errorf("delete replaced session: %w", err)
		}
	}
	return nil
}

func (s *splitStore) CreateSession(ctx context.Context, sess *Session) error {
	return s.sessions.CreateSession(ctx, sess)
}

func (s *splitStore) SessionByKey(ctx context.Context, key []byte) (*Session, error) {
	return s.sessions.SessionByKey(ctx, key)
}

func (s *splitStore) TouchSession(ctx context.Context, key []byte, seen, expires time.Time) error {
	return s.sessions.TouchSession(ctx, key, seen, expires)
}

func (s *splitStore) DeleteSession(ctx context.Context, key []byte) error {
	return s.sessions.DeleteSession(ctx, key)
}

func (s *splitStore) UserSessions(ctx context.Context, userID string) ([]*Session, error) {
	return s.sessions.UserSessions(ctx, userID)
}

func (s *splitStore) DeleteUserSessions(ctx context.Context, userID string, keep []byte) (int64, error) {
	return s.sessions.DeleteUserSessions(ctx, userID, keep)
}

func (s *splitStore) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	return s.sessions.DeleteExpiredSessions(ctx, t)
}
