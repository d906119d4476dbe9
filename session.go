package passkeyd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"
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

// Session is one logged-in browser (or app). The cookie holds a token with
// a 256-bit random secret; the store holds only the secret's SHA-256, so a
// copy of the database or a backup logs nobody in.
type Session struct {
	// Key is how the store knows the session: the session's absolute
	// expiry (8 bytes, big-endian Unix milliseconds) and then the SHA-256
	// of the token's secret. Keys sort by when sessions end, so a store's
	// index grows at one end and what has ended is a range at the other.
	Key []byte
	// UserID is who is logged in.
	UserID string
	// PasskeyID is the passkey the login used; "" after a password login.
	PasskeyID string
	// Auth is how the user logged in.
	Auth Auth
	// Provider is the passkey provider's name (e.g. "Google Password
	// Manager"), "" when unknown or for a password login.
	Provider string
	// Platform and Browser describe the device that logged in, from its
	// User-Agent.
	Platform string
	Browser  string
	// CreatedAt is when the user logged in.
	CreatedAt time.Time
	// LastSeenAt is when the session was last used (to within the
	// session's touch interval).
	LastSeenAt time.Time
	// ExpiresAt is when the session ends unless it is used again: the
	// idle timeout from LastSeenAt, but never after AbsoluteExpiresAt.
	ExpiresAt time.Time
	// AbsoluteExpiresAt is when the session ends, used or not.
	AbsoluteExpiresAt time.Time
}

// SessionStore keeps sessions by their Key. Its one rule
// beyond the obvious: a session that was deleted never comes back. Only
// CreateSession (or Store.CommitLogin) makes one; TouchSession changes a
// session that exists and nothing else, so a request that was in flight
// when its session ended cannot write it back.
type SessionStore interface {
	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByKey returns the session with that key, expired or not,
	// or ErrNotFound.
	SessionByKey(ctx context.Context, key []byte) (*Session, error)
	// TouchSession sets a session's LastSeenAt and ExpiresAt, if it still
	// exists; ErrNotFound when it does not.
	TouchSession(ctx context.Context, key []byte, seen, expires time.Time) error
	// DeleteSession deletes the session with that token hash; deleting
	// one that does not exist is no error.
	DeleteSession(ctx context.Context, key []byte) error
	// UserSessions returns the user's sessions, newest first.
	UserSessions(ctx context.Context, userID string) ([]*Session, error)
	// DeleteUserSessions deletes the user's sessions, but for the one
	// with token hash keep (nil keeps none), and says how many it
	// deleted.
	DeleteUserSessions(ctx context.Context, userID string, keep []byte) (int64, error)
	// DeleteExpiredSessions removes the sessions that expired before t.
	DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error)
}

// AppSessions are an app's own sessions, for a Service that should log
// users in and out of them instead of passkeyd's (Deps.AppSessions). The
// Service then sets no session cookie of its own.
type AppSessions interface {
	// CurrentUserID returns the id of the user r is logged in as, or ""
	// when nobody is.
	CurrentUserID(r *http.Request) (string, error)
	// LogIn starts a session for user, who has just logged in, with w —
	// a new session with a new token, whatever r had, so that a token
	// planted before the login logs nobody in (session fixation). how
	// says how they logged in.
	LogIn(w http.ResponseWriter, r *http.Request, user *User, how Auth) error
	// LogOut ends r's session for good (server side, not only the
	// cookie).
	LogOut(w http.ResponseWriter, r *http.Request) error
}

// sessions are passkeyd's own: a cookie with a random token, and the
// session in a SessionStore under the token's hash.
type sessions struct {
	store    SessionStore
	secure   bool
	idle     time.Duration
	lifetime time.Duration
	touch    time.Duration
	now      func() time.Time
}

// newSessions returns passkeyd's sessions, kept in store, with the
// cookie settings passkeyd relies on: HttpOnly, SameSite=Lax, Secure
// when the site is served over HTTPS. cfg has been checked.
func newSessions(store SessionStore, cfg Config) *sessions {
	return &sessions{
		store: store, secure: ServedOverHTTPS(cfg.Origins), idle: cfg.SessionIdleTimeout,
		lifetime: cfg.SessionLifetime, touch: cfg.SessionTouchInterval, now: cfg.Now,
	}
}

// requestSession is what Handler remembers of a request's session.
type requestSession struct {
	loaded  bool
	session *Session
	err     error
}

type requestSessionKey struct{}

