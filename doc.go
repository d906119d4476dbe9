// Package passkeyd adds passkey (WebAuthn / FIDO2) login next to ordinary
// username + password login to any net/http application.
//
// A [Service] is the whole login: passkey registration and login (with
// browser autofill), password login with its throttle, sessions, logout,
// and passkey management, as methods and as the JSON API that
// [Service.Routes] serves (docs/api.md). Build one with [NewService] from
// a [Config] and [Deps]:
//
//   - Deps.Users are the site's users: passkeyd's own (sqlite.DB,
//     postgres.DB) or the app's, through the small [Users] interface;
//   - Deps.Store keeps passkeys and the rest of the shared state: sqlite.DB
//     or postgres.DB, whose tables (all named passkeyd_*) can live in the
//     app's own database; storetest is the suite every store passes;
//   - sessions are passkeyd's (cookie passkeyd_session, kept in the Store
//     or in Deps.SessionStore) or the app's own, through [AppSessions].
//
// The browser side is static/passkey.js, served from [StaticFS];
// passkeytest has a software authenticator and an HTTP client for tests.
// docs/integrate.md is the guide, and examples/ has two small apps. The
// ready server built from the package is cmd/passkeyd.
package passkeyd
