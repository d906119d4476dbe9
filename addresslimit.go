package passkeyd

import (
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The default limit of ceremonies one client address may start on one
// instance: a token bucket of 100 that refills at 5 a second. A person
// needs two requests (begin and finish) a login; an office behind one
// address, a few hundred an hour.
const (
	defaultAddressRate  = 5
	defaultAddressBurst = 100
	// maxAddresses bounds the memory a flood of addresses can take.
	maxAddresses = 100_000
	// idleAddress is how long an address unseen keeps its bucket; a full
	// bucket refills in far less.
	idleAddress = 5 * time.Minute
)

// errRateLimited answers a client address over its limit.
var errRateLimited = NewError("rate_limited", "Too many requests from your network. Please wait a moment and try again.")

// addressLimiter limits the ceremonies each client address starts on this
// instance. Unlike password attempts, it lives in memory: a begin writes
// nothing anywhere, and the limit is there to keep one client from
// taking an instance's CPU, which is per instance too.
type addressLimiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*addressBucket
}

type addressBucket struct {
	limiter *rate.Limiter
	seen    time.Time
}

// newAddressLimiter returns the limiter of cfg, or nil when it is off.
func newAddressLimiter(cfg Config) *addressLimiter {
	if cfg.AddressRate < 0 {
		return nil
	}
	return &addressLimiter{rate: rate.Limit(cfg.AddressRate), burst: cfg.AddressBurst, now: cfg.Now, buckets: map[string]*addressBucket{}}
}

// take spends one request of key's bucket, or says how long until one is
// there.
func (l *addressLimiter) take(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxAddresses {
			l.evict(now)
		}
		b = &addressBucket{limiter: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.limiter.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict drops the buckets of addresses unseen for a while, or, when a
// flood of fresh addresses leaves none such, all of them: that forgives
// some requests, and never refuses anyone.
func (l *addressLimiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) > idleAddress {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxAddresses {
		clear(l.buckets)
	}
}

// limitAddress spends one request of r's client address, or returns
// rate_limited with when to retry.
func (s *Service) limitAddress(r *http.Request) error {
	if s.addresses == nil {
		return nil
	}
	if ok, wait := s.addresses.take(addrKey(s.ClientAddr(r))); !ok {
		e := errRateLimited.Wrap(nil)
		e.RetryAfter = max(wait, time.Second)
		return e
	}
	return nil
}
