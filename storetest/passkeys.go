package storetest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passkeyd/passkeyd"
)

// newPasskey returns a passkey of the user with random ids and a large
// (RSA-sized) public key, created at the given time.
func newPasskey(t *testing.T, userID string, created time.Time) *passkeyd.Passkey {
	t.Helper()
	return &passkeyd.Passkey{
		ID: uuid.NewString(), UserID: userID, CredentialID: randomBytes(32),
		// Larger than the article's 255-character column.
		PublicKey:          randomBytes(600),
		PublicKeyAlgorithm: -257, AttestationType: "none", AttestationFormat: "none",
		AAGUID: randomBytes(16), SignCount: 7, Transports: []string{"internal", "hybrid"},
		Attachment: "platform", UserVerified: true, BackupEligible: true, BackupState: true,
		Name: "My phone", Platform: "Google", Provider: "Google Password Manager",
		Enabled: true, CreatedAt: micro(created),
	}
}

// mustPasskey stores a new passkey of the user.
func mustPasskey(t *testing.T, s Store, userID string, created time.Time) *passkeyd.Passkey {
	t.Helper()
	p := newPasskey(t, userID, created)
	if err := s.CreatePasskey(context.Background(), p); err != nil {
		t.Fatalf("CreatePasskey: %v", err)
	}
	return p
}

// testPasskeys checks that a passkey round-trips every field, by id and
// by credential id, and that UpdatePasskey renames and disables it.
func testPasskeys(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "erin")
	p := mustPasskey(t, s, u.ID, time.Now())
	for name, get := range map[string]func() (*passkeyd.Passkey, error){
		"Passkey":               func() (*passkeyd.Passkey, error) { return s.Passkey(ctx, u.ID, p.ID) },
		"PasskeyByCredentialID": func() (*passkeyd.Passkey, error) { return s.PasskeyByCredentialID(ctx, p.CredentialID) },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("%s =\n%+v\nwant\n%+v", name, got, p)
		}
	}

	name, off := "Work laptop", false
	got, err := s.UpdatePasskey(ctx, u.ID, p.ID, passkeyd.PasskeyUpdate{Name: &name})
	if err != nil || got.Name != name || !got.Enabled {
		t.Fatalf("rename: %+v, %v", got, err)
	}
	got, err = s.UpdatePasskey(ctx, u.ID, p.ID, passkeyd.PasskeyUpdate{Enabled: &off})
	if err != nil || got.Name != name || got.Enabled {
		t.Fatalf("disable: %+v, %v", got, err)
	}
	want := *p
	want.Name, want.Enabled = name, false
	if got, err := s.Passkey(ctx, u.ID, p.ID); err != nil || !reflect.DeepEqual(got, &want) {
		t.Errorf("after rename and disable = %+v, %v; want %+v", got, err, &want)
	}
}

// testPasskeyOwnership checks that no method reaches another user's
// passkey: the user id in a URL is the logged-in user's, and a passkey id
// alone must not be enough.
func testPasskeyOwnership(t *testing.T, s Store) {
	ctx := context.Background()
	owner, other := mustUser(t, s, "frank"), mustUser(t, s, "grace")
	p := mustPasskey(t, s, owner.ID, time.Now())
	name, off := "stolen", false
	checks := map[string]error{}
	_, checks["Passkey"] = s.Passkey(ctx, other.ID, p.ID)
	_, checks["UpdatePasskey"] = s.UpdatePasskey(ctx, other.ID, p.ID, passkeyd.PasskeyUpdate{Name: &name, Enabled: &off})
	checks["DeletePasskey"] = s.DeletePasskey(ctx, other.ID, p.ID, false)
	_, checks["Passkey(unknown)"] = s.Passkey(ctx, owner.ID, uuid.NewString())
	_, checks["PasskeyByCredentialID(unknown)"] = s.PasskeyByCredentialID(ctx, []byte("nope"))
	for name, err := range checks {
		if !errors.Is(err, passkeyd.ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", name, err)
		}
	}
	got, err := s.Passkey(ctx, owner.ID, p.ID)
	if err != nil || got.Name != p.Name || !got.Enabled {
		t.Errorf("owner's passkey changed by another user: %+v, %v", got, err)
	}
	list, err := s.UserPasskeys(ctx, other.ID)
	if err != nil || len(list) != 0 {
		t.Errorf("other user's passkeys = %v, %v; want none", list, err)
	}
}

