package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/sqlstore"
)

// statement builds one SQL statement and its arguments.
type statement struct {
	args []any
}

// params appends vs to the arguments and returns their placeholders,
// comma-separated.
func (s *statement) params(vs ...any) string {
	ps := make([]string, len(vs))
	for i, v := range vs {
		s.args = append(s.args, v)
		ps[i] = "$" + strconv.Itoa(len(s.args))
	}
	return strings.Join(ps, ", ")
}

// CommitLogin implements passkeyd.Store in one statement: each part of
// the login is a data-modifying common table expression, so the whole
// login is one round trip and one commit, and fails as a whole.
//
// Two of its checks need the statement to fail rather than change fewer
// rows: a replayed challenge breaks used_challenges' primary key, and a
// passkey that is no longer enabled leaves the used challenge NULL (it is
// selected from the passkey's UPDATE, which then returns no row), which
// breaks its NOT NULL. Either error undoes everything.
func (d *DB) CommitLogin(ctx context.Context, c *passkeyd.LoginCommit) error {
	if c.PasskeyUse != nil && c.Challenge == nil {
		// Not a login passkeyd makes; the generic form checks it.
		return d.q.CommitLogin(ctx, c)
	}
	var st statement
	var with []string
	if p := c.PasskeyUse; p != nil {
		a := sqlstore.RecordPasskeyUseArgs(p)
		with = append(with, `passkey AS (UPDATE passkeyd_passkeys
			SET (sign_count, user_verified, backup_eligible, backup_state, clone_warning, last_used_at, enabled) =
				(`+st.params(a[:7]...)+`)
			WHERE id = `+st.params(a[7])+` AND enabled RETURNING id)`)
	}
	if u := c.Challenge; u != nil {
		key := st.params(u.Key)
		if c.PasskeyUse != nil {
			key = `(SELECT ` + key + `::bytea FROM passkey)`
		}
		with = append(with, `used AS (INSERT INTO passkeyd_used_challenges (key) VALUES (`+key+`))`)
	}
	if c.UserID != "" {
		with = append(with, `login AS (UPDATE passkeyd_users SET last_login_at = `+st.params(c.At.UnixMicro())+
			` WHERE id = `+st.params(c.UserID)+`)`)
	}
	if c.ReplacedSession != nil {
		with = append(with, `replaced AS (DELETE FROM passkeyd_sessions WHERE key = `+st.params(c.ReplacedSession)+`)`)
	}
	if len(c.Audit) > 0 {
		with = append(with, `audit AS (`+st.auditInsert(c.Audit)+`)`)
	}
	main := `SELECT 1`
	if c.Session != nil {
		args, err := sqlstore.SessionArgs(c.Session)
		if err != nil {
			return err
		}
		main = `INSERT INTO passkeyd_sessions (` + sqlstore.SessionColumns + `) VALUES (` + st.params(args...) + `)`
	}
	q := main
	if len(with) > 0 {
		q = "WITH " + strings.Join(with, ",\n") + "\n" + main
	}
	if _, err := d.exec(ctx, q, st.args...); err != nil {
		return fmt.Errorf("commit login: %w", commitError(err))
	}
	return nil
}

// CommitRegistration implements passkeyd.Store in one statement: the used
// challenge and the new passkey, one round trip. The passkey is selected
// from the challenge's INSERT, so that runs first, and a replay is told as
// one even when its credential is stored too.
func (d *DB) CommitRegistration(ctx context.Context, c *passkeyd.RegistrationCommit) error {
	transports, err := sqlstore.TransportsJSON(c.Passkey)
	if err != nil {
		return err
	}
	var st statement
	q := `WITH used AS (INSERT INTO passkeyd_used_challenges (key) VALUES (` + st.params(c.Challenge.Key) + `) RETURNING key)`
	if len(c.Audit) > 0 {
		// The registration's events, written only with its passkey:
		// any error undoes the whole statement.
		q += `, audit AS (` + st.auditInsert(c.Audit) + `)`
	}
	q += ` INSERT INTO passkeyd_passkeys (` + sqlstore.PasskeyColumns + `) SELECT ` +
		st.params(sqlstore.InsertPasskeyArgs(c.Passkey, transports)...) + `, NULL FROM used`
	if _, err := d.exec(ctx, q, st.args...); err != nil {
		return fmt.Errorf("commit registration: %w", commitError(err))
	}
	return nil
}

// commitError tells what a failed commit statement means.
func commitError(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case uniqueViolation(err, "passkeyd_used_challenges", "key"):
		return passkeyd.ErrChallengeUsed
	case uniqueViolation(err, "passkeyd_passkeys", "credential_id"):
		return passkeyd.ErrCredentialExists
	case errors.As(err, &pgErr) && pgErr.Code == sqlStateNotNullViolation && pgErr.TableName == "passkeyd_used_challenges":
		return passkeyd.ErrPasskeyDisabled
	}
	return err
}

// auditInsert is the INSERT of events, its values as parameters of st.
func (st *statement) auditInsert(events []passkeyd.AuditEvent) string {
	rows := make([]string, len(events))
	for i, e := range events {
		rows[i] = "(" + st.params(sqlstore.AuditArgs(e)...) + ")"
	}
	return `INSERT INTO passkeyd_audit (` + sqlstore.AuditColumns + `) VALUES ` + strings.Join(rows, ", ")
}
