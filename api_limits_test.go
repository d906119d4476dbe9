package passkeyd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// countingPasswords counts the passwords checked (hashed).
type countingPasswords struct {
	passkeyd.PasswordChecker
	checks atomic.Int32
}

func (c *countingPasswords) CheckPassword(ctx context.Context, u *passkeyd.User, pw string) (bool, error) {
	c.checks.Add(1)
	return c.PasswordChecker.CheckPassword(ctx, u, pw)
}

func (c *countingPasswords) wrap(p passkeyd.PasswordChecker) passkeyd.PasswordChecker {
	c.PasswordChecker = p
	return c
}

// passwordAttempt posts a password login from a client at the address
// from (sent as X-Forwarded-For; "" sends none), safe to call from any
// goroutine: it returns the status and Retry-After, or an error.
func passwordAttempt(h *harness, username, pw, from string) (int, string, error) {
	body, err := json.Marshal(map[string]string{"username": username, "password": pw})
	if err != nil {
		return 0, "", err
	}
	return postFrom(h, "/api/login/password", body, from)
}

// postFrom posts body to path as a client at the address from (sent as
// X-Forwarded-For; "" sends none), from any goroutine.
func postFrom(h *harness, path string, body []byte, from string) (int, string, error) {
	req, err := http.NewRequest("POST", h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// burst sends n password attempts at once, spread over the harnesses, and
// returns how many got each status.
func burst(t *testing.T, hs []*harness, n int, username string, pw func(i int) string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			status, retry, err := passwordAttempt(hs[i%len(hs)], username, pw(i), "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("attempt %d: %v", i, err)
			case status == http.StatusTooManyRequests && retry == "":
				t.Errorf("attempt %d: 429 without Retry-After", i)
			}
			statuses[status]++
		})
	}
	close(start)
	wg.Wait()
	return statuses
}

// A burst of wrong passwords: each attempt is counted before any is
// hashed, so no more than the limit (10) are hashed, and the rest are
// refused with 429 and when to retry; the right password after them is
// refused too, unhashed.
func TestPasswordBurstHashesNoMoreThanTheLimit(t *testing.T) {
	checker := &countingPasswords{}
	h := newHarness(t, harnessOptions{passwords: checker.wrap})
	u := h.user(t, "target")
	h.setPassword(t, u, "the right one")
	got := burst(t, []*harness{h}, 41, "target", func(i int) string { return "wrong " + strconv.Itoa(i) })
	if n := checker.checks.Load(); n != 10 {
		t.Errorf("%d passwords hashed in a burst of 41, want 10 (the limit)", n)
	}
	if got[http.StatusTooManyRequests] != 31 || got[http.StatusUnauthorized] != 10 {
		t.Errorf("answers %v, want 10 × 401 and 31 × 429", got)
	}
	if status, _, err := passwordAttempt(h, "target", "the right one", ""); err != nil || status != http.StatusTooManyRequests {
		t.Errorf("the right password after the burst: %d, %v; want 429", status, err)
	}
	if n := checker.checks.Load(); n != 10 {
		t.Errorf("the refused right password was hashed")
	}
}

// Two instances of one site share the count: together they hash no more
// than the limit.
func TestPasswordLimitAcrossInstances(t *testing.T) {
	checker := &countingPasswords{}
	a := newHarness(t, harnessOptions{passwords: checker.wrap})
	b := newHarness(t, harnessOptions{passwords: checker.wrap, db: a})
	a.setPassword(t, a.user(t, "shared"), "right")
	got := burst(t, []*harness{a, b}, 40, "shared", func(i int) string { return "wrong " + strconv.Itoa(i) })
	if n := checker.checks.Load(); n != 10 {
		t.Errorf("%d passwords hashed by two instances, want 10 (the limit)", n)
	}
	if got[http.StatusTooManyRequests] != 30 {
		t.Errorf("answers %v, want 30 × 429", got)
	}
}

