package scaleout_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// TestSessionStoreOutage cuts the instances' Redis (--sessions redis://)
// through a TCP proxy while PostgreSQL stays up. Every request that needs
// a session then answers 503 "unavailable" JSON — loading a session and
// saving a new one (a login's finish) alike —, /healthz answers 503 within
// its bound, and when Redis is back the instances recover by themselves,
// with the sessions made before the outage still valid.
func TestSessionStoreOutage(t *testing.T) {
	redisURL, _ := freshRedis(t)
	dsn := freshSchema(t)
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newProxy(t, u.Host)
	u.Host = proxy.addr()
	a, b := startPair(t, dsn, u.String())
	insts := []*instance{a, b}
	addUser(t, dsn, "erin")
	erin := newBrowser(nil)
	if err := erin.passwordLogin(a.base, "erin"); err != nil {
		t.Fatal(err)
	}
	auth := passkeytest.New(a.base, passkeytest.Options{DeviceBound: true})
	if _, err := erin.register(auth, a.base, b.base); err != nil {
		t.Fatal(err)
	}
	// A synced passkey (no counter), for logins on both instances at once.
	synced := passkeytest.New(a.base, passkeytest.Options{})
	if _, err := erin.register(synced, a.base, b.base); err != nil {
		t.Fatal(err)
	}

	proxy.cut(refuse)
	// At once: the Redis client retries each command a few times first.
	var wg sync.WaitGroup
	for _, in := range insts {
		for _, c := range []struct {
			what   string
			br     *browser
			method string
			path   string
			// login: the request is a login's finish, its begin first
			// (a begin needs no session store; the finish makes one).
			login bool
		}{
			{"loading erin's session", erin, "GET", "/api/session", false},
			{"loading erin's session", erin, "POST", "/api/passkeys/register/begin", false},
			{"saving a new session", newBrowser(nil), "POST", "/api/login/finish", true},
		} {
			wg.Go(func() {
				var body []byte
				if c.login {
					opts, err := c.br.beginLogin(in.base)
					if err != nil {
						t.Errorf("login begin on %s with Redis down: %v", in.name, err)
						return
					}
					if body, err = synced.Login(opts); err != nil {
						t.Error(err)
						return
					}
				}
				r, err := c.br.do(c.method, in.base+c.path, body, "")
				if err == nil {
					err = checkUnavailable(r)
				}
				if err != nil {
					t.Errorf("%s %s on %s, %s with Redis down: %v", c.method, c.path, in.name, c.what, err)
				}
			})
		}
	}
	wg.Wait()
	checkHealth(t, insts, "Redis refusing", http.StatusServiceUnavailable, 2*time.Second)
	proxy.cut(blackhole)
	checkHealth(t, insts, "Redis hanging", http.StatusServiceUnavailable, 3500*time.Millisecond)

	proxy.restore()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	deadline := time.After(15 * time.Second)
	for healthy := 0; healthy < len(insts); {
		healthy = 0
		for _, in := range insts {
			if r, _, err := healthz(in); err == nil && r.status == http.StatusOK {
				healthy++
			}
		}
		if healthy == len(insts) {
			break
		}
		select {
		case <-poll.C:
		case <-deadline:
			t.Fatal("healthz not 200 on every instance within 15 s of Redis's return")
		}
	}
	// The session from before the outage, on both; a new passkey login.
	for _, in := range insts {
		s, err := erin.session(in.base)
		if err != nil || s.User == nil || s.User.Username != "erin" {
			t.Errorf("erin's session on %s after the outage: %+v, %v", in.name, s, err)
		}
	}
	l, err := newBrowser(nil).passkeyLogin(auth, b.base, a.base)
	if err != nil || l.User.Username != "erin" {
		t.Errorf("passkey login after the outage: %+v, %v", l, err)
	}
	for _, in := range insts {
		if n := in.log.Count(0, "status=500"); n != 0 {
			t.Errorf("instance %s answered %d requests with 500", in.name, n)
		}
		if n := in.log.Count(0, "msg=\"request failed\"", "redis"); n == 0 {
			t.Errorf("instance %s logged no session store failure: %s", in.name, strings.TrimSpace(in.log.Tail(5)))
		}
	}
}
