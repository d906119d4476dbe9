package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passkeyd/passkeyd"
)

// PasskeyColumns are the columns of the passkeys table, in the order of
// InsertPasskeyArgs and scanPasskey.
const PasskeyColumns = `id, user_id, credential_id, public_key, public_key_algorithm, attestation_type,
	attestation_format, aaguid, sign_count, transports, attachment, user_verified, backup_eligible,
	backup_state, clone_warning, name, platform, provider, enabled, created_at, last_used_at`

// passkeyRow receives a row of PasskeyColumns.
type passkeyRow struct {
	p          passkeyd.Passkey
	transports string
	created    int64
	lastUsed   sql.NullInt64
}

// dest is what Scan fills, in PasskeyColumns' order.
func (r *passkeyRow) dest() []any {
	p := &r.p
	return []any{&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.PublicKeyAlgorithm, &p.AttestationType,
		&p.AttestationFormat, &p.AAGUID, &p.SignCount, &r.transports, &p.Attachment, &p.UserVerified, &p.BackupEligible,
		&p.BackupState, &p.CloneWarning, &p.Name, &p.Platform, &p.Provider, &p.Enabled, &r.created, &r.lastUsed}
}

// passkey returns the passkey the row held.
func (r *passkeyRow) passkey() (*passkeyd.Passkey, error) {
	if err := json.Unmarshal([]byte(r.transports), &r.p.Transports); err != nil {
		return nil, fmt.Errorf("passkey %s: transports: %w", r.p.ID, err)
	}
	r.p.CreatedAt = time.UnixMicro(r.created).UTC()
	r.p.LastUsedAt = fromMicros(r.lastUsed)
	return &r.p, nil
}

func scanPasskey(row Row) (*passkeyd.Passkey, error) {
	var r passkeyRow
	if err := row.Scan(r.dest()...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, passkeyd.ErrNotFound
		}
		return nil, err
	}
	return r.passkey()
}

// qualified prefixes each of a list of columns with a table's name.
func qualified(table, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// passkeyAndOwnerSQL reads a passkey and its user in one query.
var passkeyAndOwnerSQL = `SELECT ` + qualified("p", PasskeyColumns) + `, ` + qualified("u", userColumns) + `
	FROM passkeyd_passkeys p JOIN passkeyd_users u ON u.id = p.user_id WHERE p.credential_id = $1`

// PasskeyAndOwner implements passkeyd.PasskeyOwnerLookup: a login's two
// reads in one.
func (s *Store) PasskeyAndOwner(ctx context.Context, credentialID []byte) (*passkeyd.Passkey, *passkeyd.User, error) {
	var pr passkeyRow
	var ur userRow
	if err := s.c.QueryRow(ctx, passkeyAndOwnerSQL, credentialID).Scan(append(pr.dest(), ur.dest()...)...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = passkeyd.ErrNotFound
		}
		return nil, nil, fmt.Errorf("passkey and owner: %w", err)
	}
	p, err := pr.passkey()
	if err != nil {
		return nil, nil, err
	}
	return p, ur.user(), nil
}

// CreatePasskey implements passkeyd.PasskeyStore.
func (s *Store) CreatePasskey(ctx context.Context, p *passkeyd.Passkey) error {
	transports, err := TransportsJSON(p)
	if err != nil {
		return fmt.Errorf("create passkey: %w", err)
	}
	n, err := rowsAffected(s.c.Exec(ctx, insertPasskeySQL, InsertPasskeyArgs(p, transports)...))
	if err != nil {
		return fmt.Errorf("create passkey: %w", err)
	}
	if n == 0 {
		return passkeyd.ErrCredentialExists
	}
	return nil
}

