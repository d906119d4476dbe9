// Package storetest is the conformance suite that every passkeyd storage
// backend passes, so that SQLite, PostgreSQL and the in-memory store of
// passkeytest behave alike: the Service relies on the contract, not on a
// backend.
package storetest

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
)

// Store is what a backend offers to the suite: the site's users, and the
// shared state a Service works on.
type Store interface {
	passkeyd.UserStore
	passkeyd.Store
}

// Run runs every conformance test against stores made by newStore, which
// must return an empty, migrated store (cleaned up by t.Cleanup). Each
// subtest gets a store of its own, so that one's rows never decide
// another's outcome.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s Store)
	}{
		// Users.
		{"Users", testUsers},
		{"UsernameCaseInsensitive", testUsernameCase},
		{"UserUpdates", testUserUpdates},
		{"DeleteUser", testDeleteUser},
		{"SearchUsers", testSearchUsers},
		{"LockAndStaff", testLockAndStaff},
		{"NotFound", testNotFound},
		// Passkeys.
		{"Passkeys", testPasskeys},
		{"PasskeyOwnership", testPasskeyOwnership},
		{"PasskeyPages", testPasskeyPages},
		{"PasskeyDelete", testPasskeyDelete},
		{"CredentialIDUnique", testCredentialIDUnique},
		{"PasskeyAndOwner", testPasskeyAndOwner},
		// Commits.
		{"CommitLogin", testCommitLogin},
		{"CommitLoginKeepsRename", testCommitLoginKeepsRename},
		{"CommitLoginReplay", testCommitLoginReplay},
		{"CommitLoginDisabledPasskey", testCommitLoginDisabledPasskey},
		{"CommitLoginDisables", testCommitLoginDisables},
		{"CommitLoginConcurrentReplay", testCommitLoginConcurrentReplay},
		{"CommitRegistration", testCommitRegistration},
		{"AppUser", testAppUser},
		{"UsedChallengeSweep", testUsedChallengeSweep},
		// Ceremony keys.
		{"CeremonyKeys", testCeremonyKeys},
		// The audit log.
		{"Audit", testAudit},
		{"AuditInCommits", testAuditInCommits},
		// Attempts.
		{"Attempts", testAttempts},
		{"AttemptsConcurrent", testAttemptsConcurrent},
		// Recovery.
		{"RecoveryCodes", testRecoveryCodes},
		{"LoginLinks", testLoginLinks},
		{"KeepWayIn", testKeepWayIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newStore(t)) })
	}
	runSessions(t, func(t *testing.T) passkeyd.SessionStore { return newStore(t) }, SessionOptions{})
}

// SessionOptions say how a session store differs from the database
// stores the suite is written for.
type SessionOptions struct {
	// ExpiresByItself is set for a store that drops each session at its
	// ExpiresAt on its own (Redis): DeleteExpiredSessions then finds
	// nothing to delete.
	ExpiresByItself bool
}

// RunSessions runs the session tests of the suite against a store that
// keeps only sessions, such as Redis beside a database (Deps.SessionStore).
// (Run runs them too, on a whole Store.)
func RunSessions(t *testing.T, newStore func(t *testing.T) passkeyd.SessionStore, o SessionOptions) {
	runSessions(t, newStore, o)
}

func runSessions(t *testing.T, newStore func(t *testing.T) passkeyd.SessionStore, o SessionOptions) {
	tests := []struct {
		name string
		test func(t *testing.T, s passkeyd.SessionStore, o SessionOptions)
	}{
		{"SessionRoundTrip", testSessionRoundTrip},
		{"UserSessions", testUserSessions},
		{"TouchSession", testTouchSession},
		{"TouchMissingSession", testTouchMissingSession},
		{"DeleteSession", testDeleteSession},
		{"DeleteUserSessions", testDeleteUserSessions},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
		{"SessionNeverResurrected", testSessionNeverResurrected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newStore(t), o) })
	}
}

// newUser returns a user with a fresh random id, not stored: sessions need
// only a user id.
func newUser() *passkeyd.User {
	u, err := passkeyd.NewUser(fmt.Sprintf("user%x", randomBytes(6)), "", time.Now())
	if err != nil {
		panic(err) // a valid username by construction
	}
	return u
}

// micro is t as every backend gives it back: in UTC, to the microsecond
// (the SQL backends store Unix microseconds). Values the suite stores are
// made with it, so that what comes back can be compared with
// reflect.DeepEqual.
func micro(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// randomBytes returns n random bytes, for ids the suite must not repeat
// across runs against one long-lived database.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	// crypto/rand.Read never fails (it panics if the system's source
	// does).
	_, _ = rand.Read(b)
	return b
}

// ptr returns a pointer to v, for the optional fields of passkeyd.Auth.
func ptr[T any](v T) *T { return &v }
