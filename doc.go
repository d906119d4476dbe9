// Package passkeyd adds passkey (WebAuthn / FIDO2) login next to ordinary
// username + password login to any net/http application.
//
// The package holds the domain of a login site: users, the session record of
// how someone logged in (Auth), the storage interfaces that a backend
// implements (see the sqlite and postgres packages, and storetest for the
// conformance suite every backend passes), and the JSON error shape every
// handler answers with. The ready server built from it is cmd/passkeyd.
package passkeyd
