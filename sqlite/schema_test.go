package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/migrate"
	"github.com/passkeyd/passkeyd/sqlite"
)

// schema describes a database's tables, columns, indexes and foreign
// keys, in a form two databases can be compared by.
func schema(t *testing.T, db *sql.DB) string {
	t.Helper()
	var sb strings.Builder
	for _, name := range column[string](t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`) {
		for _, q := range []string{
			`SELECT strict || ' ' || wr FROM pragma_table_list WHERE name = $1`,
			`SELECT name || ' ' || type || ' ' || "notnull" || ' ' || COALESCE(dflt_value, '-') || ' ' || pk FROM pragma_table_info($1) ORDER BY cid`,
			`SELECT il.origin || ' ' || il."unique" || ' (' || (SELECT group_concat(name, ', ') FROM pragma_index_info(il.name)) || ')'
				FROM pragma_index_list($1) il ORDER BY 1`,
			`SELECT "table" || '.' || "to" || ' ' || on_delete FROM pragma_foreign_key_list($1)`,
		} {
			for _, row := range column[string](t, db, q, name) {
				fmt.Fprintf(&sb, "%s: %s\n", name, row)
			}
		}
	}
	for _, row := range column[string](t, db, `SELECT name || ' on ' || tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`) {
		fmt.Fprintf(&sb, "index %s\n", row)
	}
	return sb.String()
}

func column[T any](t *testing.T, db *sql.DB, q string, args ...any) []T {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
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

func exec(t *testing.T, db *sql.DB, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// oldDatabase makes a database as passkeyd before version 0004 left it:
// migrations 0001 to 0003 recorded in schema_migrations, and a user with
// a passkey, a session and a ceremony key in the unprefixed tables.
func oldDatabase(t *testing.T, path string) {
	t.Helper()
	ms, err := migrate.Load(os.DirFS("."), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec(t, db, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	for _, m := range ms[:3] {
		exec(t, db, m.SQL, fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, '%s')`, m.Version, m.Name))
	}
	exec(t, db,
		`INSERT INTO users (id, username, username_key, display_name, webauthn_handle, created_at) VALUES ('u1', 'Old', 'old', 'Old', x'0102', 1)`,
		`INSERT INTO passkeys (id, user_id, credential_id, public_key, public_key_algorithm, attestation_type, attestation_format,
			aaguid, sign_count, transports, attachment, user_verified, backup_eligible, backup_state, name, platform, provider, created_at)
			VALUES ('p1', 'u1', x'c1', x'00', -7, 'none', 'none', zeroblob(16), 5, '[]', 'platform', 1, 1, 1, 'Old key', 'Apple', '', 1)`,
		`INSERT INTO sessions VALUES (x'aa', 'u1', 'p1', '{}', '', 'Apple', 'Safari', 1, 1, 9000000000000000, 9000000000000000)`,
		`INSERT INTO ceremony_keys VALUES (1, zeroblob(32), 1, NULL)`,
	)
}

// A new database is made by baseline.sql, an old one by the migrations:
// both end with the same schema, and the old one keeps its rows.
func TestBaselineIsTheMigrations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fresh, err := sqlite.Open(ctx, filepath.Join(dir, "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	oldPath := filepath.Join(dir, "old.db")
	oldDatabase(t, oldPath)
	old, err := sqlite.Open(ctx, oldPath)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := old.Migrate(ctx); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if got, want := schema(t, old.SQL()), schema(t, fresh.SQL()); got != want {
		t.Fatalf("the upgraded schema differs from baseline.sql's\nupgraded:\n%s\nbaseline:\n%s", got, want)
	}
	for _, db := range []*sqlite.DB{fresh, old} {
		if v := column[string](t, db.SQL(), `SELECT group_concat(version, ' ') FROM passkeyd_schema_migrations`); v[0] != "1 2 3 4 5 6 7 8 9" {
			t.Fatalf("versions recorded: %s, want 1 2 3 4 5 6 7 8 9", v[0])
		}
	}

	// The old rows are there, under the new names.
	u, err := old.UserByID(ctx, "u1")
	if err != nil || u.Username != "Old" {
		t.Fatalf("the old user: %+v, %v", u, err)
	}
	p, err := old.PasskeyByCredentialID(ctx, []byte{0xc1})
	if err != nil || p.Name != "Old key" || p.SignCount != 5 {
		t.Fatalf("the old passkey: %+v, %v", p, err)
	}
	if _, err := old.SessionByKey(ctx, []byte{0xaa}); err != nil {
		t.Fatalf("the old session: %v", err)
	}
	if keys, err := old.CeremonyKeys(ctx); err != nil || len(keys) != 1 {
		t.Fatalf("the old ceremony keys: %v, %v", keys, err)
	}
	// No foreign key to passkeyd's users any more: a host app's user id.
	np := &passkeyd.Passkey{
		ID: "p2", UserID: "42", CredentialID: []byte{0xc2}, PublicKey: []byte{0}, AAGUID: make([]byte, 16),
		Name: "app user's key", Enabled: true, CreatedAt: time.Now(),
	}
	if err := old.CreatePasskey(ctx, np); err != nil {
		t.Fatalf("a passkey of a user passkeyd does not keep: %v", err)
	}
}

// passkeyd's tables live in an app's own database beside the app's
// tables of the same everyday names, and leave them alone.
func TestBesideTheAppsTables(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "app.db")
	app, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	exec(t, app,
		`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)`,
		`CREATE TABLE sessions (token TEXT PRIMARY KEY, user_id INTEGER NOT NULL)`,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, dirty INTEGER NOT NULL)`,
		`INSERT INTO users VALUES (42, 'alice@example.com')`,
		`INSERT INTO schema_migrations VALUES (3, 0)`,
	)
	before := schema(t, app)

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate in the app's database: %v", err)
	}
	var ours, theirs []string
	for _, name := range column[string](t, app, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`) {
		if strings.HasPrefix(name, "passkeyd_") {
			ours = append(ours, name)
		} else {
			theirs = append(theirs, name)
		}
	}
	if strings.Join(theirs, " ") != "schema_migrations sessions users" || len(ours) != 11 {
		t.Fatalf("tables: passkeyd's %v, the app's %v", ours, theirs)
	}
	after := schema(t, app)
	for _, line := range strings.Split(before, "\n") {
		if !strings.Contains(after, line) {
			t.Fatalf("the app's schema changed: %q is gone", line)
		}
	}
	if email := column[string](t, app, `SELECT email FROM users WHERE id = 42`); len(email) != 1 {
		t.Fatal("the app's user is gone")
	}
}
