// Package sqlstore is the storage code that the SQLite and PostgreSQL
// backends share: the same SQL (both take $n parameters, Unix-microsecond
// times and a JSON text of transports) over a connection each backend
// provides, so the two behave alike by construction. What differs — how
// statements run, how a unique violation is told — comes in as Conn and
// Dialect.
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
	// Exec runs a write.
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	// QueryRow runs a read that returns one row.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// WriteRow runs a write that returns one row (RETURNING).
	WriteRow(ctx context.Context, query string, args ...any) Row
	// Query runs a read that returns rows.
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Dialect is what the database's errors look like.
type Dialect struct {
	// UniqueViolation reports whether err is a violation of the unique
	// constraint on table.column.
	UniqueViolation func(err error, table, column string) bool
}

// Store implements passkeyd.UserStore, PasskeyStore and CeremonyStore.
type Store struct {
	c Conn
	d Dialect
}

// New returns a Store over c.
func New(c Conn, d Dialect) *Store { return &Store{c: c, d: d} }

// micros converts a time to the stored form, Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back; NULL is the zero time.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}
