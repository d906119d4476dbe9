// Package pgtest gives tests a PostgreSQL of their own: a schema on the
// server at PASSKEYD_TEST_POSTGRES, or on the one on this machine, dropped
// when the test ends. Without a server a test is skipped on a developer's
// machine, where PostgreSQL is optional, and fails in CI (CI=true), where
// a skipped backend would pass unnoticed.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd/postgres"
)

// DefaultDSN is the server used when PASSKEYD_TEST_POSTGRES is not set: a
// local PostgreSQL with trust authentication.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// openTimeout is the deadline the passkeyd command gives Open.
const openTimeout = 10 * time.Second

// DSN is the server the tests use.
func DSN() string {
	if dsn := os.Getenv("PASSKEYD_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return DefaultDSN
}

// Unavailable skips the test outside CI and fails it in CI.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Server connects to the test server, closed when the test ends; see
// Unavailable for when there is none.
func Server(t testing.TB) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	db, err := postgres.Open(ctx, DSN())
	if err != nil {
		Unavailable(t, "no PostgreSQL to test against (start one, or set PASSKEYD_TEST_POSTGRES; the default is %s): %v", DefaultDSN, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Schema makes an empty schema for the test, named prefix and random
// hex, dropped when the test ends, and returns a connection string whose
// search_path is that schema: every table a store makes or uses then
// lives in it, so tests — and test runs in parallel — never see each
// other's rows.
func Schema(t testing.TB, prefix string) string {
	t.Helper()
	admin := Server(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := prefix + hex.EncodeToString(b)
	if _, err := admin.SQL().Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	// Cleanups run last-registered first: this one after whatever the
	// test opens on the schema later, and before the admin connection
	// closes.
	t.Cleanup(func() {
		if _, err := admin.SQL().Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithParam(t, DSN(), "search_path", schema)
}

// WithParam adds a setting to a connection string in either of the forms
// pgx takes: a URL, or keyword/value pairs.
func WithParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("test DSN: %v", err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return fmt.Sprintf("%s %s=%s", dsn, key, value)
}
