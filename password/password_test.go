package password

import (
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testParams are deliberately cheap so the tests run fast. Only
// TestDefaultParams and the benchmark use the production cost.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// b64 is shorthand for the encoding used in PHC strings.
func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

func newTestHasher(t testing.TB, maxConcurrent int) *Hasher {
	t.Helper()
	return NewHasher(testParams, maxConcurrent)
}

func mustHash(t testing.TB, h *Hasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatalf("Hash(%q): %v", pw, err)
	}
	return enc
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := newTestHasher(t, 0)
	tests := []struct {
		name string
		pw   string
	}{
		{"ascii", "correct horse battery staple"},
		{"empty", ""},
		{"unicode", "pässwörd-🔑-密码"},
		{"max length", strings.Repeat("a", 1024)},
		{"longer than policy", strings.Repeat("b", 5000)},
		{"contains dollar and comma", "$argon2id$,m=1$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := mustHash(t, h, tt.pw)
			if want := "$argon2id$v=19$m=64,t=1,p=1$"; !strings.HasPrefix(enc, want) {
				t.Errorf("Hash = %q, want prefix %q", enc, want)
			}
			ok, err := h.Verify(context.Background(), tt.pw, enc)
			if err != nil || !ok {
				t.Errorf("Verify(right password) = %v, %v; want true, nil", ok, err)
			}
			ok, err = h.Verify(context.Background(), tt.pw+"x", enc)
			if err != nil || ok {
				t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
			}
			if h.NeedsRehash(enc) {
				t.Error("NeedsRehash of a fresh hash = true, want false")
			}
		})
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	h := newTestHasher(t, 0)
	a, b := mustHash(t, h, "same password"), mustHash(t, h, "same password")
	if a == b {
		t.Fatalf("two hashes of the same password are identical: %q", a)
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	h := newTestHasher(t, 0)
	enc := mustHash(t, h, "hunter22")
	tests := []struct {
		name string
		pw   string
	}{
		{"different", "hunter23"},
		{"empty", ""},
		{"prefix", "hunter2"},
		{"extended", "hunter222"},
		{"case", "HUNTER22"},
		{"trailing NUL", "hunter22\x00"},
		{"the encoded hash itself", enc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), tt.pw, enc)
			if err != nil || ok {
				t.Errorf("Verify = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

// TestVerifyReferenceVectors checks interoperability with other argon2
// implementations, using argon2id test vectors from the reference
// implementation's test suite (phc-winner-argon2, src/test.c).
func TestVerifyReferenceVectors(t *testing.T) {
	h := newTestHasher(t, 0)
	tests := []struct {
		name    string
		pw      string
		encoded string
		want    bool
	}{
		{"m=256 p=1", "password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", true},
		{"m=256 p=2", "password", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc", true},
		{"m=256 p=1 wrong password", "Password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), tt.pw, tt.encoded)
			if err != nil || ok != tt.want {
				t.Errorf("Verify = %v, %v; want %v, nil", ok, err, tt.want)
			}
		})
	}
}

// TestVerifyUsesStoredParams checks that hashes made with older params keep
// verifying after the server's params change, and are flagged for rehash.
func TestVerifyUsesStoredParams(t *testing.T) {
	old := NewHasher(Params{Memory: 32, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16}, 0)
	enc := mustHash(t, old, "pa55word")
	h := newTestHasher(t, 0)
	ok, err := h.Verify(context.Background(), "pa55word", enc)
	if err != nil || !ok {
		t.Errorf("Verify = %v, %v; want true, nil", ok, err)
	}
	if !h.NeedsRehash(enc) {
		t.Error("NeedsRehash = false, want true")
	}
}

// Pieces of a valid encoded hash for building malformed ones.
var (
	salt16 = b64(make([]byte, 16)) // "AAAAAAAAAAAAAAAAAAAAAA"
	key32  = b64(make([]byte, 32))
)

// phc builds an encoded hash from its parts.
func phc(costs, salt, key string) string {
	return "$argon2id$v=19$" + costs + "$" + salt + "$" + key
}

func TestVerifyMalformed(t *testing.T) {
	valid := phc("m=64,t=1,p=1", salt16, key32)
	tests := []struct {
		name    string
		encoded string
	}{
		// Overall structure.
		{"empty", ""},
		{"just a dollar", "$"},
		{"only algorithm", "$argon2id"},
		{"no leading dollar", valid[1:]},
		{"trailing dollar", valid + "$"},
		{"extra field", valid + "$AAAAAAAAAAA"},
		{"missing key", "$argon2id$v=19$m=64,t=1,p=1$" + salt16},
		{"leading space", " " + valid},
		{"trailing newline", valid + "\n"},
		{"NUL inside", strings.Replace(valid, "t=1", "t=1\x00", 1)},

		// Algorithm and version.
		{"argon2i", strings.Replace(valid, "argon2id", "argon2i", 1)},
		{"argon2d", strings.Replace(valid, "argon2id", "argon2d", 1)},
		{"upper case algorithm", strings.Replace(valid, "argon2id", "ARGON2ID", 1)},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt16 + "$" + key32},
		{"version 16", strings.Replace(valid, "v=19", "v=16", 1)},
		{"version leading zero", strings.Replace(valid, "v=19", "v=019", 1)},
		{"version empty", strings.Replace(valid, "v=19", "v=", 1)},
		{"version in params", "$argon2id$v=19,m=64,t=1,p=1$" + salt16 + "$" + key32},

		// Parameter syntax.
		{"params empty", phc("", salt16, key32)},
		{"params reordered", phc("t=1,m=64,p=1", salt16, key32)},
		{"params missing p", phc("m=64,t=1", salt16, key32)},
		{"params extra keyid", phc("m=64,t=1,p=1,keyid=abc", salt16, key32)},
		{"params trailing comma", phc("m=64,t=1,p=1,", salt16, key32)},
		{"params repeated", phc("m=64,m=64,t=1,p=1", salt16, key32)},
		{"params semicolons", phc("m=64;t=1;p=1", salt16, key32)},
		{"params spaces", phc("m=64, t=1, p=1", salt16, key32)},
		{"params upper case", phc("M=64,T=1,P=1", salt16, key32)},
		{"memory empty", phc("m=,t=1,p=1", salt16, key32)},
		{"memory negative", phc("m=-64,t=1,p=1", salt16, key32)},
		{"memory plus sign", phc("m=+64,t=1,p=1", salt16, key32)},
		{"memory leading zero", phc("m=064,t=1,p=1", salt16, key32)},
		{"memory hex", phc("m=0x40,t=1,p=1", salt16, key32)},
		{"memory underscore", phc("m=6_4,t=1,p=1", salt16, key32)},
		{"memory overflows uint32", phc("m=4294967296,t=1,p=1", salt16, key32)},
		{"memory huge", phc("m=99999999999999999999999999,t=1,p=1", salt16, key32)},
		{"time overflows uint32", phc("m=64,t=4294967297,p=1", salt16, key32)},
		{"threads overflow uint8", phc("m=4096,t=1,p=256", salt16, key32)},

		// Parameter bounds.
		{"memory over 1 GiB", phc("m=1048577,t=1,p=1", salt16, key32)},
		{"memory max uint32", phc("m=4294967295,t=1,p=1", salt16, key32)},
		{"memory zero", phc("m=0,t=1,p=1", salt16, key32)},
		{"memory under 8 KiB per thread", phc("m=15,t=1,p=2", salt16, key32)},
		{"time zero", phc("m=64,t=0,p=1", salt16, key32)},
		{"time over 100", phc("m=64,t=101,p=1", salt16, key32)},
		{"threads zero", phc("m=64,t=1,p=0", salt16, key32)},

		// Salt.
		{"salt empty", phc("m=64,t=1,p=1", "", key32)},
		{"salt 7 bytes", phc("m=64,t=1,p=1", b64(make([]byte, 7)), key32)},
		{"salt 1025 bytes", phc("m=64,t=1,p=1", b64(make([]byte, 1025)), key32)},
		{"salt padded", phc("m=64,t=1,p=1", base64.StdEncoding.EncodeToString(make([]byte, 16)), key32)},
		{"salt url alphabet", phc("m=64,t=1,p=1", "-_-_-_-_-_-_-_-_-_-_-_", key32)},
		{"salt impossible length", phc("m=64,t=1,p=1", salt16[:21], key32)}, // 4n+1 characters
		{"salt non-canonical trailing bits", phc("m=64,t=1,p=1", salt16[:21]+"B", key32)},
		{"salt with newline", phc("m=64,t=1,p=1", salt16[:11]+"\n"+salt16[11:], key32)},
		{"salt with CR", phc("m=64,t=1,p=1", salt16[:11]+"\r"+salt16[11:], key32)},

		// Key.
		{"key empty", phc("m=64,t=1,p=1", salt16, "")},
		{"key 7 bytes", phc("m=64,t=1,p=1", salt16, b64(make([]byte, 7)))},
		{"key 1025 bytes", phc("m=64,t=1,p=1", salt16, b64(make([]byte, 1025)))},
		{"key padded", phc("m=64,t=1,p=1", salt16, base64.StdEncoding.EncodeToString(make([]byte, 32)))},
		{"key invalid character", phc("m=64,t=1,p=1", salt16, key32[:42]+"*")},
		{"key with newline", phc("m=64,t=1,p=1", salt16, key32[:20]+"\n"+key32[20:])},
	}
	h := newTestHasher(t, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), "password", tt.encoded)
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformedHash", tt.encoded, ok, err)
			}
			if !h.NeedsRehash(tt.encoded) {
				t.Errorf("NeedsRehash(%q) = false, want true", tt.encoded)
			}
		})
	}
}

