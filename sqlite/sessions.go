package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

// sessionStore keeps scs sessions in the sessions table, in the layout of
// scs's own sqlite3store (expiry as a Julian day), through the DB's
// prepared statements and single writer: sessions are read and written on
// every request, so they are the hottest queries passkeyd has.
type sessionStore struct {
	db       *DB
	stopOnce sync.Once
	done     chan struct{}
	finished chan struct{}
}

var _ scs.CtxStore = (*sessionStore)(nil)

// sessionCleanupInterval is how often expired sessions are deleted; they
// are refused once expired anyway.
const sessionCleanupInterval = 5 * time.Minute

func newSessionStore(d *DB) *sessionStore {
	s := &sessionStore{db: d, done: make(chan struct{}), finished: make(chan struct{})}
	go s.cleanup()
	return s
}

// julian formats t as SQLite's julianday() reads it.
func julian(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999") }

// FindCtx implements scs.CtxStore.
func (s *sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var data []byte
	err := s.db.queryRow(ctx, `SELECT data FROM sessions WHERE token = $1 AND julianday('now') < expiry`, token).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("find session: %w", err)
	}
	return data, true, nil
}

// CommitCtx implements scs.CtxStore.
func (s *sessionStore) CommitCtx(ctx context.Context, token string, data []byte, expiry time.Time) error {
	_, err := s.db.exec(ctx, `INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, julianday($3))
		ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, token, data, julian(expiry))
	if err != nil {
		return fmt.Errorf("commit session: %w", err)
	}
	return nil
}

// DeleteCtx implements scs.CtxStore.
func (s *sessionStore) DeleteCtx(ctx context.Context, token string) error {
	if _, err := s.db.exec(ctx, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// scs calls the context methods of a CtxStore; these satisfy scs.Store.

// Find implements scs.Store.
func (s *sessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (s *sessionStore) Commit(token string, data []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, data, expiry)
}

// Delete implements scs.Store.
func (s *sessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// cleanup deletes expired sessions until stop.
func (s *sessionStore) cleanup() {
	defer close(s.finished)
	t := time.NewTicker(sessionCleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			// A failure is retried at the next tick; expired sessions are
			// refused meanwhile.
			_, _ = s.db.exec(context.Background(), `DELETE FROM sessions WHERE expiry < julianday('now')`)
		}
	}
}

// stop ends the cleanup and waits for it; it may be called more than once.
func (s *sessionStore) stop() {
	s.stopOnce.Do(func() { close(s.done) })
	<-s.finished
}
