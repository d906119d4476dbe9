package passkeyd

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// keyStore is a CeremonyKeyStore in memory that counts its reads.
type keyStore struct {
	mu    sync.Mutex
	keys  []CeremonyKey
	reads int
}

func (k *keyStore) CeremonyKeys(context.Context) ([]CeremonyKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reads++
	out := append([]CeremonyKey(nil), k.keys...)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func (k *keyStore) AddCeremonyKey(_ context.Context, key CeremonyKey, retire bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, old := range k.keys {
		if old.ID == key.ID {
			if retire {
				return ErrCeremonyKeyExists
			}
			return nil
		}
		if retire && old.RetiredAt.IsZero() {
			k.keys[i].RetiredAt = key.CreatedAt
		}
	}
	k.keys = append(k.keys, key)
	return nil
}

func (k *keyStore) DeleteCeremonyKeys(context.Context, time.Time) (int64, error) { return 0, nil }

func testState(now time.Time) *ceremonyState {
	return &ceremonyState{kind: kindLogin, userID: "u1", expiresAt: now.Add(time.Minute),
		data: webauthn.SessionData{Challenge: "Y2hhbGxlbmdlLWNoYWxsZW5nZS1jaGFsbGVuZ2UtMzI", UserVerification: "preferred"}}
}

func TestSealRoundTrip(t *testing.T) {
	now := time.Now()
	s := &sealer{store: &keyStore{}, ttl: time.Minute, now: func() time.Time { return now }}
	ctx := context.Background()
	st := testState(now)
	st.data.AllowedCredentialIDs = [][]byte{[]byte("left out")}
	sealed, err := s.seal(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.open(ctx, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if got.kind != st.kind || got.userID != st.userID || !got.expiresAt.Equal(st.expiresAt.Truncate(time.Millisecond)) ||
		got.data.Challenge != st.data.Challenge || got.data.UserVerification != st.data.UserVerification ||
		got.data.AllowedCredentialIDs != nil {
		t.Errorf("opened %+v, sealed %+v", got, st)
	}
	if len(sealed) > 400 {
		t.Errorf("a sealed login state is %d bytes; it must stay small enough for a cookie", len(sealed))
	}
}

// The window of a retired key: it opens for the TTL and the refresh after
// its retirement, then never again; an unknown key id makes the sealer
// read the keys again, at most once a second.
func TestSealRetiredKeyWindow(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	store := &keyStore{}
	ctx := context.Background()
	a := &sealer{store: store, ttl: time.Minute, now: clock}
	b := &sealer{store: store, ttl: time.Minute, now: clock}
	old, err := a.seal(ctx, testState(now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.open(ctx, old); err != nil {
		t.Fatalf("b opening a's state: %v", err)
	}
	if _, err := RotateCeremonyKey(ctx, store, now); err != nil {
		t.Fatal(err)
	}
	fresh, err := (&sealer{store: store, ttl: time.Minute, now: clock}).seal(ctx, testState(now))
	if err != nil {
		t.Fatal(err)
	}
	// b has not refreshed, but meets a key it does not know: it reads the
	// keys again at once.
	reads := store.reads
	if _, err := b.open(ctx, fresh); err != nil {
		t.Fatalf("b opening a state of the new key: %v", err)
	}
	if store.reads != reads+1 {
		t.Errorf("b read the keys %d times, want once", store.reads-reads)
	}
	// Garbage with unknown key ids does not make it read them again
	// within the second.
	for range 10 {
		if _, err := b.open(ctx, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, errSealUnknownKey) {
			t.Fatalf("unknown key: %v", err)
		}
	}
	if store.reads > reads+1 {
		t.Errorf("unknown key ids made b read the keys %d times", store.reads-reads)
	}
	now = now.Add(time.Minute + keyRefresh - time.Millisecond)
	if _, err := b.open(ctx, old); err != nil {
		t.Fatalf("the retired key just before its window closes: %v", err)
	}
	now = now.Add(time.Millisecond)
	if _, err := b.open(ctx, old); !errors.Is(err, errSealUnknownKey) {
		t.Fatalf("the retired key after its window: %v, want errSealUnknownKey", err)
	}
}

func TestSealFixedKeys(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	k1, k2 := make([]byte, 32), make([]byte, 32)
	k2[0] = 1
	ctx := context.Background()
	old, err := newFixedSealer([][]byte{k1}, clock)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := newFixedSealer([][]byte{k2, k1}, clock)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := old.seal(ctx, testState(now))
	if _, err := rotated.open(ctx, sealed); err != nil {
		t.Errorf("the second fixed key does not open: %v", err)
	}
	sealed, _ = rotated.seal(ctx, testState(now))
	if _, err := old.open(ctx, sealed); !errors.Is(err, errSealUnknownKey) {
		t.Errorf("a key it was never given: %v", err)
	}
	for _, keys := range [][][]byte{nil, {make([]byte, 16)}, {k1, k1}} {
		if _, err := newFixedSealer(keys, clock); err == nil {
			t.Errorf("newFixedSealer(%d keys) accepted", len(keys))
		}
	}
}

func FuzzOpenSealed(f *testing.F) {
	now := time.Now()
	s, err := newFixedSealer([][]byte{make([]byte, 32)}, func() time.Time { return now })
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := s.seal(context.Background(), testState(now))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, in string) {
		st, err := s.open(context.Background(), in)
		if err == nil && in != sealed {
			// Only what was sealed opens (or a re-encoding of it).
			if st.data.Challenge != testState(now).data.Challenge {
				t.Fatalf("%q opened to %+v", in, st)
			}
		}
	})
}

func FuzzDecodeCeremonyState(f *testing.F) {
	plain, err := testState(time.Now()).encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(plain)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Never a panic; a decoded state encodes again.
		st, err := decodeCeremonyState(b)
		if err == nil {
			if _, err := st.encode(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
