package passkeyd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"golang.org/x/text/secure/precis"
)

// User is an account of the site.
type User struct {
	// ID is opaque and stable; it is what the JSON API calls the user's id.
	ID string
	// Username is how the person logs in, kept as they typed it; it is
	// unique case-insensitively.
	Username string
	// DisplayName is the name shown to the person and their authenticator.
	DisplayName string
	// Handle is the WebAuthn user handle: random, made once per user, and
	// carrying no personal data, because authenticators keep it and hand it
	// to anyone who asks for a discoverable login.
	Handle []byte
	// PasswordHash is the argon2id hash of the password, or "" when the
	// user logs in with passkeys only.
	PasswordHash string
	// Staff marks an operator of the site.
	Staff bool
	// CreatedAt is when the account was made.
	CreatedAt time.Time
	// LastLoginAt is when the user last logged in; zero until the first login.
	LastLoginAt time.Time
	// LockedAt is when staff locked the account, which then cannot log
	// in at all; zero while it is not locked.
	LockedAt time.Time
}

// Users is what a Service needs of the site's users: to find them. An app
// that keeps its own users implements it over its own table, building a
// User of each row (its id as a string, the handle it stored from
// NewUserHandle); sqlite.DB and postgres.DB implement it for passkeyd's
// own users. Passkeyd's tables hold user ids but reference no table of
// the app's.
type Users interface {
	// UserByID returns the user with that ID, or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByHandle returns the user with that WebAuthn user handle, or
	// ErrNotFound.
	UserByHandle(ctx context.Context, handle []byte) (*User, error)
	// UserByUsername finds a user by the name they log in with (in any
	// letter case, when names are unique that way), or returns
	// ErrNotFound.
	UserByUsername(ctx context.Context, username string) (*User, error)
}

// UserStore keeps passkeyd's own users, for the ready server and any app
// that has none of its own.
type UserStore interface {
	Users
	// CreateUser stores a new user made by NewUser; ErrUsernameTaken when
	// the username is in use in any letter case.
	CreateUser(ctx context.Context, u *User) error
	// ListUsers returns every user, oldest first.
	ListUsers(ctx context.Context) ([]*User, error)
	// SetPasswordHash replaces the user's password hash ("" removes it).
	SetPasswordHash(ctx context.Context, userID, hash string) error
	// SetDisplayName replaces the user's display name; ErrNotFound when
	// there is no such user.
	SetDisplayName(ctx context.Context, userID, name string) error
	// SearchUsers returns the users whose username or display name
	// contains query in any letter case ("" matches everyone), by
	// username, skipping offset and at most limit of them, and how many
	// match in all.
	SearchUsers(ctx context.Context, query string, offset, limit int) ([]*User, int, error)
	// SetLocked locks the user's account as of at, or unlocks it when at
	// is zero; ErrNotFound when there is no such user.
	SetLocked(ctx context.Context, userID string, at time.Time) error
	// SetStaff marks the user as staff or not; ErrNotFound when there is
	// no such user.
	SetStaff(ctx context.Context, userID string, staff bool) error
	// RecordLogin notes a successful login at the given time.
	RecordLogin(ctx context.Context, userID string, at time.Time) error
	// DeleteUser deletes the user with their passkeys and the sessions
	// the store keeps, at once; ErrNotFound when there is no such user.
	DeleteUser(ctx context.Context, id string) error
}

// MaxUsernameLength is the longest username accepted, in bytes.
const MaxUsernameLength = 150

// MaxDisplayNameLength is the longest display name accepted, in bytes.
const MaxDisplayNameLength = 150

// UserHandleLength is the size of the WebAuthn user handles NewUserHandle
// makes: 32 random bytes are unguessable, and well under the 64 bytes
// the specification allows.
const UserHandleLength = 32

// NewUserHandle makes a WebAuthn user handle: UserHandleLength random
// bytes. Make one per user, when the user is made, and keep it for good
// (a column of 32 bytes beside the user): authenticators store it with
// each passkey and give it back at every login. It must not be the user's
// id, name or e-mail address, or anything derived from them, because an
// authenticator hands it to anyone who asks for a discoverable login; and
// it must not change, or the user's passkeys stop working.
func NewUserHandle() []byte {
	handle := make([]byte, UserHandleLength)
	// crypto/rand.Read never fails (it panics if the system's source
	// does).
	_, _ = rand.Read(handle)
	return handle
}

// ErrInvalidUsername is returned for a username that cannot be used.
var ErrInvalidUsername = errors.New("invalid username")

// canonicalUsername checks a username and returns it as it is stored: with
// surrounding space removed and in Unicode's PRECIS username form, case
// preserved. It rejects empty, overlong and control-character names.
func canonicalUsername(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: it is empty", ErrInvalidUsername)
	}
	if len(s) > MaxUsernameLength {
		return "", fmt.Errorf("%w: it is longer than %d bytes", ErrInvalidUsername, MaxUsernameLength)
	}
	out, err := precis.UsernameCasePreserved.String(s)
	if err != nil {
		return "", fmt.Errorf("%w: use letters, digits and symbols without spaces", ErrInvalidUsername)
	}
	return out, nil
}

// UsernameKey is the case-insensitive form of a username that stores keep
// unique, so "Alice" and "alice" are one account. It is "" for a username
// that canonicalUsername would refuse.
func UsernameKey(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxUsernameLength {
		return ""
	}
	key, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		return ""
	}
	return key
}

// NewUser makes a user with a fresh ID and WebAuthn handle. displayName
// defaults to the username. It does not store the user.
func NewUser(username, displayName string, now time.Time) (*User, error) {
	name, err := canonicalUsername(username)
	if err != nil {
		return nil, err
	}
	displayName, err = cleanDisplayName(displayName, name)
	if err != nil {
		return nil, fmt.Errorf("invalid display name: at most %d bytes of text without control characters", MaxDisplayNameLength)
	}
	return &User{
		ID:          uuid.NewString(),
		Username:    name,
		DisplayName: displayName,
		Handle:      NewUserHandle(),
		CreatedAt:   now.UTC(),
	}, nil
}

// hasControl reports whether s holds a character that is not text to
// show: a control character, or an invisible format character — a bidi
// override that turns the rest of a line around, a zero-width space that
// makes two names look alike. The zero-width joiner of emoji sequences
// (👩‍💻) is text.
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || (unicode.Is(unicode.Cf, r) && r != zeroWidthJoiner) {
			return true
		}
	}
	return false
}

const zeroWidthJoiner = '\u200d'

// UserInfo is a user as the JSON API shows it.
type UserInfo struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

// Info returns the user as the JSON API shows it.
func (u *User) Info() UserInfo {
	return UserInfo{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName}
}