// handler remembers, for each request, the session it has, once looked up.
func (s *sessions) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), requestSessionKey{}, &requestSession{})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func remembered(ctx context.Context) *requestSession {
	rs, _ := ctx.Value(requestSessionKey{}).(*requestSession)
	return rs
}

// current returns the request's session, or nil when nobody is logged in:
// no cookie, a token the store does not know, or a session that expired.
// An error means the store could not be asked.
func (s *sessions) current(r *http.Request) (*Session, error) {
	rs := remembered(r.Context())
	if rs != nil && rs.loaded {
		return rs.session, rs.err
	}
	sess, err := s.load(r)
	if rs != nil {
		rs.loaded, rs.session, rs.err = true, sess, err
	}
	return sess, err
}

// load reads the request's session from the store and, when it has not
// been written for a while, notes that it is in use.
func (s *sessions) load(r *http.Request) (*Session, error) {
	hash := requestToken(r)
	if hash == nil {
		return nil, nil
	}
	ctx := r.Context()
	sess, err := s.store.SessionByKey(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) {
		return nil, nil
	}
	if now.Sub(sess.LastSeenAt) >= s.touch {
		expires := earliest(sess.AbsoluteExpiresAt, now.Add(s.idle))
		err := s.store.TouchSession(ctx, hash, now, expires)
		if errors.Is(err, ErrNotFound) {
			// Ended while this request was on its way: nobody.
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
		sess.LastSeenAt, sess.ExpiresAt = now, expires
	}
	return sess, nil
}

// requestToken returns the key of the request's session token, or nil
// when it has none that could be one.
func requestToken(r *http.Request) []byte {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil
	}
	return sessionKey(c.Value)
}

// A session token is the session's absolute expiry (8 bytes, big-endian
// Unix milliseconds) and a 256-bit random secret, base64url-encoded.
const (
	tokenSecretLength = 32
	tokenLength       = 8 + tokenSecretLength
)

// sessionKey returns the store's key of a session token as the cookie
// carries it, or nil for a value that is not a token.
func sessionKey(token string) []byte {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenLength {
		return nil
	}
	return rawTokenKey(raw)
}

// rawTokenKey is sessionKey of a decoded token: its expiry, and the
// SHA-256 of its secret.
func rawTokenKey(raw []byte) []byte {
	sum := sha256.Sum256(raw[8:])
	return append(raw[:8:8], sum[:]...)
}

// ID returns the session's public id, to list and end it by. It is
// derived from the key, so no store keeps it, and it logs nobody in.
func (s *Session) ID() string {
	sum := sha256.Sum256(append([]byte("passkeyd session id\x00"), s.Key...))
	return base64.RawURLEncoding.EncodeToString(sum[:15])
}

// newSession makes a session for userID that begins now, and the token
// that its cookie carries. It does not store it.
func (s *sessions) newSession(userID string, now time.Time) (*Session, string) {
	now = now.UTC()
	abs := now.Add(s.lifetime)
	token := make([]byte, tokenLength)
	binary.BigEndian.PutUint64(token, uint64(abs.UnixMilli()))
	// crypto/rand.Read never fails (it panics if the system's source
	// does).
	_, _ = rand.Read(token[8:])
	return &Session{
		Key:               rawTokenKey(token),
		UserID:            userID,
		CreatedAt:         now,
		LastSeenAt:        now,
		ExpiresAt:         earliest(abs, now.Add(s.idle)),
		AbsoluteExpiresAt: abs,
	}, base64.RawURLEncoding.EncodeToString(token)
}

// start gives the browser the cookie of a session that was just stored,
// and makes it the request's session from here on.
func (s *sessions) start(w http.ResponseWriter, r *http.Request, sess *Session, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		Expires:  sess.AbsoluteExpiresAt,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
	if rs := remembered(r.Context()); rs != nil {
		rs.loaded, rs.session, rs.err = true, sess, nil
	}
}

// logOut ends the request's session server side, so its token logs nobody
// in from any instance, and clears the cookie. A request without a session
// is logged out already.
func (s *sessions) logOut(w http.ResponseWriter, r *http.Request) error {
	if hash := requestToken(r); hash != nil {
		if err := s.store.DeleteSession(r.Context(), hash); err != nil {
			return fmt.Errorf("log out: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
	if rs := remembered(r.Context()); rs != nil {
		rs.loaded, rs.session, rs.err = true, nil, nil
	}
	return nil
}

// earliest returns the earlier of two times.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
