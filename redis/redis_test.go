package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/redis"
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
// created and good for an hour.
func newSession(userID string, created time.Time) *passkeyd.Session {
	hash := make([]byte, 32)
	_, _ = rand.Read(hash)
	created = created.Truncate(time.Microsecond).UTC()
	return &passkeyd.Session{
		ID:                randomHex(16),
		TokenHash:         hash,
		UserID:            userID,
		CreatedAt:         created,
		LastSeenAt:        created,
		ExpiresAt:         created.Add(time.Hour),
		AbsoluteExpiresAt: created.Add(24 * time.Hour),
	}
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

func ptr[T any](v T) *T { return &v }

func TestRoundTrip(t *testing.T) {
	s, raw := open(t)
	user := newUser(t, s)
	// Times with nanoseconds, in a zone other than UTC: they come back
	// to the microsecond, in UTC.
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	at := time.Now().In(zone).Add(123 * time.Nanosecond)
	tests := []struct {
		name string
		sess passkeyd.Session
	}{
		{"password login", passkeyd.Session{
			UserID:   user,
			Platform: "Linux", Browser: "Firefox",
		}},
		{"passkey login", passkeyd.Session{
			UserID:    user,
			PasskeyID: "pk-1",
			Auth: passkeyd.Auth{
				UsePasskey: true, Name: ptr("My phone ✓"), ID: ptr("pk-1"),
				Platform: ptr("Android"), CrossPlatform: ptr(true),
			},
			Provider: "Google Password Manager",
			Platform: "macOS", Browser: "Safari",
		}},
		{"cross platform false", passkeyd.Session{
			UserID: user, PasskeyID: "pk-2",
			Auth: passkeyd.Auth{UsePasskey: true, ID: ptr("pk-2"), CrossPlatform: ptr(false)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.sess
			in.ID = randomHex(16)
			in.TokenHash = make([]byte, 32)
			_, _ = rand.Read(in.TokenHash)
			in.CreatedAt = at
			in.LastSeenAt = at.Add(time.Second)
			in.ExpiresAt = at.Add(time.Hour + 7*time.Microsecond)
			in.AbsoluteExpiresAt = at.Add(48 * time.Hour)
			create(t, s, &in)

			got, err := s.SessionByToken(t.Context(), in.TokenHash)
			if err != nil {
				t.Fatalf("SessionByToken: %v", err)
			}
			want := in
			for _, tm := range []*time.Time{&want.CreatedAt, &want.LastSeenAt, &want.ExpiresAt, &want.AbsoluteExpiresAt} {
				*tm = tm.Truncate(time.Microsecond).UTC()
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("SessionByToken =\n%+v\nwant\n%+v", *got, want)
			}
			if got.CreatedAt.Location() != time.UTC || got.ExpiresAt.Location() != time.UTC {
				t.Errorf("times in %v, want UTC", got.CreatedAt.Location())
			}
			near(t, "session TTL", expiresIn(t, raw, sessionKey(in.TokenHash)), time.Until(in.ExpiresAt))
			near(t, "user set TTL", expiresIn(t, raw, userSessionsPrefix+user), time.Until(in.AbsoluteExpiresAt))

			// A second session with the same token hash would take
			// over the first: refused, and the first is unchanged.
			dup := in
			dup.ID, dup.UserID = randomHex(16), newUser(t, s)
			if err := s.CreateSession(t.Context(), &dup); err == nil {
				t.Error("CreateSession of an existing token hash succeeded")
			}
			if got, err := s.SessionByToken(t.Context(), in.TokenHash); err != nil || got.ID != in.ID {
				t.Errorf("after the duplicate: %+v, %v", got, err)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	s, raw := open(t)
	user := newUser(t, s)
	missing := newSession(user, time.Now())
	deleted := newSession(user, time.Now())
	create(t, s, deleted)
	if err := s.DeleteSession(t.Context(), deleted.TokenHash); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		hash []byte
	}{
		{"never created", missing.TokenHash},
		{"deleted", deleted.TokenHash},
		{"nil hash", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.SessionByToken(t.Context(), tt.hash); !errors.Is(err, passkeyd.ErrNotFound) {
				t.Errorf("SessionByToken: %v, want ErrNotFound", err)
			}
			now := time.Now()
			if err := s.TouchSession(t.Context(), tt.hash, now, now.Add(time.Hour)); !errors.Is(err, passkeyd.ErrNotFound) {
				t.Errorf("TouchSession: %v, want ErrNotFound", err)
			}
			// The touch must not have made the key (a plain HSET would).
			if exists(t, raw, sessionKey(tt.hash)) {
				t.Error("TouchSession of a missing session created its key")
			}
			if _, err := s.SessionByToken(t.Context(), tt.hash); !errors.Is(err, passkeyd.ErrNotFound) {
				t.Errorf("SessionByToken after the touch: %v, want ErrNotFound", err)
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
			if err := s.TouchSession(t.Context(), sess.TokenHash, seen, expires); err != nil {
				t.Fatalf("TouchSession: %v", err)
			}
			got, err := s.SessionByToken(t.Context(), sess.TokenHash)
			if err != nil {
				t.Fatal(err)
			}
			want := *sess
			want.LastSeenAt, want.ExpiresAt = seen, expires
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("after the touch =\n%+v\nwant\n%+v", *got, want)
			}
			near(t, "session TTL", expiresIn(t, raw, sessionKey(sess.TokenHash)), time.Until(expires))
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
		{"existing", gone.TokenHash},
		{"deleted already", gone.TokenHash},
		{"never created", newSession(user, time.Now()).TokenHash},
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
	if _, err := s.SessionByToken(t.Context(), stays.TokenHash); err != nil {
		t.Errorf("the other session: %v", err)
	}
}

// ids returns the sessions' ids, in order.
func ids(sessions []*passkeyd.Session) []string {
	out := make([]string, len(sessions))
	for i, s := range sessions {
		out[i] = s.ID
	}
	return out
}

func TestUserSessions(t *testing.T) {
	s, raw := open(t)
	user, other := newUser(t, s), newUser(t, s)
	t0 := time.Now()

	got, err := s.UserSessions(t.Context(), user)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("UserSessions of nobody's = %#v, %v; want an empty slice", got, err)
	}

	// Newest first; of two begun in the same microsecond, the greater
	// id first.
	oldest := newSession(user, t0)
	tieA, tieB := newSession(user, t0.Add(time.Second)), newSession(user, t0.Add(time.Second))
	tieA.ID, tieB.ID = "a-"+tieA.ID, "b-"+tieB.ID
	newest := newSession(user, t0.Add(2*time.Second))
	expired := newSession(user, t0.Add(3*time.Second))
	for _, sess := range []*passkeyd.Session{tieA, newest, oldest, expired, tieB, newSession(other, t0)} {
		create(t, s, sess)
	}
	// Redis expires a session's key but leaves it in the user's set.
	if err := raw.Del(t.Context(), sessionKey(expired.TokenHash)).Err(); err != nil {
		t.Fatal(err)
	}
	got, err = s.UserSessions(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	if want := ids([]*passkeyd.Session{newest, tieB, tieA, oldest}); !reflect.DeepEqual(ids(got), want) {
		t.Errorf("UserSessions = %v, want %v", ids(got), want)
	}
	if in, err := raw.SIsMember(t.Context(), userSessionsPrefix+user, hex.EncodeToString(expired.TokenHash)).Result(); err != nil || in {
		t.Errorf("the expired session is still in the set (%v, %v)", in, err)
	}
}

func TestDeleteUserSessions(t *testing.T) {
	s, raw := open(t)
	tests := []struct {
		name string
		keep int // index of the session kept; -1 keeps none, -2 one of another user's
	}{
		{"keep one", 1},
		{"keep none", -1},
		{"keep another user's", -2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, other := newUser(t, s), newUser(t, s)
			now := time.Now()
			var mine []*passkeyd.Session
			for i := range 3 {
				sess := newSession(user, now.Add(time.Duration(i)*time.Second))
				create(t, s, sess)
				mine = append(mine, sess)
			}
			theirs := newSession(other, now)
			create(t, s, theirs)
			// One that Redis expired already is not counted.
			expired := newSession(user, now)
			create(t, s, expired)
			if err := raw.Del(t.Context(), sessionKey(expired.TokenHash)).Err(); err != nil {
				t.Fatal(err)
			}

			var keep []byte
			wantLeft, wantN := []string{}, int64(3)
			switch tt.keep {
			case -1:
			case -2:
				keep = theirs.TokenHash
			default:
				keep = mine[tt.keep].TokenHash
				wantLeft, wantN = []string{mine[tt.keep].ID}, 2
			}
			n, err := s.DeleteUserSessions(t.Context(), user, keep)
			if err != nil {
				t.Fatalf("DeleteUserSessions: %v", err)
			}
			if n != wantN {
				t.Errorf("DeleteUserSessions deleted %d, want %d", n, wantN)
			}
			left, err := s.UserSessions(t.Context(), user)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(left), wantLeft) {
				t.Errorf("left %v, want %v", ids(left), wantLeft)
			}
			for _, sess := range mine {
				kept := len(wantLeft) == 1 && sess.ID == wantLeft[0]
				if exists(t, raw, sessionKey(sess.TokenHash)) != kept {
					t.Errorf("session %s: key exists %v, want %v", sess.ID, !kept, kept)
				}
			}
			if _, err := s.SessionByToken(t.Context(), theirs.TokenHash); err != nil {
				t.Errorf("another user's session: %v", err)
			}
			if len(wantLeft) == 0 && exists(t, raw, userSessionsPrefix+user) {
				t.Error("the user's set outlived all their sessions")
			}
		})
	}
}

// TestTouchDeleteRace is the bug this store was written against: a
// request that touches its session while the user logs out must not bring
// the session back.
func TestTouchDeleteRace(t *testing.T) {
	s, raw := open(t)
	user := newUser(t, s)
	const rounds, touchers, afterDelete = 20, 4, 5
	resurrections := 0
	for range rounds {
		sess := newSession(user, time.Now())
		create(t, s, sess)
		ctx := t.Context()

		var touched, done sync.WaitGroup
		start, deleted := make(chan struct{}), make(chan struct{})
		touched.Add(touchers)
		for range touchers {
			done.Go(func() {
				first := true
				left := afterDelete
				for left > 0 {
					// Once the delete is done, every touch must fail;
					// before, any may, as the delete may be under way.
					var after bool
					select {
					case <-deleted:
						after = true
						left--
					default:
					}
					now := time.Now()
					err := s.TouchSession(ctx, sess.TokenHash, now, now.Add(time.Hour))
					if err != nil && !errors.Is(err, passkeyd.ErrNotFound) {
						t.Errorf("TouchSession: %v", err)
						left = 0
					}
					if after && err == nil {
						t.Error("TouchSession of a deleted session succeeded")
					}
					if first {
						first = false
						touched.Done()
						<-start
					}
				}
			})
		}
		done.Go(func() {
			defer close(deleted)
			// Delete while the touchers are at it: each has touched
			// once, and all go on at once.
			touched.Wait()
			close(start)
			if err := s.DeleteSession(ctx, sess.TokenHash); err != nil {
				t.Errorf("DeleteSession: %v", err)
			}
		})
		done.Wait()

		if exists(t, raw, sessionKey(sess.TokenHash)) {
			resurrections++
		}
		if _, err := s.SessionByToken(ctx, sess.TokenHash); !errors.Is(err, passkeyd.ErrNotFound) {
			t.Errorf("SessionByToken after the race: %v, want ErrNotFound", err)
		}
	}
	if resurrections > 0 {
		t.Errorf("%d of %d deleted sessions came back", resurrections, rounds)
	}
	if left, err := s.UserSessions(t.Context(), user); err != nil || len(left) != 0 {
		t.Errorf("UserSessions after the races = %v, %v; want none", ids(left), err)
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
