package scaleout_test

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/passkeyd/passkeyd/passkeytest"
	"github.com/passkeyd/passkeyd/postgres"
)

// redisKeyPrefix is the Redis session store's key prefix (package redis).
const redisKeyPrefix = "passkeyd:session:"

// TestTwoInstances runs two passkeyd processes, A and B, on one
// PostgreSQL schema, with sessions in that database and then in Redis, and
// shows that they are one site: whatever one instance began or stored, the
// other finishes or honours, and what one used up, the other refuses.
func TestTwoInstances(t *testing.T) {
	t.Run("db-sessions", func(t *testing.T) { testTwoInstances(t, false) })
	t.Run("redis-sessions", func(t *testing.T) { testTwoInstances(t, true) })
}

// sessionStore says where the sessions of a test live, for checks.
type sessionStore struct {
	db    *sql.DB
	redis *goredis.Client // nil: in db
}

// count returns how many sessions are stored.
func (s sessionStore) count(t *testing.T) int {
	t.Helper()
	if s.redis != nil {
		keys, err := s.redis.Keys(context.Background(), redisKeyPrefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM passkeyd_sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// has reports whether the session of token is stored.
func (s sessionStore) has(t *testing.T, token string) bool {
	t.Helper()
	if s.redis != nil {
		n, err := s.redis.Exists(context.Background(), redisKeyPrefix+tokenKey(token)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM passkeyd_sessions WHERE encode(key, 'hex') = $1`, tokenKey(token)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func testTwoInstances(t *testing.T, useRedis bool) {
	sessions := "db"
	var rdb *goredis.Client
	if useRedis {
		sessions, rdb = freshRedis(t)
	}
	dsn := freshSchema(t)
	a, b := startPair(t, dsn, sessions)
	store := openStore(t, dsn)
	db := store.SQL()
	ss := sessionStore{db: db, redis: rdb}
	addUser(t, dsn, "alice")
	// A device-bound authenticator, so counters are checked too. Its
	// client runs at A's origin, which both instances trust.
	auth := passkeytest.New(a.base, passkeytest.Options{DeviceBound: true})
	alice := newBrowser(nil)
	var passkeyID string

	ok := t.Run("session made on A is valid on B", func(t *testing.T) {
		if err := alice.passwordLogin(a.base, "alice"); err != nil {
			t.Fatal(err)
		}
		s, err := alice.session(b.base)
		if err != nil {
			t.Fatal(err)
		}
		if s.User == nil || s.User.Username != "alice" || s.Auth == nil || s.Auth.UsePasskey {
			t.Fatalf("B says %+v, want alice logged in by password", s)
		}
		if !ss.has(t, alice.sessionToken(a.base)) {
			t.Fatalf("the session is not in the %s store", sessions)
		}
		if useRedis {
			// The database keeps no sessions when Redis does.
			var n int
			if err := db.QueryRow(`SELECT COUNT(*) FROM passkeyd_sessions`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("sessions rows in PostgreSQL with --sessions redis: %d, %v", n, err)
			}
		}
	})
	ok = ok && t.Run("registration begun on A finished on B", func(t *testing.T) {
		p, err := alice.register(auth, a.base, b.base)
		if err != nil {
			t.Fatal(err)
		}
		passkeyID = p.ID
		r, err := alice.expect(http.StatusOK, "GET", a.base+"/api/passkeys/"+p.ID, nil)
		if err != nil {
			t.Fatalf("A does not show the passkey B stored: %v", err)
		}
		var stored []byte
		if err := db.QueryRow(`SELECT credential_id FROM passkeyd_passkeys WHERE id = $1`, p.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stored, auth.Credentials()[0].ID) {
			t.Fatalf("stored credential id %x, the authenticator's is %x (%s)", stored, auth.Credentials()[0].ID, r)
		}
	})
	var loggedIn *browser
	ok = ok && t.Run("login begun on B finished on A", func(t *testing.T) {
		loggedIn = newBrowser(nil)
		l, err := loggedIn.passkeyLogin(auth, b.base, a.base)
		if err != nil {
			t.Fatal(err)
		}
		if l.User.Username != "alice" || !l.Auth.UsePasskey || l.Auth.ID == nil || *l.Auth.ID != passkeyID {
			t.Fatalf("login answer %+v, want alice with passkey %s", l, passkeyID)
		}
		s, err := loggedIn.session(b.base)
		if err != nil {
			t.Fatal(err)
		}
		if s.User == nil || s.User.Username != "alice" || s.Auth == nil || !s.Auth.UsePasskey {
			t.Fatalf("B says %+v about the session A made, want alice by passkey", s)
		}
		var count uint32
		if err := db.QueryRow(`SELECT sign_count FROM passkeyd_passkeys WHERE id = $1`, passkeyID).Scan(&count); err != nil {
			t.Fatal(err)
		}
		if want := auth.Credentials()[0].SignCount; count != want {
			t.Fatalf("stored sign count %d, the authenticator's %d", count, want)
		}
	})
	ok = ok && t.Run("logout on B ends the session on A", func(t *testing.T) {
		token := loggedIn.sessionToken(a.base)
		if token == "" || !ss.has(t, token) {
			t.Fatalf("no stored session before the logout (token %q)", token)
		}
		if _, err := loggedIn.expect(http.StatusNoContent, "POST", b.base+"/api/logout", []byte("{}")); err != nil {
			t.Fatal(err)
		}
		s, err := loggedIn.session(a.base)
		if err != nil {
			t.Fatal(err)
		}
		if s.User != nil {
			t.Fatalf("A still says %+v after the logout on B", s.User)
		}
		// Ended on the server, not only forgotten by the browser: the old
		// token, replayed, logs nobody in on A, and it is not stored.
		s, err = withToken(a.base, token).session(a.base)
		if err != nil {
			t.Fatal(err)
		}
		if s.User != nil {
			t.Fatalf("the logged-out token still logs %+v in on A", s.User)
		}
		if ss.has(t, token) {
			t.Fatal("the logged-out session is still stored")
		}
	})
	ok = ok && t.Run("challenge finished on A cannot be replayed on B", func(t *testing.T) {
		br := newBrowser(nil)
		opts, err := br.beginLogin(a.base)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := auth.Login(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := br.expect(http.StatusOK, "POST", a.base+"/api/login/finish", resp); err != nil {
			t.Fatal(err)
		}
		// The same browser (the finish dropped its ceremony cookie), a
		// stranger, and a replay that brings the ceremony's sealed state
		// along: the challenge is recorded as used, for both instances.
		for _, who := range []*browser{br, newBrowser(nil)} {
			r, err := who.expect(http.StatusUnauthorized, "POST", b.base+"/api/login/finish", resp)
			if err != nil {
				t.Fatal(err)
			}
			if code := r.errorCode(); code != "unknown_challenge" {
				t.Errorf("replayed login on B: %s, want unknown_challenge", r)
			}
		}
		state := br.lastCeremony
		r, err := newBrowser(nil).do("POST", b.base+"/api/login/finish", resp, "", ceremonyHeader, state)
		if err != nil || r.status != http.StatusUnauthorized || r.errorCode() != "unknown_challenge" {
			t.Errorf("replayed login with its sealed state on B: %s %v, want 401 unknown_challenge", r, err)
		}
		// A registration finished on A, replayed on B. (Another
		// authenticator: the first is excluded, holding alice's passkey.)
		opts, err = alice.beginRegistration(a.base)
		if err != nil {
			t.Fatal(err)
		}
		reg, err := passkeytest.New(a.base, passkeytest.Options{}).Register(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := alice.expect(http.StatusCreated, "POST", a.base+"/api/passkeys/register/finish", reg); err != nil {
			t.Fatal(err)
		}
		r, err = alice.do("POST", b.base+"/api/passkeys/register/finish", reg, "", ceremonyHeader, alice.lastCeremony)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusBadRequest || r.errorCode() != "unknown_challenge" {
			t.Errorf("replayed registration with its sealed state on B: %s, want 400 unknown_challenge", r)
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM passkeyd_passkeys`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d passkeys stored (%v), want 2", n, err)
		}
	})
	ok = ok && t.Run("the same finish sent to both instances at once logs in once", func(t *testing.T) {
		for round := range 10 {
			br := newBrowser(nil)
			opts, err := br.beginLogin(a.base)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := auth.Login(opts)
			if err != nil {
				t.Fatal(err)
			}
			state := br.lastCeremony
			start := make(chan struct{})
			var wg sync.WaitGroup
			replies := make([]reply, 2)
			for i, in := range []*instance{a, b} {
				wg.Go(func() {
					<-start
					replies[i], _ = newBrowser(nil).do("POST", in.base+"/api/login/finish", resp, "", ceremonyHeader, state)
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for _, r := range replies {
				switch {
				case r.status == http.StatusOK:
					won++
				case r.status == http.StatusUnauthorized && r.errorCode() == "unknown_challenge":
				default:
					t.Errorf("round %d: %s, want 200 or 401 unknown_challenge", round, r)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d of the two instances accepted the same finish, want exactly 1", round, won)
			}
		}
	})
	ok = ok && t.Run("concurrent registrations of one credential id store one", func(t *testing.T) {
		concurrentDuplicateRegistrations(t, dsn, store, a, b)
	})
	if !ok {
		return
	}
	// Everything above made exactly these sessions: alice's password
	// session, the replay test's login, the 10 logins of the same finish
	// sent twice; the logged-out one is gone; and bob's and carol's
	// password sessions.
	if n := ss.count(t); n != 14 {
		t.Errorf("%d sessions stored, want 14", n)
	}
}

// concurrentDuplicateRegistrations makes bob (on A) and carol (on B)
// finish, at the same moment, registrations that claim one credential id.
//
// An authenticator makes a fresh random id at every registration, so the
// duplicate is made by hand: bob's authenticator registers normally (id X)
// and carol's makes its own registration (its own challenge, origin, key),
// which withCredentialID then rewrites to claim X. With "none" attestation
// nothing signs the id, so carol's response verifies; only the global
// uniqueness of credential ids can refuse it. Each round sends the two
// finishes to different instances, released together; exactly one must
// get 201 and the other 409 credential_exists, and exactly one row may
// hold X.
func concurrentDuplicateRegistrations(t *testing.T, dsn string, store *postgres.DB, a, b *instance) {
	addUser(t, dsn, "bob")
	addUser(t, dsn, "carol")
	bob, carol := newBrowser(nil), newBrowser(nil)
	if err := bob.passwordLogin(a.base, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := carol.passwordLogin(b.base, "carol"); err != nil {
		t.Fatal(err)
	}
	const rounds = 8
	wins := map[string]int{}
	for round := range rounds {
		// Bob finishes on A in even rounds and on B in odd ones, carol on
		// the other; each begins where the other finishes.
		bobAt, carolAt := a, b
		if round%2 == 1 {
			bobAt, carolAt = b, a
		}
		bobOpts, err := bob.beginRegistration(carolAt.base)
		if err != nil {
			t.Fatal(err)
		}
		carolOpts, err := carol.beginRegistration(bobAt.base)
		if err != nil {
			t.Fatal(err)
		}
		// New authenticators each round: an old one would hold a passkey
		// that the options exclude.
		bobAuth := passkeytest.New(a.base, passkeytest.Options{})
		carolAuth := passkeytest.New(a.base, passkeytest.Options{})
		bobResp, err := bobAuth.Register(bobOpts)
		if err != nil {
			t.Fatal(err)
		}
		carolOwn, err := carolAuth.Register(carolOpts)
		if err != nil {
			t.Fatal(err)
		}
		id, err := credentialID(bobResp)
		if err != nil {
			t.Fatal(err)
		}
		carolResp, err := withCredentialID(carolOwn, id)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		var bobR, carolR reply
		var bobErr, carolErr error
		wg.Go(func() {
			<-start
			bobR, bobErr = bob.do("POST", bobAt.base+"/api/passkeys/register/finish", bobResp, "")
		})
		wg.Go(func() {
			<-start
			carolR, carolErr = carol.do("POST", carolAt.base+"/api/passkeys/register/finish", carolResp, "")
		})
		close(start)
		wg.Wait()
		if bobErr != nil || carolErr != nil {
			t.Fatalf("round %d: %v %v", round, bobErr, carolErr)
		}
		winner := ""
		switch {
		case bobR.status == http.StatusCreated && carolR.status == http.StatusConflict && carolR.errorCode() == "credential_exists":
			winner = "bob"
		case carolR.status == http.StatusCreated && bobR.status == http.StatusConflict && bobR.errorCode() == "credential_exists":
			winner = "carol"
		default:
			t.Fatalf("round %d: bob got %s, carol got %s; want one 201 and one 409 credential_exists", round, bobR, carolR)
		}
		wins[winner]++
		rows, err := store.SQL().Query(`SELECT u.username FROM passkeyd_passkeys p JOIN passkeyd_users u ON u.id = p.user_id WHERE p.credential_id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		var owners []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			owners = append(owners, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if len(owners) != 1 || owners[0] != winner {
			t.Fatalf("round %d: rows with the credential id belong to %v, want [%s]", round, owners, winner)
		}
	}
	var n int
	if err := store.SQL().QueryRow(`SELECT COUNT(*) FROM passkeyd_passkeys p JOIN passkeyd_users u ON u.id = p.user_id WHERE u.username IN ('bob', 'carol')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != rounds {
		t.Errorf("bob and carol have %d passkeys, want %d (one per round)", n, rounds)
	}
	t.Logf("%d rounds: bob won %d, carol %d", rounds, wins["bob"], wins["carol"])
}
