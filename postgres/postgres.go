// Package postgres is passkeyd's storage in PostgreSQL, through pgx's
// database/sql driver (github.com/jackc/pgx/v5/stdlib). Working over
// *sql.DB keeps the code a mirror of the SQLite backend.
//
// # One round trip per finished ceremony
//
// What a login changes — the used challenge, the passkey's counter and
// flags, the user's last login, the new session and the end of the old
// one — is one SQL statement (data-modifying common table expressions):
// one round trip and one commit, atomic like any statement.
//
// # Connection string
//
// Open takes any connection string pgx understands: a URL
// (postgres://user:password@host:5432/dbname?sslmode=verify-full) or
// keyword/value pairs (host=... dbname=...), together with the PG*
// environment variables and password file that libpq reads too. Settings
// that are not pgx's own, such as search_path or application_name, are
// sent to the server as run-time parameters.
//
// # Connection pool
//
// The pool is database/sql's, with these defaults:
//
//	MaxOpenConns     20      connections to the server at most; more
//	                         requests wait for one to come free
//	MaxIdleConns     20      connections kept open between bursts: as
//	                         many as may be open, since a connection
//	                         closed at the end of a burst and opened at
//	                         the start of the next costs PostgreSQL a new
//	                         backend process each time
//	ConnMaxIdleTime  5 min   an idle connection is closed after this
//	ConnMaxLifetime  30 min  a connection is replaced after this, so the
//	                         pool follows a failover or a DNS change and
//	                         server-side memory does not grow without end
//
// The connection string may change three of them, with the parameter
// names of pgx's own pool (pgxpool):
//
//	pool_max_conns=N           MaxOpenConns (MaxIdleConns is lowered to N
//	                           when N is smaller)
//	pool_max_conn_idle_time=D  ConnMaxIdleTime, a Go duration such as 10m
//	pool_max_conn_lifetime=D   ConnMaxLifetime, a Go duration such as 1h
//
// A new connection gives up after 5 seconds (dial, TLS and start-up),
// unless the connection string says otherwise with connect_timeout=N
// (seconds).
//
// pgxpool's other settings (pool_min_conns, pool_health_check_period and
// the like) have no database/sql counterpart: Open refuses any other
// pool_ parameter rather than send it on to the server, which would fail
// every connection with "unrecognized configuration parameter".
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/migrate"
	"github.com/passkeyd/passkeyd/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Pool defaults; see the package documentation.
const (
	defaultMaxOpenConns    = 20
	defaultMaxIdleConns    = defaultMaxOpenConns
	defaultConnMaxIdleTime = 5 * time.Minute
	defaultConnMaxLifetime = 30 * time.Minute
	// defaultConnectTimeout bounds a new connection (dial, TLS, start-up)
	// unless the connection string sets connect_timeout: pgx's default is
	// none, and requests would wait as long as an unreachable server keeps
	// them waiting instead of answering 503.
	defaultConnectTimeout = 5 * time.Second
)

// migrateLockKey is the pg_advisory_xact_lock key that makes migrations
// take turns. Any fixed number works as long as every passkeyd uses the
// same one; this is the ASCII of "passkeyd". Advisory locks belong to the
// whole database, so instances in different schemas of one database also
// take turns, which costs nothing: migrations are short.
const migrateLockKey int64 = 0x706173736b657964

// DB is a passkeyd store in a PostgreSQL database. It implements
// passkeyd.Store and passkeyd.UserStore.
type DB struct {
	// q has the queries, shared with the SQLite backend; store.go
	// spells its methods out.
	q *sqlstore.Store

	db      *sql.DB
	commits atomic.Uint64
	// readOnly is set by OpenReadOnly.
	readOnly bool
}

// OpenReadOnly connects as Open does, in sessions whose transactions are
// read-only (default_transaction_read_only): every write fails. Migrate
// then only checks that the schema is up to date.
func OpenReadOnly(ctx context.Context, dsn string) (*DB, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("postgres: the database URL does not parse")
	}
	q := u.Query()
	q.Set("default_transaction_read_only", "on")
	u.RawQuery = q.Encode()
	d, err := Open(ctx, u.String())
	if err != nil {
		return nil, err
	}
	d.readOnly = true
	return d, nil
}

