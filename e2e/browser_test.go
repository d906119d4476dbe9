package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// tab is one browser tab of a test, watched for page errors.
type tab struct {
	t     *testing.T
	ctx   context.Context // the tab's chromedp context
	srv   *server
	w     *watcher
	label string
	// lang is the language the tab's browser asks for ("en" or "ja").
	lang string
	// authenticators are the tab's virtual authenticators.
	authenticators []*authenticator

	// holds are the requests to hold; see hold.
	holdMu       sync.Mutex
	holds        []*heldRequest
	intercepting bool
}

// newTab opens a tab in a fresh browser context (its own cookies and
// storage, like an incognito window) on the server srv. Every problem the
// watcher sees in the tab fails the test at its end.
func newTab(t *testing.T, srv *server) *tab {
	t.Helper()
	return newTabIn(t, srv, "en")
}

// newTabIn is newTab with a browser set to the language lang: its
// Accept-Language and its locale (ja: Japanese as in Japan).
func newTabIn(t *testing.T, srv *server, lang string) *tab {
	t.Helper()
	requireBrowser(t)
	logStart := srv.log.Len()
	tctx, cancelTimeout := context.WithTimeout(browserCtx, testTimeout)
	tb := &tab{t: t, srv: srv, w: newWatcher(srv.base), label: "tab 1", lang: lang}
	ctx, cancel := chromedp.NewContext(tctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.w.handle))
	tb.ctx = ctx
	t.Cleanup(func() {
		cancel()
		cancelTimeout()
		if t.Failed() {
			t.Logf("passkeyd log during the test:\n%s", srv.log.Since(logStart))
		}
	})
	tb.init()
	return tb
}

// newSibling opens another tab in the same browser context as tb, so it
// shares tb's cookies: the same person in a second tab.
func (tb *tab) newSibling(label string) *tab {
	tb.t.Helper()
	s := &tab{t: tb.t, srv: tb.srv, w: newWatcher(tb.srv.base), label: label, lang: tb.lang}
	ctx, cancel := chromedp.NewContext(tb.ctx, chromedp.WithListener(s.w.handle))
	s.ctx = ctx
	tb.t.Cleanup(cancel)
	s.init()
	return s
}

// init opens the target and sets it up like a person's focused desktop
// window, and registers the end-of-test checks.
func (tb *tab) init() {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx); err != nil {
		tb.t.Fatalf("%s: open: %v", tb.label, err)
	}
	tb.t.Cleanup(tb.finish)
	tb.call("focus emulation", func(ctx context.Context) error {
		// Several windows are open at once; WebAuthn only works in a
		// focused document.
		_, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	})
	tb.call("reduced motion", func(ctx context.Context) error {
		// Bootstrap then skips its transitions, so a modal is either
		// open or closed, never half-way, in a check or a screenshot.
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return err
	})
	tb.setViewport(desktop)
	if tb.lang != "en" {
		locales := map[string]string{"ja": "ja-JP"}
		tb.call("browser language", func(ctx context.Context) error {
			if _, err := chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: locales[tb.lang]}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Accept-Language": locales[tb.lang] + "," + tb.lang + ";q=0.9"},
			})
			return err
		})
	}
	tb.call("record WebAuthn calls", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recorderJS})
		return err
	})
	tb.call("WebAuthn.enable", func(ctx context.Context) error {
		off := false
		_, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: &off})
		return err
	})
}

// finish fails the test on every problem the watcher saw, and saves a
// screenshot of a failed test's tab.
func (tb *tab) finish() {
	// An evaluation is answered after every event the page sent before
	// it, so the watcher has seen everything up to now.
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	_, flushErr := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("0"))
	for _, p := range tb.w.problems() {
		tb.t.Errorf("%s: %s", tb.label, p)
	}
	if tb.t.Failed() && flushErr == nil {
		calls, _ := chromedp.Run(ctx, chromedp.Evaluate[string](callsJS+`.map((c) => c.method + '(' + c.mediation + '): ' + c.outcome).join(', ')`))
		tb.t.Logf("%s: at %s; WebAuthn calls in this tab: [%s]", tb.label, tb.location(), calls)
		if png, err := chromedp.Run(ctx, capturePNG); err == nil {
			name := "failed-" + fileName(tb.t.Name()+"-"+tb.label) + ".png"
			if err := os.WriteFile(filepath.Join(screenshotDir, name), png, 0o644); err == nil {
				tb.t.Logf("%s: screenshot of the failure: screenshots/%s", tb.label, name)
			}
		}
	}
}

