package passkeyd

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestFailureCounter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		failures    int
		succeed     bool
		checkAfter  time.Duration
		wantBlocked bool
	}{
		{"under the limit", maxFailures - 1, false, 0, false},
		{"at the limit", maxFailures, false, 0, true},
		{"at the limit, just before the window ends", maxFailures, false, failureWindow - time.Second, true},
		{"at the limit, window over", maxFailures, false, failureWindow, false},
		{"success forgives", maxFailures, true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFailureCounter()
			for range tt.failures {
				c.fail("k", now)
			}
			if tt.succeed {
				c.succeed("k")
			}
			blocked, until := c.blocked("k", now.Add(tt.checkAfter))
			if blocked != tt.wantBlocked {
				t.Fatalf("blocked = %v, want %v", blocked, tt.wantBlocked)
			}
			if blocked && !until.Equal(now.Add(failureWindow)) {
				t.Errorf("until = %v, want %v", until, now.Add(failureWindow))
			}
			if other, _ := c.blocked("other", now); other {
				t.Error("another key is blocked too")
			}
		})
	}
}

// The counter tracks at most maxTracked keys: the one past the cap
// makes it evict. (Keys are decimal numbers: all distinct, which runes
// are not — the surrogate range would fold into one.)
func TestFailureCounterBounded(t *testing.T) {
	c := newFailureCounter()
	now := time.Now()
	for i := range maxTracked {
		c.fail(strconv.Itoa(i), now)
	}
	if len(c.entries) != maxTracked {
		t.Fatalf("%d entries tracked after %d distinct keys, want all of them", len(c.entries), maxTracked)
	}
	c.fail("one more", now)
	if len(c.entries) > maxTracked {
		t.Fatalf("%d entries tracked, want at most %d", len(c.entries), maxTracked)
	}
	if len(c.entries) != 1 {
		t.Fatalf("%d entries after the cap with none expired, want only the newest", len(c.entries))
	}
}

func TestThrottleKeyIgnoresCase(t *testing.T) {
	if throttleKey("Alice") != throttleKey("alice") || throttleKey("alice") == throttleKey("bob") {
		t.Fatal("throttleKey must fold case and tell users apart")
	}
	if len(throttleKey(string(make([]byte, 60000)))) != 16 {
		t.Fatal("throttleKey must be of fixed size")
	}
}

func TestHashBusy(t *testing.T) {
	live := context.Background()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	other := errors.New("malformed hash")
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error
	}{
		{"slot wait timed out", live, context.DeadlineExceeded, ErrBusy},
		{"request ended", gone, context.DeadlineExceeded, context.DeadlineExceeded},
		{"other error", live, other, other},
	}
	for _, tt := range tests {
		got := hashBusy(tt.ctx, tt.err)
		var e *Error
		if errors.As(tt.want, &e) {
			if !errors.As(got, &e) || e.Code != ErrBusy.Code || HTTPStatus(got) != http.StatusServiceUnavailable {
				t.Errorf("%s: hashBusy = %v, want a 503 busy error", tt.name, got)
			}
			continue
		}
		if !errors.Is(got, tt.want) {
			t.Errorf("%s: hashBusy = %v, want %v", tt.name, got, tt.want)
		}
	}
}
