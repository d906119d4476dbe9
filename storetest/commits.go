package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passkeyd/passkeyd"
)

// newChallenge returns the record of a freshly used challenge, kept until
// expires: the SHA-256 of 32 random bytes, as the Service makes it.
func newChallenge(expires time.Time) *passkeyd.UsedChallenge {
	expires = expires.Truncate(time.Millisecond)
	key := binary.BigEndian.AppendUint64(nil, uint64(expires.UnixMilli()))
	return &passkeyd.UsedChallenge{Key: append(key, randomBytes(24)...), ExpiresAt: expires}
}

// sameChallenge returns another record of c's challenge, as a replayed
// finish would make it (its expiry need not match).
func sameChallenge(c *passkeyd.UsedChallenge, expires time.Time) *passkeyd.UsedChallenge {
	return &passkeyd.UsedChallenge{Key: bytes.Clone(c.Key), ExpiresAt: micro(expires)}
}

// used returns p as a login leaves it: a higher sign count, changed flags,
// a clone warning and a last use at at.
func used(p *passkeyd.Passkey, signCount uint32, at time.Time) *passkeyd.Passkey {
	u := *p
	u.CredentialID, u.PublicKey, u.AAGUID = bytes.Clone(p.CredentialID), bytes.Clone(p.PublicKey), bytes.Clone(p.AAGUID)
	u.Transports = append([]string(nil), p.Transports...)
	u.SignCount = signCount
	u.UserVerified, u.BackupEligible, u.BackupState = !p.UserVerified, !p.BackupEligible, !p.BackupState
	u.CloneWarning = !p.CloneWarning
	u.LastUsedAt = micro(at)
	return &u
}

// wantPasskey fails the test unless the store holds exactly want.
func wantPasskey(t *testing.T, s Store, want *passkeyd.Passkey) {
	t.Helper()
	got, err := s.Passkey(context.Background(), want.UserID, want.ID)
	if err != nil {
		t.Fatalf("Passkey: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Passkey =\n%+v\nwant\n%+v", got, want)
	}
}

// wantChallengeUsed fails the test unless c's challenge is recorded as
// used: a commit of it alone is refused.
func wantChallengeUsed(t *testing.T, s Store, c *passkeyd.UsedChallenge) {
	t.Helper()
	err := s.CommitLogin(context.Background(), &passkeyd.LoginCommit{Challenge: sameChallenge(c, c.ExpiresAt)})
	if !errors.Is(err, passkeyd.ErrChallengeUsed) {
		t.Errorf("CommitLogin with a used challenge = %v, want ErrChallengeUsed", err)
	}
}

// wantChallengeFree fails the test unless c's challenge is not recorded
// as used: a commit of it succeeds (and records it).
func wantChallengeFree(t *testing.T, s Store, c *passkeyd.UsedChallenge) {
	t.Helper()
	if err := s.CommitLogin(context.Background(), &passkeyd.LoginCommit{Challenge: sameChallenge(c, c.ExpiresAt)}); err != nil {
		t.Errorf("CommitLogin with an unused challenge = %v, want success", err)
	}
}

// loginFixture is a user with a passkey and a session, before a login.
type loginFixture struct {
	user    *passkeyd.User
	passkey *passkeyd.Passkey
	// old is the session the browser had before the login.
	old *passkeyd.Session
}

// newLoginFixture stores a user with a passkey and a session.
func newLoginFixture(t *testing.T, s Store, username string) loginFixture {
	t.Helper()
	u := mustUser(t, s, username)
	return loginFixture{
		user:    u,
		passkey: mustPasskey(t, s, u.ID, time.Now().Add(-time.Hour)),
		old:     mustSession(t, s, u.ID, time.Now().Add(-time.Minute)),
	}
}

// passkeyLogin returns the commit of a passkey login of f's user with f's
// passkey, at at, that replaces f's session.
func (f loginFixture) passkeyLogin(signCount uint32, at time.Time) *passkeyd.LoginCommit {
	return &passkeyd.LoginCommit{
		Challenge:       newChallenge(at.Add(5 * time.Minute)),
		PasskeyUse:      used(f.passkey, signCount, at),
		UserID:          f.user.ID,
		At:              micro(at),
		Session:         withPasskey(newSession(f.user.ID, at), f.passkey, false),
		ReplacedSession: bytes.Clone(f.old.Key),
	}
}