// call runs f with a bounded context and fails the test on error.
func (tb *tab) call(what string, f func(ctx context.Context) error) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.label, what, err)
	}
}

// do runs chromedp actions with a bounded context.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	tb.call(what, func(ctx context.Context) error { return chromedp.Do(ctx, actions...) })
}

// evalJS evaluates a JavaScript expression in the tab's page.
func evalJS[T any](tb *tab, expr string) T {
	tb.t.Helper()
	var v T
	tb.call("evaluate "+expr, func(ctx context.Context) error {
		var err error
		v, err = chromedp.Run(ctx, chromedp.Evaluate[T](expr))
		return err
	})
	return v
}

// awaitJS evaluates a JavaScript expression whose value is a promise in
// the tab's page, and returns what the promise resolves to.
func awaitJS[T any](tb *tab, expr string) T {
	tb.t.Helper()
	var v T
	tb.call("evaluate "+expr, func(ctx context.Context) error {
		var err error
		v, err = chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
		return err
	})
	return v
}

// open navigates to path on the server and waits for the page to load.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do("open "+path, chromedp.Navigate(tb.srv.base+path))
}

// click clicks the first element that matches the CSS selector.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// typeInto empties the input field that matches the CSS selector and
// types text into it, key by key.
func (tb *tab) typeInto(sel, text string) {
	tb.t.Helper()
	evalJS[chromedp.Void](tb, fmt.Sprintf(`document.querySelector(%q).value = ''`, sel))
	tb.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// waitVisible waits until an element that matches the CSS selector is
// visible.
func (tb *tab) waitVisible(sel string) {
	tb.t.Helper()
	tb.do("wait for "+sel+" to be visible", chromedp.WaitVisible(chromedp.CSS(sel)))
}

// waitJS waits until the JavaScript expression is truthy in the page. It
// polls in the page, and starts again in the next page when the page
// navigates meanwhile, as after a form post.
func (tb *tab) waitJS(what, expr string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
		if err == nil && ok {
			return
		}
		var protoErr *cdproto.Error
		var exc *chromedp.ExceptionError
		switch {
		case ctx.Err() != nil || errors.Is(err, chromedp.ErrPollingTimeout):
			tb.t.Fatalf("%s: waiting for %s: timed out; page %s; #login-error %q", tb.label, what, tb.location(), tb.loginError())
		case errors.As(err, &protoErr), errors.As(err, &exc) && strings.Contains(exc.Error(), "destroyed"):
			// The page navigated while we polled: poll in the new one.
			continue
		default:
			tb.t.Fatalf("%s: waiting for %s: %v", tb.label, what, err)
		}
	}
}

// location is the page's URL, for messages; it never fails the test.
func (tb *tab) location() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return loc
}

