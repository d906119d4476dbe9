package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/redis"
	"github.com/passkeyd/passkeyd/storetest"
)

// The keys the store writes (see the package doc); the tests look at them
// directly to check what the store's methods cannot show.
const (
	sessionPrefix      = "passkeyd:session:"
	userSessionsPrefix = "passkeyd:user-sessions:"
)

// testURL is the Redis the tests use: PASSKEYD_TEST_REDIS, or the one on
// this machine.
func testURL() string {
	if u := os.Getenv("PASSKEYD_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/15"
}

// open returns the store, and a plain client of the same database to look
// at its keys with. No Redis skips the test, but fails it in CI.
//
// Other packages' tests may use the same database at the same time, so
// the tests never flush it: each works on users and token hashes of its
// own, made up at random.
func open(t *testing.T) (*redis.Sessions, *goredis.Client) {
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
	opts, err := goredis.ParseURL(testURL())
	if err != nil {
		t.Fatal(err)
	}
	raw := goredis.NewClient(opts)
	t.Cleanup(func() { raw.Close() })
	return s, raw
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUser returns a user id no other test uses, whose sessions are
// deleted when the test ends.
func newUser(t *testing.T, s *redis.Sessions) string {
	t.Helper()
	id := "test-user-" + randomHex(8)
	t.Cleanup(func() {
		// t.Context is done by now.
		if _, err := s.DeleteUserSessions(context.Background(), id, nil); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return id
}

// newSession returns a session of userID, not yet stored, created at
// created and good for an hour; its key is its absolute expiry and a
// random hash, as passkeyd makes keys.
func newSession(userID string, created time.Time) *passkeyd.Session {
	created = created.Truncate(time.Microsecond).UTC()
	abs := created.Add(24 * time.Hour).Truncate(time.Millisecond)
	key := binary.BigEndian.AppendUint64(nil, uint64(abs.UnixMilli()))
	hash := make([]byte, 32)
	_, _ = rand.Read(hash)
	return &passkeyd.Session{
		Key:               append(key, hash...),
		UserID:            userID,
		CreatedAt:         created,
		LastSeenAt:        created,
		ExpiresAt:         created.Add(time.Hour),
		AbsoluteExpiresAt: abs,
	}
}

// TestConformance runs the suite every session store passes. Its
// sessions are of made-up users and expire by themselves within a day.
func TestConformance(t *testing.T) {
	storetest.RunSessions(t, func(t *testing.T) passkeyd.SessionStore {
		s, _ := open(t)
		return s
	}, storetest.SessionOptions{ExpiresByItself: true})
}

func create(t *testing.T, s *redis.Sessions, sess *passkeyd.Session) {
	t.Helper()
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
}

func sessionKey(hash []byte) string { return sessionPrefix + hex.EncodeToString(hash) }

// exists reports whether the key is in Redis.
func exists(t *testing.T, raw *goredis.Client, key string) bool {
	t.Helper()
	n, err := raw.Exists(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// expiresIn returns how long the key has to live.
func expiresIn(t *testing.T, raw *goredis.Client, key string) time.Duration {
	t.Helper()
	d, err := raw.PTTL(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// near fails the test unless got is within a few seconds below want: a
// TTL read a moment after it was set.
func near(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if got > want+time.Second || got < want-5*time.Second {
		t.Errorf("%s = %v, want about %v", what, got, want)
	}
}

func TestNotFound(t *testing.T) {
	s, raw := open(t)
	user := newUser(t, s)
	missing := newSession(user, time.Now())
	deleted := newSession(user, time.Now())
	create(t, s, deleted)
	if err := s.DeleteSession(t.Context(), deleted.Key); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		hash []byte
	}{
		{"never created", missing.Key},
		{"deleted", deleted.Key},
		{"nil hash", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.SessionByKey(t.Context(), tt.hash); !errors.Is(err, passkeyd.ErrNotFound) {
				t.Errorf("SessionByKey: %v, want ErrNotFound", err)
			}
			now := time.Now()
			if err := s.TouchSession(t.Context(), tt.hash, now, now.Add(time.Hour)); !errors.Is(err, passkeyd.ErrNotFound) {
				t.Errorf("TouchSession: %v, want ErrNotFound", err)
			}
			// The touch must not have made the key (a plain HSET would).
			if exists(t, raw, sessionKey(tt.hash)) {
				t.Error("TouchSession of a missing session created its key")
			}
			if _, err := s.SessionByKey(t.Context(), tt.hash); !errors.Is(err, passkeyd.ErrNotFound) {
				t.Errorf("SessionByKey after the touch: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestTouch(t *testing.T) {
	s, raw := open(t)
	user := newUser(t, s)
	now := time.Now().Truncate(time.Microsecond).UTC()
	tests := []struct {
		name    string
		expires time.Duration // from now; the session's absolute expiry is in 24h
		setTTL  time.Duration // what the user's set then has left, about
	}{
		{"within the lifetime", 30 * time.Minute, 24 * time.Hour},
		// A caller who moves ExpiresAt past AbsoluteExpiresAt: the set
		// must still outlive the session.
		{"past the lifetime", 48 * time.Hour, 48 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess := newSession(user, now.Add(-time.Minute))
			sess.AbsoluteExpiresAt = now.Add(24 * time.Hour)
			create(t, s, sess)
			seen, expires := now.Add(10*time.Second), now.Add(tt.expires)
			if err := s.TouchSession(t.Context(), sess.Key, seen, expires); err != nil {
				t.Fatalf("TouchSession: %v", err)
			}
			got, err := s.SessionByKey(t.Context(), sess.Key)
			if err != nil {
				t.Fatal(err)
			}
			want := *sess
			want.LastSeenAt, want.ExpiresAt = seen, expires
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("after the touch =\n%+v\nwant\n%+v", *got, want)
			}
			near(t, "session TTL", expiresIn(t, raw, sessionKey(sess.Key)), time.Until(expires))
			near(t, "user set TTL", expiresIn(t, raw, userSessionsPrefix+user), time.Until(now.Add(tt.setTTL)))
		})
	}
}

func TestUserSetExpiry(t *testing.T) {
	s, raw := open(t)
	user := newUser(t, s)
	now := time.Now()
	set := userSessionsPrefix + user
	// The set's expiry follows the latest absolute expiry of its
	// sessions, and never comes closer.
	for _, tt := range []struct {
		absolute time.Duration
		want     time.Duration
	}{
		{2 * time.Hour, 2 * time.Hour},
		{5 * time.Hour, 5 * time.Hour},
		{time.Hour, 5 * time.Hour},
	} {
		sess := newSession(user, now)
		sess.ExpiresAt = now.Add(30 * time.Minute)
		sess.AbsoluteExpiresAt = now.Add(tt.absolute)
		create(t, s, sess)
		near(t, "user set TTL after a session to "+tt.absolute.String(), expiresIn(t, raw, set), time.Until(now.Add(tt.want)))
	}
}

func TestDelete(t *testing.T) {
	s, raw := open(t)
	user := newUser(t, s)
	gone, stays := newSession(user, time.Now()), newSession(user, time.Now())
	create(t, s, gone)
	create(t, s, stays)
	for _, tt := range []struct {
		name string
		hash []byte
	}{
		{"existing", gone.Key},
		{"deleted already", gone.Key},
		{"never created", newSession(user, time.Now()).Key},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.DeleteSession(t.Context(), tt.hash); err != nil {
				t.Fatalf("DeleteSession: %v", err)
			}
			if exists(t, raw, sessionKey(tt.hash)) {
				t.Error("the session's key is still there")
			}
			in, err := raw.SIsMember(t.Context(), userSessionsPrefix+user, hex.EncodeToString(tt.hash)).Result()
			if err != nil {
				t.Fatal(err)
			}
			if in {
				t.Error("the session is still in its user's set")
			}
		})
	}
	if _, err := s.SessionByKey(t.Context(), stays.Key); err != nil {
		t.Errorf("the other session: %v", err)
	}
}

func TestDeleteExpiredSessions(t *testing.T) {
	s, _ := open(t)
	n, err := s.DeleteExpiredSessions(t.Context(), time.Now())
	if n != 0 || err != nil {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 0, nil (Redis expires sessions itself)", n, err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tt := range []struct {
		url, want string
	}{
		{"http://127.0.0.1:6379", "redis:"},
		{"redis://127.0.0.1:1/0", "does not answer"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		s, err := redis.Open(ctx, tt.url)
		cancel()
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", tt.url)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) = %v, want it to say %q", tt.url, err, tt.want)
		}
	}
}

// rediss:// speaks TLS: to the plain Redis the tests run, the same
// address that answers over redis:// gives no session store, since the
// handshake fails instead of sessions crossing the network in clear.
func TestRedissSpeaksTLS(t *testing.T) {
	open(t) // skips, or fails in CI, without a Redis
	u, err := url.Parse(testURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme = "rediss"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := redis.Open(ctx, u.String())
	if err == nil {
		s.Close()
		t.Fatalf("Open(%s) reached a plain Redis: the connection was not TLS", u.Redacted())
	}
}
