// Package postgres is passkeyd's storage in PostgreSQL, through pgx's
// database/sql driver (github.com/jackc/pgx/v5/stdlib). Working over
// *sql.DB keeps the code a mirror of the SQLite backend and lets scs's
// postgresstore keep sessions in the same database.
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
//	MaxIdleConns     10      connections kept open between bursts
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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/v2"
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
	defaultMaxIdleConns    = 10
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

// DB is a passkeyd store in a PostgreSQL database.
type DB struct {
	// Store has the queries, shared with the SQLite backend.
	*sqlstore.Store

	db *sql.DB
	// sessions is made on first use; mu guards it, so that SessionStore
	// and Close may be called from any goroutine, and Close more than once
	// (stopping the store's cleanup twice would block for ever).
	mu       sync.Mutex
	sessions *postgresstore.PostgresStore
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
	return &DB{Store: sqlstore.New(conn{db}, sqlstore.Dialect{UniqueViolation: uniqueViolation}), db: db}, nil
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
	_, err = migrate.Up(ctx, d.db, migrate.Dialect{
		// A transaction-scoped lock is released by the commit or rollback
		// that ends the migration, even if this process dies: no unlock
		// to forget. The next instance then finds the schema up to date.
		Lock: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey)
			return err
		},
		Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
	}, ms)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// SessionStore returns an scs session store in this database's sessions
// table. Close stops its cleanup of expired sessions.
func (d *DB) SessionStore() scs.Store {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sessions == nil {
		d.sessions = postgresstore.New(d.db)
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

// conn runs the shared queries; pgx caches each statement's preparation
// per connection by itself.
type conn struct{ db *sql.DB }

func (c conn) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.db.ExecContext(ctx, q, args...)
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return c.db.QueryRowContext(ctx, q, args...)
}

func (c conn) WriteRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return c.db.QueryRowContext(ctx, q, args...)
}

func (c conn) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.db.QueryContext(ctx, q, args...)
}

// sqlStateUniqueViolation is PostgreSQL's unique_violation.
const sqlStateUniqueViolation = "23505"

// uniqueViolation tells a unique violation by its constraint, which the
// migrations name <table>_<column>_unique.
func uniqueViolation(err error, table, column string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == sqlStateUniqueViolation &&
		pgErr.ConstraintName == table+"_"+column+"_unique"
}

var (
	_ passkeyd.UserStore     = (*DB)(nil)
	_ passkeyd.PasskeyStore  = (*DB)(nil)
	_ passkeyd.CeremonyStore = (*DB)(nil)
)
