package storetest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
)

// newCeremonyKey returns a ceremony key with a random secret.
func newCeremonyKey(id uint32, created time.Time) passkeyd.CeremonyKey {
	return passkeyd.CeremonyKey{ID: id, Secret: randomBytes(32), CreatedAt: micro(created)}
}

// wantCeremonyKeys fails the test unless the store holds exactly want,
// in that order.
func wantCeremonyKeys(t *testing.T, s Store, want ...passkeyd.CeremonyKey) {
	t.Helper()
	got, err := s.CeremonyKeys(context.Background())
	if err != nil {
		t.Fatalf("CeremonyKeys: %v", err)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CeremonyKeys =\n%+v\nwant\n%+v", got, want)
	}
}

// testCeremonyKeys walks the keys through what instances do with them:
// agree on a first key when they start together, rotate (once, when two
// try at the same moment), and sweep the retired keys.
func testCeremonyKeys(t *testing.T, s Store) {
	ctx := context.Background()
	base := micro(time.Now())
	wantCeremonyKeys(t, s)

	// First start.
	k1 := newCeremonyKey(1, base)
	in := k1
	in.Secret = bytes.Clone(k1.Secret)
	if err := s.AddCeremonyKey(ctx, in, false); err != nil {
		t.Fatalf("AddCeremonyKey(1): %v", err)
	}
	// The store keeps its own copy of the secret.
	clear(in.Secret)
	wantCeremonyKeys(t, s, k1)

	// Another instance started at the same moment and made its own key
	// 1: it must end up with the first one's, so nothing is stored.
	if err := s.AddCeremonyKey(ctx, newCeremonyKey(1, base.Add(time.Second)), false); err != nil {
		t.Fatalf("AddCeremonyKey(1) again without retire = %v, want no error", err)
	}
	wantCeremonyKeys(t, s, k1)

	// Rotation: k2 seals from now on, k1 still opens for a while.
	k2 := newCeremonyKey(2, base.Add(time.Hour))
	if err := s.AddCeremonyKey(ctx, k2, true); err != nil {
		t.Fatalf("AddCeremonyKey(2, retire): %v", err)
	}
	r1 := k1
	r1.RetiredAt = k2.CreatedAt
	wantCeremonyKeys(t, s, k2, r1)

	// Another instance rotated to its own key 2 at the same moment: it
	// is refused and changes nothing, k2 above all stays the sealing
	// key.
	err := s.AddCeremonyKey(ctx, newCeremonyKey(2, base.Add(2*time.Hour)), true)
	if !errors.Is(err, passkeyd.ErrCeremonyKeyExists) {
		t.Fatalf("AddCeremonyKey(2, retire) again = %v, want ErrCeremonyKeyExists", err)
	}
	wantCeremonyKeys(t, s, k2, r1)

	// The next rotation retires k2; k1 keeps the time it was retired,
	// or it would open ceremonies for longer than one TTL after that.
	k3 := newCeremonyKey(3, base.Add(3*time.Hour))
	if err := s.AddCeremonyKey(ctx, k3, true); err != nil {
		t.Fatalf("AddCeremonyKey(3, retire): %v", err)
	}
	r2 := k2
	r2.RetiredAt = k3.CreatedAt
	wantCeremonyKeys(t, s, k3, r2, r1)

	// The sweep deletes only keys retired before t, never the sealing
	// key, however old.
	tests := []struct {
		before time.Time
		n      int64
		left   []passkeyd.CeremonyKey
	}{
		{r1.RetiredAt, 0, []passkeyd.CeremonyKey{k3, r2, r1}},
		{r1.RetiredAt.Add(time.Microsecond), 1, []passkeyd.CeremonyKey{k3, r2}},
		{r2.RetiredAt.Add(time.Microsecond), 1, []passkeyd.CeremonyKey{k3}},
		{base.Add(24 * time.Hour), 0, []passkeyd.CeremonyKey{k3}},
	}
	for _, tt := range tests {
		n, err := s.DeleteCeremonyKeys(ctx, tt.before)
		if err != nil || n != tt.n {
			t.Errorf("DeleteCeremonyKeys(%v) = %d, %v; want %d", tt.before, n, err, tt.n)
		}
		wantCeremonyKeys(t, s, tt.left...)
	}
}