// loginError is the text of #login-error, for messages; "" when none.
func (tb *tab) loginError() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('#login-error') || {}).textContent || ''`))
	return s
}

// path is the path of the page's URL.
func (tb *tab) path() string {
	tb.t.Helper()
	u, err := url.Parse(tb.location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return u.Path
}

// text is the trimmed text content of the first element matching sel, or
// "" when there is none.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return strings.TrimSpace(evalJS[string](tb, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel)))
}

// recorderJS runs in every page before the page's own scripts. It wraps
// navigator.credentials.get and create to record, in the tab's
// sessionStorage (which survives the form posts of a login), each call's
// mediation and how it ended, so that tests can tell an autofill
// (conditional) request from a modal one, and wait until one is pending.
const recorderJS = `(() => {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  const key = 'e2e-webauthn-calls';
  const load = () => JSON.parse(sessionStorage.getItem(key) || '[]');
  const save = (calls) => sessionStorage.setItem(key, JSON.stringify(calls));
  for (const method of ['get', 'create']) {
    const original = navigator.credentials[method].bind(navigator.credentials);
    navigator.credentials[method] = (options) => {
      const calls = load();
      const i = calls.push({method, mediation: (options && options.mediation) || null, outcome: 'pending', page: location.pathname}) - 1;
      save(calls);
      const end = (outcome) => {
        const now = load();
        now[i].outcome = outcome;
        save(now);
      };
      return original(options).then((v) => { end('resolved'); return v; }, (e) => { end(e.name); throw e; });
    };
  }
  // The Signal API's calls, with their arguments.
  const signalsKey = 'e2e-signals';
  for (const name of ['signalUnknownCredential', 'signalAllAcceptedCredentials', 'signalCurrentUserDetails']) {
    if (typeof PublicKeyCredential[name] !== 'function') {
      continue;
    }
    const original = PublicKeyCredential[name].bind(PublicKeyCredential);
    PublicKeyCredential[name] = (arg) => {
      const calls = JSON.parse(sessionStorage.getItem(signalsKey) || '[]');
      const i = calls.push({name, arg, page: location.pathname, load: performance.timeOrigin, settled: false}) - 1;
      sessionStorage.setItem(signalsKey, JSON.stringify(calls));
      const settle = () => {
        const now = JSON.parse(sessionStorage.getItem(signalsKey) || '[]');
        now[i].settled = true;
        sessionStorage.setItem(signalsKey, JSON.stringify(now));
      };
      return original(arg).then((v) => { settle(); return v; }, (e) => { settle(); throw e; });
    };
  }
})();`

// callsJS is the JavaScript expression of the recorded WebAuthn calls.
// about:blank has no sessionStorage, and no calls.
const callsJS = `(() => { try { return JSON.parse(sessionStorage.getItem('e2e-webauthn-calls') || '[]'); } catch (e) { return []; } })()`

// signalCall is one recorded call of the Signal API.
type signalCall struct {
	Name string `json:"name"`
	Arg  struct {
		RPID                     string   `json:"rpId"`
		UserID                   string   `json:"userId"`
		CredentialID             string   `json:"credentialId"`
		AllAcceptedCredentialIDs []string `json:"allAcceptedCredentialIds"`
		Name                     string   `json:"name"`
		DisplayName              string   `json:"displayName"`
	} `json:"arg"`
	Page string `json:"page"`
}

// waitSignalsSettled waits until the page has made its Signal API calls
// and the browser has taken each: Chromium drops a credential the site no
// longer accepts some time after the call.
func (tb *tab) waitSignalsSettled() {
	tb.t.Helper()
	tb.waitJS("the page's Signal API calls to settle", `(() => {
		const mine = JSON.parse(sessionStorage.getItem('e2e-signals') || '[]').filter((c) => c.load === performance.timeOrigin);
		return mine.length > 0 && mine.every((c) => c.settled);
	})()`)
}

// signalCalls returns the Signal API calls recorded in the tab so far.
func (tb *tab) signalCalls() []signalCall {
	tb.t.Helper()
	return evalJS[[]signalCall](tb, `(() => { try { return JSON.parse(sessionStorage.getItem('e2e-signals') || '[]'); } catch (e) { return []; } })()`)
}

// webauthnCall is one recorded call of navigator.credentials.get or create.
type webauthnCall struct {
	Method    string `json:"method"`
	Mediation string `json:"mediation"`
	Outcome   string `json:"outcome"` // pending, resolved, or the error's name
	Page      string `json:"page"`
}

// webauthnCalls returns the calls recorded in the tab so far.
func (tb *tab) webauthnCalls() []webauthnCall {
	tb.t.Helper()
	return evalJS[[]webauthnCall](tb, callsJS)
}

// ---- viewports and screenshots ----

// viewport is a device size to lay the page out at.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var (
	desktop = viewport{name: "desktop", width: 1280, height: 800}
	phone   = viewport{name: "phone", width: 390, height: 844, mobile: true}
)

func (tb *tab) setViewport(v viewport) {
	tb.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if v.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	tb.do("viewport "+v.name, chromedp.EmulateViewport(v.width, v.height, opts...))
}

// capturePNG captures what the viewport shows as PNG.
func capturePNG(ctx context.Context, t *chromedp.Target) ([]byte, error) {
	res, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
	if err != nil {
		return nil, err
	}
	return res.Data, nil
}

// screenshots saves screenshots/NAME-desktop.png and NAME-phone.png of the
// page as it is, then sets the desktop viewport again. ready, when not
// "", is a JavaScript condition to wait for after each resize.
func (tb *tab) screenshots(name, ready string) {
	tb.t.Helper()
	for _, v := range []viewport{desktop, phone} {
		tb.setViewport(v)
		if ready != "" {
			tb.waitJS(name+" ready at "+v.name+" width", ready)
		}
		// The page lays itself out for the new width before it answers.
		width := evalJS[int64](tb, "document.documentElement.clientWidth")
		if width > v.width {
			tb.t.Errorf("%s at %s width: the page is %dpx wide, wider than the %dpx screen", name, v.name, width, v.width)
		}
		scroll := evalJS[int64](tb, "document.documentElement.scrollWidth")
		if scroll > v.width {
			tb.t.Errorf("%s at %s width: the page scrolls sideways (%dpx of content on a %dpx screen)", name, v.name, scroll, v.width)
		}
		for _, p := range evalJS[[]string](tb, layoutProblemsJS) {
			tb.t.Errorf("%s at %s width: %s", name, v.name, p)
		}
		var png []byte
		tb.call("screenshot", func(ctx context.Context) error {
			var err error
			png, err = chromedp.Run(ctx, capturePNG)
			return err
		})
		file := filepath.Join(screenshotDir, name+"-"+tb.lang+"-"+v.name+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	tb.setViewport(desktop)
}

// layoutProblemsJS finds what makes a page hard to use at its width: a
// control that sticks out of the screen (or hides in a box that scrolls
// sideways), and a text field too narrow to type in.
const layoutProblemsJS = `(() => {
  const problems = [];
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const describe = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.name ? '[name=' + e.name + ']' : '') +
    ' "' + (e.textContent || e.value || '').trim().slice(0, 30) + '"';
  // Only what is on top: under an open modal, the page does not count.
  const modal = document.querySelector('.modal.show');
  const scope = modal || document;
  for (const e of scope.querySelectorAll('a, button, input:not([type=hidden]), select, textarea')) {
    if (!shown(e)) {
      continue;
    }
    const r = e.getBoundingClientRect();
    if (r.left < -1 || r.right > document.documentElement.clientWidth + 1) {
      problems.push(describe(e) + ' is off the screen (' + Math.round(r.left) + '..' + Math.round(r.right) + 'px)');
      continue;
    }
    for (let p = e.parentElement; p; p = p.parentElement) {
      const pr = p.getBoundingClientRect();
      const ox = getComputedStyle(p).overflowX;
      if ((ox === 'auto' || ox === 'scroll' || ox === 'hidden') && (r.right > pr.right + 1 || r.left < pr.left - 1)) {
        problems.push(describe(e) + ' is hidden in a box that scrolls sideways');
        break;
      }
    }
    if (e.matches('input:not([type=checkbox]):not([type=radio]), textarea') && r.width < 100) {
      problems.push(describe(e) + ' is only ' + Math.round(r.width) + 'px wide');
    }
  }
  return problems;
})()`

// fileName makes s safe as a file name.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, s)
}

// ---- virtual authenticators ----

// The kinds of authenticator the tests use. All of them simulate the
// person's touch (AutomaticPresenceSimulation: false would leave every
// request waiting for ever).
var (
	// platformAuthenticator is a built-in authenticator with a biometric
	// or PIN: Touch ID, Windows Hello, an Android phone's screen lock.
	platformAuthenticator = webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Ctap2version:                webauthn.Ctap2versionCtap21,
		Transport:                   webauthn.AuthenticatorTransportInternal,
		HasResidentKey:              true,
		HasUserVerification:         true,
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}
	// securityKeyUV is a USB security key with a PIN or fingerprint.
	securityKeyUV = webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Ctap2version:                webauthn.Ctap2versionCtap21,
		Transport:                   webauthn.AuthenticatorTransportUsb,
		HasResidentKey:              true,
		HasUserVerification:         true,
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}
	// securityKeyNoUV is a USB security key that can only be touched: it
	// proves presence but cannot verify who touches it (no PIN, no
	// fingerprint). Chromium creates no discoverable credential on such a
	// key: it needs user verification for that.
	securityKeyNoUV = webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Ctap2version:                webauthn.Ctap2versionCtap21,
		Transport:                   webauthn.AuthenticatorTransportUsb,
		HasResidentKey:              true,
		HasUserVerification:         false,
		AutomaticPresenceSimulation: true,
	}
	// securityKeyNoUVNoRK is an older security key without user
	// verification and without room for discoverable credentials.
	securityKeyNoUVNoRK = webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Ctap2version:                webauthn.Ctap2versionCtap21,
		Transport:                   webauthn.AuthenticatorTransportUsb,
		AutomaticPresenceSimulation: true,
	}
)

// authenticator is a virtual authenticator attached to a tab.
type authenticator struct {
	tb   *tab
	id   webauthn.AuthenticatorID
	opts webauthn.VirtualAuthenticatorOptions
}

// addAuthenticator attaches a virtual authenticator to the tab.
func (tb *tab) addAuthenticator(opts webauthn.VirtualAuthenticatorOptions) *authenticator {
	tb.t.Helper()
	a := &authenticator{tb: tb, opts: opts}
	tb.call("add a virtual authenticator", func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &opts})
		a.id = res.AuthenticatorID
		return err
	})
	tb.authenticators = append(tb.authenticators, a)
	return a
}

// remove unplugs the authenticator.
func (a *authenticator) remove() {
	a.tb.t.Helper()
	a.tb.call("remove a virtual authenticator", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: a.id})
		return err
	})
	a.tb.authenticators = slices.DeleteFunc(a.tb.authenticators, func(b *authenticator) bool { return b == a })
}

// credentials are the credentials the authenticator holds.
func (a *authenticator) credentials() []*webauthn.Credential {
	a.tb.t.Helper()
	var creds []*webauthn.Credential
	a.tb.call("get credentials", func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.id})
		creds = res.Credentials
		return err
	})
	return creds
}

// addCredentialParams is webauthn.AddCredentialParams with a credential
// of only the fields Chromium has long known: cdproto v0.159.0 always
// sends generateCmtgKeyOnNextOperation, and Chromium then refuses the
// command ("CMTG is not supported by this authenticator").
type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      credential               `json:"credential"`
}

type credential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId,omitempty"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle,omitempty"`
	SignCount            float64 `json:"signCount"`
	BackupEligibility    bool    `json:"backupEligibility"`
	BackupState          bool    `json:"backupState"`
	UserName             string  `json:"userName,omitempty"`
	UserDisplayName      string  `json:"userDisplayName,omitempty"`
}

