package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/postgres"
	"github.com/passkeyd/passkeyd/sqlite"
)

// connectTimeout bounds how long a command waits for the database before
// it gives up with exit status 2.
const connectTimeout = 10 * time.Second

// defaultDB is the database used when neither --db nor PASSKEYD_DB is set.
const defaultDB = "sqlite:passkeyd.db"

// backend is a store the server runs on.
type backend interface {
	passkeyd.UserStore
	passkeyd.PasskeyStore
	passkeyd.CeremonyStore
	Migrate(ctx context.Context) error
	Ping(ctx context.Context) error
	SessionStore() scs.Store
	Close() error
}

// addDBFlag adds --db, which every command takes.
func addDBFlag(fs *flag.FlagSet) *string {
	return fs.String("db", defaultDB, "database: sqlite:PATH or postgres://...")
}

// openBackend opens the database named by dsn and brings its schema up to
// date. A database that cannot be opened within connectTimeout is a usage
// error (exit status 2), with the reason on one line.
func openBackend(ctx context.Context, dsn string) (backend, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	var b backend
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, usagef("database %s cannot be opened: %v", dsn, err)
		}
		b = db
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, usagef("database %s cannot be reached: %v", redactDSN(dsn), redactErr(err, dsn))
		}
		b = db
	default:
		return nil, usagef("--db %q: use sqlite:PATH or postgres://...", dsn)
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
func redactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return dsn
	}
	cred := rest[:at]
	if user, _, hasPw := strings.Cut(cred, ":"); hasPw {
		cred = user + ":xxxxx"
	}
	return scheme + "://" + cred + rest[at:]
}

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

// redactErr hides a database URL's password in an error message that may
// quote the URL.
func redactErr(err error, dsn string) string {
	msg := err.Error()
	if r := redactDSN(dsn); r != dsn {
		msg = strings.ReplaceAll(msg, dsn, r)
	}
	return msg
}
