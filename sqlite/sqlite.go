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

	"github.com/alexedwards/scs/v2"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/migrate"
	"github.com/passkeyd/passkeyd/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// busyTimeout is how long a statement waits for another connection's write
// lock before it fails; long enough to ride out any burst of logins.
const busyTimeout = 10 * time.Second

// DB is a passkeyd store in one SQLite file.
//
// It keeps two pools on the file: one connection that does every write,
// so writers queue in Go instead of contending for SQLite's lock (which
// costs sleeps and, under load, "database is locked"), and a pool of
// readers, which WAL mode lets run beside the writer. Statements are
// prepared once per pool and reused: preparing costs more than running
// most of these queries.
type DB struct {
	// Store has the queries, shared with the PostgreSQL backend.
	*sqlstore.Store

	write *sql.DB
	read  *sql.DB
	stmts sync.Map // stmtKey → *sql.Stmt

	// sessions is made on first use; mu guards it, so that SessionStore
	// and Close may be called from any goroutine, and Close more than once.
	mu       sync.Mutex
	sessions *sessionStore
}

// stmtKey names a prepared statement: its pool and its text.
type stmtKey struct {
	pool  *sql.DB
	query string
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
	// Write transactions take the write lock when they begin, so that one
	// never fails upgrading a read lock when another process (passkeyd
	// user add beside the server) writes too.
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	// The writer creates the file and turns on WAL before readers open it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read.SetMaxIdleConns(4)
	d := &DB{write: write, read: read}
	d.Store = sqlstore.New(conn{d}, sqlstore.Dialect{UniqueViolation: uniqueViolation})
	return d, nil
}

// prepared returns the statement for query on pool, preparing it once.
func (d *DB) prepared(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	key := stmtKey{pool, query}
	if st, ok := d.stmts.Load(key); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := d.stmts.LoadOrStore(key, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// exec runs a write.
func (d *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := d.prepared(ctx, d.write, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// errRow is a *sql.Row-like value that only reports an error.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// row is what queryRow and writeRow return: a *sql.Row, or an errRow when
// the statement could not be prepared.
type row interface{ Scan(...any) error }

// queryRow runs a read that returns one row.
func (d *DB) queryRow(ctx context.Context, query string, args ...any) row {
	st, err := d.prepared(ctx, d.read, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// writeRow runs a write that returns one row (RETURNING).
func (d *DB) writeRow(ctx context.Context, query string, args ...any) row {
	st, err := d.prepared(ctx, d.write, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs a read that returns rows.
func (d *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := d.prepared(ctx, d.read, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// Migrate brings the schema up to date; it is safe to run again.
func (d *DB) Migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	_, err = migrate.Up(ctx, d.write, migrate.Dialect{
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
		d.sessions = newSessionStore(d)
	}
	return d.sessions
}

// Ping reports whether the database answers, to readers and the writer.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.read.PingContext(ctx); err != nil {
		return err
	}
	return d.write.PingContext(ctx)
}

// SQL returns the handle that writes, for tools and tests.
func (d *DB) SQL() *sql.DB { return d.write }

// Close closes the database.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.sessions != nil {
		d.sessions.stop()
		d.sessions = nil
	}
	d.mu.Unlock()
	d.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	return errors.Join(d.read.Close(), d.write.Close())
}

// conn runs the shared queries on the DB's pools.
type conn struct{ d *DB }

func (c conn) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.d.exec(ctx, q, args...)
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return c.d.queryRow(ctx, q, args...)
}

func (c conn) WriteRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return c.d.writeRow(ctx, q, args...)
}

func (c conn) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.d.query(ctx, q, args...)
}

// uniqueViolation tells a unique violation by SQLite's message, which
// names the table and column.
func uniqueViolation(err error, table, column string) bool {
	return strings.Contains(err.Error(), "UNIQUE constraint failed: "+table+"."+column)
}

var (
	_ passkeyd.UserStore     = (*DB)(nil)
	_ passkeyd.PasskeyStore  = (*DB)(nil)
	_ passkeyd.CeremonyStore = (*DB)(nil)
)
