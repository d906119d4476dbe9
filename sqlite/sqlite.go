// Package sqlite is passkeyd's storage in one SQLite file, through the
// pure-Go driver modernc.org/sqlite (no cgo). The file is opened in WAL
// mode with a busy timeout.
//
// # One writer, group commit
//
// Every write goes through one goroutine that owns one connection: writers
// queue in Go instead of contending for SQLite's lock (which costs sleeps
// and, under load, "database is locked"). That writer takes every write
// waiting in its queue and commits them together, in one transaction, so
// concurrent logins share the cost of a commit. Each write still gets its
// own result: it runs inside a savepoint of its own, and one that fails (a
// duplicate credential id, a replayed challenge) is rolled back alone.
// Reads run beside the writer on a pool of read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/migrate"
	"github.com/passkeyd/passkeyd/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// busyTimeout is how long a statement waits for another connection's write
// lock (another process: passkeyd user add beside the server) before it
// fails.
const busyTimeout = 10 * time.Second

// maxBatch bounds how many queued writes one commit takes.
const maxBatch = 64

// ErrClosed is the error of a write to a closed DB.
var ErrClosed = errors.New("sqlite: database is closed")

// DB is a passkeyd store in one SQLite file. It implements passkeyd.Store
// and passkeyd.UserStore.
type DB struct {
	// q has the queries, shared with the PostgreSQL backend; store.go
	// spells its methods out.
	q *sqlstore.Store

	// write is the pool the writer's connection comes from; its second
	// connection serves Migrate and SQL.
	path string
	// file is the database file as Open found it, so that Ready notices
	// one deleted or replaced under the server.
	file  os.FileInfo
	write *sql.DB
	read  *sql.DB
	stmts sync.Map // read-pool query → *sql.Stmt

	queue chan *writeJob
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once

	commits atomic.Uint64
	writes  atomic.Uint64

	// readOnly is set by OpenReadOnly: there is no writer, and every
	// write fails with ErrReadOnly.
	readOnly bool
}

// ErrReadOnly is the error of a write to a database opened with
// OpenReadOnly.
var ErrReadOnly = errors.New("sqlite: the database was opened read-only")

// checkPath refuses a path that is empty, or that would be read as the
// start of the DSN's parameters.
func checkPath(path string) error {
	if path == "" {
		return errors.New("sqlite: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return fmt.Errorf("sqlite: database path %q must not contain '?' or '#'", path)
	}
	return nil
}

// OpenReadOnly opens the existing SQLite database at path for reading
// only: SQLite opens the file read-only and refuses every write, so the
// process needs no write access to it. It neither creates nor migrates.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	file, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "query_only(1)")
	q.Set("mode", "ro")
	read, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err == nil {
		err = read.PingContext(ctx)
	}
	if err != nil {
		if read != nil {
			read.Close()
		}
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", path, err)
	}
	d := &DB{path: path, file: file, read: read, readOnly: true, quit: make(chan struct{}), done: make(chan struct{})}
	close(d.done)
	d.q = sqlstore.New(conn{d})
	return d, nil
}

// Open opens (creating it when missing) the SQLite database at path. It
// does not migrate: call Migrate.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	// A new database is made readable by its owner only: it holds
	// password hashes and session keys. SQLite gives the WAL and shared
	// memory files the database file's permissions.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		_ = f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// Each write runs in a savepoint (group commit), whose journal would
	// otherwise be a temporary file: a write and a seek more per page.
	q.Add("_pragma", "temp_store(MEMORY)")
	// Transactions begun through database/sql (Migrate) take the write
	// lock when they begin, so that one never fails upgrading a read lock
	// while another process writes.
	q.Set("_txlock", "immediate")
	// Every connection opens the file Open made and no other: were it
	// deleted while the server runs, a new connection must fail rather
	// than start an empty database in its place.
	q.Set("mode", "rw")
	dsn := "file:" + path + "?" + q.Encode()
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(2)
	write.SetMaxIdleConns(1)
	// The writer's connection creates the file and turns on WAL before
	// readers open it.
	wconn, err := write.Conn(ctx)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := wconn.PingContext(ctx); err != nil {
		wconn.Close()
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		wconn.Close()
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read.SetMaxIdleConns(4)
	file, err := os.Stat(path)
	if err != nil {
		wconn.Close()
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	d := &DB{
		path: path, file: file, write: write, read: read,
		queue: make(chan *writeJob, 1024),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	d.q = sqlstore.New(conn{d})
	w := &writer{db: d, conn: wconn, stmts: map[string]*sql.Stmt{}}
	go w.run()
	return d, nil
}

// writeJob is one write waiting for the writer.
type writeJob struct {
	fn   func(tx sqlstore.Tx) error
	done chan error
	// state moves from queued to taken (by the writer) or abandoned (by
	// a caller that stopped waiting); whichever comes first wins.
	state atomic.Int32
}

const (
	jobQueued int32 = iota
	jobTaken
	jobAbandoned
)

// writeTx runs fn as one write transaction on the writer, and waits for
// its outcome. A caller whose ctx ends while the write still waits in the
// queue gets ctx's error, and the write never runs; once the writer has
// taken it, the caller waits for the commit (a few milliseconds), so that
// it never reports failure for a write that was committed.
func (d *DB) writeTx(ctx context.Context, fn func(tx sqlstore.Tx) error) error {
	if d.readOnly {
		return ErrReadOnly
	}
	job := &writeJob{fn: fn, done: make(chan error, 1)}
	select {
	case <-d.quit:
		return ErrClosed
	default:
	}
	select {
	case d.queue <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.quit:
		return ErrClosed
	}
	select {
	case err := <-job.done:
		return err
	case <-ctx.Done():
		if job.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return ctx.Err()
		}
		return <-job.done
	case <-d.done:
		// The writer has stopped; a write it never took will not run.
		if job.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return ErrClosed
		}
		return <-job.done
	}
}

