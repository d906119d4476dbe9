// Package e2e holds passkeyd's real-browser end-to-end tests. They build
// cmd/passkeyd, run it as a subprocess (one per server configuration),
// and drive one shared headless Chromium through the Chrome DevTools
// Protocol (chromedp), each test in a browser context of its own, with
// the protocol's WebAuthn domain standing in for the person and their
// authenticators.
//
// The browser is chromium (or Chrome) on PATH, else /usr/bin/chromium;
// E2E_CHROMIUM names another. Without one the tests skip, except in CI
// (CI=true), where they fail.
//
// Every test fails on a console error, an uncaught exception, a
// Content-Security-Policy violation, a failed request or an unexpected
// HTTP error in any of its tabs. Screenshots of the main pages, at
// desktop and phone sizes, go to the repository's screenshots/ folder,
// and a failed test leaves a screenshot of its tab there.
package e2e
