package passkeyd

import (
	"sync"
	"time"
)

// Password guessing is slowed per account: after maxFailures failed
// password logins for one username within failureWindow, further
// attempts for it are refused until the window has passed, without a
// password hash being computed. The limit is the same for usernames that
// exist and those that do not, so it tells an attacker nothing; a locked-out
// user can still log in with a passkey. The count is per instance: behind a
// load balancer, N instances allow N times as many guesses.
const (
	maxFailures   = 10
	failureWindow = 15 * time.Minute
	// maxTracked bounds the memory a flood of usernames can take.
	maxTracked = 100_000
)

// failureCounter counts failed password logins per username key.
type failureCounter struct {
	mu      sync.Mutex
	entries map[string]failures
}

type failures struct {
	count int
	since time.Time
}

func newFailureCounter() *failureCounter {
	return &failureCounter{entries: map[string]failures{}}
}

// blocked reports whether key has used up its attempts at now, and until
// when.
func (c *failureCounter) blocked(key string, now time.Time) (bool, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.entries[key]
	if !ok || now.Sub(f.since) >= failureWindow {
		return false, time.Time{}
	}
	return f.count >= maxFailures, f.since.Add(failureWindow)
}

// fail records a failed attempt for key.
func (c *failureCounter) fail(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.entries[key]
	if !ok || now.Sub(f.since) >= failureWindow {
		if len(c.entries) >= maxTracked {
			c.evict(now)
		}
		f = failures{since: now}
	}
	f.count++
	c.entries[key] = f
}

// succeed forgets key's failures.
func (c *failureCounter) succeed(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// evict drops expired entries, or all of them when none has expired, so
// the map never grows past maxTracked. Dropping live entries only forgives
// some failures; it never blocks anyone.
func (c *failureCounter) evict(now time.Time) {
	for k, f := range c.entries {
		if now.Sub(f.since) >= failureWindow {
			delete(c.entries, k)
		}
	}
	if len(c.entries) >= maxTracked {
		clear(c.entries)
	}
}
