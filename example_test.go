package passkeyd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
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

	// A browser with a passkey provider, played by passkeytest.
	authenticator := passkeytest.New(origin, passkeytest.Options{})
	browser := func() *http.Client {
		c := srv.Client()
		c.Jar, _ = cookiejar.New(nil)
		return c
	}
	post := func(c *http.Client, path string, body []byte) []byte {
		resp, err := c.Post(srv.URL+path, "application/json", bytes.NewReader(body))
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}

	// Alice logs in the old way and registers a passkey.
	laptop := browser()
	post(laptop, "/app-login", nil)
	creation, _ := authenticator.Register(post(laptop, "/api/passkeys/register/begin", nil))
	var registration map[string]any
	_ = json.Unmarshal(creation, &registration)
	registration["name"] = "Alice's laptop"
	body, _ := json.Marshal(registration)
	var created struct{ Passkey passkeyd.PasskeyInfo }
	_ = json.Unmarshal(post(laptop, "/api/passkeys/register/finish", body), &created)
	fmt.Println("registered:", created.Passkey.Name)

	// Later, in a new browser session, she logs in with it alone.
	phone := browser()
	assertion, _ := authenticator.Login(post(phone, "/api/login/begin", nil))
	var answer struct {
		User passkeyd.UserInfo
		Auth passkeyd.Auth
	}
	_ = json.Unmarshal(post(phone, "/api/login/finish", assertion), &answer)
	fmt.Println("logged in:", answer.User.Username, "with a passkey:", answer.Auth.UsePasskey)

	resp, err := phone.Get(srv.URL + "/whoami")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	who, _ := io.ReadAll(resp.Body)
	fmt.Println("whoami:", string(who))

	// Output:
	// registered: Alice's laptop
	// logged in: alice with a passkey: true
	// whoami: alice (passkey "Alice's laptop")
}