var addCredential = cdp.Command[addCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

// addCredential copies a credential (with its private key) into the
// authenticator: the same passkey synced to another device.
func (a *authenticator) addCredential(c *webauthn.Credential) {
	a.tb.t.Helper()
	a.tb.call("add a credential", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, addCredential, addCredentialParams{AuthenticatorID: a.id, Credential: credential{
			CredentialID: c.CredentialID, IsResidentCredential: c.IsResidentCredential, RpID: c.RpID,
			PrivateKey: c.PrivateKey, UserHandle: c.UserHandle, SignCount: c.SignCount,
			BackupEligibility: c.BackupEligibility, BackupState: c.BackupState,
			UserName: c.UserName, UserDisplayName: c.UserDisplayName,
		}})
		return err
	})
}

// anotherDevice unplugs a and plugs in an authenticator of the same kind
// holding creds: the same passkeys on another device, whose password
// manager has not heard what the site told this browser through the
// Signal API (Chromium drops a credential the site no longer accepts).
func (a *authenticator) anotherDevice(creds []*webauthn.Credential) *authenticator {
	a.tb.t.Helper()
	a.remove()
	b := a.tb.addAuthenticator(a.opts)
	for _, c := range creds {
		b.addCredential(c)
	}
	return b
}

// setPresence sets whether the authenticator simulates the person's touch
// at once. Without it a request waits; a request that is waiting does
// not complete when it is turned on again, but the next request does.
func (a *authenticator) setPresence(on bool) {
	a.tb.t.Helper()
	a.tb.call("set automatic presence simulation", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: a.id, Enabled: on})
		return err
	})
}

