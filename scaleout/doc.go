// Package scaleout holds passkeyd's scale-out tests: several real
// passkeyd processes (cmd/passkeyd, built once by TestMain) on one
// PostgreSQL schema, with sessions in the database or in Redis, driven over
// HTTP by clients with a software authenticator (passkeytest). They show
// that any instance can finish what another began, that 500 concurrent
// logins lose and duplicate nothing, that an outage of PostgreSQL or of
// Redis gives 503s (not 500s, not hangs) and heals by itself, and that
// deploy/nginx.conf works.
//
// They need PostgreSQL (PASSKEYD_TEST_POSTGRES, default
// postgres://postgres@127.0.0.1:5432/test), Redis (PASSKEYD_TEST_REDIS,
// default 127.0.0.1:6379; database 14 is used, and emptied, whatever the
// URL says) and, for the nginx test, /usr/sbin/nginx. Outside CI a missing
// service skips the tests that need it; in CI (CI=true) it fails them.
//
// The package has test files only.
package scaleout
