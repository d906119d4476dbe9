package scaleout_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/internal/pgtest"
	"github.com/passkeyd/passkeyd/passkeytest"
	"github.com/passkeyd/passkeyd/password"
	"github.com/passkeyd/passkeyd/postgres"
)

// The load of TestConcurrentLogins.
const (
	loadUsers   = 50
	loadLogins  = 500
	loadWorkers = 32
)

// member is a test user with one passkey.
type member struct {
	name, userID string
	auth         *passkeytest.Authenticator
	deviceBound  bool
	passkeyID    string
	// pwToken is the session token of the password login that registered
	// the passkey.
	pwToken string
	// mu serialises the logins of a device-bound authenticator: a real
	// security key does one ceremony at a time, and its counter must
	// reach the server in order.
	mu sync.Mutex
	// logins counts the successful passkey logins.
	logins atomic.Int64
}

// parallel runs f(0..n-1) on at most workers goroutines and returns the
// errors, in no particular order.
func parallel(n, workers int, f func(i int) error) []error {
	var mu sync.Mutex
	var errs []error
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// firstErrors fails t with up to 10 of errs.
func firstErrors(t *testing.T, what string, errs []error) {
	t.Helper()
	if len(errs) == 0 {
		return
	}
	t.Errorf("%s: %d errors, the first ones:\n%v", what, len(errs), errors.Join(errs[:min(10, len(errs))]...))
}

// populate makes n users, straight in the database (hashing the one
// password once, rather than n times in n "passkeyd user add" runs), then
// registers a passkey for each over HTTP: password login on one instance,
// registration begun there and finished on the other. deviceBound says
// which users have a security-key-like authenticator (counters) rather
// than a synced passkey.
func populate(t *testing.T, store *postgres.DB, insts []*instance, prefix string, n int, deviceBound func(i int) bool) []*member {
	t.Helper()
	popStart := time.Now()
	ctx := context.Background()
	hash, err := password.NewHasher(password.DefaultParams(), 1).Hash(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	members := make([]*member, n)
	for i := range members {
		u, err := passkeyd.NewUser(fmt.Sprintf("%s%02d", prefix, i), "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		u.PasswordHash = hash
		if err := store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		db := deviceBound(i)
		members[i] = &member{
			name: u.Username, userID: u.ID, deviceBound: db,
			// Every instance trusts A's origin, where the authenticator's
			// client runs.
			auth: passkeytest.New(insts[0].base, passkeytest.Options{DeviceBound: db}),
		}
	}
	regStart := time.Now()
	defer func() {
		t.Logf("populate: users made in %s, passkeys registered in %s", regStart.Sub(popStart), time.Since(regStart))
	}()
	// Two at a time per instance: each hashes passwords for half the
	// machine's cores (one at a time in CI), and a login that waits more
	// than a few seconds for its turn is refused as busy.
	errs := parallel(n, 2*len(insts), func(i int) error {
		m := members[i]
		at, other := insts[i%len(insts)], insts[(i+1)%len(insts)]
		br := newBrowser(nil)
		if err := br.passwordLogin(at.base, m.name); err != nil {
			return err
		}
		p, err := br.register(m.auth, at.base, other.base)
		if err != nil {
			return fmt.Errorf("register %s: %w", m.name, err)
		}
		m.passkeyID, m.pwToken = p.ID, br.sessionToken(at.base)
		return nil
	})
	firstErrors(t, "registering the users' passkeys", errs)
	if t.Failed() {
		t.FailNow()
	}
	return members
}

// storedSession is what the checks read of a sessions row.
type storedSession struct {
	userID string
	auth   passkeyd.Auth
}

// storedSessions reads every session in the database, by the hex of its
// token hash (see tokenKey).
func storedSessions(t *testing.T, store *postgres.DB) map[string]storedSession {
	t.Helper()
	rows, err := store.SQL().Query(`SELECT key, user_id, auth FROM passkeyd_sessions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedSession{}
	for rows.Next() {
		var hash []byte
		var s storedSession
		var auth string
		if err := rows.Scan(&hash, &s.userID, &auth); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(auth), &s.auth); err != nil {
			t.Fatalf("session %x: auth: %v", hash[:4], err)
		}
		out[hex.EncodeToString(hash)] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// storedPasskey is what the checks read of a passkeys row.
type storedPasskey struct {
	userID       string
	signCount    uint32
	lastUsed     *int64
	cloneWarning bool
	credentialID []byte
	publicKey    []byte
}

func storedPasskeys(t *testing.T, store *postgres.DB) map[string]storedPasskey {
	t.Helper()
	rows, err := store.SQL().Query(`SELECT id, user_id, sign_count, last_used_at, clone_warning, credential_id, public_key FROM passkeyd_passkeys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedPasskey{}
	for rows.Next() {
		var id string
		var p storedPasskey
		if err := rows.Scan(&id, &p.userID, &p.signCount, &p.lastUsed, &p.cloneWarning, &p.credentialID, &p.publicKey); err != nil {
			t.Fatal(err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConcurrentLogins runs 500 complete passkey logins (begin and finish,
// each in a fresh session) for 50 users, 32 at a time, spread over two
// instances in all four begin/finish combinations, and then checks the
// database row by row.
//
// Half the users have a device-bound authenticator whose counter goes up
// by one at every login; their logins take turns, as on a real security
// key, but run alongside everyone else's. The other half have synced
// passkeys (counter 0) and log in concurrently with themselves too. The
// lost-update check: a device-bound passkey's stored counter must be
// exactly its number of logins, 10 — a login whose counter write was lost
// or overwritten by an older one would leave it lower, and a login that
// read a stale counter on the other instance could not have been accepted
// once the counter moved on (401, possible_clone).
func TestConcurrentLogins(t *testing.T) {
	dsn := freshSchema(t)
	a, b := startPair(t, dsn, "db")
	store := openStore(t, dsn)
	insts := []*instance{a, b}
	members := populate(t, store, insts, "load", loadUsers, func(i int) bool { return i%2 == 0 })

	rng := rand.New(rand.NewPCG(1, 2))
	jobs := rng.Perm(loadLogins)
	var mu sync.Mutex
	tokens := map[string]*member{} // session token of each login
	var combos [2][2]int
	start := time.Now()
	errs := parallel(len(jobs), loadWorkers, func(k int) error {
		j := jobs[k]
		m := members[j%loadUsers]
		bi, fi := (j/loadUsers)%2, (j/2)%2
		begin, finish := insts[bi], insts[fi]
		if m.deviceBound {
			m.mu.Lock()
			defer m.mu.Unlock()
		}
		br := newBrowser(nil)
		l, err := br.passkeyLogin(m.auth, begin.base, finish.base)
		if err != nil {
			return fmt.Errorf("login of %s begun on %s, finished on %s: %w", m.name, begin.name, finish.name, err)
		}
		if l.User.ID != m.userID || !l.Auth.UsePasskey || l.Auth.ID == nil || *l.Auth.ID != m.passkeyID {
			return fmt.Errorf("login of %s: answer %+v", m.name, l)
		}
		m.logins.Add(1)
		token := br.sessionToken(finish.base)
		mu.Lock()
		defer mu.Unlock()
		combos[bi][fi]++
		if token == "" || tokens[token] != nil {
			return fmt.Errorf("login of %s: session token %q is empty or was handed out before", m.name, token)
		}
		tokens[token] = m
		return nil
	})
	elapsed := time.Since(start)
	firstErrors(t, "logins", errs)
	t.Logf("%d logins in %s (%.0f/s); begun/finished on A/A %d, A/B %d, B/A %d, B/B %d", loadLogins, elapsed.Round(time.Millisecond),
		float64(loadLogins)/elapsed.Seconds(), combos[0][0], combos[0][1], combos[1][0], combos[1][1])
	if t.Failed() {
		return
	}

	// Sessions: exactly the password sessions and one per login, each
	// logging in its own user, the way it logged in. No anonymous
	// leftovers: each login's pre-login session was replaced.
	sessions := storedSessions(t, store)
	if want := loadUsers + loadLogins; len(sessions) != want {
		t.Errorf("%d sessions stored, want %d", len(sessions), want)
	}
	for _, m := range members {
		tokens[m.pwToken] = m
	}
	byKey := map[string]*member{}
	for token, m := range tokens {
		byKey[tokenKey(token)] = m
		s, ok := sessions[tokenKey(token)]
		switch {
		case !ok:
			t.Errorf("session of a login of %s is not stored", m.name)
		case s.userID != m.userID:
			t.Errorf("session of a login of %s records %+v", m.name, s)
		case s.auth.UsePasskey != (token != m.pwToken):
			t.Errorf("session of %s: use_passkey %v, token is the password session's: %v", m.name, s.auth.UsePasskey, token == m.pwToken)
		}
	}
	for key := range sessions {
		if byKey[key] == nil {
			t.Errorf("a stored session %.8s… belongs to no login", key)
		}
	}

	// Passkeys: one per user, each used, counters as the logins left them.
	passkeys := storedPasskeys(t, store)
	if len(passkeys) != loadUsers {
		t.Errorf("%d passkeys stored, want %d", len(passkeys), loadUsers)
	}
	for _, m := range members {
		p, ok := passkeys[m.passkeyID]
		n := m.logins.Load()
		if !ok || p.userID != m.userID {
			t.Errorf("%s: passkey %s missing or not theirs", m.name, m.passkeyID)
			continue
		}
		if n != loadLogins/loadUsers {
			t.Errorf("%s: %d logins, want %d", m.name, n, loadLogins/loadUsers)
		}
		if p.lastUsed == nil || *p.lastUsed < start.UnixMicro() {
			t.Errorf("%s: last_used_at %v, want a time after the load began", m.name, p.lastUsed)
		}
		if p.cloneWarning {
			t.Errorf("%s: clone_warning set", m.name)
		}
		want := uint32(0)
		if m.deviceBound {
			want = uint32(n) // the first login reports 1
			if got := m.auth.Credentials()[0].SignCount; got != want {
				t.Errorf("%s: the authenticator's counter is %d after %d logins", m.name, got, n)
			}
		}
		if p.signCount != want {
			t.Errorf("%s: stored sign_count %d after %d logins, want %d (device-bound: %v)", m.name, p.signCount, n, want, m.deviceBound)
		}
	}

	// Every user's last login is recorded; every finish (the users'
	// registrations and the logins) left the record of its challenge, and
	// nothing else did.
	var noLogin, used int
	if err := store.SQL().QueryRow(`SELECT COUNT(*) FROM passkeyd_users WHERE last_login_at IS NULL OR last_login_at < $1`, start.UnixMicro()).Scan(&noLogin); err != nil {
		t.Fatal(err)
	}
	if noLogin != 0 {
		t.Errorf("%d users without a recorded login during the load", noLogin)
	}
	if err := store.SQL().QueryRow(`SELECT COUNT(*) FROM passkeyd_used_challenges`).Scan(&used); err != nil {
		t.Fatal(err)
	}
	if want := loadUsers + loadLogins; used != want {
		t.Errorf("%d used challenges recorded, want %d: one per finish", used, want)
	}
	for _, in := range insts {
		if n := in.log.Count(0, "level=ERROR"); n != 0 {
			t.Errorf("instance %s logged %d errors", in.name, n)
		}
	}
}

// ---- the outage ----

// event is one request of the outage test and its answer.
type event struct {
	started, done time.Time
	inst          string // A or B
	path          string
	r             reply
	err           error
}

// recorder keeps events and lets the test wait for a condition on them.
type recorder struct {
	mu      sync.Mutex
	events  []event
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (rc *recorder) add(e event) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.events = append(rc.events, e)
	close(rc.changed)
	rc.changed = make(chan struct{})
}

func (rc *recorder) all() []event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]event(nil), rc.events...)
}

// waitFor waits until cond holds for the events.
func (rc *recorder) waitFor(timeout time.Duration, what string, cond func([]event) bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		rc.mu.Lock()
		ok, changed := cond(rc.events), rc.changed
		rc.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return fmt.Errorf("not within %s: %s", timeout, what)
		}
	}
}

// countEvents counts the events started at or after since, answered by
// inst, on path, with status.
func countEvents(events []event, since time.Time, inst, path string, status int) int {
	n := 0
	for _, e := range events {
		if !e.started.Before(since) && e.inst == inst && e.path == path && e.err == nil && e.r.status == status {
			n++
		}
	}
	return n
}

// overlaps reports whether e was under way at some time from start to end.
func overlaps(e event, start, end time.Time) bool {
	return e.started.Before(end) && e.done.After(start)
}

// request sends a request for the outage test and records it.
func request(rc *recorder, br *browser, in *instance, path string, body []byte) (reply, error) {
	started := time.Now()
	r, err := br.do("POST", in.base+path, body, "")
	rc.add(event{started: started, done: time.Now(), inst: in.name, path: path, r: r, err: err})
	return r, err
}

// retryPause is how long a load client waits after a 503 before it tries
// again, as a polite client does; it only keeps the outage from being a
// busy loop.
const retryPause = 20 * time.Millisecond

// pause waits retryPause or until ctx ends.
func pause(ctx context.Context) {
	t := time.NewTimer(retryPause)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// healthz asks in's /healthz and says how long the answer took.
// checkHealth asks every instance's /healthz at once and fails t unless
// each answers want within bound.
func checkHealth(t *testing.T, insts []*instance, what string, want int, bound time.Duration) {
	t.Helper()
	var wg sync.WaitGroup
	for _, in := range insts {
		wg.Go(func() {
			r, took, err := healthz(in)
			switch {
			case err != nil:
				t.Errorf("%s: healthz of %s: %v", what, in.name, err)
			case r.status != want:
				t.Errorf("%s: healthz of %s: %s, want %d", what, in.name, r, want)
			case took > bound:
				t.Errorf("%s: healthz of %s took %s, want at most %s", what, in.name, took, bound)
			default:
				t.Logf("%s: healthz of %s: %s in %s", what, in.name, r, took.Round(time.Millisecond))
			}
		})
	}
	wg.Wait()
}

func healthz(in *instance) (reply, time.Duration, error) {
	start := time.Now()
	r, err := newBrowser(nil).do("GET", in.base+"/healthz", nil, "")
	return r, time.Since(start), err
}

// TestStorageOutage cuts both instances' database connections in the
// middle of a login and registration load, through a TCP proxy in front of
// PostgreSQL, and restores them.
//
// While the database is gone: API requests answer 503 with the JSON error
// "unavailable" (never a 500, never a hang), and /healthz answers 503 —
// within its 2-second bound even when the database swallows connections
// without a word. Once it is back the instances recover by themselves:
// /healthz 200 and logins work with no restart. Afterwards the database
// holds nothing half-done: every answered login's session and counter,
// every acknowledged passkey, and only what the clients made.
func TestStorageOutage(t *testing.T) {
	dsn := freshSchema(t)
	store := openStore(t, dsn)
	// store (and so every check) goes straight to PostgreSQL; the
	// instances go through the proxy.
	proxy := newProxy(t, postgresHost(t, dsn))
	// The instances' connections carry a name of their own, so that the
	// test can have PostgreSQL end exactly those.
	appName := "scaleout_outage_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	a, b := startPair(t, pgtest.WithParam(t, viaProxy(t, dsn, proxy.addr()), "application_name", appName), "db")
	insts := []*instance{a, b}
	const users = 8
	members := populate(t, store, insts, "outage", users+1, func(int) bool { return true })
	registrar := members[users] // registers passkeys throughout
	members = members[:users]

	rc := newRecorder()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var tokMu sync.Mutex
	tokens := map[string]*member{} // sessions of the logins answered 200
	var failures []error
	fail := func(err error) {
		tokMu.Lock()
		defer tokMu.Unlock()
		failures = append(failures, err)
	}
	for k, m := range members {
		wg.Go(func() {
			for i := k; ctx.Err() == nil; i++ {
				begin, finish := insts[i%2], insts[(i+1)%2]
				br := newBrowser(nil)
				r, err := request(rc, br, begin, "/api/login/begin", []byte("{}"))
				if err != nil || r.status != http.StatusOK {
					pause(ctx)
					continue
				}
				resp, err := m.auth.Login(r.body)
				if err != nil {
					fail(err)
					return
				}
				r, err = request(rc, br, finish, "/api/login/finish", resp)
				if err != nil || r.status != http.StatusOK {
					pause(ctx)
					continue
				}
				var l loginJSON
				if err := json.Unmarshal(r.body, &l); err != nil || l.User.ID != m.userID {
					fail(fmt.Errorf("login of %s: %s", m.name, r))
					return
				}
				tokMu.Lock()
				tokens[br.sessionToken(finish.base)] = m
				tokMu.Unlock()
			}
		})
	}
	// The registrar adds passkeys to its account in its password session,
	// each with a new authenticator (an old one would be excluded).
	regBrowser := withToken(a.base, registrar.pwToken)
	var regAuths []*passkeytest.Authenticator
	acked := map[string]bool{} // credential ids of registrations answered 201
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			begin, finish := insts[i%2], insts[(i+1)%2]
			r, err := request(rc, regBrowser, begin, "/api/passkeys/register/begin", []byte("{}"))
			if err != nil || r.status != http.StatusOK {
				pause(ctx)
				continue
			}
			auth := passkeytest.New(a.base, passkeytest.Options{DeviceBound: true})
			regAuths = append(regAuths, auth)
			resp, err := auth.Register(r.body)
			if err != nil {
				fail(err)
				return
			}
			r, err = request(rc, regBrowser, finish, "/api/passkeys/register/finish", resp)
			if err == nil && r.status == http.StatusCreated {
				acked[string(auth.Credentials()[0].ID)] = true
			} else {
				pause(ctx)
			}
		}
	})
	stopLoad := sync.OnceFunc(func() {
		stop()
		wg.Wait()
	})
	defer stopLoad()

	// succeeded: since then, at least n logins finished on each instance,
	// and a registration.
	succeeded := func(since time.Time, n int) func([]event) bool {
		return func(es []event) bool {
			return countEvents(es, since, "A", "/api/login/finish", 200) >= n &&
				countEvents(es, since, "B", "/api/login/finish", 200) >= n &&
				countEvents(es, since, "A", "/api/passkeys/register/finish", 201)+countEvents(es, since, "B", "/api/passkeys/register/finish", 201) >= 1
		}
	}
	begun := time.Now()
	if err := rc.waitFor(20*time.Second, "logins and registrations before the outage", succeeded(begun, 10)); err != nil {
		t.Fatal(err)
	}

	// First PostgreSQL itself ends the instances' connections, as a
	// restart, a failover or an administrator does (SQLSTATE 57P01 on
	// each): the pools must replace them, answering 503 at worst.
	terminatedAt := time.Now()
	for round := range 3 {
		var n int
		if err := store.SQL().QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("round %d: no connection of the instances to terminate", round)
		}
		if err := rc.waitFor(20*time.Second, "logins after PostgreSQL ended the connections", succeeded(time.Now(), 2)); err != nil {
			t.Fatal(err)
		}
	}
	terminatedEnd := time.Now()
	t.Logf("load warm in %s; PostgreSQL ended the connections 3 times in %s", terminatedAt.Sub(begun).Round(time.Millisecond), terminatedEnd.Sub(terminatedAt).Round(time.Millisecond))

	// The outage: live connections reset, new ones refused.
	cutAt := time.Now()
	acceptedBefore := proxy.accepted()
	proxy.cut(refuse)
	if err := rc.waitFor(20*time.Second, "503s from both instances", func(es []event) bool {
		n := 0
		for _, in := range insts {
			for _, path := range []string{"/api/login/begin", "/api/login/finish", "/api/passkeys/register/begin", "/api/passkeys/register/finish"} {
				n += min(1, countEvents(es, cutAt, in.name, path, 503))
			}
		}
		// A 503 from each instance's login finish, and from three
		// instance-route pairs in all. (A login begin needs no database:
		// it may still succeed.)
		return countEvents(es, cutAt, "A", "/api/login/finish", 503) > 0 &&
			countEvents(es, cutAt, "B", "/api/login/finish", 503) > 0 && n >= 3
	}); err != nil {
		t.Error(err)
	}
	t.Logf("503s from both instances %s after the cut", time.Since(cutAt).Round(time.Millisecond))
	checkHealth(t, insts, "database refusing", http.StatusServiceUnavailable, 2*time.Second)

	// Still down, but now connections hang: /healthz must give up on its
	// own (2 s), not wait for the database, and a request must not wait
	// for ever either: its connection attempt gives up after the store's
	// connect timeout (5 s), and the request answers 503. A registration
	// begin reads the session first, and fails there.
	proxy.cut(blackhole)
	const hangBound = 5*time.Second + 3*time.Second
	var hung sync.WaitGroup
	for _, in := range insts {
		hung.Go(func() {
			start := time.Now()
			r, err := withToken(in.base, registrar.pwToken).do("POST", in.base+"/api/passkeys/register/begin", []byte("{}"), "")
			took := time.Since(start)
			if err == nil {
				err = checkUnavailable(r)
			}
			if err != nil || took > hangBound {
				t.Errorf("registration begin on %s while the database hangs: %v after %s, want 503 within %s", in.name, err, took.Round(time.Millisecond), hangBound)
			} else {
				t.Logf("registration begin on %s while the database hangs: 503 after %s", in.name, took.Round(time.Millisecond))
			}
		})
	}
	checkHealth(t, insts, "database hanging", http.StatusServiceUnavailable, 3500*time.Millisecond)
	hung.Wait()
	if proxy.accepted() == acceptedBefore {
		t.Error("no instance tried to reconnect during the outage")
	}

	// Back: the instances must heal by themselves.
	restoredAt := time.Now()
	proxy.restore()
	healthy := map[string]bool{}
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	deadline := time.After(15 * time.Second)
	for len(healthy) < len(insts) {
		for _, in := range insts {
			if r, _, err := healthz(in); err == nil && r.status == http.StatusOK {
				healthy[in.name] = true
			}
		}
		select {
		case <-poll.C:
		case <-deadline:
			t.Fatalf("healthz not 200 on every instance within 15 s of the database's return: %v", healthy)
		}
	}
	healthyAt := time.Now()
	t.Logf("healthy again %s after the database came back", healthyAt.Sub(restoredAt).Round(time.Millisecond))
	if err := rc.waitFor(20*time.Second, "logins and registrations after the outage", succeeded(healthyAt, 10)); err != nil {
		t.Error(err)
	}
	t.Logf("logins and registrations again %s after healthy", time.Since(healthyAt).Round(time.Millisecond))
	stopLoad()
	tokMu.Lock()
	firstErrors(t, "load clients", failures)
	tokMu.Unlock()

	// Every answer: a success, or the 503 JSON error. A 5xx of another
	// kind, a transport error or a 4xx is a failure; so is anything but
	// success before the cut and after the instances said they were
	// healthy again.
	var bad []error
	var ok, unavailable int
	for _, e := range rc.all() {
		success := e.err == nil && (e.r.status == http.StatusOK || e.r.status == http.StatusCreated)
		switch {
		case success:
			ok++
		case e.err != nil:
			bad = append(bad, fmt.Errorf("%s %s: %v", e.inst, e.path, e.err))
		case !overlaps(e, terminatedAt, terminatedEnd) && !overlaps(e, cutAt, healthyAt):
			bad = append(bad, fmt.Errorf("%s %s while the database was up: %s", e.inst, e.path, e.r))
		default:
			if err := checkUnavailable(e.r); err != nil {
				bad = append(bad, fmt.Errorf("%s %s during the outage: %v", e.inst, e.path, err))
			} else {
				unavailable++
			}
		}
	}
	firstErrors(t, "answers", bad)
	t.Logf("%d requests: %d succeeded, %d were 503 unavailable", ok+unavailable+len(bad), ok, unavailable)

	// Every user logs in again, across the instances both ways.
	errs := parallel(len(members), len(members), func(i int) error {
		m := members[i]
		for _, pair := range [][2]*instance{{a, b}, {b, a}} {
			br := newBrowser(nil)
			if _, err := br.passkeyLogin(m.auth, pair[0].base, pair[1].base); err != nil {
				return fmt.Errorf("%s after the outage: %w", m.name, err)
			}
			tokMu.Lock()
			tokens[br.sessionToken(pair[1].base)] = m
			tokMu.Unlock()
		}
		return nil
	})
	firstErrors(t, "logins after the outage", errs)

	// Nothing half-written. Counters: each the authenticator's, whose
	// last login succeeded. Sessions: each answered login's is there and
	// logs in its user.
	passkeys := storedPasskeys(t, store)
	for _, m := range members {
		p, ok := passkeys[m.passkeyID]
		if !ok {
			t.Errorf("%s: passkey gone", m.name)
			continue
		}
		if want := m.auth.Credentials()[0].SignCount; p.signCount != want || p.cloneWarning || p.lastUsed == nil {
			t.Errorf("%s: sign_count %d (the authenticator's is %d), clone_warning %v, last_used_at %v",
				m.name, p.signCount, want, p.cloneWarning, p.lastUsed)
		}
	}
	sessions := storedSessions(t, store)
	for token, m := range tokens {
		if s, ok := sessions[tokenKey(token)]; !ok || s.userID != m.userID || !s.auth.UsePasskey {
			t.Errorf("session of an answered login of %s: stored %+v", m.name, s)
		}
	}
	// Registrations: every acknowledged one is stored, and every stored
	// one was made by one of the registrar's authenticators, with its key
	// (one answered 503 may be stored: its answer, not its write, was lost).
	made := map[string][]byte{}
	for _, auth := range regAuths {
		for _, c := range auth.Credentials() {
			made[string(c.ID)] = c.PublicKey
		}
	}
	stored := map[string]bool{}
	for id, p := range passkeys {
		if p.userID != registrar.userID || id == registrar.passkeyID {
			continue
		}
		key, ok := made[string(p.credentialID)]
		switch {
		case !ok:
			t.Errorf("stored passkey %s was made by none of the registrar's authenticators", id)
		case string(key) != string(p.publicKey):
			t.Errorf("stored passkey %s has another public key than its authenticator's", id)
		}
		stored[string(p.credentialID)] = true
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("a registration answered 201 is not stored (credential %x)", id)
		}
	}
	t.Logf("registrations: %d begun and answered, %d acknowledged, %d stored", len(regAuths), len(acked), len(stored))
	for _, in := range insts {
		if n := in.log.Count(0, "status=500"); n != 0 {
			t.Errorf("instance %s answered %d requests with 500", in.name, n)
		}
	}
}
