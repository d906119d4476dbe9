package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
)

// testRecoveryCodes checks that a user's codes replace the ones before,
// are each used once, and are another user's never.
func testRecoveryCodes(t *testing.T, s Store) {
	ctx := context.Background()
	now := micro(time.Now())
	u, other := mustUser(t, s, "rec"), mustUser(t, s, "rec-other")
	old := [][]byte{[]byte("old code 1"), []byte("old code 2")}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, old, now); err != nil {
		t.Fatal(err)
	}
	codes := [][]byte{[]byte("code 1"), []byte("code 2"), []byte("code 3")}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, codes, now); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 3 {
		t.Fatalf("codes left = %d, %v; want 3", n, err)
	}
	for name, err := range map[string]error{
		"a replaced code":     s.UseRecoveryCode(ctx, u.ID, old[0], now),
		"another user's code": s.UseRecoveryCode(ctx, other.ID, codes[0], now),
		"a code that is none": s.UseRecoveryCode(ctx, u.ID, []byte("nope"), now),
	} {
		if !errors.Is(err, passkeyd.ErrNotFound) {
			t.Errorf("using %s = %v, want ErrNotFound", name, err)
		}
	}
	if err := s.UseRecoveryCode(ctx, u.ID, codes[1], now); err != nil {
		t.Fatal(err)
	}
	if err := s.UseRecoveryCode(ctx, u.ID, codes[1], now); !errors.Is(err, passkeyd.ErrNotFound) {
		t.Errorf("a code used twice = %v, want ErrNotFound", err)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 2 {
		t.Errorf("codes left after a use = %d, want 2", n)
	}
	// One code, eight uses at once: one wins.
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Go(func() { results[i] = s.UseRecoveryCode(ctx, u.ID, codes[2], now) })
	}
	wg.Wait()
	won := 0
	for _, err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, passkeyd.ErrNotFound):
			t.Errorf("a concurrent use = %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of 8 concurrent uses of one code won, want 1", won)
	}
}

// testLoginLinks checks that a link is used once, not after it expires,
// and swept once expired.
func testLoginLinks(t *testing.T, s Store) {
	ctx := context.Background()
	now := micro(time.Now())
	u := mustUser(t, s, "linked")
	if err := s.CreateLoginLink(ctx, []byte("link"), u.ID, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLoginLink(ctx, []byte("stale"), u.ID, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if id, err := s.UseLoginLink(ctx, []byte("link"), now); err != nil || id != u.ID {
		t.Fatalf("use = %q, %v; want the user", id, err)
	}
	for _, h := range []string{"link", "stale", "none"} {
		if _, err := s.UseLoginLink(ctx, []byte(h), now); !errors.Is(err, passkeyd.ErrNotFound) {
			t.Errorf("use of %s = %v, want ErrNotFound", h, err)
		}
	}
	if err := s.CreateLoginLink(ctx, []byte("stale 2"), u.ID, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpiredLoginLinks(ctx, now); err != nil || n < 1 {
		t.Errorf("sweep = %d, %v", n, err)
	}
}

// testKeepWayIn checks that a change that keeps a way in refuses to
// disable the last enabled passkey, or delete the last passkey, unless a
// recovery code is left — and that of two such disables at once, one is
// refused.
func testKeepWayIn(t *testing.T, s Store) {
	ctx := context.Background()
	now := micro(time.Now())
	off := false
	keep := passkeyd.PasskeyUpdate{Enabled: &off, KeepWayIn: true}
	u := mustUser(t, s, "careful")
	a, b := mustPasskey(t, s, u.ID, now), mustPasskey(t, s, u.ID, now.Add(time.Second))
	if _, err := s.UpdatePasskey(ctx, u.ID, a.ID, keep); err != nil {
		t.Fatalf("disable one of two: %v", err)
	}
	if _, err := s.UpdatePasskey(ctx, u.ID, b.ID, keep); !errors.Is(err, passkeyd.ErrLastLoginMethod) {
		t.Fatalf("disable the last enabled = %v, want ErrLastLoginMethod", err)
	}
	if _, err := s.UpdatePasskey(ctx, u.ID, b.ID, passkeyd.PasskeyUpdate{Enabled: &off}); err != nil {
		t.Fatalf("disable the last without KeepWayIn: %v", err)
	}
	if err := s.DeletePasskey(ctx, u.ID, a.ID, true); err != nil {
		t.Fatalf("delete one of two disabled: %v", err)
	}
	if err := s.DeletePasskey(ctx, u.ID, b.ID, true); !errors.Is(err, passkeyd.ErrLastLoginMethod) {
		t.Fatalf("delete the last = %v, want ErrLastLoginMethod", err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{[]byte("c")}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePasskey(ctx, u.ID, b.ID, true); err != nil {
		t.Fatalf("delete the last with a recovery code left: %v", err)
	}

	// Two enabled passkeys, both disabled at once: one must stay.
	for round := range 5 {
		v := mustUser(t, s, fmt.Sprintf("racer%d", round))
		ps := []*passkeyd.Passkey{mustPasskey(t, s, v.ID, now), mustPasskey(t, s, v.ID, now.Add(time.Second))}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Go(func() { _, errs[i] = s.UpdatePasskey(ctx, v.ID, p.ID, keep) })
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			switch {
			case errors.Is(err, passkeyd.ErrLastLoginMethod):
				refused++
			case err != nil:
				t.Fatalf("a concurrent disable = %v", err)
			}
		}
		if refused != 1 {
			t.Fatalf("round %d: %d of two concurrent disables refused, want 1", round, refused)
		}
	}
}
