package passkeyd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// appUsers are a host app's own users, with ids of its own (integers, as
// strings) that passkeyd's users table does not hold.
type appUsers struct {
	mu    sync.Mutex
	users []*passkeyd.User
}

func newAppUsers() *appUsers { return &appUsers{} }

func (a *appUsers) add(id, name string) *passkeyd.User {
	a.mu.Lock()
	defer a.mu.Unlock()
	u := &passkeyd.User{ID: id, Username: name, DisplayName: name, Handle: passkeyd.NewUserHandle(), CreatedAt: time.Now()}
	a.users = append(a.users, u)
	return u
}

func (a *appUsers) find(match func(*passkeyd.User) bool) (*passkeyd.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, u := range a.users {
		if match(u) {
			return u, nil
		}
	}
	return nil, passkeyd.ErrNotFound
}

func (a *appUsers) UserByID(_ context.Context, id string) (*passkeyd.User, error) {
	return a.find(func(u *passkeyd.User) bool { return u.ID == id })
}

func (a *appUsers) UserByHandle(_ context.Context, h []byte) (*passkeyd.User, error) {
	return a.find(func(u *passkeyd.User) bool { return bytes.Equal(u.Handle, h) })
}

func (a *appUsers) UserByUsername(_ context.Context, name string) (*passkeyd.User, error) {
	return a.find(func(u *passkeyd.User) bool { return strings.EqualFold(u.Username, name) })
}

// appSessions are a host app's own sessions: its own cookie, its own
// table. It records what passkeyd told it.
type appSessions struct {
	mu      sync.Mutex
	byToken map[string]string // token → user id
	logins  []passkeyd.Auth
	logouts int
}

const appCookie = "app_session"

func newAppSessions() *appSessions { return &appSessions{byToken: map[string]string{}} }

func (a *appSessions) CurrentUserID(r *http.Request) (string, error) {
	c, err := r.Cookie(appCookie)
	if err != nil {
		return "", nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.byToken[c.Value], nil
}

func (a *appSessions) LogIn(w http.ResponseWriter, r *http.Request, u *passkeyd.User, how passkeyd.Auth) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, err := r.Cookie(appCookie); err == nil {
		delete(a.byToken, c.Value)
	}
	token := rand.Text()
	a.byToken[token] = u.ID
	a.logins = append(a.logins, how)
	http.SetCookie(w, &http.Cookie{Name: appCookie, Value: token, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	return nil
}

func (a *appSessions) LogOut(w http.ResponseWriter, r *http.Request) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, err := r.Cookie(appCookie); err == nil {
		delete(a.byToken, c.Value)
	}
	a.logouts++
	http.SetCookie(w, &http.Cookie{Name: appCookie, Value: "", Path: "/", MaxAge: -1})
	return nil
}

// An app with its own users (integer ids passkeyd's tables do not know)
// and its own sessions adds passkeys: passkeyd logs users in and out
// through the app's sessions and sets no cookie of its own.
func TestAppUsersAndSessions(t *testing.T) {
	users := newAppUsers()
	sessions := newAppSessions()
	alice := users.add("42", "alice")
	users.add("43", "bob")
	h := newHarness(t, harnessOptions{users: users, appSessions: sessions, noPasswords: true})

	laptop := h.client()
	laptop.logInAs(t, alice) // the app's own login, through Service.LogIn
	a := passkeytest.New(h.origin, passkeytest.Options{})
	p := laptop.register(t, a, "laptop")
	if laptop.sessionCookie() != "" {
		t.Fatal("passkeyd set its own session cookie beside the app's")
	}
	var list struct{ Passkeys []passkeyd.PasskeyInfo }
	if err := json.Unmarshal(laptop.must(t, http.StatusOK, "GET", "/api/passkeys", nil), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Passkeys) != 1 || list.Passkeys[0].ID != p.ID {
		t.Fatalf("alice's passkeys: %+v, want the one registered", list.Passkeys)
	}

	phone := h.client()
	got := phone.login(t, a)
	if got.User.ID != "42" || !got.Auth.UsePasskey || *got.Auth.Name != "laptop" {
		t.Fatalf("login answer %+v, want user 42 by the passkey laptop", got)
	}
	if phone.whoami(t) != "42" || phone.sessionCookie() != "" {
		t.Fatal("the passkey login did not go through the app's sessions alone")
	}
	sessions.mu.Lock()
	last := sessions.logins[len(sessions.logins)-1]
	sessions.mu.Unlock()
	if !last.UsePasskey || *last.ID != p.ID {
		t.Fatalf("the app was told %+v, want the passkey login", last)
	}
	// The session API knows the user, not how: that is the app's.
	var session struct {
		User *passkeyd.UserInfo
		Auth *passkeyd.Auth
	}
	if err := json.Unmarshal(phone.must(t, http.StatusOK, "GET", "/api/session", nil), &session); err != nil {
		t.Fatal(err)
	}
	if session.User == nil || session.User.ID != "42" || session.Auth != nil {
		t.Fatalf("GET /api/session = %+v, want user 42 and no auth", session)
	}

	phone.must(t, http.StatusNoContent, "POST", "/api/logout", nil)
	if phone.whoami(t) != "" || sessions.logouts != 1 {
		t.Fatal("logout did not end the app's session")
	}
	// The laptop's session is the app's and lives on.
	if laptop.whoami(t) != "42" {
		t.Fatal("logging out the phone ended the laptop's session")
	}
}

// A passkey whose user handle is not its owner's is refused: the app's
// users are found by the handle the authenticator gives.
func TestAppUsersHandleMustBeOwners(t *testing.T) {
	users := newAppUsers()
	alice := users.add("1", "alice")
	bob := users.add("2", "bob")
	h := newHarness(t, harnessOptions{users: users, noPasswords: true})
	c := h.client()
	c.logInAs(t, alice)
	a := passkeytest.New(h.origin, passkeytest.Options{})
	c.register(t, a, "")
	// The authenticator says the passkey is bob's.
	stranger := h.client()
	opts := stranger.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
	resp, err := a.LoginWith(opts, passkeytest.Tamper{UserHandle: bob.Handle})
	if err != nil {
		t.Fatal(err)
	}
	stranger.mustError(t, http.StatusUnauthorized, "unknown_passkey", "POST", "/api/login/finish", resp)
	if stranger.whoami(t) != "" {
		t.Fatal("a passkey with another user's handle logged someone in")
	}
}