// testCommitLogin checks that each shape of login commit writes all that
// it carries, and nothing it does not.
func testCommitLogin(t *testing.T, s Store) {
	ctx := context.Background()
	tests := []struct {
		name string
		// What the commit carries.
		challenge, passkeyUse, login, session, replace bool
		// foreignUser logs in a user the store does not keep (a
		// host's own users): no error, and the session is made.
		foreignUser bool
	}{
		{name: "passkey login", challenge: true, passkeyUse: true, login: true, session: true, replace: true},
		{name: "passkey login without a previous session", challenge: true, passkeyUse: true, login: true, session: true},
		{name: "password login", login: true, session: true, replace: true},
		{name: "password login without a previous session", login: true, session: true},
		{name: "passkey refused as a clone", challenge: true, passkeyUse: true},
		{name: "login of a user the store does not keep", challenge: true, login: true, session: true, foreignUser: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoginFixture(t, s, fmt.Sprintf("victor%d", i))
			at := micro(time.Now())
			full := f.passkeyLogin(f.passkey.SignCount+5, at)
			c := &passkeyd.LoginCommit{}
			if tt.challenge {
				c.Challenge = full.Challenge
			}
			if tt.passkeyUse {
				c.PasskeyUse = full.PasskeyUse
			}
			if tt.login {
				c.UserID, c.At = f.user.ID, at
				if tt.foreignUser {
					c.UserID = uuid.NewString()
				}
			}
			if tt.session {
				c.Session = full.Session
				c.Session.UserID = c.UserID
				if !tt.passkeyUse {
					c.Session.PasskeyID, c.Session.Provider, c.Session.Auth = "", "", passkeyd.Auth{}
				}
			}
			if tt.replace {
				c.ReplacedSession = full.ReplacedSession
			}
			var want *passkeyd.Session
			if c.Session != nil {
				want = cloneSession(c.Session)
			}

			if err := s.CommitLogin(ctx, c); err != nil {
				t.Fatalf("CommitLogin: %v", err)
			}

			if tt.passkeyUse {
				wantPasskey(t, s, full.PasskeyUse)
			} else {
				wantPasskey(t, s, f.passkey)
			}
			wantLogin := time.Time{}
			if tt.login && !tt.foreignUser {
				wantLogin = at
			}
			if got := lastLogin(t, s, f.user.ID); !got.Equal(wantLogin) {
				t.Errorf("LastLoginAt = %v, want %v", got, wantLogin)
			}
			if want != nil {
				wantSession(t, s, want)
			}
			if tt.replace {
				wantNoSession(t, s, f.old.Key)
			} else {
				wantSession(t, s, f.old)
			}
			if tt.challenge {
				wantChallengeUsed(t, s, full.Challenge)
			} else {
				// The challenge the commit did not carry stays free.
				wantChallengeFree(t, s, full.Challenge)
			}
			if !tt.session && !tt.foreignUser {
				if got := sessionIDs(t, s, f.user.ID); !reflect.DeepEqual(got, []string{f.old.ID()}) {
					t.Errorf("sessions after a commit without one = %v, want only the old %s", got, f.old.ID())
				}
			}
		})
	}
}