// TestDecodeBounds checks that values at the edges of the accepted ranges
// still decode. It only decodes: hashing with m=1 GiB would be slow.
func TestDecodeBounds(t *testing.T) {
	tests := []struct {
		name    string
		encoded string
		want    Params
	}{
		{"minimum", phc("m=8,t=1,p=1", b64(make([]byte, 8)), b64(make([]byte, 8))),
			Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 8}},
		{"maximum", phc("m=1048576,t=100,p=255", b64(make([]byte, 1024)), b64(make([]byte, 1024))),
			Params{Memory: 1 << 20, Time: 100, Threads: 255, SaltLen: 1024, KeyLen: 1024}},
		{"8 KiB per thread", phc("m=2040,t=1,p=255", salt16, key32),
			Params{Memory: 2040, Time: 1, Threads: 255, SaltLen: 16, KeyLen: 32}},
		{"defaults", phc("m=19456,t=2,p=1", salt16, key32), DefaultParams()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, _, err := decode(tt.encoded)
			if err != nil || p != tt.want {
				t.Errorf("decode = %+v, %v; want %+v, nil", p, err, tt.want)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	h := newTestHasher(t, 0)
	with := func(change func(*Params)) string {
		p := testParams
		change(&p)
		return encode(p, make([]byte, p.SaltLen), make([]byte, p.KeyLen))
	}
	tests := []struct {
		name    string
		encoded string
		want    bool
	}{
		{"same params", with(func(*Params) {}), false},
		{"hash from Hash", mustHash(t, h, "password"), false},
		{"more memory", with(func(p *Params) { p.Memory *= 2 }), true},
		{"less memory", with(func(p *Params) { p.Memory /= 2 }), true},
		{"more time", with(func(p *Params) { p.Time++ }), true},
		{"more threads", with(func(p *Params) { p.Threads++ }), true},
		{"shorter salt", with(func(p *Params) { p.SaltLen = 8 }), true},
		{"longer key", with(func(p *Params) { p.KeyLen = 64 }), true},
		{"default params", encode(DefaultParams(), make([]byte, 16), make([]byte, 32)), true},
		{"malformed", "not a hash", true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.NeedsRehash(tt.encoded); got != tt.want {
				t.Errorf("NeedsRehash(%q) = %v, want %v", tt.encoded, got, tt.want)
			}
		})
	}
}

func TestValidatePolicy(t *testing.T) {
	tests := []struct {
		name    string
		pw      string
		wantErr error // nil means acceptable
	}{
		{"8 ascii characters", "abcdefgh", nil},
		{"passphrase", "correct horse battery staple", nil},
		{"8 multibyte characters", "ääääääää", nil},
		{"8 emoji", strings.Repeat("🔑", 8), nil},
		{"exactly 1024 bytes", strings.Repeat("a", 1024), nil},
		{"spaces only", "        ", nil},
		{"empty", "", errTooShort},
		{"7 characters", "abcdefg", errTooShort},
		{"7 multibyte characters in 14 bytes", "äääääää", errTooShort},
		{"1025 bytes", strings.Repeat("a", 1025), errTooLong},
		{"256 four-byte characters", strings.Repeat("🔑", 256), nil},
		{"257 four-byte characters", strings.Repeat("🔑", 257), errTooLong},
		{"invalid UTF-8", "abcdefgh\xff", errInvalidUTF8},
		{"truncated UTF-8", "abcdefgh\xc3", errInvalidUTF8},
		{"UTF-16 surrogate", "abcdefgh\xed\xa0\x80", errInvalidUTF8},
		{"NUL in middle", "abcd\x00efgh", errHasNUL},
		{"NUL at end", "abcdefgh\x00", errHasNUL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePolicy(tt.pw)
			if err != tt.wantErr {
				t.Errorf("ValidatePolicy = %v, want %v", err, tt.wantErr)
			}
		})
	}
	// The messages are shown to users, so pin the main one.
	if got, want := ValidatePolicy("short").Error(), "password must be at least 8 characters"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

// notifyingContext reports on waiting the first time its Done channel is
// asked for. acquire asks for it only after its up-front ctx.Err() check,
// as it enters the select, so the test can cancel at exactly that point
// without sleeping.
type notifyingContext struct {
	context.Context
	waiting chan struct{} // buffered, capacity 1
}

func (c notifyingContext) Done() <-chan struct{} {
	select {
	case c.waiting <- struct{}{}:
	default:
	}
	return c.Context.Done()
}

func TestContextCancelledWhileSlotsBusy(t *testing.T) {
	h := newTestHasher(t, 1)
	enc := mustHash(t, h, "password") // before the slot is taken

	// Hold the only slot for the whole test, so every call below has to
	// wait and can only finish through its context.
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The operations that wait for a slot, each reduced to its error.
	ops := []struct {
		name string
		run  func(t *testing.T, ctx context.Context) error
	}{
		{"Hash", func(t *testing.T, ctx context.Context) error {
			enc, err := h.Hash(ctx, "password")
			if enc != "" {
				t.Errorf("Hash returned %q with error %v, want empty", enc, err)
			}
			return err
		}},
		{"Verify", func(t *testing.T, ctx context.Context) error {
			ok, err := h.Verify(ctx, "password", enc)
			if ok {
				t.Error("Verify returned true while cancelled")
			}
			return err
		}},
		{"VerifyDummy", func(_ *testing.T, ctx context.Context) error {
			h.VerifyDummy(ctx, "password") // must return rather than block
			return ctx.Err()
		}},
	}
	for _, op := range ops {
		t.Run(op.name+"/already cancelled", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := op.run(t, ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
		})
		t.Run(op.name+"/cancelled while waiting", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			nctx := notifyingContext{ctx, make(chan struct{}, 1)}
			errc := make(chan error, 1)
			go func() { errc <- op.run(t, nctx) }()
			<-nctx.waiting // the call is now waiting for the slot
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
		})
		t.Run(op.name+"/deadline while waiting", func(t *testing.T) {
			// The deadline is the only way out, since the slot stays
			// taken; its length does not matter for correctness.
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			defer cancel()
			if err := op.run(t, ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want context.DeadlineExceeded", err)
			}
		})
	}

	// A malformed hash is reported without waiting for a slot.
	t.Run("malformed hash does not wait", func(t *testing.T) {
		ok, err := h.Verify(context.Background(), "password", "garbage")
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify = %v, %v; want false, ErrMalformedHash", ok, err)
		}
	})

	// Cancelled waiters must not have leaked slots: once the held slot is
	// released, hashing works again.
	h.release()
	ok, err := h.Verify(context.Background(), "password", mustHash(t, h, "password"))
	if err != nil || !ok {
		t.Errorf("Verify after release = %v, %v; want true, nil", ok, err)
	}
	if n := len(h.slots); n != 0 {
		t.Errorf("%d slots still taken, want 0", n)
	}
}

