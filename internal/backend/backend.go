// Package backend opens the store a --db URL names: SQLite
// ("sqlite:PATH") or PostgreSQL ("postgres://..."), migrated. It is shared
// by passkeyd and its load generator; host applications import the
// sqlite or postgres package they use directly.
package backend

import (
	"context"
	"errors"
	"strings"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/postgres"
	"github.com/passkeyd/passkeyd/sqlite"
)

// Backend is a store passkeyd runs on.
type Backend interface {
	passkeyd.UserStore
	passkeyd.Store
	Migrate(ctx context.Context) error
	Ping(ctx context.Context) error
	// Ready reports whether the database can serve: it takes a write,
	// and (SQLite) its file is the one opened.
	Ready(ctx context.Context) error
	Close() error
}

// ErrUnknownScheme is returned for a URL that names neither backend.
var ErrUnknownScheme = errors.New("want sqlite:PATH or postgres://URL")

// OpenReadOnly opens the database named by dsn for reading only: every
// write fails, and Migrate only checks the schema.
func OpenReadOnly(ctx context.Context, dsn string) (Backend, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.OpenReadOnly(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.OpenReadOnly(ctx, dsn)
	default:
		return nil, ErrUnknownScheme
	}
}

// Open opens the database named by dsn; it does not migrate.
func Open(ctx context.Context, dsn string) (Backend, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	default:
		return nil, ErrUnknownScheme
	}
}

// Redact hides a password in a database or Redis URL before it is printed.
func Redact(dsn string) string {
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

// RedactError returns err's message with dsn's password hidden, for
// errors that quote the URL.
func RedactError(err error, dsn string) string {
	msg := err.Error()
	if r := Redact(dsn); r != dsn {
		msg = strings.ReplaceAll(msg, dsn, r)
	}
	return msg
}
