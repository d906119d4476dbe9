package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
)

// newSession returns a password-login session of the user, begun at
// created, as passkeyd makes one: its key is its absolute expiry and the
// SHA-256 of a random secret. It does not store it.
func newSession(userID string, created time.Time) *passkeyd.Session {
	created = micro(created)
	abs := created.Add(24 * time.Hour).Truncate(time.Millisecond)
	sum := sha256.Sum256(randomBytes(32))
	return &passkeyd.Session{
		Key:               append(binary.BigEndian.AppendUint64(nil, uint64(abs.UnixMilli())), sum[:]...),
		UserID:            userID,
		Platform:          "Linux",
		Browser:           "Firefox",
		CreatedAt:         created,
		LastSeenAt:        created,
		ExpiresAt:         created.Add(time.Hour),
		AbsoluteExpiresAt: abs,
	}
}

// withPasskey makes s a session of a passkey login with p, with every
// optional field of its Auth set.
func withPasskey(s *passkeyd.Session, p *passkeyd.Passkey, crossPlatform bool) *passkeyd.Session {
	s.PasskeyID = p.ID
	s.Provider = p.Provider
	s.Auth = passkeyd.Auth{
		UsePasskey:    true,
		Name:          ptr(p.Name),
		ID:            ptr(p.ID),
		Platform:      ptr(p.Platform),
		CrossPlatform: ptr(crossPlatform),
	}
	return s
}

