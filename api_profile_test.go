package passkeyd_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// signals reads GET /api/signals.
func signals(t *testing.T, c *client) passkeyd.SignalInfo {
	t.Helper()
	var info passkeyd.SignalInfo
	if err := json.Unmarshal(c.must(t, http.StatusOK, "GET", "/api/signals", nil), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// GET /api/signals lists exactly the user's enabled passkeys, with their
// handle and names, for the browser's Signal API.
func TestSignals(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	u, c := w.userClient(t, "signaller")
	phone, laptop := passkeytest.New(w.h.origin, passkeytest.Options{}), passkeytest.New(w.h.origin, passkeytest.Options{})
	p1 := c.register(t, phone, "Phone")
	c.register(t, laptop, "Laptop")
	_, other := w.userClient(t, "bystander")
	other.register(t, passkeytest.New(w.h.origin, passkeytest.Options{}), "Theirs")

	info := signals(t, c)
	want := []string{b64(lastCredID(t, phone)), b64(lastCredID(t, laptop))}
	slices.Sort(want)
	slices.Sort(info.AcceptedCredentialIDs)
	if !slices.Equal(info.AcceptedCredentialIDs, want) || info.RPID != "localhost" ||
		info.UserID != base64.RawURLEncoding.EncodeToString(u.Handle) || info.Name != u.Username || info.DisplayName != u.DisplayName {
		t.Fatalf("signals %+v, want ids %v of %s", info, want, u.Username)
	}

	// A disabled passkey is no longer accepted.
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+p1.ID, []byte(`{"enabled": false}`))
	if got := signals(t, c).AcceptedCredentialIDs; !slices.Equal(got, []string{b64(lastCredID(t, laptop))}) {
		t.Errorf("after disabling the phone: %v", got)
	}
	w.h.clientWithoutCookies().mustError(t, http.StatusUnauthorized, "not_logged_in", "GET", "/api/signals", nil)
}

// PATCH /api/user changes the display name, which the next signals carry;
// bad names are refused and change nothing.
func TestSetDisplayName(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	u, c := w.userClient(t, "renamer")

	body := c.must(t, http.StatusOK, "PATCH", "/api/user", []byte(`{"display_name": "  Ren Amer 🌸 "}`))
	var got struct {
		User passkeyd.UserInfo `json:"user"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.User.DisplayName != "Ren Amer 🌸" || got.User.Username != u.Username {
		t.Errorf("answer %+v", got.User)
	}
	if info := signals(t, c); info.DisplayName != "Ren Amer 🌸" {
		t.Errorf("signals after the change: %+v", info)
	}
	if ev := w.h.events(t, u.ID); ev[len(ev)-1] != passkeyd.AuditDisplayNameChanged+" ok" {
		t.Errorf("audit log ends %q", ev[len(ev)-1])
	}
	// Empty falls back to the username.
	c.must(t, http.StatusOK, "PATCH", "/api/user", []byte(`{"display_name": ""}`))
	if info := signals(t, c); info.DisplayName != u.Username {
		t.Errorf("an empty display name: %q, want the username", info.DisplayName)
	}

	before := w.h.snapshot(t)
	for _, tc := range []struct {
		name, body, code string
		status           int
	}{
		{"no name", `{}`, "invalid_display_name", http.StatusBadRequest},
		{"null", `{"display_name": null}`, "invalid_display_name", http.StatusBadRequest},
		{"too long", `{"display_name": "` + strings.Repeat("あ", 51) + `"}`, "invalid_display_name", http.StatusBadRequest},
		{"control character", `{"display_name": "a\u0007b"}`, "invalid_display_name", http.StatusBadRequest},
		{"bidi override", `{"display_name": "evil\u202Egnp.exe"}`, "invalid_display_name", http.StatusBadRequest},
		{"not a string", `{"display_name": 7}`, "invalid_type", http.StatusBadRequest},
		{"not json", `display_name=x`, "invalid_json", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.mustError(t, tc.status, tc.code, "PATCH", "/api/user", []byte(tc.body))
		})
	}
	w.h.clientWithoutCookies().mustError(t, http.StatusUnauthorized, "not_logged_in", "PATCH", "/api/user", []byte(`{"display_name": "x"}`))
	if after := w.h.snapshot(t); after != before {
		t.Errorf("refused name changes changed the database:\n%s\nwant:\n%s", after, before)
	}
}
