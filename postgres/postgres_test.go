package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/migrate"
	"github.com/passkeyd/passkeyd/internal/pgtest"
	"github.com/passkeyd/passkeyd/passkeytest"
	"github.com/passkeyd/passkeyd/postgres"
	"github.com/passkeyd/passkeyd/storetest"
)

// openTimeout is the deadline the passkeyd command gives Open.
const openTimeout = 10 * time.Second

// open opens dsn and closes it when the test ends.
func open(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openTemp returns a migrated store in a fresh schema.
func openTemp(t *testing.T) *postgres.DB {
	t.Helper()
	db := open(t, pgtest.Schema(t, "t_"))
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// versions returns the migration versions recorded in db, in order.
func versions(t *testing.T, db *postgres.DB) []int {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTemp(t) })
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	db := openTemp(t)
	for i := 0; i < 2; i++ {
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatalf("migrate again (%d): %v", i, err)
		}
	}
	if got := fmt.Sprint(versions(t, db)); got != "[1 2 3]" {
		t.Fatalf("schema_migrations versions = %s, want [1 2 3]", got)
	}
}

// TestConcurrentMigrate starts two instances on one empty schema at once:
// without the advisory lock, both would try to create the tables and one
// would fail.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t, "t_")
	dbs := []*postgres.DB{open(t, dsn), open(t, dsn)}
	start := make(chan struct{})
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = db.Migrate(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d: %v", i, err)
		}
	}
	if got := fmt.Sprint(versions(t, dbs[0])); got != "[1 2 3]" {
		t.Fatalf("schema_migrations versions = %s, want [1 2 3]", got)
	}
}

