package postgres_test

import (
	"context"
	"database/sql"
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
	rows, err := db.SQL().Query(`SELECT version FROM passkeyd_schema_migrations ORDER BY version`)
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
	if got := fmt.Sprint(versions(t, db)); got != "[1 2 3 4 5 6 7 8 9]" {
		t.Fatalf("versions recorded = %s, want [1 2 3 4 5 6 7 8 9]", got)
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
	if got := fmt.Sprint(versions(t, dbs[0])); got != "[1 2 3 4 5 6 7 8 9]" {
		t.Fatalf("versions recorded = %s, want [1 2 3 4 5 6 7 8 9]", got)
	}
}

// TestMigrateUpgradesOlderSchema makes a database as passkeyd before
// version 0004 left it (migrations 0001 to 0003, recorded in
// schema_migrations, with a user, a passkey, a session and a ceremony key
// in the unprefixed tables), and checks that Migrate brings it to the
// schema of baseline.sql, keeping the rows.
func TestMigrateUpgradesOlderSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, pgtest.Schema(t, "t_"))
	// The files on disk are the ones the package embeds.
	ms, err := migrate.Load(os.DirFS("."), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 4 || ms[0].Version != 1 {
		t.Fatalf("migrations = %v, want versions 1 to 4 at least", ms)
	}
	exec(t, db.SQL(), `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	for _, m := range ms[:3] {
		exec(t, db.SQL(), m.SQL, fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, '%s')`, m.Version, m.Name))
	}
	exec(t, db.SQL(),
		`INSERT INTO users (id, username, username_key, display_name, webauthn_handle, created_at) VALUES ('u1', 'Old', 'old', 'Old', '\x0102', 1)`,
		`INSERT INTO passkeys (id, user_id, credential_id, public_key, public_key_algorithm, attestation_type, attestation_format,
			aaguid, sign_count, transports, attachment, user_verified, backup_eligible, backup_state, name, platform, provider, created_at)
			VALUES ('p1', 'u1', '\xc1', '\x00', -7, 'none', 'none', '\x00000000000000000000000000000000', 5, '[]', 'platform',
			true, true, true, 'Old key', 'Apple', '', 1)`,
		`INSERT INTO sessions VALUES ('\xaa', 'u1', 'p1', '{}', '', 'Apple', 'Safari', 1, 1, 9000000000000000, 9000000000000000)`,
		`INSERT INTO ceremony_keys VALUES (1, '\x00', 1, NULL)`,
	)

	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from 3: %v", err)
	}
	if got := fmt.Sprint(versions(t, db)); got != "[1 2 3 4 5 6 7 8 9]" {
		t.Fatalf("versions recorded = %s, want [1 2 3 4 5 6 7 8 9]", got)
	}
	if got, want := schema(t, db), schema(t, openTemp(t)); got != want {
		t.Fatalf("the upgraded schema differs from baseline.sql's\nupgraded:\n%s\nbaseline:\n%s", got, want)
	}
	if u, err := db.UserByID(ctx, "u1"); err != nil || u.Username != "Old" {
		t.Fatalf("the old user: %+v, %v", u, err)
	}
	if p, err := db.PasskeyByCredentialID(ctx, []byte{0xc1}); err != nil || p.Name != "Old key" || p.SignCount != 5 {
		t.Fatalf("the old passkey: %+v, %v", p, err)
	}
	if _, err := db.SessionByKey(ctx, []byte{0xaa}); err != nil {
		t.Fatalf("the old session: %v", err)
	}
	if keys, err := db.CeremonyKeys(ctx); err != nil || len(keys) != 1 {
		t.Fatalf("the old ceremony keys: %v, %v", keys, err)
	}
	// No foreign key to passkeyd's users any more: a host app's user id.
	p := &passkeyd.Passkey{
		ID: "p2", UserID: "42", CredentialID: []byte("cred"), PublicKey: []byte("key"),
		AAGUID: make([]byte, 16), Name: "app user's key", Enabled: true, CreatedAt: time.Now(),
	}
	if err := db.CreatePasskey(ctx, p); err != nil {
		t.Fatalf("a passkey of a user passkeyd does not keep: %v", err)
	}
}

// passkeyd's tables live in an app's own schema beside the app's tables
// of the same everyday names (and golang-migrate's schema_migrations),
// and leave them alone; every name passkeyd makes starts with passkeyd_.
func TestBesideTheAppsTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, pgtest.Schema(t, "t_"))
	exec(t, db.SQL(),
		`CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL)`,
		`CREATE TABLE sessions (token TEXT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id))`,
		`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, dirty BOOLEAN NOT NULL)`,
		`INSERT INTO users (email) VALUES ('alice@example.com')`,
		`INSERT INTO schema_migrations VALUES (3, false)`,
	)
	before := schema(t, db)
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate in the app's schema: %v", err)
	}
	after := schema(t, db)
	for _, line := range strings.Split(before, "\n") {
		if !strings.Contains(after, line) {
			t.Fatalf("the app's schema changed: %q is gone", line)
		}
	}
	for _, line := range strings.Split(after, "\n") {
		if line != "" && !strings.Contains(before, line) && !strings.Contains(line, "passkeyd_") {
			t.Errorf("passkeyd made %q, without its prefix", line)
		}
	}
	var version int
	if err := db.SQL().QueryRow(`SELECT version FROM schema_migrations`).Scan(&version); err != nil || version != 3 {
		t.Fatalf("the app's schema_migrations: %d, %v; want it untouched", version, err)
	}
}

// schema describes the tables, columns, indexes and constraints of db's
// schema, in a form two schemas can be compared by.
func schema(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var sb strings.Builder
	for _, q := range []string{
		`SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' ||
			COALESCE(column_default, '-') || ' ' || COALESCE(collation_name, '-')
			FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1`,
		`SELECT indexname || ' on ' || tablename || ': ' || regexp_replace(indexdef, '^.* USING ', '')
			FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1`,
		`SELECT conname || ' on ' || conrelid::regclass::text || ': ' || pg_get_constraintdef(oid)
			FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1`,
	} {
		rows, err := db.SQL().Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			sb.WriteString(line + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return sb.String()
}

func exec(t *testing.T, db *sql.DB, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	db := openTemp(t)
	if _, err := db.SQL().Exec(`INSERT INTO passkeyd_schema_migrations (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
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
