package site_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/site"
	"github.com/passkeyd/passkeyd/password"
)

// cheapParams keep argon2id fast in tests; they are the smallest NewHasher
// accepts with a realistic salt and key.
var cheapParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// testOpts change how newTestServer builds the site.
type testOpts struct {
	// plainHTTP serves over http:// (an http origin) instead of https://.
	plainHTTP bool
	// extraOrigins are trusted besides the server's own origin.
	extraOrigins []string
	// params are the hasher's; zero means cheapParams.
	params password.Params
	// backend is where state lives: "sqlite" (the default), "postgres",
	// or "redis" (sessions in Redis, the rest in SQLite).
	backend string
	// touchEvery is how stale a session may grow before a request writes
	// it; zero keeps the default.
	touchEvery time.Duration
	// configure, when set, changes the Service's and the site's Config
	// further.
	configure func(*passkeyd.Config, *site.Config)
}

// testServer is the site, built the way cmd/passkeyd builds it, on a real
// SQLite file, served over a real socket.
type testServer struct {
	URL  string
	srv  *httptest.Server
	site *site.Site
	db   backendDB
	// sessions keeps the sessions: db, or Redis.
	sessions passkeyd.SessionStore
	hasher   *password.Hasher
	// passkeyOrigin is the origin passkeys are made and used on.
	passkeyOrigin string
	// passkeys is the site's Service.
	passkeys *passkeyd.Service
}

func portOf(hostport string) string {
	return hostport[strings.LastIndex(hostport, ":")+1:]
}