// setUserVerified sets whether the authenticator's user verification
// (fingerprint, PIN) succeeds.
func (a *authenticator) setUserVerified(ok bool) {
	a.tb.t.Helper()
	a.tb.call("set user verified", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: a.id, IsUserVerified: ok})
		return err
	})
}

// ---- the watcher ----

// watcher collects what a tab's page does wrong: console errors, uncaught
// exceptions, Content-Security-Policy violations, failed requests and
// unexpected HTTP errors.
//
// What counts as a failed request:
//   - Network.loadingFailed of any request (DNS, connection, CSP or CORS
//     block, an aborted download), except a fetch the page itself aborted
//     (none of passkeyd's scripts does; see allowAborted).
//   - A response of 400 or more to a page subresource (script, style sheet,
//     image, font): the page is broken.
//   - A response of 400 or more to a document or a fetch, unless the test
//     said it expects that status for that method and path (a wrong
//     password is a 401 page, a refused passkey a 401 API answer). Chrome
//     logs such a response as the console error "Failed to load resource";
//     an expected one is not counted twice.
type watcher struct {
	origin string

	mu       sync.Mutex
	requests map[network.RequestID]request
	expected map[string]bool // "METHOD path status"
	found    []string
	// responses are all responses, redirects included, in order.
	responses []request
	// pending are the network log errors judged at the end, when the
	// response they belong to has been seen.
	pending []*log.Entry
}

