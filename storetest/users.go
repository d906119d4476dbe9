package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
)

// mustUser stores a new user with that username.
func mustUser(t *testing.T, s Store, username string) *passkeyd.User {
	t.Helper()
	u, err := passkeyd.NewUser(username, "", micro(time.Now()))
	if err != nil {
		t.Fatalf("NewUser(%q): %v", username, err)
	}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	return u
}

// lastLogin returns the user's LastLoginAt as stored.
func lastLogin(t *testing.T, s Store, userID string) time.Time {
	t.Helper()
	u, err := s.UserByID(context.Background(), userID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	return u.LastLoginAt
}

// testUsers checks that a user round-trips through every way of finding
// one, and that ListUsers lists them oldest first.
func testUsers(t *testing.T, s Store) {
	ctx := context.Background()
	u, err := passkeyd.NewUser("alice@example.com", "Alice Example", micro(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = "$argon2id$stub"
	u.Staff = true
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	for name, get := range map[string]func() (*passkeyd.User, error){
		"ByID":       func() (*passkeyd.User, error) { return s.UserByID(ctx, u.ID) },
		"ByUsername": func() (*passkeyd.User, error) { return s.UserByUsername(ctx, "alice@example.com") },
		"ByHandle":   func() (*passkeyd.User, error) { return s.UserByHandle(ctx, u.Handle) },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.ID != u.ID || got.Username != u.Username || got.DisplayName != u.DisplayName ||
			string(got.Handle) != string(u.Handle) || got.PasswordHash != u.PasswordHash || !got.Staff ||
			!got.CreatedAt.Equal(u.CreatedAt) || !got.LastLoginAt.IsZero() {
			t.Errorf("%s = %+v, want %+v", name, got, u)
		}
	}
	mustUser(t, s, "bob")
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(users) != 2 || users[0].Username != "alice@example.com" || users[1].Username != "bob" {
		t.Errorf("ListUsers = %v, want alice then bob", users)
	}
}

// testUsernameCase checks that usernames are one account in any letter
// case, for lookups and for uniqueness.
func testUsernameCase(t *testing.T, s Store) {
	ctx := context.Background()
	mustUser(t, s, "Carol")
	got, err := s.UserByUsername(ctx, "cAROL")
	if err != nil || got.Username != "Carol" {
		t.Fatalf("UserByUsername(cAROL) = %v, %v; want Carol", got, err)
	}
	again, err := passkeyd.NewUser("CAROL", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, again); !errors.Is(err, passkeyd.ErrUsernameTaken) {
		t.Fatalf("CreateUser(CAROL) = %v, want ErrUsernameTaken", err)
	}
}

// testUserUpdates checks SetPasswordHash, SetDisplayName and RecordLogin
// (which a host's own password login calls; passkeyd's logins set it with
// CommitLogin).
func testUserUpdates(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "dave")
	if err := s.SetPasswordHash(ctx, u.ID, "$argon2id$new"); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	if err := s.SetDisplayName(ctx, u.ID, "Dave 🌊 デイブ"); err != nil {
		t.Fatalf("SetDisplayName: %v", err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	if err := s.RecordLogin(ctx, u.ID, at); err != nil {
		t.Fatalf("RecordLogin: %v", err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash != "$argon2id$new" || got.DisplayName != "Dave 🌊 デイブ" || !got.LastLoginAt.Equal(at) {
		t.Errorf("after updates: hash %q display name %q last login %v", got.PasswordHash, got.DisplayName, got.LastLoginAt)
	}
}

// testNotFound checks that every user lookup and update of a missing
// user is ErrNotFound, which the Service tells from a failing store.
func testNotFound(t *testing.T, s Store) {
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["UserByID"] = s.UserByID(ctx, "no-such-id")
	_, checks["UserByUsername"] = s.UserByUsername(ctx, "nobody")
	_, checks["UserByUsername(empty)"] = s.UserByUsername(ctx, "")
	_, checks["UserByHandle"] = s.UserByHandle(ctx, []byte("nope"))
	checks["SetPasswordHash"] = s.SetPasswordHash(ctx, "no-such-id", "x")
	checks["SetDisplayName"] = s.SetDisplayName(ctx, "no-such-id", "x")
	checks["SetLocked"] = s.SetLocked(ctx, "no-such-id", time.Now())
	checks["SetStaff"] = s.SetStaff(ctx, "no-such-id", true)
	checks["RecordLogin"] = s.RecordLogin(ctx, "no-such-id", time.Now())
	for name, err := range checks {
		if !errors.Is(err, passkeyd.ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", name, err)
		}
	}
}

// testDeleteUser checks that deleting a user deletes their passkeys and
// sessions with them, and nobody else's.
func testDeleteUser(t *testing.T, s Store) {
	ctx := context.Background()
	gone, kept := mustUser(t, s, "gone"), mustUser(t, s, "kept")
	goneKey, keptKey := mustPasskey(t, s, gone.ID, time.Now()), mustPasskey(t, s, kept.ID, time.Now())
	goneSession, keptSession := mustSession(t, s, gone.ID, time.Now()), mustSession(t, s, kept.ID, time.Now())
	if err := s.DeleteUser(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.UserByID(ctx, gone.ID); !errors.Is(err, passkeyd.ErrNotFound) {
		t.Errorf("the deleted user: %v, want ErrNotFound", err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, goneKey.CredentialID); !errors.Is(err, passkeyd.ErrNotFound) {
		t.Errorf("the deleted user's passkey: %v, want ErrNotFound", err)
	}
	wantNoSession(t, s, goneSession.Key)
	if _, err := s.PasskeyByCredentialID(ctx, keptKey.CredentialID); err != nil {
		t.Errorf("another user's passkey: %v", err)
	}
	wantSession(t, s, keptSession)
	if err := s.DeleteUser(ctx, gone.ID); !errors.Is(err, passkeyd.ErrNotFound) {
		t.Errorf("deleting a deleted user: %v, want ErrNotFound", err)
	}
}

// testSearchUsers checks that SearchUsers finds users by any part of the
// username or display name, in any letter case, by username, a page at a
// time, with the count of all that match; and that LIKE's own characters
// in a query match only themselves.
func testSearchUsers(t *testing.T, s Store) {
	ctx := context.Background()
	for _, name := range []string{"carol", "Alice", "bob", "alina", "x_y", "x%y"} {
		u, err := passkeyd.NewUser(name, "", micro(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if name == "bob" {
			u.DisplayName = "Bob Ali"
		}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query         string
		offset, limit int
		want          []string
		total         int
	}{
		{"", 0, 10, []string{"alice", "alina", "bob", "carol", "x%y", "x_y"}, 6},
		{"ALI", 0, 10, []string{"alice", "alina", "bob"}, 3},
		{"ali", 1, 1, []string{"alina"}, 3},
		{"ali", 5, 10, nil, 3},
		{"_", 0, 10, []string{"x_y"}, 1},
		{"%", 0, 10, []string{"x%y"}, 1},
		{"nobody", 0, 10, nil, 0},
	} {
		users, total, err := s.SearchUsers(ctx, tc.query, tc.offset, tc.limit)
		if err != nil {
			t.Fatalf("SearchUsers(%q): %v", tc.query, err)
		}
		var got []string
		for _, u := range users {
			got = append(got, passkeyd.UsernameKey(u.Username))
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") || total != tc.total {
			t.Errorf("SearchUsers(%q, %d, %d) = %v of %d, want %v of %d", tc.query, tc.offset, tc.limit, got, total, tc.want, tc.total)
		}
	}
}

// testLockAndStaff checks that SetLocked and SetStaff are kept, and that
// a zero time unlocks.
func testLockAndStaff(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "erin")
	at := time.Date(2026, 12, 5, 10, 0, 0, 123000, time.UTC)
	if err := s.SetLocked(ctx, u.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStaff(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LockedAt.Equal(at) || !got.Staff {
		t.Fatalf("after locking and making staff: locked %v staff %v", got.LockedAt, got.Staff)
	}
	if err := s.SetLocked(ctx, u.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStaff(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, err = s.UserByID(ctx, u.ID); err != nil || !got.LockedAt.IsZero() || got.Staff {
		t.Fatalf("after unlocking: %+v, %v", got, err)
	}
}
