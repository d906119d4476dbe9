// Package sqlstore is the storage code that the SQLite and PostgreSQL
// backends share: the same SQL (both take $n parameters, Unix-microsecond
// times and a JSON text of transports) over a connection each backend
// provides, so the two behave alike by construction. What differs — how
// statements and transactions run — comes in as Conn; a backend may also
// bring its own, faster form of a method (PostgreSQL commits a login in one
// statement). A duplicate (a username, a credential id) is found with ON
// CONFLICT DO NOTHING and the rows changed, never from an error's text.
package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// Row is a single-row result: *sql.Row, or an error in its place.
type Row interface{ Scan(...any) error }

// Conn runs statements for the store.
type Conn interface {
	// Write runs fn as one write transaction: everything it wrote
	// commits, or, when it returns an error, nothing does.
	Write(ctx context.Context, fn func(tx Tx) error) error
	// Exec runs one write, as a transaction of its own.
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	// QueryRow runs a read that returns one row.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Query runs a read that returns rows.
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Tx runs statements inside Conn.Write's transaction. A row it returns
// must be scanned before the function given to Write returns.
type Tx interface {
	Exec(query string, args ...any) (sql.Result, error)
	QueryRow(query string, args ...any) Row
}

// Store implements passkeyd.UserStore and passkeyd.Store.
type Store struct {
	c Conn
	// LockUserSQL, when set, is a query of one row that takes a
	// transaction-scoped lock on the user id $1 (see lockUser).
	LockUserSQL string
}

// New returns a Store over c.
func New(c Conn) *Store { return &Store{c: c} }

// micros converts a time to the stored form, Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back; NULL is the zero time.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// nullMicros stores the zero time as NULL.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// rowsAffected returns how many rows a write changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
