package passkeyd_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// A locked account cannot log in in any way, and its sessions stop
// working at once, also for requests already on their way; staff cannot
// lock themselves; unlocking lets the user in again. Each is audited with
// the staff member's name.
func TestLockAccount(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	u, c := w.userClient(t, "lockable")
	a := passkeytest.New(w.h.origin, passkeytest.Options{})
	c.register(t, a, "Phone")
	staff, _ := w.userClient(t, "staffer")
	staff.Staff = true
	ctx := t.Context()

	if err := w.h.svc.LockAccount(ctx, staff, staff, true); passkeyd.Classify(err).Code != "cannot_change_self" {
		t.Fatalf("staff locking themselves: %v, want cannot_change_self", err)
	}

	// Requests of the session run while the lock is set; every one after
	// it is refused.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.do(t, "GET", "/api/passkeys", nil)
		}()
	}
	if err := w.h.svc.LockAccount(ctx, staff, u, true); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	c.mustError(t, http.StatusUnauthorized, "not_logged_in", "GET", "/api/passkeys", nil)

	other := w.h.client()
	other.mustError(t, http.StatusForbidden, "account_locked", "POST", "/api/login/password", passwordBody(t, "lockable", "pw"))
	if _, err := other.passkeyClient(a).Login(ctx); err == nil {
		t.Error("a passkey login of a locked account went through")
	} else if apiErr := (*passkeytest.APIError)(nil); !errors.As(err, &apiErr) || apiErr.Code != "account_locked" {
		t.Errorf("passkey login of a locked account: %v, want account_locked", err)
	}
	// A wrong password says nothing of the lock.
	other.mustError(t, http.StatusUnauthorized, "login_failed", "POST", "/api/login/password", passwordBody(t, "lockable", "wrong"))

	if err := w.h.svc.LockAccount(ctx, staff, u, false); err != nil {
		t.Fatal(err)
	}
	other.must(t, http.StatusOK, "POST", "/api/login/password", passwordBody(t, "lockable", "pw"))
	events, err := w.h.svc.AuditEvents(ctx, u.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var locks []string
	for _, e := range events {
		if e.Event == passkeyd.AuditAccountLocked || e.Event == passkeyd.AuditAccountUnlocked {
			locks = append(locks, e.Event+" by "+e.Actor)
		}
	}
	if len(locks) != 2 || locks[0] != "account_unlocked by staffer" || locks[1] != "account_locked by staffer" {
		t.Errorf("audit log of the lock: %v", locks)
	}
}