func TestNewHasherConcurrency(t *testing.T) {
	tests := []struct {
		name          string
		maxConcurrent int
		want          int
	}{
		{"explicit", 3, 3},
		{"one", 1, 1},
		{"zero means GOMAXPROCS", 0, runtime.GOMAXPROCS(0)},
		{"negative means GOMAXPROCS", -1, runtime.GOMAXPROCS(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cap(NewHasher(testParams, tt.maxConcurrent).slots); got != tt.want {
				t.Errorf("slots = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestNewHasherPanicsOnInvalidParams(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Params)
	}{
		{"zero params", func(p *Params) { *p = Params{} }},
		{"zero threads", func(p *Params) { p.Threads = 0 }},
		{"zero time", func(p *Params) { p.Time = 0 }},
		{"too much time", func(p *Params) { p.Time = 101 }},
		{"too little memory", func(p *Params) { p.Memory = 7 }},
		{"too much memory", func(p *Params) { p.Memory = 1<<20 + 1 }},
		{"short salt", func(p *Params) { p.SaltLen = 7 }},
		{"long salt", func(p *Params) { p.SaltLen = 1025 }},
		{"short key", func(p *Params) { p.KeyLen = 7 }},
		{"long key", func(p *Params) { p.KeyLen = 1025 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testParams
			tt.change(&p)
			defer func() {
				if recover() == nil {
					t.Errorf("NewHasher(%+v) did not panic", p)
				}
			}()
			NewHasher(p, 1)
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	h := newTestHasher(t, 1)
	// The dummy must cost what a real hash with h's params costs, so it
	// must decode to exactly those params.
	if p, _, _, err := decode(h.dummy); err != nil || p != testParams {
		t.Fatalf("dummy decodes to %+v, %v; want %+v, nil", p, err, testParams)
	}
	for _, pw := range []string{"", "password", strings.Repeat("x", 1024)} {
		h.VerifyDummy(context.Background(), pw)
	}
	// It must give the slot back.
	if n := len(h.slots); n != 0 {
		t.Errorf("%d slots still taken after VerifyDummy, want 0", n)
	}
	// Dummies differ between Hashers, so nothing about one is predictable.
	if other := newTestHasher(t, 1); other.dummy == h.dummy {
		t.Error("two Hashers share a dummy hash")
	}
}

func TestDefaultParams(t *testing.T) {
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", got, want)
	}
	h := NewHasher(DefaultParams(), 0)
	enc := mustHash(t, h, "correct horse battery staple")
	if prefix := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(enc, prefix) {
		t.Errorf("Hash = %q, want prefix %q", enc, prefix)
	}
	// 16-byte salt and 32-byte key in unpadded base64.
	if parts := strings.Split(enc, "$"); len(parts) != 6 || len(parts[4]) != 22 || len(parts[5]) != 43 {
		t.Errorf("Hash = %q, want a 22-character salt and a 43-character key", enc)
	}
	ok, err := h.Verify(context.Background(), "correct horse battery staple", enc)
	if err != nil || !ok {
		t.Errorf("Verify = %v, %v; want true, nil", ok, err)
	}
	if h.NeedsRehash(enc) {
		t.Error("NeedsRehash = true, want false")
	}
}

// FuzzParse checks that decode never panics, that everything it accepts is
// within bounds, and that it accepts only the canonical form encode writes.
func FuzzParse(f *testing.F) {
	seeds := []string{
		phc("m=64,t=1,p=1", salt16, key32),
		encode(DefaultParams(), make([]byte, 16), make([]byte, 32)),
		"$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
		phc("m=8,t=1,p=1", b64(make([]byte, 8)), b64(make([]byte, 8))),
		phc("m=1048576,t=100,p=255", salt16, key32),
		phc("m=1048577,t=1,p=1", salt16, key32),
		phc("m=064,t=1,p=1", salt16, key32),
		phc("m=64,t=1,p=1", salt16[:21]+"B", key32),
		phc("m=64,t=1,p=1,keyid=x", salt16, key32),
		"$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$m=64,t=1,p=1$" + salt16 + "$" + key32,
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"",
		"$$$$$",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		p, salt, key, err := decode(encoded)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("decode error %v does not wrap ErrMalformedHash", err)
			}
			if p != (Params{}) || salt != nil || key != nil {
				t.Fatalf("decode returned %+v, %x, %x with error %v", p, salt, key, err)
			}
			return
		}
		if verr := p.validate(); verr != nil {
			t.Fatalf("decode accepted out-of-bounds params %+v: %v", p, verr)
		}
		if int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("params %+v disagree with salt %d and key %d bytes", p, len(salt), len(key))
		}
		if re := encode(p, salt, key); re != encoded {
			t.Fatalf("decode accepted non-canonical %q (canonical %q)", encoded, re)
		}
	})
}

func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultParams(), 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// Make sure the limits quoted in user-facing messages match the constants.
func TestPolicyMessagesMatchLimits(t *testing.T) {
	if !strings.Contains(string(errTooShort), strconv.Itoa(minPasswordRunes)) {
		t.Errorf("%q does not mention %d", errTooShort, minPasswordRunes)
	}
	if !strings.Contains(string(errTooLong), strconv.Itoa(maxPasswordBytes)) {
		t.Errorf("%q does not mention %d", errTooLong, maxPasswordBytes)
	}
}
