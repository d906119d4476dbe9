package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// Hard bounds, whatever the flags say: this tool loads only this machine,
// and never for long.
const (
	maxDuration    = 10 * time.Minute
	maxConcurrency = 1024
)

// runConfig is what "run" was asked to do.
type runConfig struct {
	url         string
	origin      string
	users       int
	concurrency int
	duration    time.Duration
	maxRequests int
	mode        string
	serverPID   int
}

func runCmd(ctx context.Context, args []string, out io.Writer) error {
	var c runConfig
	fs := newFlags("run")
	fs.StringVar(&c.url, "url", "http://localhost:8000", "the server (loopback only)")
	fs.StringVar(&c.origin, "origin", "", "the origin the authenticator reports (default: -url's)")
	fs.IntVar(&c.users, "users", 1000, "seeded load-test users to register passkeys for and log in as")
	fs.IntVar(&c.concurrency, "c", 64, "concurrent clients")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "how long to run")
	fs.IntVar(&c.maxRequests, "max-requests", 1_000_000, "stop after this many operations")
	fs.StringVar(&c.mode, "mode", "login", "login (passkey), register (passkey) or password (login)")
	fs.IntVar(&c.serverPID, "server-pid", 0, "the server's process id, to report its CPU time and memory")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, maxDuration+5*time.Minute) // set-up included
	defer cancel()

	l := newLoader(c)
	fmt.Fprintf(out, "setting up %d users' passkeys at %s ...\n", c.users, c.url)
	if err := l.setUp(ctx); err != nil {
		return fmt.Errorf("set-up: %w", err)
	}
	op := map[string]func(context.Context) error{"login": l.passkeyLogin, "register": l.register, "password": l.passwordLogin}[c.mode]
	before, err := readProc(c.serverPID)
	if err != nil {
		return err
	}
	res := l.hammer(ctx, op)
	after, err := readProc(c.serverPID)
	if err != nil {
		return err
	}
	res.addServer(before, after)
	res.print(out)
	return nil
}

func (c *runConfig) check() error {
	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Sprintf("-url %q: want http(s)://HOST:PORT", c.url)}
	}
	if !isLoopback(u.Hostname()) {
		return usageError{fmt.Sprintf("-url %q: only loopback addresses (localhost, 127.0.0.0/8, ::1) may be loaded", c.url)}
	}
	if c.origin == "" {
		c.origin = u.Scheme + "://" + u.Host
	}
	if _, ok := map[string]bool{"login": true, "register": true, "password": true}[c.mode]; !ok {
		return usageError{fmt.Sprintf("-mode %q: want login, register or password", c.mode)}
	}
	if c.users < 1 || c.concurrency < 1 || c.concurrency > maxConcurrency || c.duration <= 0 || c.duration > maxDuration || c.maxRequests < 1 {
		return usageError{fmt.Sprintf("want -users ≥ 1, 1 ≤ -c ≤ %d, 0 < -duration ≤ %s, -max-requests ≥ 1", maxConcurrency, maxDuration)}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loader holds the clients' shared state.
type loader struct {
	cfg            runConfig
	transport      *http.Transport
	authenticators []*passkeytest.Authenticator
	// sessions are logged-in cookie jars, one per user, for registrations.
	sessions []http.CookieJar
}

func newLoader(c runConfig) *loader {
	return &loader{
		cfg: c,
		transport: &http.Transport{
			MaxIdleConns:        c.concurrency * 2,
			MaxIdleConnsPerHost: c.concurrency * 2,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// client is one browser session: a fresh cookie jar over the shared
// connections.
func (l *loader) client(jar http.CookieJar) *http.Client {
	if jar == nil {
		jar, _ = cookiejar.New(nil)
	}
	return &http.Client{
		Transport:     l.transport,
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// call sends a request and returns the body, or an error for any status
// but want.
func (l *loader) call(ctx context.Context, c *http.Client, method, path, contentType string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, l.cfg.url+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}

// logIn logs a fresh session in as user i with the password.
func (l *loader) logIn(ctx context.Context, i int) (http.CookieJar, error) {
	jar, _ := cookiejar.New(nil)
	form := url.Values{"username": {loadUsername(i)}, "password": {loadPassword}}.Encode()
	_, err := l.call(ctx, l.client(jar), "POST", "/login", "application/x-www-form-urlencoded", []byte(form), http.StatusSeeOther)
	return jar, err
}

// registerWith registers a passkey of a in the logged-in session jar.
func (l *loader) registerWith(ctx context.Context, jar http.CookieJar, a *passkeytest.Authenticator) error {
	c := l.client(jar)
	opts, err := l.call(ctx, c, "POST", "/api/passkeys/register/begin", "", nil, http.StatusOK)
	if err != nil {
		return err
	}
	resp, err := a.Register(opts)
	if err != nil {
		return err
	}
	_, err = l.call(ctx, c, "POST", "/api/passkeys/register/finish", "application/json", resp, http.StatusCreated)
	return err
}

// setUp logs every user in once with the password and registers a passkey
// for each: the work that the timed run then repeats cheaply.
func (l *loader) setUp(ctx context.Context) error {
	l.authenticators = make([]*passkeytest.Authenticator, l.cfg.users)
	l.sessions = make([]http.CookieJar, l.cfg.users)
	_, err := parallel(ctx, l.cfg.users, min(l.cfg.concurrency, 8), func(ctx context.Context, i int) (int, error) {
		jar, err := l.logIn(ctx, i)
		if err != nil {
			return 0, fmt.Errorf("log in %s (seeded? run \"passkeyd-load seed\" first): %w", loadUsername(i), err)
		}
		a := passkeytest.New(l.cfg.origin, passkeytest.Options{})
		if err := l.registerWith(ctx, jar, a); err != nil {
			return 0, err
		}
		l.authenticators[i], l.sessions[i] = a, jar
		return 1, nil
	})
	return err
}

// passkeyLogin is one full passkey login in a fresh session.
func (l *loader) passkeyLogin(ctx context.Context) error {
	a := l.authenticators[rand.IntN(len(l.authenticators))]
	c := l.client(nil)
	opts, err := l.call(ctx, c, "POST", "/api/login/begin", "", nil, http.StatusOK)
	if err != nil {
		return err
	}
	resp, err := a.Login(opts)
	if err != nil {
		return err
	}
	_, err = l.call(ctx, c, "POST", "/api/login/finish", "application/json", resp, http.StatusOK)
	return err
}

// register registers one more passkey for a random user.
func (l *loader) register(ctx context.Context) error {
	i := rand.IntN(len(l.sessions))
	return l.registerWith(ctx, l.sessions[i], passkeytest.New(l.cfg.origin, passkeytest.Options{}))
}

// passwordLogin is one password login in a fresh session.
func (l *loader) passwordLogin(ctx context.Context) error {
	_, err := l.logIn(ctx, rand.IntN(l.cfg.users))
	return err
}

// hammer runs op on the configured number of clients until the time or
// the request budget is up.
func (l *loader) hammer(ctx context.Context, op func(context.Context) error) *result {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.duration)
	defer cancel()
	var budget atomic.Int64
	budget.Store(int64(l.cfg.maxRequests))
	res := &result{Mode: l.cfg.mode, Concurrency: l.cfg.concurrency, Users: l.cfg.users}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range l.cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var errs int
			var firstErr string
			for ctx.Err() == nil && budget.Add(-1) >= 0 {
				t := time.Now()
				err := op(ctx)
				if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
					break // cut off by the end of the run: not the server's failure
				}
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if strings.Contains(res.FirstError, "database is locked") {
		res.DatabaseLocked = true
	}
	return res
}