// Open connects to the PostgreSQL database named by dsn and checks that it
// answers within ctx. It does not migrate: call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	// An empty string would make pgx connect to its defaults (the local
	// server, as the current OS user): never what a configuration meant.
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("postgres: empty connection string")
	}
	// pgx's parse errors show the connection string with any password
	// replaced, so they are safe to wrap and print.
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := takePoolParams(cfg.RuntimeParams)
	if err != nil {
		return nil, fmt.Errorf("postgres: connection string: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	db := stdlib.OpenDB(*cfg)
	pool.apply(db)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	d := &DB{db: db}
	d.q = sqlstore.New(conn{d})
	d.q.LockUserSQL = lockUserSQL
	return d, nil
}

// poolSettings is how the database/sql pool is sized.
type poolSettings struct {
	maxOpen, maxIdle         int
	maxIdleTime, maxLifetime time.Duration
}

// apply sets the pool of db. MaxIdleConns is set first: database/sql
// lowers it to MaxOpenConns when that is smaller.
func (p poolSettings) apply(db *sql.DB) {
	db.SetMaxIdleConns(p.maxIdle)
	db.SetMaxOpenConns(p.maxOpen)
	db.SetConnMaxIdleTime(p.maxIdleTime)
	db.SetConnMaxLifetime(p.maxLifetime)
}

// takePoolParams returns the pool settings: the defaults, changed by the
// pool_ parameters of the connection string. pgx files parameters it does
// not know under RuntimeParams, to send to the server; the pool ones are
// removed from params here so that they never are.
func takePoolParams(params map[string]string) (poolSettings, error) {
	p := poolSettings{
		maxOpen:     defaultMaxOpenConns,
		maxIdle:     defaultMaxIdleConns,
		maxIdleTime: defaultConnMaxIdleTime,
		maxLifetime: defaultConnMaxLifetime,
	}
	if s, ok := params["pool_max_conns"]; ok {
		delete(params, "pool_max_conns")
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return p, fmt.Errorf("pool_max_conns=%q: want a whole number of at least 1", s)
		}
		p.maxOpen = n
	}
	for name, d := range map[string]*time.Duration{
		"pool_max_conn_idle_time": &p.maxIdleTime,
		"pool_max_conn_lifetime":  &p.maxLifetime,
	} {
		s, ok := params[name]
		if !ok {
			continue
		}
		delete(params, name)
		v, err := time.ParseDuration(s)
		if err != nil || v <= 0 {
			return p, fmt.Errorf("%s=%q: want a positive duration such as 10m", name, s)
		}
		*d = v
	}
	for name := range params {
		if strings.HasPrefix(name, "pool_") {
			return p, fmt.Errorf("%s is not supported: the pool takes only pool_max_conns, pool_max_conn_idle_time and pool_max_conn_lifetime", name)
		}
	}
	return p, nil
}

// Migrate brings the schema up to date; it is safe to run again, and from
// several instances at once: they take turns on an advisory lock.
func (d *DB) Migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	if d.readOnly {
		if err := migrate.Check(ctx, d.db, ms); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		return nil
	}
	baseline, err := migrate.LoadBaseline(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	_, err = migrate.Up(ctx, d.db, migrate.Dialect{
		// A transaction-scoped lock is released by the commit or rollback
		// that ends the migration, even if this process dies: no unlock
		// to forget. The next instance then finds the schema up to date.
		Lock: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey)
			return err
		},
		Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
		HasColumn: `SELECT COUNT(*) FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`,
		AfterLegacyRename: `ALTER TABLE passkeyd_schema_migrations RENAME CONSTRAINT schema_migrations_pkey TO passkeyd_schema_migrations_pkey`,
	}, ms, baseline)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// Ready reports whether the database can serve: it takes a write (a
// read-only replica, a full disk or a lost connection fails it).
func (d *DB) Ready(ctx context.Context) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO passkeyd_health (id, checked_at) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("postgres: a write: %w", err)
	}
	return nil
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	return d.db.PingContext(ctx)
}

// SQL returns the underlying handle, for tools and tests.
func (d *DB) SQL() *sql.DB { return d.db }

// Commits returns how many write transactions this DB has committed
// since Open, for tests and metrics.
func (d *DB) Commits() uint64 { return d.commits.Load() }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// lockUserSQL takes a transaction-scoped advisory lock on a user id, so
// that the changes that must leave the user a way to log in run one at a
// time per user on every instance.
const lockUserSQL = `SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS locked`

// conn runs the shared queries; pgx caches each statement's preparation
// per connection by itself.
type conn struct{ d *DB }

func (c conn) Write(ctx context.Context, fn func(tx sqlstore.Tx) error) error {
	tx, err := c.d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(txConn{ctx, tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	c.d.commits.Add(1)
	return nil
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.d.exec(ctx, q, args...)
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return c.d.db.QueryRowContext(ctx, q, args...)
}

func (c conn) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.d.db.QueryContext(ctx, q, args...)
}

// exec runs one statement, which PostgreSQL commits by itself.
func (d *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := d.db.ExecContext(ctx, q, args...)
	if err == nil {
		d.commits.Add(1)
	}
	return res, err
}

// txConn is the sqlstore.Tx of conn.Write.
type txConn struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t txConn) Exec(q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, q, args...)
}

func (t txConn) QueryRow(q string, args ...any) sqlstore.Row {
	return t.tx.QueryRowContext(t.ctx, q, args...)
}

// sqlStateUniqueViolation and sqlStateNotNullViolation are PostgreSQL's
// unique_violation and not_null_violation.
const (
	sqlStateUniqueViolation  = "23505"
	sqlStateNotNullViolation = "23502"
)

// uniqueViolation tells a unique violation by its constraint, which the
// migrations name <table>_<column>_unique.
func uniqueViolation(err error, table, column string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == sqlStateUniqueViolation &&
		pgErr.ConstraintName == table+"_"+column+"_unique"
}

var (
	_ passkeyd.UserStore = (*DB)(nil)
	_ passkeyd.Store     = (*DB)(nil)
)
