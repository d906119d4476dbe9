package redis_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/passkeyd/passkeyd/redis"
)

// testURL is the Redis the tests use: PASSKEYD_TEST_REDIS, or the one on
// this machine.
func testURL() string {
	if u := os.Getenv("PASSKEYD_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/15"
}

func open(t *testing.T) *redis.Sessions {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := redis.Open(ctx, testURL())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis is needed in CI: %v", err)
		}
		t.Skipf("no Redis reachable (%v); set PASSKEYD_TEST_REDIS or start redis-server", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSessionRoundTrip(t *testing.T) {
	s := open(t)
	// scs calls the context-aware methods of a store that has them, as
	// this one does (its plain ones panic).
	store, ok := s.Store().(scs.CtxStore)
	if !ok {
		t.Fatal("the Redis store is not an scs.CtxStore")
	}
	ctx := context.Background()
	token := "test-" + time.Now().Format("150405.000000000")
	if err := store.CommitCtx(ctx, token, []byte("data"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, found, err := store.FindCtx(ctx, token)
	if err != nil || !found || string(got) != "data" {
		t.Fatalf("Find = %q, %v, %v", got, found, err)
	}
	if err := store.DeleteCtx(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, found, err := store.FindCtx(ctx, token); err != nil || found {
		t.Fatalf("after Delete: found %v, %v", found, err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, url := range []string{"http://127.0.0.1:6379", "redis://127.0.0.1:1/0"} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		s, err := redis.Open(ctx, url)
		cancel()
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
		}
	}
}
