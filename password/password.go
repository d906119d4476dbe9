// Package password hashes and verifies user passwords with argon2id.
//
// Hashes are stored as PHC strings, the format used by the reference
// argon2 implementation and most other libraries:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// where salt and key are unpadded standard base64. Because the parameters
// travel with each hash, they can be raised later without invalidating
// existing hashes: Verify uses the stored parameters, and NeedsRehash tells
// the caller when to store a fresh hash after a successful login.
//
// A Hasher bounds how many hashes run at once. argon2id is deliberately
// expensive in CPU and memory, so without a bound a burst of login attempts
// could exhaust the server's memory or starve every other request.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	// Memory is the memory cost in KiB. Each running hash allocates this
	// much, so it is also what one Hasher slot costs in RSS.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (argon2 "lanes"). It is part of
	// the hash: verifying with a different value gives a different key.
	Threads uint8
	// SaltLen is the length in bytes of the random salt.
	SaltLen uint32
	// KeyLen is the length in bytes of the derived key that is stored.
	KeyLen uint32
}

// Bounds on parameters. They apply both to a Hasher's own Params and to
// parameters read back from a stored hash: a corrupted or hostile database
// row must not be able to make the server allocate gigabytes or spin for
// minutes, so anything outside them is treated as malformed.
const (
	maxMemory = 1 << 20 // KiB, i.e. 1 GiB
	maxTime   = 100
	minLen    = 8 // bytes, for both salt and key; RFC 9106 requires salt >= 8
	maxLen    = 1024
)

// DefaultParams returns the parameters new passwords should be hashed with:
// argon2id with m=19456 KiB (19 MiB), t=2, p=1, a 16-byte salt and a 32-byte
// key.
//
// This is the minimum configuration recommended by the OWASP Password
// Storage Cheat Sheet. The cheat sheet also lists equivalent trade-offs,
// such as 46 MiB with t=1; we prefer 19 MiB with t=2 because memory is what
// limits how many hashes can run at once: a Hasher allowing n concurrent
// hashes needs roughly n × 19 MiB of RSS for them (more in practice, since
// the Go garbage collector frees the buffers lazily).
//
// It is a function rather than a variable so no caller can change the
// package-wide default at run time.
func DefaultParams() Params {
	return Params{
		Memory:  19 * 1024,
		Time:    2,
		Threads: 1,
		SaltLen: 16,
		KeyLen:  32,
	}
}

// validate reports why p is outside the bounds this package accepts, or
// returns nil.
func (p Params) validate() error {
	switch {
	case p.Threads == 0:
		return errors.New("threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads):
		// argon2 needs 8 KiB per lane; x/crypto would silently round
		// smaller values up, making the stored m= a lie.
		return errors.New("memory must be at least 8 KiB per thread")
	case p.Memory > maxMemory:
		return errors.New("memory exceeds 1 GiB")
	case p.Time == 0 || p.Time > maxTime:
		return fmt.Errorf("time must be between 1 and %d", maxTime)
	case p.SaltLen < minLen || p.SaltLen > maxLen:
		return fmt.Errorf("salt length must be between %d and %d bytes", minLen, maxLen)
	case p.KeyLen < minLen || p.KeyLen > maxLen:
		return fmt.Errorf("key length must be between %d and %d bytes", minLen, maxLen)
	}
	return nil
}

// ErrMalformedHash is returned (possibly wrapped, so test with errors.Is)
// when an encoded hash cannot be parsed, is not argon2id version 19, or
// carries parameters outside the bounds this package accepts.
var ErrMalformedHash = errors.New("password: malformed hash")

// malformed wraps ErrMalformedHash with a short reason for logs. The reason
// never includes the encoded hash itself, which is a secret.
func malformed(reason string) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, reason)
}

// Hasher hashes and verifies passwords with a bound on how many hashes run
// at once, so a burst of password attempts cannot starve the rest of the
// server of CPU or memory (each running hash allocates Params.Memory KiB).
// Callers beyond the bound wait for a free slot, or give up when their
// context ends.
//
// A Hasher is safe for concurrent use. Create one with NewHasher and share
// it; the zero value is not usable.
type Hasher struct {
	params Params

	// slots is a counting semaphore: sending takes a slot, receiving
	// frees it. Its capacity is the concurrency bound.
	slots chan struct{}
	// waiting counts the hashes waiting for a slot.
	waiting atomic.Int64

	// dummy is an encoded hash with h's params of a random key, for
	// VerifyDummy. No password hashes to it, which is fine: only the work
	// done matters, not the answer.
	dummy string
}

