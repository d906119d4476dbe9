package passkeyd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

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
}

// UserStore keeps the site's users.
type UserStore interface {
	// CreateUser stores a new user made by NewUser; ErrUsernameTaken when
	// the username is in use in any letter case.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns the user with that ID, or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByUsername finds a user by username in any letter case, or
	// returns ErrNotFound.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// UserByHandle returns the user with that WebAuthn user handle, or
	// ErrNotFound.
	UserByHandle(ctx context.Context, handle []byte) (*User, error)
	// ListUsers returns every user, oldest first.
	ListUsers(ctx context.Context) ([]*User, error)
	// SetPasswordHash replaces the user's password hash ("" removes it).
	SetPasswordHash(ctx context.Context, userID, hash string) error
	// RecordLogin notes a successful login at the given time.
	RecordLogin(ctx context.Context, userID string, at time.Time) error
}

// MaxUsernameLength is the longest username accepted, in bytes.
const MaxUsernameLength = 150

// MaxDisplayNameLength is the longest display name accepted, in bytes.
const MaxDisplayNameLength = 150

// handleLength is the WebAuthn user handle's size: 32 random bytes is
// unguessable and well under the 64 bytes the specification allows.
const handleLength = 32

// ErrInvalidUsername is returned for a username that cannot be used.
var ErrInvalidUsername = errors.New("invalid username")

// CanonicalUsername checks a username and returns it as it is stored: with
// surrounding space removed and in Unicode's PRECIS username form, case
// preserved. It rejects empty, overlong and control-character names.
func CanonicalUsername(s string) (string, error) {
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
// that CanonicalUsername would refuse.
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
	name, err := CanonicalUsername(username)
	if err != nil {
		return nil, err
	}
	displayName = strings.TrimSpace(displayName)
	if displayName == "" {
		displayName = name
	}
	if len(displayName) > MaxDisplayNameLength || !utf8.ValidString(displayName) || hasControl(displayName) {
		return nil, fmt.Errorf("invalid display name: at most %d bytes of text without control characters", MaxDisplayNameLength)
	}
	handle := make([]byte, handleLength)
	if _, err := rand.Read(handle); err != nil {
		return nil, fmt.Errorf("make user handle: %w", err)
	}
	return &User{
		ID:          uuid.NewString(),
		Username:    name,
		DisplayName: displayName,
		Handle:      handle,
		CreatedAt:   now.UTC(),
	}, nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

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
