package passkeyd_test

import (
	"net/http"
	"testing"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// A conditional create's registration is taken without user presence;
// a normal registration without it is still refused.
func TestConditionalCreate(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	_, c := w.userClient(t, "upgrader")
	silent := passkeytest.New(w.h.origin, passkeytest.Options{NoUserPresence: true})

	opts := c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", nil)
	resp, err := silent.Register(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.mustError(t, http.StatusBadRequest, "registration_failed", "POST", "/api/passkeys/register/finish", resp)

	opts = c.must(t, http.StatusOK, "POST", "/api/passkeys/register/begin", []byte(`{"conditional": true}`))
	resp, err = silent.Register(opts)
	if err != nil {
		t.Fatal(err)
	}
	p := decodePasskey(t, c.must(t, http.StatusCreated, "POST", "/api/passkeys/register/finish", resp))
	if !p.Enabled || p.Name == "" {
		t.Errorf("the conditionally created passkey: %+v", p)
	}
	if got := c.list(t, "").Passkeys; len(got) != 1 || got[0].ID != p.ID {
		t.Errorf("the list after a conditional create: %+v", got)
	}
}