// A stranger guessing from one address locks out only that address: the
// owner logs in from theirs. Locking the account's password login takes
// more than 100 attempts from many addresses, and even then passkey
// login works. Addresses come from X-Forwarded-For only through a trusted
// proxy.
func TestPasswordLockoutIsBounded(t *testing.T) {
	h := newHarness(t, harnessOptions{trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	u := h.user(t, "victim")
	h.setPassword(t, u, "owner's password")
	owner := h.client()
	owner.logInAs(t, u)
	a := passkeytest.New(h.origin, passkeytest.Options{})
	owner.register(t, a, "")

	attempt := func(pw, from string) int {
		t.Helper()
		status, _, err := passwordAttempt(h, "victim", pw, from)
		if err != nil {
			t.Fatal(err)
		}
		return status
	}
	for i := range 12 {
		want := http.StatusUnauthorized
		if i >= 10 {
			want = http.StatusTooManyRequests
		}
		if got := attempt("guess", "203.0.113.7"); got != want {
			t.Fatalf("stranger's guess %d: %d, want %d", i, got, want)
		}
	}
	if got := attempt("owner's password", "198.51.100.20"); got != http.StatusOK {
		t.Fatalf("the owner from another address: %d, want 200: a stranger locked them out", got)
	}
	// An X-Forwarded-For from an untrusted peer is not believed: the
	// harness's own address (127.0.0.1) is trusted, a spoofed chain of
	// two is read from its nearest untrusted hop.
	if got := attempt("guess", "203.0.113.7, 127.0.0.1"); got != http.StatusTooManyRequests {
		t.Fatalf("a guess through two proxies from the stranger's address: %d, want 429", got)
	}

	// From many addresses, the account's own limit (100 an hour) is reached.
	for i := range 100 {
		attempt("guess", "192.0.2."+strconv.Itoa(i))
	}
	if got := attempt("owner's password", "198.51.100.21"); got != http.StatusTooManyRequests {
		t.Fatalf("the owner after over 100 guesses from many addresses: %d, want 429", got)
	}
	// Passkey login is never locked.
	if got := h.client().login(t, a); got.User.ID != u.ID {
		t.Fatalf("passkey login of the locked account: %+v", got)
	}
}

// One client address may start so many ceremonies at once (here a burst
// of 5, refilled slowly); the rest are 429 with Retry-After, a finish too
// (not the 401 of a refused login), and other addresses are not held up.
func TestCeremoniesLimitedPerAddress(t *testing.T) {
	h := newHarness(t, harnessOptions{addressRate: 0.01, trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 20 {
		wg.Go(func() {
			<-start
			status, retry, err := postFrom(h, "/api/login/begin", nil, "203.0.113.9")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("begin %d: %v", i, err)
			}
			if status == http.StatusTooManyRequests && retry == "" {
				t.Errorf("begin %d: 429 without Retry-After", i)
			}
			statuses[status]++
		})
	}
	close(start)
	wg.Wait()
	if statuses[http.StatusOK] != 5 || statuses[http.StatusTooManyRequests] != 15 {
		t.Fatalf("20 begins at once from one address: %v, want 5 × 200 and 15 × 429", statuses)
	}
	if status, _, err := postFrom(h, "/api/login/finish", []byte(`{}`), "203.0.113.9"); err != nil || status != http.StatusTooManyRequests {
		t.Fatalf("a finish from the limited address: %d, %v; want 429", status, err)
	}
	if status, _, err := postFrom(h, "/api/login/begin", nil, "198.51.100.1"); err != nil || status != http.StatusOK {
		t.Fatalf("a begin from another address: %d, %v; want 200", status, err)
	}
}

// A JSON route reads only a body declared JSON: a form or text/plain
// post, which a browser may send from another site without asking, is
// 415 (401 at the login finish, where SPEC §3 has every refusal 401) and
// changes nothing. A begin without a body needs no type.
func TestJSONRoutesNeedJSON(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	u := h.user(t, "typed")
	h.setPassword(t, u, "pw")
	c := h.client()
	c.logInAs(t, u)
	before := h.snapshot(t)
	for _, tt := range []struct{ path, body, contentType string }{
		{"/api/login/password", `{"username":"typed","password":"pw"}`, "text/plain"},
		{"/api/login/password", `username=typed&password=pw`, "application/x-www-form-urlencoded"},
		{"/api/login/finish", `{}`, "text/plain;charset=UTF-8"},
		{"/api/passkeys/register/finish", `{}`, "multipart/form-data; boundary=x"},
		{"/api/login/begin", `{}`, "text/plain"},
		{"/api/login/password", `{"username":"typed","password":"pw"}`, ""},
	} {
		want := http.StatusUnsupportedMediaType
		if tt.path == "/api/login/finish" {
			want = http.StatusUnauthorized
		}
		status, hdr, b := c.doFull(t, "POST", tt.path, []byte(tt.body), http.Header{"Content-Type": {tt.contentType}})
		if status != want {
			t.Errorf("POST %s as %q: %d %s, want %d", tt.path, tt.contentType, status, b, want)
			continue
		}
		checkError(t, hdr, b, "unsupported_media_type")
	}
	if h.snapshot(t) != before {
		t.Fatal("a refused request changed users or passkeys")
	}
	c.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
}