func newTestServer(t *testing.T, o testOpts) *testServer {
	t.Helper()
	ctx := context.Background()
	db, sessions, health := openBackend(t, o.backend)
	srv := httptest.NewUnstartedServer(nil)
	scheme := "https"
	if o.plainHTTP {
		scheme = "http"
	}
	origin := scheme + "://" + srv.Listener.Addr().String()
	if o.params == (password.Params{}) {
		o.params = cheapParams
	}
	hasher := password.NewHasher(o.params, 2)
	// Passkeys need a host name for the RP id: the same server, reached
	// as localhost, is the origin of the tests' software authenticator.
	passkeyOrigin := scheme + "://localhost:" + portOf(srv.Listener.Addr().String())
	// The site trusts form posts from all of them; passkeys work on the
	// RP id's origins only, which 127.0.0.1 is not.
	origins := append([]string{origin, passkeyOrigin}, o.extraOrigins...)
	deps := passkeyd.Deps{Users: db, Store: db, Passwords: passkeyd.HashedPasswords(hasher, db)}
	if sessions != db {
		deps.SessionStore = sessions
	}
	cfg := passkeyd.Config{
		RPID:                 "localhost",
		RPName:               "passkeyd test",
		Origins:              []string{passkeyOrigin},
		SessionIdleTimeout:   time.Hour,
		SessionLifetime:      24 * time.Hour,
		SessionTouchInterval: o.touchEvery,
	}
	siteCfg := site.Config{Origins: origins}
	if o.configure != nil {
		o.configure(&cfg, &siteCfg)
	}
	passkeys, err := passkeyd.NewService(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := passkeys.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := site.New(siteCfg, site.Deps{
		Passkeys: passkeys,
		Health:   health,
		Ready:    db.Ready,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	if o.plainHTTP {
		srv.Start()
	} else {
		srv.StartTLS()
	}
	if srv.URL != origin {
		srv.Close()
		t.Fatalf("server URL %s, want %s", srv.URL, origin)
	}
	t.Cleanup(srv.Close)
	return &testServer{URL: srv.URL, srv: srv, site: s, db: db, sessions: sessions, hasher: hasher, passkeyOrigin: passkeyOrigin, passkeys: passkeys}
}

// client returns a browser-like client with its own cookie jar that does
// not follow redirects.
func (ts *testServer) client(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Transport:     ts.srv.Client().Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

// addUser stores a user with a password ("" for none).
func (ts *testServer) addUser(t testing.TB, username, pw string) *passkeyd.User {
	t.Helper()
	ctx := context.Background()
	u, err := passkeyd.NewUser(username, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if pw != "" {
		if u.PasswordHash, err = ts.hasher.Hash(ctx, pw); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	return u
}

// user reads a user back from the database.
func (ts *testServer) user(t testing.TB, username string) *passkeyd.User {
	t.Helper()
	u, err := ts.db.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// response is an answer with its body read.
type response struct {
	*http.Response
	body string
}

// do sends req with c and reads the whole answer.
func (ts *testServer) do(t testing.TB, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return response{Response: resp, body: string(b)}
}

// request builds a request to the server; header pairs follow the body.
func (ts *testServer) request(t testing.TB, method, path string, body io.Reader, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

func (ts *testServer) get(t testing.TB, c *http.Client, path string, header ...string) response {
	t.Helper()
	return ts.do(t, c, ts.request(t, http.MethodGet, path, nil, header...))
}

// postForm posts an urlencoded form body as a browser would.
func (ts *testServer) postForm(t testing.TB, c *http.Client, path, form string, header ...string) response {
	t.Helper()
	header = append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)
	return ts.do(t, c, ts.request(t, http.MethodPost, path, strings.NewReader(form), header...))
}

// login logs c in with a password and fails the test unless it worked.
func (ts *testServer) login(t testing.TB, c *http.Client, username, pw string) response {
	t.Helper()
	r := ts.postForm(t, c, "/login", url.Values{"username": {username}, "password": {pw}}.Encode())
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: status %d, want 303; body:\n%s", username, r.StatusCode, r.body)
	}
	return r
}

// sessionInfo is GET /api/session's answer.
type sessionInfo struct {
	User *passkeyd.UserInfo `json:"user"`
	Auth *passkeyd.Auth     `json:"auth"`
}

// session asks the server who c is logged in as.
func (ts *testServer) session(t testing.TB, c *http.Client) sessionInfo {
	t.Helper()
	r := ts.get(t, c, "/api/session")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/session: status %d; body %s", r.StatusCode, r.body)
	}
	var s sessionInfo
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatalf("GET /api/session: %v; body %s", err, r.body)
	}
	return s
}

// assertAnonymous fails the test when c is logged in.
func (ts *testServer) assertAnonymous(t testing.TB, c *http.Client) {
	t.Helper()
	if s := ts.session(t, c); s.User != nil || s.Auth != nil {
		t.Fatalf("logged in as %+v, want nobody", s.User)
	}
}

// assertLoggedIn fails the test unless c is logged in as username.
func (ts *testServer) assertLoggedIn(t testing.TB, c *http.Client, username string) sessionInfo {
	t.Helper()
	s := ts.session(t, c)
	if s.User == nil || s.User.Username != username {
		t.Fatalf("logged in as %+v, want %s", s.User, username)
	}
	return s
}

// sessionCookie returns the session cookie c holds, or nil.
func (ts *testServer) sessionCookie(c *http.Client) *http.Cookie {
	u, _ := url.Parse(ts.URL)
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == passkeyd.CookieName {
			return k
		}
	}
	return nil
}

// clientWithToken returns a fresh client that presents token as its
// session cookie.
func (ts *testServer) clientWithToken(t testing.TB, token string) *http.Client {
	t.Helper()
	c := ts.client(t)
	u, _ := url.Parse(ts.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: passkeyd.CookieName, Value: token, Path: "/"}})
	return c
}

// storedSession reports whether the session store still knows token. The
// store's key of a token is its first 8 bytes (its expiry) and the
// SHA-256 of the rest (its secret).
func (ts *testServer) storedSession(t testing.TB, token string) bool {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 40 {
		t.Fatalf("session token %q is not 40 bytes of base64url", token)
	}
	sum := sha256.Sum256(raw[8:])
	_, err = ts.sessions.SessionByKey(context.Background(), append(raw[:8:8], sum[:]...))
	if errors.Is(err, passkeyd.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// A tiny HTML reader, enough for the templates' well-formed output: start
// tags with their attributes, and an element's text.

var (
	startTagRE = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s=>]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*/?>`)
	attrRE     = regexp.MustCompile(`([^\s=>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)
	anyTagRE   = regexp.MustCompile(`<[^>]*>`)
	spaceRE    = regexp.MustCompile(`\s+`)
)

// element is a start tag found in a page.
type element struct {
	name  string
	attrs map[string]string
	// end is the offset just past the start tag.
	end int
}

func (e element) has(attr string) bool { _, ok := e.attrs[attr]; return ok }

// elements returns every start tag of the page, in order.
func elements(page string) []element {
	var out []element
	for _, m := range startTagRE.FindAllStringSubmatchIndex(page, -1) {
		e := element{name: strings.ToLower(page[m[2]:m[3]]), attrs: map[string]string{}, end: m[1]}
		for _, a := range attrRE.FindAllStringSubmatch(page[m[4]:m[5]], -1) {
			v := a[2] + a[3] + a[4]
			e.attrs[strings.ToLower(a[1])] = html.UnescapeString(v)
		}
		out = append(out, e)
	}
	return out
}

// find returns the elements named name (any name when "") whose attributes
// include all of attrs (name, value pairs).
func find(page, name string, attrs ...string) []element {
	var out []element
next:
	for _, e := range elements(page) {
		if name != "" && e.name != name {
			continue
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if v, ok := e.attrs[attrs[i]]; !ok || v != attrs[i+1] {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

// byID returns the one element with that id; it fails the test when there
// is none or more than one.
func byID(t *testing.T, page, id string) element {
	t.Helper()
	es := find(page, "", "id", id)
	if len(es) != 1 {
		t.Fatalf("found %d elements #%s, want 1; page:\n%s", len(es), id, page)
	}
	return es[0]
}

// text returns e's text: everything up to its end tag, tags removed,
// entities decoded and white space collapsed. It assumes e does not
// contain an element of its own name.
func text(page string, e element) string {
	rest := page[e.end:]
	if i := strings.Index(rest, "</"+e.name+">"); i >= 0 {
		rest = rest[:i]
	}
	s := anyTagRE.ReplaceAllString(rest, " ")
	return strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(s), " "))
}

// TestTestHelpers checks the little HTML reader the tests rely on.
func TestTestHelpers(t *testing.T) {
	page := `<div id="a" class='x y'><span id=b data-x="1 &amp; 2">Hello <strong>you</strong></span></div><input hidden id="c">`
	a := byID(t, page, "a")
	if a.name != "div" || a.attrs["class"] != "x y" {
		t.Errorf("#a = %+v", a)
	}
	b := byID(t, page, "b")
	if b.attrs["data-x"] != "1 & 2" || text(page, b) != "Hello you" {
		t.Errorf("#b = %+v, text %q", b, text(page, b))
	}
	if c := byID(t, page, "c"); !c.has("hidden") || c.has("type") {
		t.Errorf("#c = %+v", c)
	}
	if n := len(find(page, "span", "data-x", "1 & 2")); n != 1 {
		t.Errorf("find span[data-x] = %d elements, want 1", n)
	}
}

// A request for a host name that is none of the origins' is answered 421
// and never reaches a page; the port does not matter, and health checks,
// which a load balancer asks for by address, are not checked.
func TestHostMustBeTheOrigins(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testOpts{configure: func(_ *passkeyd.Config, c *site.Config) {
		c.RelatedOrigins = []string{"https://example.co.jp"}
	}})
	for _, tt := range []struct {
		host, path string
		want       int
	}{
		{"evil.example", "/login", http.StatusMisdirectedRequest},
		{"example.co.jp", "/login", http.StatusOK},
		{"www.example.co.jp", "/login", http.StatusMisdirectedRequest},
		{"evil.example", "/api/session", http.StatusMisdirectedRequest},
		{"localhost:1", "/login", http.StatusOK},
		{"LOCALHOST", "/login", http.StatusOK},
		{"evil.example", "/healthz", http.StatusOK},
		{"10.0.0.7:8000", "/readyz", http.StatusOK},
	} {
		req := ts.request(t, http.MethodGet, tt.path, nil)
		req.Host = tt.host
		r := ts.do(t, ts.client(t), req)
		if r.StatusCode != tt.want {
			t.Errorf("GET %s with Host %q: %d, want %d", tt.path, tt.host, r.StatusCode, tt.want)
		}
	}
}
