package migrate_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"github.com/passkeyd/passkeyd/internal/migrate"
)

var sqliteDialect = migrate.Dialect{
	Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
	HasColumn:   `SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2`,
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{"sorted by number", fstest.MapFS{
			"m/0002_b.sql": {Data: []byte("B")}, "m/0010_c.sql": {Data: []byte("C")}, "m/0001_a.sql": {Data: []byte("A")},
			"m/README.md": {Data: []byte("not a migration")},
		}, []int{1, 2, 10}, ""},
		{"duplicate version", fstest.MapFS{"m/0001_a.sql": {}, "m/001_b.sql": {}}, nil, "share version 1"},
		{"no number", fstest.MapFS{"m/init.sql": {}}, nil, "must start with a positive number"},
		{"zero", fstest.MapFS{"m/0000_x.sql": {}}, nil, "must start with a positive number"},
		{"missing folder", fstest.MapFS{}, nil, "read migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := migrate.Load(tt.files, "m")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load = %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("versions %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUpAppliesPendingOnce(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	first := []migrate.Migration{{Version: 1, Name: "0001_a.sql", SQL: "CREATE TABLE a (x INTEGER)"}}
	if n, err := migrate.Up(ctx, db, sqliteDialect, first, ""); err != nil || n != 1 {
		t.Fatalf("first Up = %d, %v; want 1", n, err)
	}
	both := append(first, migrate.Migration{Version: 2, Name: "0002_b.sql", SQL: "CREATE TABLE b (y INTEGER)"})
	if n, err := migrate.Up(ctx, db, sqliteDialect, both, ""); err != nil || n != 1 {
		t.Fatalf("upgrade Up = %d, %v; want 1 (only the new one)", n, err)
	}
	if n, err := migrate.Up(ctx, db, sqliteDialect, both, ""); err != nil || n != 0 {
		t.Fatalf("repeat Up = %d, %v; want 0", n, err)
	}
}

func TestUpRollsBackAFailedMigration(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	ms := []migrate.Migration{
		{Version: 1, Name: "0001_a.sql", SQL: "CREATE TABLE a (x INTEGER)"},
		{Version: 2, Name: "0002_bad.sql", SQL: "CREATE TABLE oops ("},
	}
	if _, err := migrate.Up(ctx, db, sqliteDialect, ms, ""); err == nil || !strings.Contains(err.Error(), "0002_bad.sql") {
		t.Fatalf("Up = %v, want an error naming the bad migration", err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name IN ('a', 'passkeyd_schema_migrations')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d tables left behind by a failed migration, want none: nothing is applied half", n)
	}
}

func TestUpRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	newer := []migrate.Migration{
		{Version: 1, Name: "0001_a.sql", SQL: "CREATE TABLE a (x INTEGER)"},
		{Version: 2, Name: "0002_b.sql", SQL: "CREATE TABLE b (y INTEGER)"},
	}
	if _, err := migrate.Up(ctx, db, sqliteDialect, newer, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Up(ctx, db, sqliteDialect, newer[:1], ""); err == nil || !strings.Contains(err.Error(), "newer than this program knows") {
		t.Fatalf("older program's Up = %v, want a refusal", err)
	}
}

// A new database gets the baseline and has every migration recorded; an
// existing one gets the migrations it lacks, not the baseline.
func TestUpBaseline(t *testing.T) {
	ctx := context.Background()
	steps := []migrate.Migration{
		{Version: 1, Name: "0001_a.sql", SQL: "CREATE TABLE a (x INTEGER)"},
		{Version: 2, Name: "0002_b.sql", SQL: "ALTER TABLE a RENAME TO b"},
	}
	baseline := "CREATE TABLE b (x INTEGER)"

	fresh := openDB(t)
	if n, err := migrate.Up(ctx, fresh, sqliteDialect, steps, baseline); err != nil || n != 2 {
		t.Fatalf("Up of a new database = %d, %v; want 2 recorded", n, err)
	}
	if tables(t, fresh) != "b passkeyd_schema_migrations" {
		t.Fatalf("tables of a new database: %s, want the baseline's", tables(t, fresh))
	}

	old := openDB(t)
	if _, err := migrate.Up(ctx, old, sqliteDialect, steps[:1], ""); err != nil {
		t.Fatal(err)
	}
	if n, err := migrate.Up(ctx, old, sqliteDialect, steps, baseline); err != nil || n != 1 {
		t.Fatalf("Up of an existing database = %d, %v; want 1 migration applied", n, err)
	}
	if tables(t, old) != "b passkeyd_schema_migrations" {
		t.Fatalf("tables of an upgraded database: %s", tables(t, old))
	}
}

// Versions before 0004 recorded migrations in schema_migrations: passkeyd's
// is renamed and read on; another program's table of that name (here in
// golang-migrate's layout) is left alone.
func TestUpLegacyTable(t *testing.T) {
	ctx := context.Background()
	steps := []migrate.Migration{
		{Version: 1, Name: "0001_a.sql", SQL: "CREATE TABLE a (x INTEGER)"},
		{Version: 2, Name: "0002_b.sql", SQL: "CREATE TABLE b (y INTEGER)"},
	}
	ours := openDB(t)
	for _, q := range []string{
		"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)",
		"INSERT INTO schema_migrations VALUES (1, '0001_a.sql')",
		"CREATE TABLE a (x INTEGER)",
	} {
		if _, err := ours.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := migrate.Up(ctx, ours, sqliteDialect, steps, "CREATE TABLE unused (z INTEGER)"); err != nil || n != 1 {
		t.Fatalf("Up over passkeyd's old table = %d, %v; want 1 (0002 only)", n, err)
	}
	if tables(t, ours) != "a b passkeyd_schema_migrations" {
		t.Fatalf("tables: %s, want the old table renamed and 0002 applied", tables(t, ours))
	}

	theirs := openDB(t)
	if _, err := theirs.Exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, dirty INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := theirs.Exec("INSERT INTO schema_migrations VALUES (7, 0)"); err != nil {
		t.Fatal(err)
	}
	if n, err := migrate.Up(ctx, theirs, sqliteDialect, steps, ""); err != nil || n != 2 {
		t.Fatalf("Up beside another program's schema_migrations = %d, %v; want 2", n, err)
	}
	var version int
	if err := theirs.QueryRow("SELECT version FROM schema_migrations").Scan(&version); err != nil || version != 7 {
		t.Fatalf("the other program's table: version %d, %v; want it untouched", version, err)
	}
}

// tables lists the database's tables, sorted.
func tables(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, " ")
}
