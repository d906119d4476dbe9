package passkeyd_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// loginOptions is the part of a login begin's answer these tests read.
type loginOptions struct {
	PublicKey struct {
		AllowCredentials []struct {
			ID         string   `json:"id"`
			Type       string   `json:"type"`
			Transports []string `json:"transports"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

func beginForUsername(t *testing.T, c *client, username string) ([]byte, loginOptions) {
	t.Helper()
	raw := c.must(t, http.StatusOK, "POST", "/api/login/begin", []byte(`{"username": "`+username+`"}`))
	var o loginOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	return raw, o
}

// A security key that keeps no credential logs in once the login names
// its user: the begin lists the user's enabled passkeys, the answer has
// no user handle, and the login goes through; a discoverable login finds
// nothing on such a key.
func TestUsernameLogin(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	u, c := w.userClient(t, "keyholder")
	key := passkeytest.New(w.h.origin, passkeytest.Options{NonDiscoverable: true, Attachment: "cross-platform", DeviceBound: true})
	p := c.register(t, key, "YubiKey")
	other := passkeytest.New(w.h.origin, passkeytest.Options{})
	off := c.register(t, other, "Old phone")
	c.must(t, http.StatusOK, "PATCH", "/api/passkeys/"+off.ID, []byte(`{"enabled": false}`))

	if _, err := key.Login(w.h.client().must(t, http.StatusOK, "POST", "/api/login/begin", nil)); err == nil {
		t.Fatal("a non-discoverable credential answered a discoverable login")
	}
	b := w.h.client()
	raw, opts := beginForUsername(t, b, "KeyHolder")
	if n := len(opts.PublicKey.AllowCredentials); n != 1 {
		t.Fatalf("allowCredentials lists %d, want the one enabled passkey", n)
	}
	resp, err := key.Login(raw)
	if err != nil {
		t.Fatal(err)
	}
	var got loginAnswer
	json.Unmarshal(b.must(t, http.StatusOK, "POST", "/api/login/finish", resp), &got)
	if got.User.ID != u.ID || got.Auth.ID == nil || *got.Auth.ID != p.ID {
		t.Fatalf("username login answered %+v", got)
	}
}

// An unknown name, and a user without an enabled passkey, get the same
// shape as a real user: credential ids the same at every ask, different
// per name, so the answer tells nothing of who exists.
func TestUsernameLoginFakes(t *testing.T) {
	w := newWorld(t, harnessOptions{})
	w.h.user(t, "nokeys")
	c := w.h.client()
	for _, name := range []string{"nobody", "nokeys"} {
		_, first := beginForUsername(t, c, name)
		_, again := beginForUsername(t, c, name)
		if len(first.PublicKey.AllowCredentials) == 0 {
			t.Fatalf("%s: no credentials listed", name)
		}
		for i, d := range first.PublicKey.AllowCredentials {
			if d.Type != "public-key" || len(d.ID) < 20 || len(d.Transports) == 0 {
				t.Errorf("%s: descriptor %+v does not look like a real one", name, d)
			}
			if again.PublicKey.AllowCredentials[i].ID != d.ID {
				t.Errorf("%s: the fake ids changed between two asks", name)
			}
		}
	}
	_, a := beginForUsername(t, c, "nobody")
	_, b := beginForUsername(t, c, "somebody-else")
	if a.PublicKey.AllowCredentials[0].ID == b.PublicKey.AllowCredentials[0].ID {
		t.Error("two names got the same fake id")
	}
	_, upper := beginForUsername(t, c, "NOBODY")
	if upper.PublicKey.AllowCredentials[0].ID != a.PublicKey.AllowCredentials[0].ID {
		t.Error("the fake ids depend on the letter case of the name, which real users' do not")
	}
}
