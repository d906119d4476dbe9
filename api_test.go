package passkeyd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
	"github.com/passkeyd/passkeyd/sqlite"
)

// harness is the JSON API over a real SQLite file and a real TLS server.
type harness struct {
	t      *testing.T
	db     *sqlite.DB
	srv    *httptest.Server
	svc    *passkeyd.Service
	origin string
}

type harnessOptions struct {
	userVerification string
	ceremonyTTL      time.Duration
	now              func() time.Time
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, db: db}
	mux := http.NewServeMux()
	h.srv = httptest.NewUnstartedServer(nil)
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	h.origin = "https://localhost:" + portOf(h.srv.URL)
	sessions := passkeyd.NewSessions(passkeyd.SessionOptions{
		Store: db.SessionStore(), Secure: true, IdleTimeout: time.Hour, Lifetime: 24 * time.Hour,
	})
	h.svc, err = passkeyd.NewService(passkeyd.Config{
		RPID: "localhost", RPName: "passkeyd test", Origins: []string{h.origin},
		UserVerification: o.userVerification, CeremonyTTL: o.ceremonyTTL,
	}, passkeyd.Stores{Users: db, Passkeys: db, Ceremonies: db}, sessions)
	if err != nil {
		t.Fatal(err)
	}
	if o.now != nil {
		passkeyd.SetClock(h.svc, o.now)
	}
	h.svc.Routes(mux)
	// A stand-in for the host's password login, so tests can begin logged in.
	mux.HandleFunc("POST /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.LogIn(r.Context(), passkeyd.Login{UserID: r.PathValue("id"), At: time.Now()}); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	h.srv.Config.Handler = sessions.Manager.LoadAndSave(http.MaxBytesHandler(mux, passkeyd.MaxBodyBytes))
	return h
}

func portOf(url string) string {
	for i := len(url) - 1; i >= 0; i-- {
		if url[i] == ':' {
			return url[i+1:]
		}
	}
	return ""
}

// client is one browser: a cookie jar and the server's address.
type client struct {
	h    *harness
	http *http.Client
}

func (h *harness) client() *client {
	jar, _ := cookiejar.New(nil)
	c := h.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{h: h, http: c}
}

func (h *harness) user(name string) *passkeyd.User {
	h.t.Helper()
	u, err := passkeyd.NewUser(name, "", time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.db.CreateUser(context.Background(), u); err != nil {
		h.t.Fatal(err)
	}
	return u
}

// do sends a request and returns the status and body.
func (c *client) do(method, path string, body []byte) (int, []byte) {
	c.h.t.Helper()
	req, err := http.NewRequest(method, c.h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		c.h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.h.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// must sends a request that must answer want.
func (c *client) must(want int, method, path string, body []byte) []byte {
	c.h.t.Helper()
	status, b := c.do(method, path, body)
	if status != want {
		c.h.t.Fatalf("%s %s = %d %s, want %d", method, path, status, b, want)
	}
	return b
}

func (c *client) logInAs(u *passkeyd.User) {
	c.h.t.Helper()
	c.must(http.StatusOK, "POST", "/test/login/"+u.ID, nil)
}

// register registers a passkey of a for the logged-in user.
func (c *client) register(a *passkeytest.Authenticator, name string) passkeyd.PasskeyInfo {
	c.h.t.Helper()
	opts := c.must(http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
	resp, err := a.Register(opts)
	if err != nil {
		c.h.t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(resp, &body); err != nil {
		c.h.t.Fatal(err)
	}
	if name != "" {
		body["name"] = name
	}
	b, _ := json.Marshal(body)
	var out struct{ Passkey passkeyd.PasskeyInfo }
	if err := json.Unmarshal(c.must(http.StatusCreated, "POST", "/api/passkeys/register/finish", b), &out); err != nil {
		c.h.t.Fatal(err)
	}
	return out.Passkey
}

type loginAnswer struct {
	User passkeyd.UserInfo `json:"user"`
	Auth passkeyd.Auth     `json:"auth"`
}

func TestPasskeySmoke(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	alice := h.user("alice")
	c := h.client()
	c.logInAs(alice)
	a := passkeytest.New(h.origin, passkeytest.Options{})
	p := c.register(a, "Laptop")
	if p.Name != "Laptop" || !p.Enabled {
		t.Fatalf("registered %+v", p)
	}
	anon := h.client()
	opts := anon.must(http.StatusOK, "POST", "/api/login/begin", nil)
	resp, err := a.Login(opts)
	if err != nil {
		t.Fatal(err)
	}
	var got loginAnswer
	if err := json.Unmarshal(anon.must(http.StatusOK, "POST", "/api/login/finish", resp), &got); err != nil {
		t.Fatal(err)
	}
	if got.User.ID != alice.ID || !got.Auth.UsePasskey || *got.Auth.Name != "Laptop" {
		t.Fatalf("login answer %+v", got)
	}
}
