package passkeyd_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// exampleUsers is the host application's own user table. All passkeyd needs
// of it is passkeyd.Users: find a user by id, by WebAuthn handle and by
// username. Each user keeps a random WebAuthn handle, made once
// (passkeyd.NewUserHandle).
type exampleUsers struct {
	mu   sync.Mutex
	byID map[string]*passkeyd.User
}

func (a *exampleUsers) UserByID(_ context.Context, id string) (*passkeyd.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if u, ok := a.byID[id]; ok {
		return u, nil
	}
	return nil, passkeyd.ErrNotFound
}

func (a *exampleUsers) UserByHandle(_ context.Context, handle []byte) (*passkeyd.User, error) {
	return a.find(func(u *passkeyd.User) bool { return bytes.Equal(u.Handle, handle) })
}

func (a *exampleUsers) UserByUsername(_ context.Context, name string) (*passkeyd.User, error) {
	return a.find(func(u *passkeyd.User) bool { return strings.EqualFold(u.Username, name) })
}

func (a *exampleUsers) find(match func(*passkeyd.User) bool) (*passkeyd.User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, u := range a.byID {
		if match(u) {
			return u, nil
		}
	}
	return nil, passkeyd.ErrNotFound
}

// Example adds passkey login to a plain net/http application that has its
// own users and its own (here: trivial) password login. passkeyd brings
// the ceremonies, the JSON API under /api/ and the browser script; the
// application keeps everything else.
func Example() {
	users := &exampleUsers{byID: map[string]*passkeyd.User{}}
	alice, _ := passkeyd.NewUser("alice", "Alice", time.Now())
	users.byID[alice.ID] = alice

	// Passkeys, sessions and used challenges: any passkeyd.Store
	// (sqlite.DB, postgres.DB, or your own that passes storetest). The
	// in-memory one keeps the example short.
	store := passkeytest.NewMemoryStore()

	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	defer srv.Close()
	origin := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	passkeys, err := passkeyd.NewService(passkeyd.Config{
		RPID: "localhost", RPName: "Example app", Origins: []string{origin},
	}, passkeyd.Deps{Users: users, Store: store})
	if err != nil {
		fmt.Println(err)
		return
	}

	mux := http.NewServeMux()
	passkeys.Routes(mux) // /api/passkeys/..., /api/login/...
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(passkeyd.StaticFS())))
	// The application's own login; passkeyd only needs to hear of it.
	mux.HandleFunc("POST /app-login", func(w http.ResponseWriter, r *http.Request) {
		if _, err := passkeys.LogIn(w, r, alice); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		u, sess, err := passkeys.CurrentUser(r)
		if err != nil {
			passkeys.WriteError(w, r, err)
			return
		}
		fmt.Fprintf(w, "%s (passkey %q)", u.Username, *sess.Auth.Name)
	})
	srv.Config.Handler = passkeys.Handler(mux)

	// A passkey provider and two browsers, played by passkeytest.
	ctx := context.Background()
	authenticator := passkeytest.New(origin, passkeytest.Options{})
	laptop := passkeytest.NewClient(srv.URL, srv.Client(), authenticator)
	phone := passkeytest.NewClient(srv.URL, srv.Client(), authenticator)

	// Alice logs in the old way and registers a passkey.
	if err := laptop.Call(ctx, "POST", "/app-login", nil, nil); err != nil {
		fmt.Println(err)
		return
	}
	p, err := laptop.Register(ctx, "Alice's laptop")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("registered:", p.Name)

	// Later, in a new browser session, she logs in with it alone.
	login, err := phone.Login(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logged in:", login.User.Username, "with a passkey:", login.Auth.UsePasskey)

	resp, err := phone.Do(ctx, "GET", "/whoami", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("whoami:", string(resp.Body))

	// Output:
	// registered: Alice's laptop
	// logged in: alice with a passkey: true
	// whoami: alice (passkey "Alice's laptop")
}
