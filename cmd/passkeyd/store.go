package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/passkeyd/passkeyd/internal/backend"
)

// connectTimeout bounds how long a command waits for the database before
// it gives up with exit status 2.
const connectTimeout = 10 * time.Second

// defaultDB is the database used when neither --db nor PASSKEYD_DB is set.
const defaultDB = "sqlite:passkeyd.db"

// addDBFlag adds --db, which every command takes.
func addDBFlag(fs *flag.FlagSet) *string {
	return fs.String("db", defaultDB, "database: sqlite:PATH or postgres://...")
}

// openBackend opens the database named by dsn and brings its schema up to
// date. A database that cannot be opened within connectTimeout is a usage
// error (exit status 2), with the reason on one line.
func openBackend(ctx context.Context, dsn string) (backend.Backend, error) {
	return openWith(ctx, dsn, backend.Open)
}

// openReadOnly opens the database for a command that only reads: read-
// only, so that it needs no write access, with its schema checked, not
// migrated. A SQLite file that does not exist yet is made and migrated,
// as by every command.
func openReadOnly(ctx context.Context, dsn string) (backend.Backend, error) {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return openBackend(ctx, dsn)
		}
	}
	return openWith(ctx, dsn, backend.OpenReadOnly)
}

func openWith(ctx context.Context, dsn string, open func(context.Context, string) (backend.Backend, error)) (backend.Backend, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	b, err := open(ctx, dsn)
	if errors.Is(err, backend.ErrUnknownScheme) {
		return nil, usagef("--db %q: %v", redactDSN(dsn), err)
	}
	if err != nil {
		return nil, usagef("database %s cannot be reached: %s", redactDSN(dsn), redactErr(err, dsn))
	}
	if err := b.Migrate(ctx); err != nil {
		b.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, usagef("database %s did not answer within %s", redactDSN(dsn), connectTimeout)
		}
		return nil, fmt.Errorf("migrate %s: %w", redactDSN(dsn), err)
	}
	return b, nil
}

// redactDSN hides a password in a database URL before it is printed.
func redactDSN(dsn string) string { return backend.Redact(dsn) }

// redactErr hides a database URL's password in an error message.
func redactErr(err error, dsn string) string { return backend.RedactError(err, dsn) }

// migrateCmd is "passkeyd migrate".
func migrateCmd(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("migrate")
	dsn := addDBFlag(fs)
	pos, err := parseFlags(fs, args, e.getenv, e.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("migrate: unexpected argument %q", pos[0])
	}
	b, err := openBackend(ctx, *dsn)
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintln(e.stdout, "schema is up to date")
	return nil
}