// writer owns the write connection: it runs queued writes in batches, each
// batch one transaction, each write one savepoint of it.
type writer struct {
	db    *DB
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

func (w *writer) run() {
	defer close(w.db.done)
	defer w.close()
	batch := make([]*writeJob, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case job := <-w.db.queue:
			batch = append(batch, job)
		case <-w.db.quit:
			w.failQueued()
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case job := <-w.db.queue:
				batch = append(batch, job)
			default:
				break more
			}
		}
		taken := batch[:0]
		for _, job := range batch {
			if job.state.CompareAndSwap(jobQueued, jobTaken) {
				taken = append(taken, job)
			}
		}
		if len(taken) > 0 {
			w.commit(taken)
		}
	}
}

// failQueued answers the writes still queued when the DB closes.
func (w *writer) failQueued() {
	for {
		select {
		case job := <-w.db.queue:
			if job.state.CompareAndSwap(jobQueued, jobTaken) {
				job.done <- ErrClosed
			}
		default:
			return
		}
	}
}

// commit runs jobs in one transaction and tells each its outcome.
func (w *writer) commit(jobs []*writeJob) {
	errs := make([]error, len(jobs))
	tell := func() {
		for i, job := range jobs {
			job.done <- errs[i]
		}
	}
	fail := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		tell()
	}
	if err := w.exec("BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	// A lone write needs no savepoint: its failure is the transaction's.
	alone := len(jobs) == 1
	ok := 0
	for i, job := range jobs {
		if !alone {
			if err := w.exec("SAVEPOINT write"); err != nil {
				w.rollback()
				fail(fmt.Errorf("sqlite: savepoint: %w", err))
				return
			}
		}
		errs[i] = job.fn(writeTx{w})
		switch {
		case errs[i] == nil:
			ok++
			if !alone {
				if err := w.exec("RELEASE write"); err != nil {
					w.rollback()
					fail(fmt.Errorf("sqlite: release savepoint: %w", err))
					return
				}
			}
		case !alone:
			// Undo this write alone. Should SQLite have rolled the whole
			// transaction back itself (a full disk does), this fails and
			// every write of the batch fails with it.
			if err := w.exec("ROLLBACK TO write"); err != nil {
				w.rollback()
				fail(fmt.Errorf("sqlite: roll back to savepoint: %w (after %w)", err, errs[i]))
				return
			}
			if err := w.exec("RELEASE write"); err != nil {
				w.rollback()
				fail(fmt.Errorf("sqlite: release savepoint: %w", err))
				return
			}
		}
	}
	if ok == 0 {
		w.rollback()
		tell()
		return
	}
	if err := w.exec("COMMIT"); err != nil {
		w.rollback()
		fail(fmt.Errorf("sqlite: commit: %w", err))
		return
	}
	w.db.commits.Add(1)
	w.db.writes.Add(uint64(ok))
	tell()
}

// rollback ends a failed transaction; it may be over already.
func (w *writer) rollback() { _ = w.exec("ROLLBACK") }

// stmt returns the writer's statement for query, preparing it once.
func (w *writer) stmt(query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}

