package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
)

func auditEvent(userID, event string, at time.Time) passkeyd.AuditEvent {
	return passkeyd.AuditEvent{
		At: micro(at), UserID: userID, Event: event, Method: "passkey", PasskeyID: "p-" + userID,
		Platform: "Apple", Address: "192.0.2.1", Outcome: passkeyd.AuditOK, Reason: "", Actor: "",
	}
}

// testAudit checks the audit log: events kept as appended, listed per
// user newest first up to a limit (or everyone's), and removed only once
// older than the retention.
func testAudit(t *testing.T, s Store) {
	ctx := context.Background()
	now := micro(time.Now())
	a1 := auditEvent("alice", passkeyd.AuditLogin, now.Add(-3*time.Hour))
	b1 := auditEvent("bob", passkeyd.AuditLockout, now.Add(-2*time.Hour))
	a2 := auditEvent("alice", passkeyd.AuditPasskeyAdded, now.Add(-time.Hour))
	a2.Actor, a2.Outcome, a2.Reason = "admin", passkeyd.AuditRefused, "too_many_passkeys"
	if err := s.AppendAudit(ctx, a1, b1); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, a2); err != nil {
		t.Fatal(err)
	}
	got, err := s.AuditEvents(ctx, "alice", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID <= got[1].ID {
		t.Fatalf("alice's events: %+v, want two, newest first", got)
	}
	for i, want := range []passkeyd.AuditEvent{a2, a1} {
		want.ID = got[i].ID
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want)
		}
	}
	if got, _ := s.AuditEvents(ctx, "alice", 1); len(got) != 1 || got[0].Event != passkeyd.AuditPasskeyAdded {
		t.Errorf("alice's newest event: %+v", got)
	}
	if all, _ := s.AuditEvents(ctx, "", 10); len(all) != 3 {
		t.Errorf("everyone's events: %d, want 3", len(all))
	}
	if n, err := s.DeleteAuditEvents(ctx, now.Add(-90*time.Minute)); err != nil || n != 2 {
		t.Fatalf("DeleteAuditEvents = %d, %v; want the 2 older events", n, err)
	}
	if all, _ := s.AuditEvents(ctx, "", 10); len(all) != 1 || all[0].Event != passkeyd.AuditPasskeyAdded {
		t.Errorf("after the retention: %+v, want the newest only", all)
	}
}

// testAuditInCommits checks that a login's and a registration's events
// are written with them, and not when the commit fails.
func testAuditInCommits(t *testing.T, s Store) {
	ctx := context.Background()
	f := newLoginFixture(t, s, "audited")
	at := micro(time.Now())
	c := f.passkeyLogin(f.passkey.SignCount+1, at)
	c.Audit = []passkeyd.AuditEvent{auditEvent(f.user.ID, passkeyd.AuditLogin, at), auditEvent(f.user.ID, passkeyd.AuditBackupEligible, at)}
	if err := s.CommitLogin(ctx, c); err != nil {
		t.Fatal(err)
	}
	replay := f.passkeyLogin(f.passkey.SignCount+2, at)
	replay.Challenge = c.Challenge
	replay.Audit = []passkeyd.AuditEvent{auditEvent(f.user.ID, "replayed", at)}
	if err := s.CommitLogin(ctx, replay); !errors.Is(err, passkeyd.ErrChallengeUsed) {
		t.Fatalf("replayed CommitLogin: %v", err)
	}
	reg := &passkeyd.RegistrationCommit{
		Challenge: *newChallenge(at.Add(5 * time.Minute)),
		Passkey:   newPasskey(t, f.user.ID, at),
		Audit:     []passkeyd.AuditEvent{auditEvent(f.user.ID, passkeyd.AuditPasskeyAdded, at)},
	}
	if err := s.CommitRegistration(ctx, reg); err != nil {
		t.Fatal(err)
	}
	dup := &passkeyd.RegistrationCommit{
		Challenge: *newChallenge(at.Add(6 * time.Minute)),
		Passkey:   newPasskey(t, f.user.ID, at),
		Audit:     []passkeyd.AuditEvent{auditEvent(f.user.ID, "duplicate", at)},
	}
	dup.Passkey.CredentialID = reg.Passkey.CredentialID
	if err := s.CommitRegistration(ctx, dup); !errors.Is(err, passkeyd.ErrCredentialExists) {
		t.Fatalf("duplicate CommitRegistration: %v", err)
	}
	got, err := s.AuditEvents(ctx, f.user.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range got {
		events = append(events, e.Event)
	}
	if want := []string{passkeyd.AuditPasskeyAdded, passkeyd.AuditBackupEligible, passkeyd.AuditLogin}; !reflect.DeepEqual(events, want) {
		t.Fatalf("events %v, want %v: those of the failed commits must not be written", events, want)
	}
}