// insertPasskeySQL stores a new passkey, unless one with its credential id
// exists (of any user): then it changes no row.
const insertPasskeySQL = `INSERT INTO passkeyd_passkeys (` + PasskeyColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, NULL)
	ON CONFLICT (credential_id) DO NOTHING`

// InsertPasskeyArgs are the arguments of a passkey's INSERT, from $1;
// transports is its JSON.
func InsertPasskeyArgs(p *passkeyd.Passkey, transports []byte) []any {
	return []any{p.ID, p.UserID, p.CredentialID, p.PublicKey, p.PublicKeyAlgorithm, p.AttestationType,
		p.AttestationFormat, p.AAGUID, p.SignCount, string(transports), p.Attachment, p.UserVerified, p.BackupEligible,
		p.BackupState, p.CloneWarning, p.Name, p.Platform, p.Provider, p.Enabled, micros(p.CreatedAt)}
}

// Passkey implements passkeyd.PasskeyStore.
func (s *Store) Passkey(ctx context.Context, userID, id string) (*passkeyd.Passkey, error) {
	p, err := scanPasskey(s.c.QueryRow(ctx, `SELECT `+PasskeyColumns+` FROM passkeyd_passkeys WHERE id = $1 AND user_id = $2`, id, userID))
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return p, nil
}

// PasskeyByCredentialID implements passkeyd.PasskeyStore.
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*passkeyd.Passkey, error) {
	p, err := scanPasskey(s.c.QueryRow(ctx, `SELECT `+PasskeyColumns+` FROM passkeyd_passkeys WHERE credential_id = $1`, credentialID))
	if err != nil {
		return nil, fmt.Errorf("passkey by credential id: %w", err)
	}
	return p, nil
}

// ListPasskeys implements passkeyd.PasskeyStore.
func (s *Store) ListPasskeys(ctx context.Context, userID string, offset, limit int) (passkeyd.PasskeyPage, error) {
	var page passkeyd.PasskeyPage
	if err := s.c.QueryRow(ctx, `SELECT COUNT(*) FROM passkeyd_passkeys WHERE user_id = $1`, userID).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("count passkeys: %w", err)
	}
	ps, err := s.queryPasskeys(ctx, `SELECT `+PasskeyColumns+` FROM passkeyd_passkeys WHERE user_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, userID, limit, offset)
	page.Passkeys = ps
	return page, err
}

// UserPasskeys implements passkeyd.PasskeyStore.
func (s *Store) UserPasskeys(ctx context.Context, userID string) ([]*passkeyd.Passkey, error) {
	return s.queryPasskeys(ctx, `SELECT `+PasskeyColumns+` FROM passkeyd_passkeys WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, userID)
}

func (s *Store) queryPasskeys(ctx context.Context, query string, args ...any) ([]*passkeyd.Passkey, error) {
	rows, err := s.c.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	defer rows.Close()
	out := []*passkeyd.Passkey{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("list passkeys: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return out, nil
}

// UpdatePasskey implements passkeyd.PasskeyStore.
func (s *Store) UpdatePasskey(ctx context.Context, userID, id string, u passkeyd.PasskeyUpdate) (*passkeyd.Passkey, error) {
	var p *passkeyd.Passkey
	err := s.c.Write(ctx, func(tx Tx) error {
		if u.KeepWayIn && u.Enabled != nil && !*u.Enabled {
			if err := s.keepWayIn(tx, userID, id, false); err != nil {
				return err
			}
		}
		var err error
		p, err = scanPasskey(tx.QueryRow(`UPDATE passkeyd_passkeys
			SET name = COALESCE($1, name), enabled = COALESCE($2, enabled)
			WHERE id = $3 AND user_id = $4
			RETURNING `+PasskeyColumns, u.Name, u.Enabled, id, userID))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update passkey: %w", err)
	}
	return p, nil
}

// recordPasskeyUseSQL writes back what a login learnt of a passkey (and
// whether it stays enabled: a possible clone disables it), if it is
// still enabled.
const recordPasskeyUseSQL = `UPDATE passkeyd_passkeys
	SET sign_count = $1, user_verified = $2, backup_eligible = $3, backup_state = $4,
		clone_warning = $5, last_used_at = $6, enabled = $7
	WHERE id = $8 AND enabled`

// RecordPasskeyUseArgs are the arguments of recordPasskeyUseSQL, from $1:
// the seven values set, then the id.
func RecordPasskeyUseArgs(p *passkeyd.Passkey) []any {
	return []any{p.SignCount, p.UserVerified, p.BackupEligible, p.BackupState, p.CloneWarning, nullMicros(p.LastUsedAt), p.Enabled, p.ID}
}

// DeletePasskey implements passkeyd.PasskeyStore.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string, keepWayIn bool) error {
	var n int64
	err := s.c.Write(ctx, func(tx Tx) error {
		if keepWayIn {
			if err := s.keepWayIn(tx, userID, id, true); err != nil {
				return err
			}
		}
		var err error
		n, err = rowsAffected(tx.Exec(`DELETE FROM passkeyd_passkeys WHERE id = $1 AND user_id = $2 AND NOT enabled`, id, userID))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete passkey: %w", err)
	}
	if n == 1 {
		return nil
	}
	// Nothing deleted: tell an enabled passkey from a missing one.
	if _, err := s.Passkey(ctx, userID, id); err != nil {
		return fmt.Errorf("delete passkey: %w", err)
	}
	return fmt.Errorf("delete passkey: %w", passkeyd.ErrPasskeyEnabled)
}

// nonNil returns an empty slice for nil, so JSON says [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