// mustSession stores a new session of the user, begun at created.
func mustSession(t *testing.T, s passkeyd.SessionStore, userID string, created time.Time) *passkeyd.Session {
	t.Helper()
	sess := newSession(userID, created)
	if err := s.CreateSession(context.Background(), sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess
}

// cloneSession returns a deep copy of s, to keep what was stored apart
// from the value handed to the store.
func cloneSession(s *passkeyd.Session) *passkeyd.Session {
	c := *s
	c.Key = append([]byte(nil), s.Key...)
	for _, p := range []**string{&c.Auth.Name, &c.Auth.ID, &c.Auth.Platform} {
		if *p != nil {
			*p = ptr(**p)
		}
	}
	if c.Auth.CrossPlatform != nil {
		c.Auth.CrossPlatform = ptr(*c.Auth.CrossPlatform)
	}
	return &c
}

// wantSession fails the test unless the store holds exactly want under
// its token hash.
func wantSession(t *testing.T, s passkeyd.SessionStore, want *passkeyd.Session) {
	t.Helper()
	got, err := s.SessionByKey(context.Background(), want.Key)
	if err != nil {
		t.Fatalf("SessionByKey(session %s): %v", want.ID(), err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SessionByKey =\n%+v\nwant\n%+v", got, want)
	}
}

// wantNoSession fails the test unless the store has no session under
// key.
func wantNoSession(t *testing.T, s passkeyd.SessionStore, key []byte) {
	t.Helper()
	if got, err := s.SessionByKey(context.Background(), key); !errors.Is(err, passkeyd.ErrNotFound) {
		t.Errorf("SessionByKey = %+v, %v; want ErrNotFound", got, err)
	}
}

// sessionIDs returns the ids of the user's sessions in the order the
// store gives them.
func sessionIDs(t *testing.T, s passkeyd.SessionStore, userID string) []string {
	t.Helper()
	list, err := s.UserSessions(context.Background(), userID)
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	ids := []string{}
	for _, sess := range list {
		ids = append(ids, sess.ID())
	}
	return ids
}

// testSessionRoundTrip checks that a session comes back with every field
// as stored, for each shape of Auth a login writes, and that the store
// keeps its own copy rather than the caller's memory.
func testSessionRoundTrip(t *testing.T, s passkeyd.SessionStore, o SessionOptions) {
	ctx := context.Background()
	u := newUser()
	p := newPasskey(t, u.ID, time.Now())
	tests := []struct {
		name string
		make func() *passkeyd.Session
	}{
		{"password login", func() *passkeyd.Session { return newSession(u.ID, time.Now()) }},
		{"passkey login", func() *passkeyd.Session { return withPasskey(newSession(u.ID, time.Now()), p, false) }},
		{"cross-platform passkey login", func() *passkeyd.Session {
			return withPasskey(newSession(u.ID, time.Now()), p, true)
		}},
		{"empty device and provider", func() *passkeyd.Session {
			sess := withPasskey(newSession(u.ID, time.Now()), p, false)
			sess.Provider, sess.Platform, sess.Browser = "", "", ""
			return sess
		}},
		{"sub-second times", func() *passkeyd.Session {
			// In the future, so that no store has expired it yet.
			at := time.Now().Add(24 * time.Hour).Truncate(time.Second).Add(123456 * time.Microsecond)
			sess := newSession(u.ID, at)
			sess.LastSeenAt = sess.LastSeenAt.Add(987654 * time.Microsecond)
			sess.ExpiresAt = sess.LastSeenAt.Add(time.Hour)
			return sess
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.make()
			want := cloneSession(in)
			if err := s.CreateSession(ctx, in); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			// The caller's value changing after the call must not
			// change the stored session.
			in.UserID, in.Browser, in.ExpiresAt = "someone-else", "changed", in.ExpiresAt.Add(time.Hour)
			if in.Auth.Name != nil {
				*in.Auth.Name = "changed"
			}
			wantSession(t, s, want)

			got, err := s.SessionByKey(ctx, want.Key)
			if err != nil {
				t.Fatal(err)
			}
			// Nor must a value the store returned.
			got.Platform = "changed"
			if got.Auth.ID != nil {
				*got.Auth.ID = "changed"
			}
			wantSession(t, s, want)
		})
	}
}

// testUserSessions checks that UserSessions lists the user's sessions
// (and no one else's) newest first, whatever order they were made in.
func testUserSessions(t *testing.T, s passkeyd.SessionStore, o SessionOptions) {
	base := micro(time.Now())
	u, other := newUser(), newUser()
	var made []*passkeyd.Session
	for _, minutes := range []int{1, 0, 2} {
		made = append(made, mustSession(t, s, u.ID, base.Add(time.Duration(minutes)*time.Minute)))
	}
	theirs := mustSession(t, s, other.ID, base.Add(time.Hour))

	want := []string{made[2].ID(), made[0].ID(), made[1].ID()}
	if got := sessionIDs(t, s, u.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("UserSessions = %v, want newest first %v", got, want)
	}
	if got := sessionIDs(t, s, other.ID); !reflect.DeepEqual(got, []string{theirs.ID()}) {
		t.Errorf("other user's UserSessions = %v, want [%s]", got, theirs.ID())
	}
	if got := sessionIDs(t, s, "no-such-user"); len(got) != 0 {
		t.Errorf("UserSessions of nobody = %v, want none", got)
	}
}

// testTouchSession checks that TouchSession moves LastSeenAt and
// ExpiresAt and nothing else.
func testTouchSession(t *testing.T, s passkeyd.SessionStore, o SessionOptions) {
	ctx := context.Background()
	u := newUser()
	sess := mustSession(t, s, u.ID, time.Now())
	other := mustSession(t, s, u.ID, time.Now())
	seen := sess.CreatedAt.Add(5*time.Minute + 7*time.Microsecond)
	expires := seen.Add(time.Hour)
	if err := s.TouchSession(ctx, sess.Key, seen, expires); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	want := cloneSession(sess)
	want.LastSeenAt, want.ExpiresAt = seen, expires
	wantSession(t, s, want)
	wantSession(t, s, other)
}

// testTouchMissingSession checks the SessionStore's one rule from the
// touch's side: a session that does not exist (any more) is ErrNotFound
// and stays away, so a request that was in flight when its session ended
// cannot write it back.
func testTouchMissingSession(t *testing.T, s passkeyd.SessionStore, o SessionOptions) {
	ctx := context.Background()
	u := newUser()
	tests := []struct {
		name string
		make func(t *testing.T) []byte
	}{
		{"never created", func(*testing.T) []byte { return newSession(u.ID, time.Now()).Key }},
		{"deleted", func(t *testing.T) []byte {
			sess := mustSession(t, s, u.ID, time.Now())
			if err := s.DeleteSession(ctx, sess.Key); err != nil {
				t.Fatalf("DeleteSession: %v", err)
			}
			return sess.Key
		}},
		{"deleted with the user's others", func(t *testing.T) []byte {
			sess := mustSession(t, s, u.ID, time.Now())
			if _, err := s.DeleteUserSessions(ctx, u.ID, nil); err != nil {
				t.Fatalf("DeleteUserSessions: %v", err)
			}
			return sess.Key
		}},
		{"swept as expired", func(t *testing.T) []byte {
			if o.ExpiresByItself {
				t.Skip("the store expires sessions by itself, at ExpiresAt")
			}
			sess := mustSession(t, s, u.ID, time.Now())
			if _, err := s.DeleteExpiredSessions(ctx, sess.ExpiresAt.Add(time.Second)); err != nil {
				t.Fatalf("DeleteExpiredSessions: %v", err)
			}
			return sess.Key
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash := tt.make(t)
			now := micro(time.Now())
			err := s.TouchSession(ctx, hash, now, now.Add(time.Hour))
			if !errors.Is(err, passkeyd.ErrNotFound) {
				t.Errorf("TouchSession = %v, want ErrNotFound", err)
			}
			wantNoSession(t, s, hash)
		})
	}
	if got := sessionIDs(t, s, u.ID); len(got) != 0 {
		t.Errorf("UserSessions after touching only missing sessions = %v, want none", got)
	}
}

// testDeleteSession checks that DeleteSession ends one session, leaves
// the others, and is no error for a session that is not there (a log out
// that comes twice, or after the session expired).
func testDeleteSession(t *testing.T, s passkeyd.SessionStore, o SessionOptions) {
	ctx := context.Background()
	u := newUser()
	gone, kept := mustSession(t, s, u.ID, time.Now()), mustSession(t, s, u.ID, time.Now())
	for i := range 2 {
		if err := s.DeleteSession(ctx, gone.Key); err != nil {
			t.Fatalf("DeleteSession (call %d): %v", i+1, err)
		}
	}
	if err := s.DeleteSession(ctx, newSession(u.ID, time.Now()).Key); err != nil {
		t.Fatalf("DeleteSession of a session never made: %v", err)
	}
	wantNoSession(t, s, gone.Key)
	wantSession(t, s, kept)
}

// testDeleteUserSessions checks "log out everywhere": the user's
// sessions go, but for the one kept, and other users' stay.
func testDeleteUserSessions(t *testing.T, s passkeyd.SessionStore, o SessionOptions) {
	ctx := context.Background()
	tests := []struct {
		name string
		// keep picks the token hash to keep from the user's sessions
		// and another user's session.
		keep func(mine []*passkeyd.Session, theirs *passkeyd.Session) []byte
		// kept is the index of the user's session that stays, or -1.
		kept int
	}{
		{"keep the current session", func(mine []*passkeyd.Session, _ *passkeyd.Session) []byte { return mine[1].Key }, 1},
		{"keep none", func([]*passkeyd.Session, *passkeyd.Session) []byte { return nil }, -1},
		{"keep another user's session", func(_ []*passkeyd.Session, theirs *passkeyd.Session) []byte { return theirs.Key }, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, other := newUser(), newUser()
			base := micro(time.Now())
			var mine []*passkeyd.Session
			for j := range 3 {
				mine = append(mine, mustSession(t, s, u.ID, base.Add(time.Duration(j)*time.Minute)))
			}
			theirs := mustSession(t, s, other.ID, base)

			n, err := s.DeleteUserSessions(ctx, u.ID, tt.keep(mine, theirs))
			if err != nil {
				t.Fatalf("DeleteUserSessions: %v", err)
			}
			wantN := int64(len(mine))
			if tt.kept >= 0 {
				wantN--
			}
			if n != wantN {
				t.Errorf("DeleteUserSessions = %d, want %d", n, wantN)
			}
			for j, sess := range mine {
				if j == tt.kept {
					wantSession(t, s, sess)
				} else {
					wantNoSession(t, s, sess.Key)
				}
			}
			wantSession(t, s, theirs)
		})
	}
}

// testDeleteExpiredSessions checks that the sweep removes exactly the
// sessions whose ExpiresAt is before t: one that expires at t itself is
// still valid until then, and the Sessions layer refuses it anyway.
func testDeleteExpiredSessions(t *testing.T, s passkeyd.SessionStore, o SessionOptions) {
	ctx := context.Background()
	u := newUser()
	// An hour ahead, so that what must stay has not expired by itself in
	// a store that expires sessions on its own.
	cut := micro(time.Now().Add(time.Hour))
	tests := []struct {
		expires time.Time
		swept   bool
	}{
		{cut.Add(-2 * time.Hour), true},
		{cut.Add(-time.Microsecond), true},
		{cut, false},
		{cut.Add(time.Microsecond), false},
		{cut.Add(time.Hour), false},
	}
	made := make([]*passkeyd.Session, len(tests))
	for i, tt := range tests {
		sess := newSession(u.ID, tt.expires.Add(-time.Hour))
		sess.ExpiresAt = tt.expires
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		made[i] = sess
	}
	n, err := s.DeleteExpiredSessions(ctx, cut)
	if want := int64(2); err != nil || n != want && !(o.ExpiresByItself && n == 0) {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want %d", n, err, want)
	}
	for i, tt := range tests {
		switch {
		case tt.swept && o.ExpiresByItself && made[i].ExpiresAt.After(time.Now()):
			// Not expired yet by the clock the store goes by; it will
			// go at its ExpiresAt by itself.
		case tt.swept:
			wantNoSession(t, s, made[i].Key)
		default:
			wantSession(t, s, made[i])
		}
	}
	if n, err := s.DeleteExpiredSessions(ctx, cut); err != nil || n != 0 {
		t.Errorf("second DeleteExpiredSessions = %d, %v; want 0", n, err)
	}
}

// testSessionNeverResurrected races touches against a delete, as a log
// out races the requests a browser still has in flight: once the delete
// has returned, no touch may succeed, and the session stays gone.
func testSessionNeverResurrected(t *testing.T, s passkeyd.SessionStore, o SessionOptions) {
	ctx := context.Background()
	u := newUser()
	const rounds, touchers = 20, 4
	for round := range rounds {
		sess := mustSession(t, s, u.ID, time.Now())
		var deleted atomic.Bool
		var touched, wg sync.WaitGroup
		touched.Add(touchers)
		for range touchers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				first := true
				for {
					after := deleted.Load()
					seen := micro(time.Now())
					err := s.TouchSession(ctx, sess.Key, seen, seen.Add(time.Hour))
					switch {
					case err == nil && after:
						t.Errorf("round %d: TouchSession after DeleteSession returned succeeded", round)
					case err != nil && !errors.Is(err, passkeyd.ErrNotFound):
						t.Errorf("round %d: TouchSession: %v", round, err)
					}
					if first {
						// Tell the deleter this toucher is under way,
						// so that the delete lands among the touches.
						touched.Done()
						first = false
					}
					if after || err != nil {
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			touched.Wait()
			if err := s.DeleteSession(ctx, sess.Key); err != nil {
				t.Errorf("round %d: DeleteSession: %v", round, err)
			}
			deleted.Store(true)
		}()
		wg.Wait()
		wantNoSession(t, s, sess.Key)
	}
	if got := sessionIDs(t, s, u.ID); len(got) != 0 {
		t.Errorf("sessions left after every round deleted its own: %v", got)
	}
}
