// Package migrate applies a backend's embedded, numbered SQL migrations.
//
// Migrations are files named NNNN_description.sql. All pending ones are
// applied in one transaction, so a schema is never left half upgraded, and
// the versions applied are recorded in the table passkeyd_schema_migrations
// (a host application's own schema_migrations is not touched). A new
// database gets baseline.sql instead, the schema that all migrations
// build, made at once: so that a new database never holds the unprefixed
// tables of early versions, which could collide with an application's.
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
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") || e.Name() == BaselineFile {
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

// BaselineFile is the name of the schema that all migrations build, in
// the migrations' folder.
const BaselineFile = "baseline.sql"

// LoadBaseline reads BaselineFile in dir of fsys.
func LoadBaseline(fsys fs.FS, dir string) (string, error) {
	b, err := fs.ReadFile(fsys, path.Join(dir, BaselineFile))
	if err != nil {
		return "", fmt.Errorf("read the baseline schema: %w", err)
	}
	return string(b), nil
}

// Table is where the versions applied are recorded. Versions before 0004
// recorded them in legacyTable, which Up renames.
const (
	Table       = "passkeyd_schema_migrations"
	legacyTable = "schema_migrations"
)

// Dialect holds what differs between databases.
type Dialect struct {
	// Lock, when set, runs first in the migration transaction and holds a
	// lock until it ends, so two instances starting at once do not both
	// apply a migration. (SQLite needs none: its write transactions are
	// already exclusive.)
	Lock func(ctx context.Context, tx *sql.Tx) error
	// Placeholder returns the n-th bind parameter (from 1).
	Placeholder func(n int) string
	// HasColumn is a query of one row and column: 1 when the table named
	// by the first parameter has the column named by the second, else 0.
	HasColumn string
	// AfterLegacyRename, when set, runs once the table of versions before
	// 0004 is renamed to Table: PostgreSQL names its primary key anew.
	AfterLegacyRename string
}

// Up brings the database up to the last of migrations: a new database
// by baseline (the schema all of them build) and an existing one by the
// migrations newer than its version. It refuses a database whose schema
// is newer than the newest migration, since this program would not know
// that schema.
func Up(ctx context.Context, db *sql.DB, d Dialect, migrations []Migration, baseline string) (applied int, err error) {
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
	if err := renameLegacyTable(ctx, tx, d, migrations); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+Table+` (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL
	)`); err != nil {
		return 0, fmt.Errorf("create %s: %w", Table, err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+Table).Scan(&current); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if n := len(migrations); n > 0 && current > migrations[n-1].Version {
		return 0, fmt.Errorf("database schema version %d is newer than this program knows (%d): upgrade passkeyd", current, migrations[n-1].Version)
	}
	insert := fmt.Sprintf(`INSERT INTO %s (version, name) VALUES (%s, %s)`, Table, d.Placeholder(1), d.Placeholder(2))
	if current == 0 && baseline != "" {
		if _, err := tx.ExecContext(ctx, baseline); err != nil {
			return 0, fmt.Errorf("apply %s: %w", BaselineFile, err)
		}
	}
	for _, m := range migrations {
		if m.Version <= current {
			continue
		}
		if current > 0 || baseline == "" {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return 0, fmt.Errorf("apply migration %s: %w", m.Name, err)
			}
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

// renameLegacyTable renames the table where versions before 0004 recorded
// the migrations applied, when it is passkeyd's: it has a name column and
// names passkeyd's first migration. A table of that name of anyone else's
// (golang-migrate's, say) is left alone.
func renameLegacyTable(ctx context.Context, tx *sql.Tx, d Dialect, migrations []Migration) error {
	if d.HasColumn == "" || len(migrations) == 0 {
		return nil
	}
	var has int
	if err := tx.QueryRowContext(ctx, d.HasColumn, legacyTable, "name").Scan(&has); err != nil {
		return fmt.Errorf("look for %s: %w", legacyTable, err)
	}
	if has == 0 {
		return nil
	}
	var ours int
	q := fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE version = %s AND name = %s`, legacyTable, d.Placeholder(1), d.Placeholder(2))
	if err := tx.QueryRowContext(ctx, q, migrations[0].Version, migrations[0].Name).Scan(&ours); err != nil {
		return fmt.Errorf("read %s: %w", legacyTable, err)
	}
	if ours == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `ALTER TABLE `+legacyTable+` RENAME TO `+Table); err != nil {
		return fmt.Errorf("rename %s: %w", legacyTable, err)
	}
	if d.AfterLegacyRename != "" {
		if _, err := tx.ExecContext(ctx, d.AfterLegacyRename); err != nil {
			return fmt.Errorf("rename %s: %w", legacyTable, err)
		}
	}
	return nil
}

// Check reports, without writing, whether the database is at the last of
// migrations: for a database opened read-only, which cannot be migrated.
func Check(ctx context.Context, db *sql.DB, migrations []Migration) error {
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+Table).Scan(&current); err != nil {
		return fmt.Errorf("read schema version (is the database migrated? run passkeyd migrate): %w", err)
	}
	if n := len(migrations); n > 0 && current != migrations[n-1].Version {
		return fmt.Errorf("database schema version %d, this program's is %d: run passkeyd migrate", current, migrations[n-1].Version)
	}
	return nil
}
