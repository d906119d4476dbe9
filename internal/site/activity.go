package site

import (
	"net/http"
	"time"

	"github.com/passkeyd/passkeyd"
)

// activityLimit is how many events the activity page shows.
const activityLimit = 50

// activityView is an audit event as the activity page shows it.
type activityView struct {
	At                time.Time
	Event, Outcome    string
	What              string
	Platform, Address string
	// Actor is the staff member who did it, "" when the user did.
	Actor string
}

// eventWords say what each audit event was, for a person.
var eventWords = map[string]string{
	passkeyd.AuditLogin:                msg("Log in"),
	passkeyd.AuditLockout:              msg("Password login locked after too many attempts"),
	passkeyd.AuditPasskeyAdded:         msg("Passkey added"),
	passkeyd.AuditPasskeyRenamed:       msg("Passkey renamed"),
	passkeyd.AuditPasskeyDisabled:      msg("Passkey disabled"),
	passkeyd.AuditPasskeyEnabled:       msg("Passkey enabled"),
	passkeyd.AuditPasskeyDeleted:       msg("Passkey deleted"),
	passkeyd.AuditPasswordChanged:      msg("Password changed"),
	passkeyd.AuditSessionsEnded:        msg("Sessions ended"),
	passkeyd.AuditCloneWarning:         msg("A passkey's counter went backwards: it may have been copied"),
	passkeyd.AuditBackupEligible:       msg("A passkey started syncing"),
	passkeyd.AuditSignedUp:             msg("Account created"),
	passkeyd.AuditDisplayNameChanged:   msg("Display name changed"),
	passkeyd.AuditRecoveryCodesCreated: msg("Recovery codes made"),
	passkeyd.AuditRecoveryCodeUsed:     msg("Logged in with a recovery code"),
	passkeyd.AuditLoginLinkCreated:     msg("Login link made by staff"),
	passkeyd.AuditLoginLinkUsed:        msg("Logged in with a login link"),
	passkeyd.AuditAccountLocked:        msg("Account locked by staff"),
	passkeyd.AuditAccountUnlocked:      msg("Account unlocked by staff"),
	passkeyd.AuditStaffGranted:         msg("Staff role given"),
	passkeyd.AuditStaffRevoked:         msg("Staff role taken away"),
}

// eventText says what an event was, in English (the catalog's id).
func eventText(event, method string) string {
	if event == passkeyd.AuditLogin {
		switch method {
		case "passkey":
			return msg("Log in with a passkey")
		case "password":
			return msg("Log in with your password")
		}
	}
	if what := eventWords[event]; what != "" {
		return what
	}
	return event
}

// activityPage shows the user's newest audit events.
func (s *Site) activityPage(w http.ResponseWriter, r *http.Request) {
	u, lv := s.requireLogin(w, r)
	if u == nil {
		return
	}
	events, err := s.deps.Passkeys.AuditEvents(r.Context(), u.ID, activityLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	views := make([]activityView, len(events))
	for i, e := range events {
		what := eventText(e.Event, e.Method)
		views[i] = activityView{At: e.At, Event: e.Event, Outcome: e.Outcome, What: what, Platform: e.Platform, Address: e.Address}
	}
	s.render(w, r, http.StatusOK, "activity", page{Title: msg("Recent activity"), Login: lv, Activity: views})
}