// testCommitLoginKeepsRename checks that a login writes back only what it
// learnt of its passkey (counter, flags, clone warning, last use): a
// rename or other change made while the login was under way stays.
func testCommitLoginKeepsRename(t *testing.T, s Store) {
	ctx := context.Background()
	f := newLoginFixture(t, s, "walter")
	at := micro(time.Now())
	c := f.passkeyLogin(f.passkey.SignCount+1, at)
	name := "Renamed meanwhile"
	renamed, err := s.UpdatePasskey(ctx, f.user.ID, f.passkey.ID, passkeyd.PasskeyUpdate{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CommitLogin(ctx, c); err != nil {
		t.Fatalf("CommitLogin: %v", err)
	}
	want := *c.PasskeyUse
	want.Name = renamed.Name
	wantPasskey(t, s, &want)
}

// testCommitLoginReplay checks that a second login with a used challenge
// fails with ErrChallengeUsed and changes nothing: a replayed finish must
// neither log anyone in nor move the passkey's counter.
func testCommitLoginReplay(t *testing.T, s Store) {
	ctx := context.Background()
	f := newLoginFixture(t, s, "xavier")
	at := micro(time.Now())
	first := f.passkeyLogin(f.passkey.SignCount+1, at)
	if err := s.CommitLogin(ctx, first); err != nil {
		t.Fatalf("first CommitLogin: %v", err)
	}

	// The replay replaces the session the first login made.
	later := at.Add(time.Minute)
	replay := f.passkeyLogin(first.PasskeyUse.SignCount+10, later)
	replay.Challenge = sameChallenge(first.Challenge, later.Add(5*time.Minute))
	replay.ReplacedSession = bytes.Clone(first.Session.Key)
	if err := s.CommitLogin(ctx, replay); !errors.Is(err, passkeyd.ErrChallengeUsed) {
		t.Fatalf("replayed CommitLogin = %v, want ErrChallengeUsed", err)
	}

	wantPasskey(t, s, first.PasskeyUse)
	if got := lastLogin(t, s, f.user.ID); !got.Equal(at) {
		t.Errorf("LastLoginAt = %v after the replay, want the first login's %v", got, at)
	}
	wantNoSession(t, s, replay.Session.Key)
	wantSession(t, s, first.Session)
	if got := sessionIDs(t, s, f.user.ID); !reflect.DeepEqual(got, []string{first.Session.ID()}) {
		t.Errorf("sessions after the replay = %v, want only the first login's %s", got, first.Session.ID())
	}
}

// testCommitLoginDisabledPasskey checks that a login whose passkey was
// disabled (or deleted) while it was under way fails with
// ErrPasskeyDisabled and changes nothing — not even the challenge, which
// stays free, since the commit is all or nothing.
func testCommitLoginDisabledPasskey(t *testing.T, s Store) {
	ctx := context.Background()
	off := false
	tests := []struct {
		name   string
		delete bool
	}{
		{"disabled", false},
		{"disabled and deleted", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoginFixture(t, s, fmt.Sprintf("yvonne%d", i))
			at := micro(time.Now())
			c := f.passkeyLogin(f.passkey.SignCount+1, at)
			disabled, err := s.UpdatePasskey(ctx, f.user.ID, f.passkey.ID, passkeyd.PasskeyUpdate{Enabled: &off})
			if err != nil {
				t.Fatal(err)
			}
			if tt.delete {
				if err := s.DeletePasskey(ctx, f.user.ID, f.passkey.ID, false); err != nil {
					t.Fatal(err)
				}
			}

			if err := s.CommitLogin(ctx, c); !errors.Is(err, passkeyd.ErrPasskeyDisabled) {
				t.Fatalf("CommitLogin = %v, want ErrPasskeyDisabled", err)
			}

			if tt.delete {
				if _, err := s.Passkey(ctx, f.user.ID, f.passkey.ID); !errors.Is(err, passkeyd.ErrNotFound) {
					t.Errorf("deleted passkey after the commit: %v, want ErrNotFound", err)
				}
			} else {
				wantPasskey(t, s, disabled)
			}
			if got := lastLogin(t, s, f.user.ID); !got.IsZero() {
				t.Errorf("LastLoginAt = %v, want none", got)
			}
			wantNoSession(t, s, c.Session.Key)
			wantSession(t, s, f.old)
			// Nothing was written, so neither was the challenge.
			wantChallengeFree(t, s, c.Challenge)
		})
	}
}

// testCommitLoginConcurrentReplay races logins with one challenge, as
// copies of one finish sent to several instances at once: exactly one
// commits, the others are ErrChallengeUsed, and only the winner's session
// and counter are stored.
func testCommitLoginConcurrentReplay(t *testing.T, s Store) {
	ctx := context.Background()
	const racers = 16
	f := newLoginFixture(t, s, "zoe")
	at := micro(time.Now())
	challenge := newChallenge(at.Add(5 * time.Minute))
	commits := make([]*passkeyd.LoginCommit, racers)
	for i := range commits {
		c := f.passkeyLogin(f.passkey.SignCount+1+uint32(i), at.Add(time.Duration(i)*time.Microsecond))
		c.Challenge = sameChallenge(challenge, challenge.ExpiresAt)
		// Each racer replaces the one session the browser had.
		commits[i] = c
	}

	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range commits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.CommitLogin(ctx, c)
		}()
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("racers %d and %d both committed", winner, i)
			}
			winner = i
		case !errors.Is(err, passkeyd.ErrChallengeUsed):
			t.Errorf("racer %d: CommitLogin = %v, want ErrChallengeUsed", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no racer committed")
	}
	w := commits[winner]
	wantPasskey(t, s, w.PasskeyUse)
	if got := lastLogin(t, s, f.user.ID); !got.Equal(w.At) {
		t.Errorf("LastLoginAt = %v, want the winner's %v", got, w.At)
	}
	if got := sessionIDs(t, s, f.user.ID); !reflect.DeepEqual(got, []string{w.Session.ID()}) {
		t.Errorf("sessions = %v, want only the winner's %s", got, w.Session.ID())
	}
	wantNoSession(t, s, f.old.Key)
}

