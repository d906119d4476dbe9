package passkeyd

import (
	"context"
	"errors"
	"time"
)

// Errors a Store returns; the Service maps them to what a client is told.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUsernameTaken means another user already has that username
	// (usernames are unique case-insensitively).
	ErrUsernameTaken = errors.New("username already taken")
	// ErrChallengeUsed means a finish's challenge was used already: the
	// finish is a replay, on this instance or another.
	ErrChallengeUsed = errors.New("challenge already used")
	// ErrPasskeyDisabled means a login's passkey was disabled (or
	// disabled and deleted) after the login read it.
	ErrPasskeyDisabled = errors.New("passkey disabled")
)

// Store is the shared state a Service works on: passkeys, sessions, the
// challenges already used, and the keys that seal pending ceremonies.
// sqlite.DB and postgres.DB implement it, and so does
// passkeytest.MemoryStore; storetest is the suite each one passes.
//
// Everything a finished ceremony changes is written by one call, in one
// transaction: CommitLogin and CommitRegistration.
type Store interface {
	PasskeyStore
	SessionStore
	CeremonyKeyStore
	AttemptStore
	AuditStore
	RecoveryStore

	// CommitLogin writes what a login changes, in one transaction: all
	// of it or, when it returns an error, none of it.
	CommitLogin(ctx context.Context, c *LoginCommit) error
	// CommitRegistration records the used challenge and stores the new
	// passkey, in one transaction: both or, when it returns an error
	// (ErrChallengeUsed, ErrCredentialExists), neither.
	CommitRegistration(ctx context.Context, c *RegistrationCommit) error
	// DeleteUsedChallenges removes the records of used challenges that
	// expired before t: their ceremonies are refused as expired anyway
	// (the expiry is part of the challenge the authenticator signs).
	DeleteUsedChallenges(ctx context.Context, t time.Time) (int64, error)
}

// UsedChallenge is the record that a ceremony's challenge has been used,
// kept until the ceremony would have expired, so that a finish can be
// replayed on no instance.
type UsedChallenge struct {
	// Key is the challenge. Its first 8 bytes are ExpiresAt (big-endian
	// Unix milliseconds), so keys sort by expiry: a store needs one index,
	// and DeleteUsedChallenges deletes a range of it.
	Key []byte
	// ExpiresAt is when the ceremony expired; the record may be swept a
	// little later.
	ExpiresAt time.Time
}

// LoginCommit is everything a login writes. Which parts are set depends on
// the login:
//
//   - a passkey login: Challenge, PasskeyUse, UserID and At, Session, and
//     ReplacedSession when the browser had a session before;
//   - a password login: UserID and At, Session, and ReplacedSession;
//   - a passkey login refused as a possible clone: Challenge and
//     PasskeyUse only, so the warning is kept and nobody is logged in.
type LoginCommit struct {
	// Challenge, when set, is recorded as used; when it was used
	// already, the commit fails with ErrChallengeUsed.
	Challenge *UsedChallenge
	// PasskeyUse, when set, is the passkey as the login left it: its
	// sign count, flags, clone warning, last use and whether it stays
	// enabled (a possible clone disables it) are written back.
	// When that passkey is no longer enabled, the commit fails with
	// ErrPasskeyDisabled.
	PasskeyUse *Passkey
	// UserID, when set, is who logged in: their last login is set to At.
	// (A user the store does not keep is no error: the host's users may
	// live elsewhere.)
	UserID string
	At     time.Time
	// Session, when set, is the new session.
	Session *Session
	// ReplacedSession, when set, is the key of the session this login
	// replaces: it is deleted, so the old cookie logs nobody in.
	ReplacedSession []byte
	// Audit are the events of the login, appended with it.
	Audit []AuditEvent
}

// RegistrationCommit is everything a registration writes.
type RegistrationCommit struct {
	Challenge UsedChallenge
	Passkey   *Passkey
	// Audit are the events of the registration, appended with it.
	Audit []AuditEvent
}

// CeremonyKey is a key that seals the state of pending ceremonies, kept
// in the shared store so that every instance can open what another one
// sealed.
type CeremonyKey struct {
	// ID names the key inside what it sealed; the newest key has the
	// highest.
	ID uint32
	// Secret is the 32-byte XChaCha20-Poly1305 key.
	Secret []byte
	// CreatedAt is when the key was made.
	CreatedAt time.Time
	// RetiredAt is when a newer key replaced it; zero while it is the
	// key that seals. A retired key still opens for one ceremony TTL.
	RetiredAt time.Time
}

// CeremonyKeyStore keeps the keys that seal pending ceremonies.
type CeremonyKeyStore interface {
	// CeremonyKeys returns every stored key, newest first.
	CeremonyKeys(ctx context.Context) ([]CeremonyKey, error)
	// AddCeremonyKey stores k. With retire set it is a rotation: every
	// other key is retired at k.CreatedAt, and an id that exists already
	// is ErrCeremonyKeyExists (another instance rotated at the same
	// moment). Without, it is the first start: k is stored unless a key
	// with its id exists, and then nothing is done, so instances that
	// start together agree on one key.
	AddCeremonyKey(ctx context.Context, k CeremonyKey, retire bool) error
	// DeleteCeremonyKeys removes the keys retired before t.
	DeleteCeremonyKeys(ctx context.Context, t time.Time) (int64, error)
}

// ErrCeremonyKeyExists means a ceremony key with that id exists already:
// another instance rotated at the same moment.
var ErrCeremonyKeyExists = errors.New("ceremony key id exists")

// AttemptStore counts attempts for rate limits (password guesses), shared
// by every instance, so that no number of instances allows more.
type AttemptStore interface {
	// TakeAttempt counts one attempt against key, atomically, and returns
	// the count in key's window, this attempt included, and when the
	// window ends. A window starts with the first attempt after the last
	// window ended and lasts window; concurrent attempts each get a count
	// of their own.
	TakeAttempt(ctx context.Context, key []byte, window time.Duration, now time.Time) (count int, resetsAt time.Time, err error)
	// ClearAttempts forgets key's attempts.
	ClearAttempts(ctx context.Context, key []byte) error
	// DeleteExpiredAttempts removes the windows that ended before t.
	DeleteExpiredAttempts(ctx context.Context, t time.Time) (int64, error)
}