// NewHasher returns a Hasher that hashes new passwords with p and runs at
// most maxConcurrent hashes at once. maxConcurrent <= 0 means
// runtime.GOMAXPROCS(0), one hash per CPU the Go runtime uses.
//
// NewHasher panics if p is outside the bounds Verify accepts (for example
// zero Threads or Time, Memory over 1 GiB, or salt or key lengths outside
// 8..1024 bytes): such a Hasher would write hashes it could never verify,
// and bad parameters are a programming error, not a run-time condition.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := p.validate(); err != nil {
		panic("password: invalid Params: " + err.Error())
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	return &Hasher{
		params: p,
		slots:  make(chan struct{}, maxConcurrent),
		// Random bytes cost nothing to make and are indistinguishable
		// from a real key, so there is no need to run argon2 here.
		dummy: encode(p, randomBytes(p.SaltLen), randomBytes(p.KeyLen)),
	}
}

// acquire waits for a hashing slot. It returns ctx.Err() if ctx ends first.
func (h *Hasher) acquire(ctx context.Context) error {
	// Check first: select picks at random among ready cases, and a
	// request whose caller has already gone should not start a hash.
	if err := ctx.Err(); err != nil {
		return err
	}
	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Waiting returns how many hashes wait for a slot: the hashing queue.
func (h *Hasher) Waiting() int { return int(h.waiting.Load()) }

// Running returns how many hashes run now.
func (h *Hasher) Running() int { return len(h.slots) }

// release frees a slot taken by acquire.
func (h *Hasher) release() {
	<-h.slots
}

// key derives the argon2id key for password under p. It takes a slot for
// the duration of the hash. The hash itself cannot be interrupted; ctx only
// bounds the wait for a slot.
func (h *Hasher) key(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer h.release()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// Hash returns the PHC-encoded argon2id hash of password with a fresh
// random salt, using h's params, for example
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// The only possible error is ctx's, if it ends while waiting for a slot.
// Hash does not apply ValidatePolicy; callers setting a new password should.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := randomBytes(h.params.SaltLen)
	key, err := h.key(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, a hash produced by Hash
// (possibly by a Hasher with other params: the params stored in encoded are
// used, not h's). The comparison takes constant time.
//
// A wrong password is ok == false with a nil error. An error means the
// password could not be checked: encoded is malformed (errors.Is
// ErrMalformedHash), or ctx ended while waiting for a slot (ctx.Err()).
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok bool, err error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got, err := h.key(ctx, password, salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy does the same work as a Verify of password against a hash
// made with h's params, and discards the result. Call it when a login names
// an unknown user, so the response takes as long as for a real user and its
// timing does not reveal whether the username exists. (Real users whose
// hashes still carry older params take a different time; rehashing on login,
// see NeedsRehash, keeps that population small.)
//
// If ctx ends while waiting for a slot, VerifyDummy returns early, as Verify
// would.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	// Go through Verify itself, decoding included, so the two cannot
	// drift apart. The result is always false and deliberately ignored.
	_, _ = h.Verify(ctx, password, h.dummy)
}

// NeedsRehash reports whether encoded was made with params other than h's,
// so the caller should hash the password again (right after a successful
// Verify, while the plaintext is at hand) and store the new hash. It also
// returns true for a malformed hash, which could never verify anyway.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decode(encoded)
	return err != nil || p != h.params
}

// encode formats a hash as a PHC string. decode accepts exactly what encode
// produces, and nothing else.
func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// decode parses a PHC string made by encode, returning its params (with
// SaltLen and KeyLen taken from the decoded salt and key), salt and key.
//
// It is strict on purpose: only the canonical form encode writes is
// accepted (fields in order, no leading zeros, no optional PHC fields,
// canonical base64), so that each stored hash has exactly one spelling and
// there is less parser surface to get wrong. All errors wrap
// ErrMalformedHash.
func decode(encoded string) (p Params, salt, key []byte, err error) {
	// "$argon2id$v=19$m=..,t=..,p=..$salt$key" splits into an empty
	// string followed by five fields.
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return Params{}, nil, nil, malformed("wrong number of fields")
	}
	if fields[1] != "argon2id" {
		return Params{}, nil, nil, malformed("not argon2id")
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, malformed("unsupported version")
	}

	costs := strings.Split(fields[3], ",")
	if len(costs) != 3 {
		return Params{}, nil, nil, malformed("wrong number of parameters")
	}
	m, ok1 := parseUint(costs[0], "m=", 32)
	t, ok2 := parseUint(costs[1], "t=", 32)
	threads, ok3 := parseUint(costs[2], "p=", 8)
	if !ok1 || !ok2 || !ok3 {
		return Params{}, nil, nil, malformed("bad parameters")
	}

	salt, ok := decodeBase64(fields[4])
	if !ok {
		return Params{}, nil, nil, malformed("bad salt")
	}
	key, ok = decodeBase64(fields[5])
	if !ok {
		return Params{}, nil, nil, malformed("bad key")
	}

	p = Params{
		Memory:  uint32(m),
		Time:    uint32(t),
		Threads: uint8(threads),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.validate(); err != nil {
		return Params{}, nil, nil, malformed(err.Error())
	}
	return p, salt, key, nil
}

// parseUint parses "<prefix><decimal>" where the decimal fits in bitSize
// bits and is written canonically (no sign, no leading zeros).
func parseUint(s, prefix string, bitSize int) (uint64, bool) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, bitSize)
	if err != nil || strconv.FormatUint(n, 10) != digits {
		return 0, false
	}
	return n, true
}