// testPasskeyPages checks that pages of a user's passkeys cover them all,
// newest first, without another user's.
func testPasskeyPages(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "heidi")
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, mustPasskey(t, s, u.ID, base.Add(time.Duration(i)*time.Hour)).ID)
	}
	mustPasskey(t, s, mustUser(t, s, "ivan").ID, base) // someone else's
	var seen []string
	for offset := 0; offset < 9; offset += 3 {
		page, err := s.ListPasskeys(ctx, u.ID, offset, 3)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 7 {
			t.Errorf("Total = %d, want 7", page.Total)
		}
		for _, p := range page.Passkeys {
			seen = append(seen, p.ID)
		}
	}
	for i, id := range seen {
		if want := ids[len(ids)-1-i]; id != want {
			t.Fatalf("pages in order %v, want newest first %v", seen, ids)
		}
	}
	if len(seen) != 7 {
		t.Fatalf("saw %d passkeys over the pages, want 7", len(seen))
	}
	all, err := s.UserPasskeys(ctx, u.ID)
	if err != nil || len(all) != 7 {
		t.Fatalf("UserPasskeys = %d, %v; want 7", len(all), err)
	}
}

// testPasskeyDelete checks that only a disabled passkey can be deleted,
// so that one click cannot remove a working login.
func testPasskeyDelete(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "judy")
	p := mustPasskey(t, s, u.ID, time.Now())
	if err := s.DeletePasskey(ctx, u.ID, p.ID, false); !errors.Is(err, passkeyd.ErrPasskeyEnabled) {
		t.Fatalf("delete enabled = %v, want ErrPasskeyEnabled", err)
	}
	if _, err := s.Passkey(ctx, u.ID, p.ID); err != nil {
		t.Fatalf("enabled passkey gone after refused delete: %v", err)
	}
	off := false
	if _, err := s.UpdatePasskey(ctx, u.ID, p.ID, passkeyd.PasskeyUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePasskey(ctx, u.ID, p.ID, false); err != nil {
		t.Fatalf("delete disabled: %v", err)
	}
	if _, err := s.Passkey(ctx, u.ID, p.ID); !errors.Is(err, passkeyd.ErrNotFound) {
		t.Fatalf("deleted passkey still there: %v", err)
	}
	if err := s.DeletePasskey(ctx, u.ID, p.ID, false); !errors.Is(err, passkeyd.ErrNotFound) {
		t.Fatalf("delete again = %v, want ErrNotFound", err)
	}
}

// testCredentialIDUnique checks that one credential id is stored once,
// across users, even when registrations race.
func testCredentialIDUnique(t *testing.T, s Store) {
	ctx := context.Background()
	a, b := mustUser(t, s, "ken"), mustUser(t, s, "lena")
	first := mustPasskey(t, s, a.ID, time.Now())
	again := newPasskey(t, b.ID, time.Now())
	again.CredentialID = bytes.Clone(first.CredentialID)
	if err := s.CreatePasskey(ctx, again); !errors.Is(err, passkeyd.ErrCredentialExists) {
		t.Fatalf("same credential id for another user = %v, want ErrCredentialExists", err)
	}

	const racers = 8
	shared := newPasskey(t, a.ID, time.Now()).CredentialID
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newPasskey(t, []string{a.ID, b.ID}[i%2], time.Now())
			p.CredentialID = shared
			errs[i] = s.CreatePasskey(ctx, p)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, passkeyd.ErrCredentialExists):
			t.Errorf("racing CreatePasskey: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d racing registrations of one credential id succeeded, want 1", ok)
	}
}

// testPasskeyAndOwner checks, for a store that offers it, that reading a
// passkey with its user in one go gives what the two reads give, and
// ErrNotFound for an unknown credential.
func testPasskeyAndOwner(t *testing.T, s Store) {
	owners, ok := s.(passkeyd.PasskeyOwnerLookup)
	if !ok {
		t.Skip("the store does not read a passkey with its user in one query")
	}
	ctx := context.Background()
	u := mustUser(t, s, "victor")
	mustPasskey(t, s, u.ID, time.Now())
	p := mustPasskey(t, s, u.ID, time.Now())
	gotP, gotU, err := owners.PasskeyAndOwner(ctx, p.CredentialID)
	if err != nil {
		t.Fatalf("PasskeyAndOwner: %v", err)
	}
	wantP, err := s.PasskeyByCredentialID(ctx, p.CredentialID)
	if err != nil {
		t.Fatal(err)
	}
	wantU, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotP, wantP) || !reflect.DeepEqual(gotU, wantU) {
		t.Errorf("PasskeyAndOwner = %+v, %+v; want %+v, %+v", gotP, gotU, wantP, wantU)
	}
	if _, _, err := owners.PasskeyAndOwner(ctx, randomBytes(32)); !errors.Is(err, passkeyd.ErrNotFound) {
		t.Errorf("PasskeyAndOwner of an unknown credential = %v, want ErrNotFound", err)
	}
}
