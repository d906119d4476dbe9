package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// takeAttemptSQL counts an attempt in one statement, so that concurrent
// attempts, on any instance, each get their own count: a window that has
// ended starts again at 1.
const takeAttemptSQL = `INSERT INTO passkeyd_attempts (key, count, resets_at) VALUES ($1, 1, $2)
	ON CONFLICT (key) DO UPDATE SET
		count = CASE WHEN passkeyd_attempts.resets_at <= $3 THEN 1 ELSE passkeyd_attempts.count + 1 END,
		resets_at = CASE WHEN passkeyd_attempts.resets_at <= $3 THEN $2 ELSE passkeyd_attempts.resets_at END
	RETURNING count, resets_at`

// TakeAttempt implements passkeyd.AttemptStore.
func (s *Store) TakeAttempt(ctx context.Context, key []byte, window time.Duration, now time.Time) (int, time.Time, error) {
	var count, resets int64
	err := s.c.Write(ctx, func(tx Tx) error {
		return tx.QueryRow(takeAttemptSQL, key, micros(now.Add(window)), micros(now)).Scan(&count, &resets)
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("take attempt: %w", err)
	}
	return int(count), time.UnixMicro(resets).UTC(), nil
}

// ClearAttempts implements passkeyd.AttemptStore.
func (s *Store) ClearAttempts(ctx context.Context, key []byte) error {
	if _, err := s.c.Exec(ctx, `DELETE FROM passkeyd_attempts WHERE key = $1`, key); err != nil {
		return fmt.Errorf("clear attempts: %w", err)
	}
	return nil
}

// DeleteExpiredAttempts implements passkeyd.AttemptStore.
func (s *Store) DeleteExpiredAttempts(ctx context.Context, t time.Time) (int64, error) {
	n, err := rowsAffected(s.c.Exec(ctx, `DELETE FROM passkeyd_attempts WHERE resets_at < $1`, micros(t)))
	if err != nil {
		return 0, fmt.Errorf("delete expired attempts: %w", err)
	}
	return n, nil
}
