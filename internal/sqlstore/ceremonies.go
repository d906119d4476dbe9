package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/passkeyd/passkeyd"
)

// SaveCeremony implements passkeyd.CeremonyStore.
func (s *Store) SaveCeremony(ctx context.Context, c *passkeyd.Ceremony) error {
	_, err := s.c.Exec(ctx, `INSERT INTO ceremonies (key, kind, owner, user_id, data, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.Key, c.Kind, c.Owner, c.UserID, c.Data, micros(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("save ceremony: %w", err)
	}
	return nil
}

// TakeCeremony implements passkeyd.CeremonyStore.
func (s *Store) TakeCeremony(ctx context.Context, key []byte) (*passkeyd.Ceremony, error) {
	c := passkeyd.Ceremony{Key: key}
	var expires int64
	err := s.c.WriteRow(ctx, `DELETE FROM ceremonies WHERE key = $1
		RETURNING kind, owner, user_id, data, expires_at`, key).Scan(&c.Kind, &c.Owner, &c.UserID, &c.Data, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("take ceremony: %w", passkeyd.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("take ceremony: %w", err)
	}
	c.ExpiresAt = time.UnixMicro(expires).UTC()
	return &c, nil
}

// DeleteExpiredCeremonies implements passkeyd.CeremonyStore.
func (s *Store) DeleteExpiredCeremonies(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.c.Exec(ctx, `DELETE FROM ceremonies WHERE expires_at < $1`, micros(t))
	if err != nil {
		return 0, fmt.Errorf("delete expired ceremonies: %w", err)
	}
	return res.RowsAffected()
}