// TestMigrateUpgradesOlderSchema applies only migration 1, as an older
// passkeyd would have, stores a user, and checks that Migrate adds
// migration 2 and keeps the user.
func TestMigrateUpgradesOlderSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, pgtest.Schema(t, "t_"))
	// The files on disk are the ones the package embeds.
	ms, err := migrate.Load(os.DirFS("."), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 || ms[0].Version != 1 {
		t.Fatalf("migrations = %v, want versions 1 and 2 at least", ms)
	}
	dialect := migrate.Dialect{Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) }}
	if _, err := migrate.Up(ctx, db.SQL(), dialect, ms[:1]); err != nil {
		t.Fatalf("apply migration 1: %v", err)
	}
	u, err := passkeyd.NewUser("olduser", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser on schema 1: %v", err)
	}

	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from 1: %v", err)
	}
	if got := fmt.Sprint(versions(t, db)); got != "[1 2 3]" {
		t.Fatalf("schema_migrations versions = %s, want [1 2 3]", got)
	}
	p := &passkeyd.Passkey{
		ID: "pk-1", UserID: u.ID, CredentialID: []byte("cred"), PublicKey: []byte("key"),
		AAGUID: make([]byte, 16), Name: "old user's key", Enabled: true, CreatedAt: time.Now(),
	}
	if err := db.CreatePasskey(ctx, p); err != nil {
		t.Fatalf("CreatePasskey after upgrade for a user from schema 1: %v", err)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	db := openTemp(t)
	if _, err := db.SQL().Exec(`INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err == nil {
		t.Fatal("Migrate on a schema newer than the program succeeded, want an error")
	}
}

// TestDuplicateHandleIsNotUsernameTaken checks that unique violations are
// told apart by constraint: a clash on another unique column must not be
// reported as a taken username.
func TestDuplicateHandleIsNotUsernameTaken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTemp(t)
	a, err := passkeyd.NewUser("first", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, a); err != nil {
		t.Fatal(err)
	}
	b, err := passkeyd.NewUser("second", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.Handle = a.Handle
	err = db.CreateUser(ctx, b)
	if err == nil || errors.Is(err, passkeyd.ErrUsernameTaken) {
		t.Fatalf("CreateUser with another user's handle = %v, want an error other than ErrUsernameTaken", err)
	}
}

// A finish is one commit on PostgreSQL too — one statement, so one round
// trip — and a begin is none: the whole API over a real schema, counted
// by the store.
func TestOneCommitPerFinish(t *testing.T) {
	t.Parallel()
	db := openTemp(t)
	ctx := context.Background()
	alice, err := passkeyd.NewUser("alice", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	origin := "https://localhost:" + srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	svc, err := passkeyd.NewService(passkeyd.Config{RPID: "localhost", RPName: "test", Origins: []string{origin}}, passkeyd.Deps{Users: db, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Routes(mux)
	mux.HandleFunc("POST /test/login", func(w http.ResponseWriter, r *http.Request) {
		if _, err := svc.LogIn(w, r, alice); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv.Config.Handler = svc.Handler(mux)
	a := passkeytest.New(origin, passkeytest.Options{DeviceBound: true})
	client := passkeytest.NewClient(srv.URL, srv.Client(), a)
	post := func(path string, body []byte, want int) []byte {
		t.Helper()
		resp, err := client.Do(ctx, "POST", path, body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != want {
			t.Fatalf("POST %s = %d %s, want %d", path, resp.Status, resp.Body, want)
		}
		return resp.Body
	}
	commits := func(what string, want uint64, f func()) {
		t.Helper()
		before := db.Commits()
		f()
		if got := db.Commits() - before; got != want {
			t.Errorf("%s made %d commits, want %d", what, got, want)
		}
	}
	commits("a password-style login", 1, func() { post("/test/login", nil, http.StatusOK) })
	var opts, resp []byte
	commits("a registration begin", 0, func() { opts = post("/api/passkeys/register/begin", nil, http.StatusOK) })
	if resp, err = a.Register(opts); err != nil {
		t.Fatal(err)
	}
	commits("a registration finish", 1, func() { post("/api/passkeys/register/finish", resp, http.StatusCreated) })
	commits("a login begin", 0, func() { opts = post("/api/login/begin", nil, http.StatusOK) })
	if resp, err = a.Login(opts); err != nil {
		t.Fatal(err)
	}
	commits("a login finish (replacing the session)", 1, func() { post("/api/login/finish", resp, http.StatusOK) })
	commits("a replayed finish", 0, func() { post("/api/login/finish", resp, http.StatusUnauthorized) })
}

func TestPingAndClose(t *testing.T) {
	t.Parallel()
	db := pgtest.Server(t)
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Ping(ctx); err == nil {
		t.Fatal("Ping after Close succeeded, want an error")
	}
}

func TestPoolSettings(t *testing.T) {
	t.Parallel()
	pgtest.Server(t).Close() // skip (or fail in CI) when there is no server
	db := open(t, pgtest.DSN())
	if got := db.SQL().Stats().MaxOpenConnections; got != 20 {
		t.Errorf("default MaxOpenConnections = %d, want 20", got)
	}
	dsn := pgtest.WithParam(t, pgtest.DSN(), "pool_max_conns", "3")
	dsn = pgtest.WithParam(t, dsn, "pool_max_conn_lifetime", "1h")
	dsn = pgtest.WithParam(t, dsn, "pool_max_conn_idle_time", "1m")
	db = open(t, dsn)
	if got := db.SQL().Stats().MaxOpenConnections; got != 3 {
		t.Errorf("MaxOpenConnections with pool_max_conns=3 = %d, want 3", got)
	}
}

// TestOpenRejectsBadConnectionStrings needs no server: each string fails
// before any connection is tried.
func TestOpenRejectsBadConnectionStrings(t *testing.T) {
	t.Parallel()
	base := "postgres://postgres@127.0.0.1:1/test?sslmode=disable"
	for _, dsn := range []string{
		"",
		"postgres://postgres@127.0.0.1:1/test?sslmode=nonsense",
		base + "&pool_max_conns=0",
		base + "&pool_max_conns=many",
		base + "&pool_max_conn_lifetime=forever",
		base + "&pool_max_conn_idle_time=-1m",
		base + "&pool_min_conns=2",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		db, err := postgres.Open(ctx, dsn)
		cancel()
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		} else if strings.Contains(err.Error(), "connect:") {
			t.Errorf("Open(%q) tried to connect (%v), want it refused before", dsn, err)
		}
	}
}

// TestOpenUnreachable checks that Open fails, within its deadline, for a
// port nobody listens on, and that the error counts as the database being
// unavailable (a 503, not a 500).
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	start := time.Now()
	db, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable")
	if err == nil {
		db.Close()
		t.Fatal("Open of 127.0.0.1:1 succeeded, want an error")
	}
	if elapsed := time.Since(start); elapsed > openTimeout {
		t.Errorf("Open took %v, past its %v deadline", elapsed, openTimeout)
	}
	if got := passkeyd.HTTPStatus(err); got != http.StatusServiceUnavailable {
		t.Errorf("HTTPStatus(%v) = %d, want 503: the database is out of reach", err, got)
	}
}

// TestOpenHonoursDeadline connects to a server that accepts connections
// and never answers: only the context can end Open.
func TestOpenHonoursDeadline(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	// Closing the listener ends the accept loop, which then closes what
	// it holds; only after that is there nothing left to wait for.
	defer func() {
		ln.Close()
		conns.Wait()
	}()
	conns.Add(1)
	go func() {
		defer conns.Done()
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // the listener was closed: the test is over
			}
			held = append(held, c)
		}
	}()

	const deadline = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	db, err := postgres.Open(ctx, "postgres://postgres@"+ln.Addr().String()+"/test?sslmode=disable")
	elapsed := time.Since(start)
	if err == nil {
		db.Close()
		t.Fatal("Open of a silent server succeeded, want an error")
	}
	if elapsed > deadline+2*time.Second {
		t.Errorf("Open took %v with a %v deadline", elapsed, deadline)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Open error = %v, want it to wrap context.DeadlineExceeded", err)
	}
}
