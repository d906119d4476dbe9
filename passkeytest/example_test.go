package passkeytest_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// exampleUser is the relying party's user record.
type exampleUser struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *exampleUser) WebAuthnID() []byte                         { return u.id }
func (u *exampleUser) WebAuthnName() string                       { return "alice" }
func (u *exampleUser) WebAuthnDisplayName() string                { return "Alice" }
func (u *exampleUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// The Authenticator stands in for the browser between a relying party's
// "begin" and "finish" steps: it reads the options JSON the server sends
// and returns the JSON the browser would post back. Here the relying party
// is go-webauthn in-process; in an HTTP test the JSON goes through
// httptest instead.
func Example() {
	rp, err := webauthn.New(&webauthn.Config{
		RPID:          "localhost",
		RPDisplayName: "Example",
		RPOrigins:     []string{"https://localhost:8000"},
	})
	if err != nil {
		log.Fatal(err)
	}
	user := &exampleUser{id: []byte("an opaque user handle")}
	a := passkeytest.New("https://localhost:8000", passkeytest.Options{})

	// Registration: begin -> authenticator -> finish.
	creation, regSession, err := rp.BeginRegistration(user)
	if err != nil {
		log.Fatal(err)
	}
	optionsJSON, _ := json.Marshal(creation) // the register/begin response body
	responseJSON, err := a.Register(optionsJSON)
	if err != nil {
		log.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(responseJSON) // register/finish
	if err != nil {
		log.Fatal(err)
	}
	cred, err := rp.CreateCredential(user, *regSession, parsed)
	if err != nil {
		log.Fatal(err)
	}
	user.creds = append(user.creds, *cred)
	fmt.Println("registered; backup eligible:", cred.Flags.BackupEligible)

	// Login with a discoverable credential, and the same login from
	// another origin, which the server must refuse.
	lookup := func(_, _ []byte) (webauthn.User, error) { return user, nil }
	for _, tamper := range []passkeytest.Tamper{{}, {Origin: "https://evil.example"}} {
		assertion, loginSession, err := rp.BeginDiscoverableLogin()
		if err != nil {
			log.Fatal(err)
		}
		optionsJSON, _ := json.Marshal(assertion) // the login/begin response body
		responseJSON, err := a.LoginWith(optionsJSON, tamper)
		if err != nil {
			log.Fatal(err)
		}
		pca, err := protocol.ParseCredentialRequestResponseBytes(responseJSON) // login/finish
		if err != nil {
			log.Fatal(err)
		}
		if u, _, err := rp.ValidatePasskeyLogin(lookup, *loginSession, pca); err != nil {
			fmt.Println("login refused:", err)
		} else {
			fmt.Println("logged in as", u.WebAuthnName())
		}
	}
	// Output:
	// registered; backup eligible: true
	// logged in as alice
	// login refused: Error validating origin
}
