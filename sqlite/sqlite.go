// Package sqlite is passkeyd's storage in one SQLite file, through the
// pure-Go driver modernc.org/sqlite (no cgo). The file is opened in WAL
// mode with a busy timeout, so concurrent requests wait for each other
// instead of failing with "database is locked".
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/passkeyd/passkeyd/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// busyTimeout is how long a statement waits for another connection's write
// lock before it fails; long enough to ride out any burst of logins.
const busyTimeout = 10 * time.Second

// DB is a passkeyd store in one SQLite file.
type DB struct {
	db *sql.DB
	// sessions is made on first use; mu guards it, so that SessionStore
	// and Close may be called from any goroutine, and Close more than once
	// (stopping the store's cleanup twice would block for ever).
	mu       sync.Mutex
	sessions *sqlite3store.SQLite3Store
}

// Open opens (creating it when missing) the SQLite database at path. It
// does not migrate: call Migrate.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?' or '#'", path)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// Write transactions take the write lock when they begin, so two of
	// them never deadlock upgrading read locks (which SQLite answers with
	// SQLITE_BUSY at once, busy timeout or not).
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &DB{db: db}, nil
}

// Migrate brings the schema up to date; it is safe to run again.
func (d *DB) Migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	_, err = migrate.Up(ctx, d.db, migrate.Dialect{
		Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
	}, ms)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// SessionStore returns an scs session store in this database's sessions
// table. Close stops its cleanup of expired sessions.
func (d *DB) SessionStore() scs.Store {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sessions == nil {
		d.sessions = sqlite3store.New(d.db)
	}
	return d.sessions
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	return d.db.PingContext(ctx)
}

// SQL returns the underlying handle, for tools and tests.
func (d *DB) SQL() *sql.DB { return d.db }

// Close closes the database.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.sessions != nil {
		d.sessions.StopCleanup()
		d.sessions = nil
	}
	d.mu.Unlock()
	return d.db.Close()
}

// micros converts a time to the stored form, Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back; NULL is the zero time.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}
