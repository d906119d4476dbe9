package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/pgtest"
	"github.com/passkeyd/passkeyd/sqlite"
)

// checkReadOnly opens dsn as the commands that only read do (user list,
// passkey list, keys list, audit), and checks that reads work and a
// write is refused as read-only, which isRefusal tells.
func checkReadOnly(t *testing.T, dsn string, isRefusal func(error) bool) {
	t.Helper()
	ctx := context.Background()
	b, err := openReadOnly(ctx, dsn)
	if err != nil {
		t.Fatalf("openReadOnly: %v", err)
	}
	defer b.Close()
	if _, err := b.ListUsers(ctx); err != nil {
		t.Errorf("a read: %v", err)
	}
	u, err := passkeyd.NewUser("writer", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateUser(ctx, u); !isRefusal(err) {
		t.Errorf("a write through the read-only database: %v, want it refused as read-only", err)
	}
}

// A SQLite file that does not exist yet is made and migrated, as by every
// command; an existing one is opened read-only.
func TestOpenReadOnlySQLite(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "ro.db")
	b, err := openReadOnly(context.Background(), dsn)
	if err != nil {
		t.Fatalf("openReadOnly of a new file: %v", err)
	}
	b.Close()
	checkReadOnly(t, dsn, func(err error) bool { return errors.Is(err, sqlite.ErrReadOnly) })
}

// On PostgreSQL the sessions' transactions are read-only.
func TestOpenReadOnlyPostgres(t *testing.T) {
	dsn := pgtest.Schema(t, "ro_")
	rw, err := openBackend(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	rw.Close()
	checkReadOnly(t, dsn, func(err error) bool {
		var pgErr *pgconn.PgError
		return errors.As(err, &pgErr) && pgErr.Code == "25006" // read_only_sql_transaction
	})
}