type request struct {
	method, url string
	typ         network.ResourceType
	status      int64
}

func newWatcher(origin string) *watcher {
	return &watcher{origin: origin, requests: map[network.RequestID]request{}, expected: map[string]bool{}}
}

// expect makes a response with status to METHOD path no problem.
func (w *watcher) expect(method, path string, status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expected[fmt.Sprintf("%s %s %d", method, path, status)] = true
}

func (w *watcher) isExpected(r request) bool {
	u, err := url.Parse(r.url)
	if err != nil {
		return false
	}
	return w.expected[fmt.Sprintf("%s %s %d", r.method, u.Path, r.status)]
}

// handle runs on the tab's event loop: it only records.
func (w *watcher) handle(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		w.found = append(w.found, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, string(a.Value))
				}
			}
			w.found = append(w.found, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " ")))
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		switch {
		case e.Source == log.EntrySourceSecurity && e.Level != log.EntryLevelVerbose:
			w.found = append(w.found, fmt.Sprintf("security (CSP) %s: %s", e.Level, e.Text))
		case e.Level == log.EntryLevelError && e.Source == log.EntrySourceNetwork && e.NetworkRequestID != "":
			w.pending = append(w.pending, e)
		case e.Level == log.EntryLevelError:
			w.found = append(w.found, fmt.Sprintf("console error (%s) at %s: %s", e.Source, e.URL, e.Text))
		}
	case *network.EventRequestWillBeSent:
		if ev.RedirectResponse != nil {
			w.response(ev.RequestID, ev.RedirectResponse)
		}
		w.requests[ev.RequestID] = request{method: ev.Request.Method, url: ev.Request.URL, typ: ev.Type}
	case *network.EventResponseReceived:
		r := w.requests[ev.RequestID]
		r.typ = ev.Type
		w.requests[ev.RequestID] = r
		w.response(ev.RequestID, ev.Response)
	case *network.EventLoadingFailed:
		r := w.requests[ev.RequestID]
		w.found = append(w.found, fmt.Sprintf("request failed: %s %s (%s): %s%s", r.method, r.url, ev.Type, ev.ErrorText, blocked(ev)))
	}
}