// testCommitRegistration checks that a registration stores its passkey
// and its challenge together or not at all: a replayed finish stores no
// second passkey, and a refused credential id does not use up the
// challenge.
func testCommitRegistration(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "amber")
	now := micro(time.Now())
	first := &passkeyd.RegistrationCommit{
		Challenge: *newChallenge(now.Add(5 * time.Minute)),
		Passkey:   newPasskey(t, u.ID, now),
	}
	if err := s.CommitRegistration(ctx, first); err != nil {
		t.Fatalf("CommitRegistration: %v", err)
	}
	wantPasskey(t, s, first.Passkey)
	if got, err := s.PasskeyByCredentialID(ctx, first.Passkey.CredentialID); err != nil || !reflect.DeepEqual(got, first.Passkey) {
		t.Errorf("PasskeyByCredentialID = %+v, %v; want %+v", got, err, first.Passkey)
	}

	t.Run("replayed challenge", func(t *testing.T) {
		replay := &passkeyd.RegistrationCommit{
			Challenge: *sameChallenge(&first.Challenge, first.Challenge.ExpiresAt),
			Passkey:   newPasskey(t, u.ID, now.Add(time.Second)),
		}
		if err := s.CommitRegistration(ctx, replay); !errors.Is(err, passkeyd.ErrChallengeUsed) {
			t.Fatalf("CommitRegistration with a used challenge = %v, want ErrChallengeUsed", err)
		}
		if _, err := s.Passkey(ctx, u.ID, replay.Passkey.ID); !errors.Is(err, passkeyd.ErrNotFound) {
			t.Errorf("replayed registration's passkey: %v, want ErrNotFound", err)
		}
		if _, err := s.PasskeyByCredentialID(ctx, replay.Passkey.CredentialID); !errors.Is(err, passkeyd.ErrNotFound) {
			t.Errorf("replayed registration's credential id: %v, want ErrNotFound", err)
		}
	})

	var goodID string
	t.Run("credential id exists", func(t *testing.T) {
		dup := &passkeyd.RegistrationCommit{
			Challenge: *newChallenge(now.Add(5 * time.Minute)),
			Passkey:   newPasskey(t, u.ID, now.Add(2*time.Second)),
		}
		dup.Passkey.CredentialID = bytes.Clone(first.Passkey.CredentialID)
		if err := s.CommitRegistration(ctx, dup); !errors.Is(err, passkeyd.ErrCredentialExists) {
			t.Fatalf("CommitRegistration with a registered credential id = %v, want ErrCredentialExists", err)
		}
		if _, err := s.Passkey(ctx, u.ID, dup.Passkey.ID); !errors.Is(err, passkeyd.ErrNotFound) {
			t.Errorf("refused registration's passkey: %v, want ErrNotFound", err)
		}
		wantPasskey(t, s, first.Passkey)

		// The refusal wrote nothing: the challenge is still free for
		// a good registration.
		good := &passkeyd.RegistrationCommit{
			Challenge: *sameChallenge(&dup.Challenge, dup.Challenge.ExpiresAt),
			Passkey:   newPasskey(t, u.ID, now.Add(3*time.Second)),
		}
		if err := s.CommitRegistration(ctx, good); err != nil {
			t.Fatalf("CommitRegistration with the refused one's challenge: %v", err)
		}
		wantPasskey(t, s, good.Passkey)
		goodID = good.Passkey.ID
	})

	var ids []string
	list, err := s.UserPasskeys(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		ids = append(ids, p.ID)
	}
	if want := []string{goodID, first.Passkey.ID}; !reflect.DeepEqual(ids, want) {
		t.Errorf("UserPasskeys = %v, want only the good registrations, newest first: %v", ids, want)
	}
}

