package passkeyd_test

// Tests of where the state of a login lives (issue 9): a begin writes
// nothing, the pending ceremony travels sealed with the client, a finish
// is one commit, and the session token is stored only as its hash.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// rowCount returns how many rows the database holds, in all its tables.
func (h *harness) rowCount(t testing.TB) int {
	t.Helper()
	rows, err := h.db.SQL().Query(`SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	total := 0
	for _, table := range tables {
		var n int
		if err := h.db.SQL().QueryRow(`SELECT COUNT(*) FROM "` + table + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

// Begins, anonymous or not, create no row and no session: 2 000 anonymous
// login begins and 200 registration begins, from 8 clients at once.
func TestBeginsWriteNothing(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	alice := h.user(t, "alice")
	registering := h.client()
	registering.logInAs(t, alice)
	registering.register(t, passkeytest.New(h.origin, passkeytest.Options{}), "")
	rows, commits := h.rowCount(t), h.db.Stats().Commits

	const clients, logins, registrations = 8, 2000, 200
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			anon := h.client()
			for range logins / clients {
				status, hdr, body := anon.doFull(t, "POST", "/api/login/begin", nil)
				if status != http.StatusOK || hdr.Get(passkeyd.CeremonyHeader) == "" {
					errs <- "login begin: " + string(body)
					return
				}
				for _, line := range hdr.Values("Set-Cookie") {
					if ck, err := http.ParseSetCookie(line); err == nil && ck.Name == passkeyd.CookieName {
						errs <- "an anonymous begin set a session cookie"
						return
					}
				}
			}
			if i == 0 {
				for range registrations {
					if status, body := registering.do(t, "POST", "/api/passkeys/register/begin", nil); status != http.StatusOK {
						errs <- "registration begin: " + string(body)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if got := h.rowCount(t); got != rows {
		t.Errorf("%d begins changed the row count from %d to %d", logins+registrations, rows, got)
	}
	if got := h.db.Stats().Commits; got != commits {
		t.Errorf("begins committed %d transactions, want 0", got-commits)
	}
}

// A finish is one commit: the used challenge, the passkey's counter and
// flags, the last login and the new session together (and a registration:
// the used challenge and the passkey).
func TestOneCommitPerFinish(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	alice := h.user(t, "alice")
	c := h.client()
	c.logInAs(t, alice)
	a := passkeytest.New(h.origin, passkeytest.Options{DeviceBound: true})

	commits := func() uint64 { return h.db.Stats().Commits }
	opts := beginReg(t, c)
	resp := c.registration(t, a, opts, passkeytest.Tamper{}, nil)
	before := commits()
	c.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", resp)
	if n := commits() - before; n != 1 {
		t.Errorf("a registration finish made %d commits, want 1", n)
	}

	// A logged-in browser's login also ends its previous session, in the
	// same commit.
	for _, who := range []*client{h.client(), c} {
		opts := who.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
		resp, err := a.Login(opts)
		if err != nil {
			t.Fatal(err)
		}
		before := commits()
		who.must(t, http.StatusOK, "POST", "/api/login/finish", resp)
		if n := commits() - before; n != 1 {
			t.Errorf("a login finish made %d commits, want 1", n)
		}
	}
	before = commits()
	c.logInAs(t, alice)
	if n := commits() - before; n != 1 {
		t.Errorf("a password-style login made %d commits, want 1", n)
	}
}

// A client that keeps no cookies (a mobile app) carries the ceremony in
// the Passkeyd-Ceremony header, and the session token as it would any
// bearer value.
func TestCeremonyWithoutCookies(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	alice := h.user(t, "alice")
	owner := h.client()
	owner.logInAs(t, alice)
	a := passkeytest.New(h.origin, passkeytest.Options{})
	owner.register(t, a, "")

	app := h.clientWithoutCookies()
	status, hdr, opts := app.doFull(t, "POST", "/api/login/begin", nil)
	state := hdr.Get(passkeyd.CeremonyHeader)
	if status != http.StatusOK || state == "" {
		t.Fatalf("begin: %d, header %q", status, state)
	}
	assertion, err := a.Login(opts)
	if err != nil {
		t.Fatal(err)
	}
	// Without the state nothing is pending.
	if status, _, b := app.doFull(t, "POST", "/api/login/finish", assertion); status != http.StatusUnauthorized {
		t.Fatalf("finish without state: %d %s", status, b)
	}
	status, hdr, body := app.doFull(t, "POST", "/api/login/finish", assertion, http.Header{passkeyd.CeremonyHeader: {state}})
	if status != http.StatusOK {
		t.Fatalf("finish: %d %s", status, body)
	}
	var token string
	for _, ck := range (&http.Response{Header: hdr}).Cookies() {
		if ck.Name == passkeyd.CookieName {
			token = ck.Value
		}
	}
	if token == "" {
		t.Fatal("no session token in the answer")
	}
	if got := h.clientWithCookie(token).whoami(t); got != alice.ID {
		t.Errorf("the token logs in %q, want alice", got)
	}
}

// A sealed state that is tampered with, truncated, of another site's key,
// of another ceremony or expired is refused with a 4xx and changes
// nothing; the genuine one still works afterwards.
func TestSealedStateRefused(t *testing.T) {
	w := newWorld(t, harnessOptions{ceremonyTTL: time.Minute})
	alice, owner := w.userClient(t, "alice")
	a := passkeytest.New(w.h.origin, passkeytest.Options{})
	owner.register(t, a, "")
	other := newHarness(t, harnessOptions{}) // another site, another key

	flip := func(state string) string {
		b, err := base64.RawURLEncoding.DecodeString(state)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-1] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for _, tc := range []struct {
		name  string
		state func(genuine string) string
	}{
		{"tampered", flip},
		{"key id changed", func(s string) string {
			b, _ := base64.RawURLEncoding.DecodeString(s)
			b[4] ^= 0x80
			return base64.RawURLEncoding.EncodeToString(b)
		}},
		{"truncated", func(s string) string { return s[:len(s)/2] }},
		{"not base64", func(string) string { return "not*base64!" }},
		{"empty header means cookie, and there is none", func(string) string { return "" }},
		{"another site's", func(string) string {
			_, hdr, _ := other.client().doFull(t, "POST", "/api/login/begin", nil)
			return hdr.Get(passkeyd.CeremonyHeader)
		}},
		{"another ceremony's", func(string) string {
			_, hdr, _ := w.h.client().doFull(t, "POST", "/api/login/begin", nil)
			return hdr.Get(passkeyd.CeremonyHeader)
		}},
		{"a registration's", func(string) string {
			_, hdr, _ := owner.doFull(t, "POST", "/api/passkeys/register/begin", nil)
			return hdr.Get(passkeyd.CeremonyHeader)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			anon := w.h.client()
			_, hdr, opts := anon.doFull(t, "POST", "/api/login/begin", nil)
			genuine := hdr.Get(passkeyd.CeremonyHeader)
			resp := assertion(t, a, opts, passkeytest.Tamper{})
			before := w.h.snapshot(t)
			bare := w.h.client() // no ceremony cookie: the header is all it has
			status, _, b := bare.doFull(t, "POST", "/api/login/finish", resp, http.Header{passkeyd.CeremonyHeader: {tc.state(genuine)}})
			if status != http.StatusUnauthorized {
				t.Fatalf("finish = %d %s, want 401", status, b)
			}
			checkError(t, http.Header{"Content-Type": {"application/json"}}, b, "unknown_challenge")
			if got := w.h.snapshot(t); got != before {
				t.Errorf("refused finish changed the database")
			}
			if got := bare.whoami(t); got != "" {
				t.Errorf("logged in as %q", got)
			}
			// The genuine state still works: nothing was used up.
			status, _, b = bare.doFull(t, "POST", "/api/login/finish", resp, http.Header{passkeyd.CeremonyHeader: {genuine}})
			if status != http.StatusOK || bare.whoami(t) != alice.ID {
				t.Fatalf("genuine finish = %d %s", status, b)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		anon := w.h.client()
		opts := anon.must(t, http.StatusOK, "POST", "/api/login/begin", nil)
		resp := assertion(t, a, opts, passkeytest.Tamper{})
		w.clock.Advance(time.Minute)
		anon.mustError(t, http.StatusUnauthorized, "expired_challenge", "POST", "/api/login/finish", resp)
	})
}

// Two instances on one database finish each other's ceremonies, and a
// rotated key keeps opening what it sealed for one ceremony TTL (the end
// of that window is tested on the sealer itself, in ceremony_test.go).
func TestCeremonyKeyRotation(t *testing.T) {
	clk := newClock()
	ttl := time.Minute
	a := newHarness(t, harnessOptions{now: clk.Now, ceremonyTTL: ttl})
	b := newHarness(t, harnessOptions{now: clk.Now, ceremonyTTL: ttl, db: a})
	alice := a.user(t, "alice")
	owner := a.client()
	owner.logInAs(t, alice)
	key := passkeytest.New(a.origin, passkeytest.Options{})
	owner.register(t, key, "")

	begin := func(h *harness) (state string, resp []byte) {
		_, hdr, opts := h.client().doFull(t, "POST", "/api/login/begin", nil)
		return hdr.Get(passkeyd.CeremonyHeader), assertion(t, key, opts, passkeytest.Tamper{})
	}
	finish := func(h *harness, state string, resp []byte) int {
		status, _, _ := h.client().doFull(t, "POST", "/api/login/finish", resp, http.Header{passkeyd.CeremonyHeader: {state}})
		return status
	}
	keyID := func(state string) byte {
		raw, err := base64.RawURLEncoding.DecodeString(state)
		if err != nil {
			t.Fatal(err)
		}
		return raw[4]
	}

	state, resp := begin(a)
	if got := finish(b, state, resp); got != http.StatusOK {
		t.Fatalf("B finishing A's ceremony: %d", got)
	}
	oldState, oldResp := begin(a)
	if _, err := passkeyd.RotateCeremonyKey(context.Background(), a.db, clk.Now()); err != nil {
		t.Fatal(err)
	}
	// Within 15 s both instances seal with the new key...
	clk.Advance(16 * time.Second)
	newState, newResp := begin(b)
	if keyID(newState) == keyID(oldState) {
		t.Fatalf("after rotation B still seals with key %d", keyID(newState))
	}
	if got := finish(a, newState, newResp); got != http.StatusOK {
		t.Fatalf("A finishing a ceremony sealed with the new key: %d", got)
	}
	// ... and the old key opens until the TTL and the refresh have passed
	// since it was retired. (The ceremony itself must still be unexpired:
	// with a one-minute TTL it is; the key's window is what is tested.)
	if got := finish(b, oldState, oldResp); got != http.StatusOK {
		t.Fatalf("a ceremony sealed before the rotation, finished after: %d", got)
	}
	// A second rotation is picked up the same way.
	if _, err := passkeyd.RotateCeremonyKey(context.Background(), a.db, clk.Now()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(16 * time.Second)
	newerState, newerResp := begin(b)
	if keyID(newerState) == keyID(newState) {
		t.Fatal("B did not pick up the second rotation")
	}
	if got := finish(a, newerState, newerResp); got != http.StatusOK {
		t.Fatalf("A finishing a ceremony sealed with the newest key: %d", got)
	}
}

// The session token is nowhere in the database file or its journal: only
// its SHA-256 is.
func TestTokenNotInDatabase(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	alice := h.user(t, "alice")
	c := h.client()
	c.logInAs(t, alice)
	token := c.sessionCookie()
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 40 {
		t.Fatalf("session token %q is not 40 bytes of base64url", token)
	}
	// The token is the session's absolute expiry and a 32-byte secret;
	// the store keeps the expiry and the secret's SHA-256.
	secret := raw[8:]
	sum := sha256.Sum256(secret)
	var files []byte
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(h.path + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	if bytes.Contains(files, []byte(token)) || bytes.Contains(files, secret) {
		t.Error("the session token is in the database file")
	}
	if !bytes.Contains(files, sum[:]) {
		t.Error("the token's hash is not in the database file either: the test looked in the wrong place")
	}
	if got := c.whoami(t); got != alice.ID {
		t.Errorf("the token logs in %q, want alice", got)
	}
}