func blocked(ev *network.EventLoadingFailed) string {
	if ev.BlockedReason != "" {
		return ", blocked: " + string(ev.BlockedReason)
	}
	if ev.CorsErrorStatus != nil {
		return ", CORS: " + string(ev.CorsErrorStatus.CorsError)
	}
	return ""
}

// response records a response; the caller holds w.mu.
func (w *watcher) response(id network.RequestID, resp *network.Response) {
	r := w.requests[id]
	r.status = resp.Status
	if r.url == "" {
		r.url = resp.URL
	}
	w.requests[id] = r
	w.responses = append(w.responses, r)
	if r.status < 400 {
		return
	}
	switch r.typ {
	case network.ResourceTypeDocument, network.ResourceTypeFetch, network.ResourceTypeXHR:
		if w.isExpected(r) {
			return
		}
		w.found = append(w.found, fmt.Sprintf("unexpected HTTP %d for %s %s (%s)", r.status, r.method, r.url, r.typ))
	default:
		w.found = append(w.found, fmt.Sprintf("HTTP %d for the page's %s %s", r.status, r.typ, r.url))
	}
}

// sawResponse reports whether the page got a response with status to
// METHOD path.
func (w *watcher) sawResponse(method, path string, status int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.responses {
		if u, err := url.Parse(r.url); err == nil && r.method == method && u.Path == path && r.status == status {
			return true
		}
	}
	return false
}

// reset forgets everything found so far.
func (w *watcher) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.found, w.pending = nil, nil
}

// problems returns everything found so far.
func (w *watcher) problems() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := append([]string(nil), w.found...)
	for _, e := range w.pending {
		if r, ok := w.requests[e.NetworkRequestID]; ok && r.status >= 400 {
			// "Failed to load resource" of a response judged above.
			continue
		}
		out = append(out, fmt.Sprintf("console error (network) at %s: %s", e.URL, e.Text))
	}
	return out
}

// heldRequest is a request of the page that the test holds back with the
// Fetch domain, to order what the page, the browser and other tabs do.
type heldRequest struct {
	tb           *tab
	method, path string
	paused       chan fetch.RequestID
	id           fetch.RequestID
}

// hold holds the tab's next request of method to path until release.
// Hold before the action that makes the request.
func (tb *tab) hold(method, path string) *heldRequest {
	tb.t.Helper()
	h := &heldRequest{tb: tb, method: method, path: path, paused: make(chan fetch.RequestID, 1)}
	tb.holdMu.Lock()
	tb.holds = append(tb.holds, h)
	start := !tb.intercepting
	tb.intercepting = true
	tb.holdMu.Unlock()
	if start {
		tb.intercept()
	}
	return h
}

// intercept pauses the tab's requests to the paths that tests hold (the
// login ceremony's begin and the login form's post), hands each to the
// first hold waiting for it, and lets the others through.
func (tb *tab) intercept() {
	tb.t.Helper()
	events := chromedp.Events(tb.ctx, fetch.RequestPaused)
	tb.call("Fetch.enable", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: "*/api/login/begin", RequestStage: fetch.RequestStageRequest},
			{URLPattern: "*/login", ResourceType: network.ResourceTypeDocument, RequestStage: fetch.RequestStageRequest},
		}})
		return err
	})
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			var h *heldRequest
			if u, err := url.Parse(ev.Request.URL); err == nil {
				tb.holdMu.Lock()
				for i, c := range tb.holds {
					if c.method == ev.Request.Method && c.path == u.Path {
						h = c
						tb.holds = slices.Delete(tb.holds, i, i+1)
						break
					}
				}
				tb.holdMu.Unlock()
			}
			if h != nil {
				h.paused <- ev.RequestID
				continue
			}
			_, _ = chromedp.Call(tb.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
}

// wait waits until the request is held.
func (h *heldRequest) wait() {
	h.tb.t.Helper()
	select {
	case h.id = <-h.paused:
	case <-time.After(waitTimeout):
		h.tb.t.Fatalf("%s: no %s %s was made within %s", h.tb.label, h.method, h.path, waitTimeout)
	}
}

// release lets the held request go on.
func (h *heldRequest) release() {
	h.tb.t.Helper()
	h.tb.call("Fetch.continueRequest", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: h.id})
		return err
	})
}
