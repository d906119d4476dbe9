package passkeyd_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
	"github.com/passkeyd/passkeyd/password"
	"github.com/passkeyd/passkeyd/sqlite"
)

// cheapPasswords make password hashing fast in tests; the cost of real
// parameters is measured elsewhere.
var cheapPasswords = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// harness is the JSON API over a real SQLite file and a real TLS server.
type harness struct {
	db     *sqlite.DB
	path   string // of the database file
	srv    *httptest.Server
	svc    *passkeyd.Service
	origin string
}

type harnessOptions struct {
	userVerification string
	attachment       string
	ceremonyTTL      time.Duration
	now              func() time.Time
	// db, when set, is the database of another harness, so that the two
	// are two instances of one site.
	db *harness
	// users, when set, are the app's users instead of the database's.
	users passkeyd.Users
	// appSessions, when set, are the app's sessions instead of
	// passkeyd's.
	appSessions passkeyd.AppSessions
	// noPasswords builds the service without password login.
	noPasswords bool
	// passwords, when set, wraps the password checker.
	passwords func(passkeyd.PasswordChecker) passkeyd.PasswordChecker
	// trustedProxies are the service's.
	trustedProxies []netip.Prefix
	// maxPasskeys is Config.MaxPasskeys.
	maxPasskeys int
	// addressRate is Config.AddressRate; zero leaves the limit off, since
	// every test client comes from one address.
	addressRate float64
	// configure, when set, changes the Config further.
	configure func(*passkeyd.Config)
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{}
	if o.db != nil {
		h.db, h.path = o.db.db, o.db.path
	} else {
		h.path = filepath.Join(t.TempDir(), "api.db")
		db, err := sqlite.Open(ctx, h.path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		h.db = db
	}
	db := h.db
	mux := http.NewServeMux()
	h.srv = httptest.NewUnstartedServer(nil)
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	h.origin = "https://localhost:" + portOf(h.srv.URL)
	origins := []string{h.origin}
	if o.db != nil {
		// Two instances of one site: each trusts the other's origin too.
		origins = append(origins, o.db.origin)
	}
	deps := passkeyd.Deps{Users: cmp.Or[passkeyd.Users](o.users, db), Store: db, AppSessions: o.appSessions}
	if !o.noPasswords {
		deps.Passwords = passkeyd.HashedPasswords(password.NewHasher(cheapPasswords, 2), db)
		if o.passwords != nil {
			deps.Passwords = o.passwords(deps.Passwords)
		}
	}
	var err error
	cfg := passkeyd.Config{
		RPID: "localhost", RPName: "passkeyd test", Origins: origins,
		UserVerification: o.userVerification, Attachment: o.attachment, CeremonyTTL: o.ceremonyTTL,
		SessionIdleTimeout: time.Hour, SessionLifetime: 24 * time.Hour, Now: o.now,
		TrustedProxies: o.trustedProxies, AddressRate: cmp.Or(o.addressRate, -1), AddressBurst: 5,
		MaxPasskeys: o.maxPasskeys,
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	h.svc, err = passkeyd.NewService(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.svc.Routes(mux)
	// A stand-in for the host's password login, so tests can begin logged in.
	mux.HandleFunc("POST /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		u, err := cmp.Or[passkeyd.Users](o.users, db).UserByID(r.Context(), r.PathValue("id"))
		if err == nil {
			_, err = h.svc.LogIn(w, r, u)
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	// Who the session says is logged in, and how: the service's own view,
	// so tests can check that a refused login logged nobody in.
	mux.HandleFunc("GET /test/whoami", func(w http.ResponseWriter, r *http.Request) {
		u, sess, err := h.svc.CurrentUser(r)
		if err != nil {
			h.svc.WriteError(w, r, err)
			return
		}
		var how passkeyd.Auth
		if sess != nil {
			how = sess.Auth
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(whoami{UserID: u.ID, Auth: how})
	})
	h.srv.Config.Handler = h.svc.Handler(http.MaxBytesHandler(mux, passkeyd.MaxBodyBytes))
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

// whoami is the answer of the harness's GET /test/whoami.
type whoami struct {
	UserID string        `json:"user_id"`
	Auth   passkeyd.Auth `json:"auth"`
}

// client is one browser: a cookie jar, a User-Agent and the server's
// address. Its helpers that can fail report to the t they are given.
type client struct {
	h    *harness
	http *http.Client
	jar  http.CookieJar
	ua   string // sent as User-Agent when set
}

// clientWithoutCookies returns a client that keeps no cookies, as a
// mobile app using the JSON API may not.
func (h *harness) clientWithoutCookies() *client {
	c := h.client()
	c.http.Jar = nil
	return c
}

func (h *harness) client() *client {
	jar, _ := cookiejar.New(nil)
	// srv.Client() is one shared *http.Client: copy it, or every client
	// would end up with the last one's jar. The transport (and so its
	// connection pool) stays shared.
	c := *h.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{h: h, http: &c, jar: jar}
}

// sessionCookie returns the value of the session cookie the client holds,
// "" when none.
func (c *client) sessionCookie() string {
	u, _ := url.Parse(c.h.srv.URL)
	for _, k := range c.jar.Cookies(u) {
		if k.Name == passkeyd.CookieName {
			return k.Value
		}
	}
	return ""
}

// clientWithCookie returns a new client that holds only the session
// cookie value token, as a stolen or planted cookie would be replayed.
func (h *harness) clientWithCookie(token string) *client {
	c := h.client()
	u, _ := url.Parse(h.srv.URL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: passkeyd.CookieName, Value: token, Path: "/"}})
	return c
}

func (h *harness) user(t testing.TB, name string) *passkeyd.User {
	t.Helper()
	u, err := passkeyd.NewUser(name, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// do sends a request and returns the status and body.
func (c *client) do(t testing.TB, method, path string, body []byte) (int, []byte) {
	t.Helper()
	status, _, b := c.doFull(t, method, path, body)
	return status, b
}

// doFull sends a request, with the extra headers given, and returns the
// status, headers and body.
func (c *client) doFull(t testing.TB, method, path string, body []byte, extra ...http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range extra {
		for k, v := range h {
			req.Header[k] = v
		}
	}
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// must sends a request that must answer want.
func (c *client) must(t testing.TB, want int, method, path string, body []byte) []byte {
	t.Helper()
	status, b := c.do(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, status, b, want)
	}
	return b
}

// mustError sends a request that must be refused with status want and a
// JSON error {"error": code, "message": ...}; code "" accepts any code.
func (c *client) mustError(t testing.TB, want int, code, method, path string, body []byte) apiError {
	t.Helper()
	status, hdr, b := c.doFull(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, status, b, want)
	}
	return checkError(t, hdr, b, code)
}

// apiError is the JSON error body of SPEC §3.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// checkError checks that an answer is a JSON error with exactly the
// fields "error" and "message", both set, and with code when not "".
func checkError(t testing.TB, hdr http.Header, b []byte, code string) apiError {
	t.Helper()
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error answer has Content-Type %q, want application/json: %s", ct, b)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatalf("error answer is not a JSON object: %v: %q", err, b)
	}
	if len(fields) != 2 {
		t.Fatalf("error answer has fields %v, want error and message", fields)
	}
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if e.Error == "" || e.Message == "" {
		t.Fatalf("error answer %s lacks error or message", b)
	}
	if code != "" && e.Error != code {
		t.Fatalf("error %q (%s), want %q", e.Error, e.Message, code)
	}
	return e
}

func (c *client) logInAs(t testing.TB, u *passkeyd.User) {
	t.Helper()
	c.must(t, http.StatusOK, "POST", "/test/login/"+u.ID, nil)
}

// whoami returns the id of the user the client's session has logged in,
// "" when nobody.
func (c *client) whoami(t testing.TB) string {
	t.Helper()
	status, b := c.do(t, "GET", "/test/whoami", nil)
	switch status {
	case http.StatusOK:
		var w whoami
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		return w.UserID
	case http.StatusUnauthorized:
		return ""
	}
	t.Fatalf("GET /test/whoami = %d %s", status, b)
	return ""
}

// registration returns a registration response of a to options (as
// Register would), with "name" set when name is not nil.
func (c *client) registration(t testing.TB, a *passkeytest.Authenticator, opts []byte, tamper passkeytest.Tamper, name any) []byte {
	t.Helper()
	resp, err := a.RegisterWith(opts, tamper)
	if err != nil {
		t.Fatal(err)
	}
	if name == nil {
		return resp
	}
	return setJSON(t, resp, "name", name)
}

// register registers a passkey of a for the logged-in user.
func (c *client) register(t testing.TB, a *passkeytest.Authenticator, name string) passkeyd.PasskeyInfo {
	t.Helper()
	p, err := c.passkeyClient(a).Register(context.Background(), name)
	if err != nil {
		t.Fatalf("register a passkey: %v", err)
	}
	// The stored passkey, checked field by field as JSON.
	return c.passkey(t, p.ID)
}

// passkeyClient is the browser c, driving the API with a as passkeytest
// does for any app: its cookies, its User-Agent.
func (c *client) passkeyClient(a *passkeytest.Authenticator) *passkeytest.Client {
	pc := &passkeytest.Client{BaseURL: c.h.srv.URL, HTTP: c.http, Authenticator: a}
	if c.ua != "" {
		pc.Header = http.Header{"User-Agent": {c.ua}}
	}
	return pc
}

// login logs in with a (a discoverable login, or a re-authentication
// when the client is logged in) and returns the answer.
func (c *client) login(t testing.TB, a *passkeytest.Authenticator) loginAnswer {
	t.Helper()
	got, err := c.passkeyClient(a).Login(context.Background())
	if err != nil {
		t.Fatalf("log in with a passkey: %v", err)
	}
	return loginAnswer{User: got.User, Auth: got.Auth}
}

// passkey returns GET /api/passkeys/{id}.
func (c *client) passkey(t testing.TB, id string) passkeyd.PasskeyInfo {
	t.Helper()
	return decodePasskey(t, c.must(t, http.StatusOK, "GET", "/api/passkeys/"+id, nil))
}

// decodePasskey decodes {"passkey": Passkey}.
func decodePasskey(t testing.TB, b []byte) passkeyd.PasskeyInfo {
	t.Helper()
	var out struct {
		Passkey *passkeyd.PasskeyInfo `json:"passkey"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Passkey == nil {
		t.Fatalf("not a {\"passkey\": ...} answer (%v): %s", err, b)
	}
	return *out.Passkey
}

// setJSON returns the JSON object doc with its member key set to v.
func setJSON(t testing.TB, doc []byte, key string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = v
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshot dumps the rows of the tables a refused request must not
// change: users and passkeys (sessions and pending ceremonies do change).
func (h *harness) snapshot(t testing.TB) string {
	t.Helper()
	var sb strings.Builder
	for _, q := range []string{"SELECT * FROM passkeyd_users ORDER BY id", "SELECT * FROM passkeyd_passkeys ORDER BY id"} {
		rows, err := h.db.SQL().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				fmt.Fprintf(&sb, "%s=%v ", cols[i], v)
			}
			sb.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		sb.WriteString("--\n")
	}
	return sb.String()
}

// passkeyCount returns how many passkeys are stored, for all users.
func (h *harness) passkeyCount(t testing.TB) int {
	t.Helper()
	var n int
	if err := h.db.SQL().QueryRow("SELECT COUNT(*) FROM passkeyd_passkeys").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// clock is a settable clock for the service (see SetClock).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type loginAnswer struct {
	User passkeyd.UserInfo `json:"user"`
	Auth passkeyd.Auth     `json:"auth"`
}

func TestPasskeySmoke(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	alice := h.user(t, "alice")
	c := h.client()
	c.logInAs(t, alice)
	a := passkeytest.New(h.origin, passkeytest.Options{})
	p := c.register(t, a, "Laptop")
	if p.Name != "Laptop" || !p.Enabled {
		t.Fatalf("registered %+v", p)
	}
	anon := h.client()
	got := anon.login(t, a)
	if got.User.ID != alice.ID || !got.Auth.UsePasskey || *got.Auth.Name != "Laptop" {
		t.Fatalf("login answer %+v", got)
	}
}
