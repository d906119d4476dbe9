package passkeyd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
)

// CookieName is the name of the session cookie.
const CookieName = "passkeyd_session"

// Auth is the session's record of how the user logged in, in the JSON form
// of the API: after a password login UsePasskey is false and the rest nil;
// after a passkey login it names the passkey and where it was used.
type Auth struct {
	UsePasskey bool `json:"use_passkey"`
	// Name is the passkey's name.
	Name *string `json:"name"`
	// ID is the passkey's id.
	ID *string `json:"id"`
	// Platform is the platform the passkey was registered on.
	Platform *string `json:"platform"`
	// CrossPlatform is true when the passkey was used from another device
	// than the one that holds it.
	CrossPlatform *bool `json:"cross_platform"`
}

// Login is what a session knows about who is logged in.
type Login struct {
	UserID string `json:"user_id"`
	Auth   Auth   `json:"auth"`
	// Provider is the passkey provider's name (e.g. "Google Password
	// Manager"), "" when unknown or for a password login.
	Provider string `json:"provider,omitempty"`
	// At is when the login happened.
	At time.Time `json:"at"`
}

// sessionKeyLogin is the session key under which Login is kept, as JSON so
// that the session codec needs no registered types.
const sessionKeyLogin = "login"

// Sessions keeps logins in scs sessions. Its manager's LoadAndSave
// middleware must wrap every handler that uses it.
type Sessions struct {
	Manager *scs.SessionManager
}

// SessionOptions configure NewSessions.
type SessionOptions struct {
	// Store keeps session data server side (database or Redis).
	Store scs.Store
	// Secure marks the cookie Secure; set it whenever the site is reached
	// over HTTPS, also behind a TLS-terminating proxy.
	Secure bool
	// IdleTimeout ends a session unused for this long.
	IdleTimeout time.Duration
	// Lifetime ends a session this long after it began, used or not.
	Lifetime time.Duration
}

// NewSessions returns Sessions with the cookie settings passkeyd relies on:
// HttpOnly, SameSite=Lax, Secure over HTTPS.
func NewSessions(o SessionOptions) *Sessions {
	m := scs.New()
	m.Store = o.Store
	m.Codec = SessionCodec{}
	m.IdleTimeout = o.IdleTimeout
	m.Lifetime = o.Lifetime
	m.Cookie.Name = CookieName
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = o.Secure
	m.Cookie.Path = "/"
	m.Cookie.Persist = true
	return &Sessions{Manager: m}
}

// LogIn records a login in the session. The session token is renewed first,
// so a token planted before the login (session fixation) logs nobody in and
// the previous token is dropped from the store.
func (s *Sessions) LogIn(ctx context.Context, l Login) error {
	if err := s.Manager.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew session token: %w", err)
	}
	// The session may have been a short-lived one for a pending ceremony;
	// a login gets the full lifetime from now.
	s.Manager.SetDeadline(ctx, time.Now().Add(s.Manager.Lifetime))
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("encode login: %w", err)
	}
	s.Manager.Put(ctx, sessionKeyLogin, b)
	return nil
}

// LogOut ends the session server side; its token then logs nobody in.
func (s *Sessions) LogOut(ctx context.Context) error {
	if err := s.Manager.Destroy(ctx); err != nil {
		return fmt.Errorf("destroy session: %w", err)
	}
	return nil
}

// Current returns the login recorded in the session, and false when nobody
// is logged in.
func (s *Sessions) Current(ctx context.Context) (Login, bool) {
	b := s.Manager.GetBytes(ctx, sessionKeyLogin)
	if len(b) == 0 {
		return Login{}, false
	}
	var l Login
	if err := json.Unmarshal(b, &l); err != nil || l.UserID == "" {
		return Login{}, false
	}
	return l, true
}
