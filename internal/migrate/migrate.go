// Package migrate applies a backend's embedded, numbered SQL migrations.
//
// Migrations are files named NNNN_description.sql. All pending ones are
// applied in one transaction, so a schema is never left half upgraded, and
// the versions applied are recorded in the table schema_migrations.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads the migrations in dir of fsys, sorted by version. Two files
// with one version, or a name without a number, are errors.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and an underscore", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Dialect holds what differs between databases.
type Dialect struct {
	// Lock, when set, runs first in the migration transaction and holds a
	// lock until it ends, so two instances starting at once do not both
	// apply a migration. (SQLite needs none: its write transactions are
	// already exclusive.)
	Lock func(ctx context.Context, tx *sql.Tx) error
	// Placeholder returns the n-th bind parameter (from 1).
	Placeholder func(n int) string
}

// Up applies every migration newer than the database's version. It refuses
// a database whose schema is newer than the newest migration, since this
// program would not know that schema.
func Up(ctx context.Context, db *sql.DB, d Dialect, migrations []Migration) (applied int, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin migration: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if d.Lock != nil {
		if err := d.Lock(ctx, tx); err != nil {
			return 0, fmt.Errorf("lock for migration: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL
	)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if n := len(migrations); n > 0 && current > migrations[n-1].Version {
		return 0, fmt.Errorf("database schema version %d is newer than this program knows (%d): upgrade passkeyd", current, migrations[n-1].Version)
	}
	insert := fmt.Sprintf(`INSERT INTO schema_migrations (version, name) VALUES (%s, %s)`, d.Placeholder(1), d.Placeholder(2))
	for _, m := range migrations {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return 0, fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, insert, m.Version, m.Name); err != nil {
			return 0, fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		applied++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit migrations: %w", err)
	}
	return applied, nil
}