// decodeBase64 decodes unpadded standard base64 holding minLen..maxLen
// bytes, accepting only the canonical encoding.
func decodeBase64(s string) ([]byte, bool) {
	// Check the length before decoding so an oversized field costs no
	// allocation.
	if n := base64.RawStdEncoding.DecodedLen(len(s)); n < minLen || n > maxLen {
		return nil, false
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	// The decoder ignores '\r' and '\n' and non-zero trailing bits;
	// re-encoding rejects both, so the input was canonical.
	if err != nil || base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// randomBytes returns n bytes from the operating system's CSPRNG.
func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error (since Go 1.24 it crashes
	// the program instead if the OS cannot supply randomness), so there is
	// no error to handle here.
	_, _ = rand.Read(b)
	return b
}

// policyError is the type of ValidatePolicy's errors. Being a string type
// lets the errors be constants rather than package variables.
type policyError string

func (e policyError) Error() string { return string(e) }

// Password policy limits. The maximum is generous (NIST SP 800-63B asks
// that at least 64 characters be allowed) and exists to bound the work and
// memory spent on a request, not to restrict users.
const (
	minPasswordRunes = 8
	maxPasswordBytes = 1024
)

// ValidatePolicy's errors; their messages are shown to users. Keep the
// numbers in them in step with the limits above.
const (
	errTooShort    policyError = "password must be at least 8 characters"
	errTooLong     policyError = "password must be at most 1024 bytes"
	errInvalidUTF8 policyError = "password must be valid UTF-8 text"
	errHasNUL      policyError = "password must not contain NUL characters"
)

// ValidatePolicy checks a new password against the server's policy: at
// least 8 characters (Unicode code points, not bytes, so non-ASCII
// passwords are not penalised), at most 1024 bytes, valid UTF-8, and no NUL
// characters (which other systems may truncate at). It returns nil if pw is
// acceptable, or an error whose message is fit to show the user.
//
// Apply it when a password is set, not at login, so that a policy change
// never locks out existing users.
func ValidatePolicy(pw string) error {
	// Length first: it bounds the work the remaining checks do.
	if len(pw) > maxPasswordBytes {
		return errTooLong
	}
	if !utf8.ValidString(pw) {
		return errInvalidUTF8
	}
	if strings.IndexByte(pw, 0) >= 0 {
		return errHasNUL
	}
	if utf8.RuneCountInString(pw) < minPasswordRunes {
		return errTooShort
	}
	return nil
}
