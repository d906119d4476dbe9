//go:build linux || darwin

package site_test

import (
	"context"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd/password"
)

// cpuTime is the CPU time this process has used so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestLoginFailureCostsAnArgon2Verification checks that an unknown user's
// login attempt costs as much as a wrong password, so the timing does not
// tell whether the username exists. It compares CPU time, not wall-clock
// time, so a busy machine cannot make it fail; and it does not run in
// parallel with the other tests of this process, whose work would count.
func TestLoginFailureCostsAnArgon2Verification(t *testing.T) {
	params := password.Params{Memory: 32 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	ts := newTestServer(t, testOpts{params: params})
	ts.addUser(t, alice, alicePw)
	hash := ts.user(t, alice).PasswordHash

	ctx := context.Background()
	verify := time.Duration(1<<63 - 1)
	for range 3 {
		start := cpuTime(t)
		if _, err := ts.hasher.Verify(ctx, "wrong password!", hash); err != nil {
			t.Fatal(err)
		}
		verify = min(verify, cpuTime(t)-start)
	}
	for _, tt := range []struct{ name, username string }{
		{"wrong password", alice},
		{"unknown user", "nobody@example.com"},
		{"invalid username", "bad\x01name"},
	} {
		c := ts.client(t)
		start := cpuTime(t)
		r := ts.postForm(t, c, "/login", url.Values{"username": {tt.username}, "password": {"wrong password!"}}.Encode())
		took := cpuTime(t) - start
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", tt.name, r.StatusCode)
		}
		if took < verify/2 {
			t.Errorf("%s: the answer cost %v of CPU, but one argon2id verification costs %v: no hash was checked", tt.name, took, verify)
		}
	}
}
