package site_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/pgtest"
	"github.com/passkeyd/passkeyd/postgres"
	"github.com/passkeyd/passkeyd/redis"
	"github.com/passkeyd/passkeyd/sqlite"
)

// backendDB is what the site tests need of a database.
type backendDB interface {
	passkeyd.UserStore
	passkeyd.Store
	Ping(ctx context.Context) error
	Ready(ctx context.Context) error
	Close() error
}

// backends are the stores the site runs on, for tests that must hold on
// each.
var backends = []string{"sqlite", "postgres", "redis"}

// openBackend opens an empty, migrated database of the named kind for the
// test ("" is SQLite), and where the sessions are kept: the database
// itself, or Redis. PostgreSQL and Redis are
// skipped when absent, except in CI, where their absence fails the test.
func openBackend(t *testing.T, kind string) (backendDB, passkeyd.SessionStore, func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch kind {
	case "", "sqlite", "redis":
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "passkeyd.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if kind != "redis" {
			return db, db, db.Ping
		}
		rs := openRedis(t)
		return db, rs, func(ctx context.Context) error {
			if err := db.Ping(ctx); err != nil {
				return err
			}
			return rs.Ping(ctx)
		}
	case "postgres":
		db := openPostgres(t)
		return db, db, db.Ping
	}
	t.Fatalf("unknown backend %q", kind)
	return nil, nil, nil
}

func openRedis(t *testing.T) *redis.Sessions {
	t.Helper()
	u := os.Getenv("PASSKEYD_TEST_REDIS")
	if u == "" {
		u = "redis://127.0.0.1:6379/15"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rs, err := redis.Open(ctx, u)
	if err != nil {
		pgtest.Unavailable(t, "no Redis at %s (set PASSKEYD_TEST_REDIS): %v", u, err)
	}
	t.Cleanup(func() { rs.Close() })
	return rs
}

// openPostgres opens a migrated store in a schema of the test's own,
// dropped when it ends.
func openPostgres(t *testing.T) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, pgtest.Schema(t, "site_"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
