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

var sqliteDialect = migrate.Dialect{Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) }}

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
	if n, err := migrate.Up(ctx, db, sqliteDialect, first); err != nil || n != 1 {
		t.Fatalf("first Up = %d, %v; want 1", n, err)
	}
	both := append(first, migrate.Migration{Version: 2, Name: "0002_b.sql", SQL: "CREATE TABLE b (y INTEGER)"})
	if n, err := migrate.Up(ctx, db, sqliteDialect, both); err != nil || n != 1 {
		t.Fatalf("upgrade Up = %d, %v; want 1 (only the new one)", n, err)
	}
	if n, err := migrate.Up(ctx, db, sqliteDialect, both); err != nil || n != 0 {
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
	if _, err := migrate.Up(ctx, db, sqliteDialect, ms); err == nil || !strings.Contains(err.Error(), "0002_bad.sql") {
		t.Fatalf("Up = %v, want an error naming the bad migration", err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name IN ('a', 'schema_migrations')`).Scan(&n); err != nil {
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
	if _, err := migrate.Up(ctx, db, sqliteDialect, newer); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Up(ctx, db, sqliteDialect, newer[:1]); err == nil || !strings.Contains(err.Error(), "newer than this program knows") {
		t.Fatalf("older program's Up = %v, want a refusal", err)
	}
}
