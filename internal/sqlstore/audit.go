package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/passkeyd/passkeyd"
)

// AuditColumns are the columns an event is inserted with, in
// AuditArgs's order.
const AuditColumns = `at, user_id, event, method, passkey_id, platform, address, outcome, reason, actor`

// AuditArgs are an event's values for AuditColumns.
func AuditArgs(e passkeyd.AuditEvent) []any {
	return []any{micros(e.At), e.UserID, e.Event, e.Method, e.PasskeyID, e.Platform, e.Address, e.Outcome, e.Reason, e.Actor}
}

// insertAudit is the INSERT of n events, with parameters from $1.
func insertAudit(n int) string {
	rows := make([]string, n)
	for i := range rows {
		ps := make([]string, 10)
		for j := range ps {
			ps[j] = fmt.Sprintf("$%d", i*10+j+1)
		}
		rows[i] = "(" + strings.Join(ps, ", ") + ")"
	}
	return `INSERT INTO passkeyd_audit (` + AuditColumns + `) VALUES ` + strings.Join(rows, ", ")
}

// appendAudit inserts events inside tx.
func appendAudit(tx Tx, events []passkeyd.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	var args []any
	for _, e := range events {
		args = append(args, AuditArgs(e)...)
	}
	_, err := tx.Exec(insertAudit(len(events)), args...)
	return err
}

// AppendAudit implements passkeyd.AuditStore.
func (s *Store) AppendAudit(ctx context.Context, events ...passkeyd.AuditEvent) error {
	if err := s.c.Write(ctx, func(tx Tx) error { return appendAudit(tx, events) }); err != nil {
		return fmt.Errorf("append audit events: %w", err)
	}
	return nil
}

// AuditEvents implements passkeyd.AuditStore.
func (s *Store) AuditEvents(ctx context.Context, userID string, limit int) ([]passkeyd.AuditEvent, error) {
	q := `SELECT id, ` + AuditColumns + ` FROM passkeyd_audit WHERE user_id = $1 ORDER BY id DESC LIMIT $2`
	args := []any{userID, limit}
	if userID == "" {
		q = `SELECT id, ` + AuditColumns + ` FROM passkeyd_audit ORDER BY id DESC LIMIT $1`
		args = args[1:]
	}
	rows, err := s.c.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	defer rows.Close()
	var out []passkeyd.AuditEvent
	for rows.Next() {
		var e passkeyd.AuditEvent
		var at sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &e.UserID, &e.Event, &e.Method, &e.PasskeyID, &e.Platform, &e.Address, &e.Outcome, &e.Reason, &e.Actor); err != nil {
			return nil, fmt.Errorf("audit events: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	return out, nil
}

// DeleteAuditEvents implements passkeyd.AuditStore.
func (s *Store) DeleteAuditEvents(ctx context.Context, t time.Time) (int64, error) {
	n, err := rowsAffected(s.c.Exec(ctx, `DELETE FROM passkeyd_audit WHERE at < $1`, micros(t)))
	if err != nil {
		return 0, fmt.Errorf("delete audit events: %w", err)
	}
	return n, nil
}