// testUsedChallengeSweep checks that DeleteUsedChallenges forgets exactly
// the challenges that expired before t — their ceremonies are refused as
// expired anyway — and keeps refusing the others.
func testUsedChallengeSweep(t *testing.T, s Store) {
	ctx := context.Background()
	// Keys carry their expiry to the millisecond.
	cut := time.Now().Truncate(time.Millisecond)
	tests := []struct {
		expires time.Time
		swept   bool
	}{
		{cut.Add(-time.Hour), true},
		{cut.Add(-time.Millisecond), true},
		{cut, false},
		{cut.Add(time.Hour), false},
	}
	challenges := make([]*passkeyd.UsedChallenge, len(tests))
	for i, tt := range tests {
		challenges[i] = newChallenge(tt.expires)
		if err := s.CommitLogin(ctx, &passkeyd.LoginCommit{Challenge: challenges[i]}); err != nil {
			t.Fatalf("CommitLogin: %v", err)
		}
	}
	n, err := s.DeleteUsedChallenges(ctx, cut)
	if err != nil || n != 2 {
		t.Fatalf("DeleteUsedChallenges = %d, %v; want 2", n, err)
	}
	for i, tt := range tests {
		if tt.swept {
			wantChallengeFree(t, s, challenges[i])
		} else {
			wantChallengeUsed(t, s, challenges[i])
		}
	}
}

// testAppUser checks that passkeys and sessions can belong to a user the
// store's own users do not hold: a host app's user, with an id of its own.
// Registration, listing, login and the session all work, and the store's
// users are not touched.
func testAppUser(t *testing.T, s Store) {
	ctx := context.Background()
	const appUser = "42"
	now := micro(time.Now())
	reg := &passkeyd.RegistrationCommit{
		Challenge: *newChallenge(now.Add(5 * time.Minute)),
		Passkey:   newPasskey(t, appUser, now),
	}
	if err := s.CommitRegistration(ctx, reg); err != nil {
		t.Fatalf("CommitRegistration for the app's user: %v", err)
	}
	list, err := s.UserPasskeys(ctx, appUser)
	if err != nil || len(list) != 1 || list[0].ID != reg.Passkey.ID {
		t.Fatalf("UserPasskeys of the app's user = %v, %v; want the passkey", list, err)
	}
	at := now.Add(time.Minute)
	login := &passkeyd.LoginCommit{
		Challenge:  newChallenge(at.Add(5 * time.Minute)),
		PasskeyUse: used(reg.Passkey, 1, at),
		UserID:     appUser,
		At:         at,
		Session:    withPasskey(newSession(appUser, at), reg.Passkey, false),
	}
	if err := s.CommitLogin(ctx, login); err != nil {
		t.Fatalf("CommitLogin of the app's user: %v", err)
	}
	wantPasskey(t, s, login.PasskeyUse)
	wantSession(t, s, login.Session)
	if _, err := s.UserByID(ctx, appUser); !errors.Is(err, passkeyd.ErrNotFound) {
		t.Errorf("UserByID(%q) = %v after the app user's login, want ErrNotFound: the store made a user", appUser, err)
	}
}

// testCommitLoginDisables checks that a login's passkey use can disable
// the passkey it used, as a refused possible clone does, with the rest of
// what it writes.
func testCommitLoginDisables(t *testing.T, s Store) {
	ctx := context.Background()
	f := newLoginFixture(t, s, "cloned")
	at := micro(time.Now())
	use := used(f.passkey, 0, at)
	use.Enabled = false
	c := &passkeyd.LoginCommit{Challenge: newChallenge(at.Add(5 * time.Minute)), PasskeyUse: use}
	if err := s.CommitLogin(ctx, c); err != nil {
		t.Fatalf("CommitLogin that disables its passkey: %v", err)
	}
	wantPasskey(t, s, use)
	wantChallengeUsed(t, s, c.Challenge)
	// Disabled, it is refused by the next login.
	if err := s.CommitLogin(ctx, f.passkeyLogin(1, at.Add(time.Second))); !errors.Is(err, passkeyd.ErrPasskeyDisabled) {
		t.Fatalf("a login with the disabled passkey: %v, want ErrPasskeyDisabled", err)
	}
}