func (w *writer) exec(query string, args ...any) error {
	st, err := w.stmt(query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(context.Background(), args...)
	return err
}

func (w *writer) close() {
	for _, st := range w.stmts {
		st.Close()
	}
	w.conn.Close()
}

// writeTx is the sqlstore.Tx of a write running on the writer.
type writeTx struct{ w *writer }

func (t writeTx) Exec(query string, args ...any) (sql.Result, error) {
	st, err := t.w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(context.Background(), args...)
}

func (t writeTx) QueryRow(query string, args ...any) sqlstore.Row {
	st, err := t.w.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(context.Background(), args...)
}

// errRow is a *sql.Row-like value that only reports an error.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// prepared returns the read pool's statement for query, preparing it once.
func (d *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := d.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := d.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := d.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Migrate brings the schema up to date; it is safe to run again. On a
// database opened read-only it only checks that the schema is up to date.
func (d *DB) Migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	if d.readOnly {
		// Opened read-only: the schema is checked, not changed.
		if err := migrate.Check(ctx, d.read, ms); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		return nil
	}
	baseline, err := migrate.LoadBaseline(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	_, err = migrate.Up(ctx, d.write, migrate.Dialect{
		Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
		HasColumn:   `SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2`,
	}, ms, baseline)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// sweepBatch is how many idle sessions one write of the sweep deletes.
const sweepBatch = 256

// DeleteExpiredSessions implements passkeyd.SessionStore. The sessions
// past their lifetime are a range of the key, deleted at once. Those that
// ended unused are found by a scan of expires_at (not indexed, so that
// using a session moves it in no index), run on a reader so that the
// writer — and every login waiting for it — is not held for the length of
// a scan, then deleted a batch at a time, each row only if it is still
// expired: one used meanwhile stays.
func (d *DB) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	res, err := conn{d}.Exec(ctx, `DELETE FROM passkeyd_sessions WHERE key < $1`, sqlstore.KeyBefore(t))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	rows, err := d.read.QueryContext(ctx, `SELECT key FROM passkeyd_sessions WHERE expires_at < $1`, t.UnixMicro())
	if err != nil {
		return n, fmt.Errorf("find idle sessions: %w", err)
	}
	var idle [][]byte
	for rows.Next() {
		var key []byte
		if err := rows.Scan(&key); err != nil {
			rows.Close()
			return n, fmt.Errorf("find idle sessions: %w", err)
		}
		idle = append(idle, key)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("find idle sessions: %w", err)
	}
	for len(idle) > 0 {
		batch := idle[:min(sweepBatch, len(idle))]
		idle = idle[len(batch):]
		var deleted int64
		err := d.writeTx(ctx, func(tx sqlstore.Tx) error {
			deleted = 0
			for _, key := range batch {
				res, err := tx.Exec(`DELETE FROM passkeyd_sessions WHERE key = $1 AND expires_at < $2`, key, t.UnixMicro())
				if err != nil {
					return err
				}
				k, err := res.RowsAffected()
				if err != nil {
					return err
				}
				deleted += k
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("delete idle sessions: %w", err)
		}
		n += deleted
	}
	return n, nil
}

// WriteStats counts what the writer has done since Open.
type WriteStats struct {
	// Commits is how many transactions it committed.
	Commits uint64
	// Writes is how many writes those held: more than Commits when
	// concurrent writes shared a commit.
	Writes uint64
}

// Stats returns the writer's counts, for tests, benchmarks and metrics.
func (d *DB) Stats() WriteStats {
	return WriteStats{Commits: d.commits.Load(), Writes: d.writes.Load()}
}

// Ping reports whether the database answers, to readers and the writer.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.read.PingContext(ctx); err != nil {
		return err
	}
	return d.writeTx(ctx, func(sqlstore.Tx) error { return nil })
}

// Ready reports whether the database can serve: the file is the one Open
// opened (not deleted, not replaced by another), and it takes a write (a
// full disk or a read-only file fails it).
func (d *DB) Ready(ctx context.Context) error {
	now, err := os.Stat(d.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqlite: the database file %s was deleted while the server runs", d.path)
	case err != nil:
		return fmt.Errorf("sqlite: the database file: %w", err)
	case !os.SameFile(d.file, now):
		return fmt.Errorf("sqlite: the database file %s was replaced by another while the server runs", d.path)
	}
	if err := d.writeTx(ctx, func(tx sqlstore.Tx) error {
		_, err := tx.Exec(`INSERT INTO passkeyd_health (id, checked_at) VALUES (1, $1)
			ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, time.Now().UnixMicro())
		return err
	}); err != nil {
		return fmt.Errorf("sqlite: a write: %w", err)
	}
	return nil
}

// SQL returns a handle on the file that may write, beside the writer, for
// tools and tests.
func (d *DB) SQL() *sql.DB {
	if d.readOnly {
		return d.read
	}
	return d.write
}

// Close stops the writer, after the batch it is committing, and closes
// the database. Writes still queued fail with ErrClosed. It may be called
// more than once.
func (d *DB) Close() error {
	var err error
	d.once.Do(func() {
		close(d.quit)
		<-d.done
		d.stmts.Range(func(_, st any) bool {
			st.(*sql.Stmt).Close()
			return true
		})
		err = d.read.Close()
		if d.write != nil {
			err = errors.Join(err, d.write.Close())
		}
	})
	return err
}

// conn runs the shared queries: writes on the writer, reads on the pool.
type conn struct{ d *DB }

func (c conn) Write(ctx context.Context, fn func(tx sqlstore.Tx) error) error {
	return c.d.writeTx(ctx, fn)
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := c.d.writeTx(ctx, func(tx sqlstore.Tx) error {
		var err error
		res, err = tx.Exec(q, args...)
		return err
	})
	return res, err
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	st, err := c.d.prepared(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (c conn) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := c.d.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

var (
	_ passkeyd.UserStore = (*DB)(nil)
	_ passkeyd.Store     = (*DB)(nil)
)
