package passkeyd

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/passkeyd/passkeyd/locale"
)

// Attachment values for Config.Attachment.
const (
	AttachmentAny           = "any"
	AttachmentPlatform      = "platform"
	AttachmentCrossPlatform = "cross-platform"
)

// User verification values for Config.UserVerification.
const (
	VerificationRequired    = "required"
	VerificationPreferred   = "preferred"
	VerificationDiscouraged = "discouraged"
)

// Config configures the passkey ceremonies.
type Config struct {
	// RPID is the relying party id: the site's registrable domain
	// ("example.com", or "localhost" in development).
	RPID string
	// RPName is the site's name as authenticators show it.
	RPName string
	// Origins are the origins passkeys may be used from
	// ("https://example.com"); each must be on RPID or a subdomain.
	Origins []string
	// RelatedOrigins are origins on other registrable domains whose
	// pages may use passkeys of RPID (WebAuthn Related Origin Requests:
	// "https://example.co.jp" beside example.com). They are accepted at
	// verification and listed at /.well-known/webauthn, which browsers
	// read on RPID before they allow such an origin.
	RelatedOrigins []string
	// Attachment restricts registration to platform authenticators,
	// cross-platform ones (security keys, phones), or AttachmentAny.
	Attachment string
	// UserVerification is VerificationRequired, VerificationPreferred
	// or VerificationDiscouraged, for registration and login.
	UserVerification string
	// CeremonyTTL is how long a begun ceremony may be finished; it is
	// also the timeout sent to the browser.
	CeremonyTTL time.Duration
	// CeremonyKeys, when set, are the 32-byte secrets that seal pending
	// ceremonies: the first seals, all open. Without, the keys live in
	// the Store, made on first start and rotated with
	// RotateCeremonyKey. Every instance of a site needs the same.
	CeremonyKeys [][]byte
	// SessionIdleTimeout ends one of passkeyd's sessions unused for this
	// long (default 24h).
	SessionIdleTimeout time.Duration
	// SessionLifetime ends one of passkeyd's sessions this long after it
	// began, used or not (default 7 days).
	SessionLifetime time.Duration
	// SessionTouchInterval is how stale a session's last use may grow
	// before a request writes it anew (default a minute, or a tenth of the
	// idle timeout when that is shorter): the idle timeout then holds to
	// within it, and a busy browser costs one write a minute, not one a
	// request.
	SessionTouchInterval time.Duration
	// TrustedProxies are the networks of the reverse proxies in front of
	// the site: only a request from one of them has its client's address
	// read from X-Forwarded-For (see Service.ClientAddr), which the rate
	// limits count by.
	TrustedProxies []netip.Prefix
	// SignUp is who may make an account: SignUpClosed (the default),
	// SignUpPasskey, SignUpPassword or SignUpAny.
	SignUp string
	// ReauthWindow is how recent a login or re-authentication must be
	// for a sensitive change (RequireRecentAuth); default
	// DefaultReauthWindow, negative never asks again.
	ReauthWindow time.Duration
	// AuditRetention is how long the audit log keeps an event (default
	// DefaultAuditRetention).
	AuditRetention time.Duration
	// MaxPasskeys is how many passkeys one user may have (default
	// DefaultMaxPasskeys).
	MaxPasskeys int
	// AddressRate and AddressBurst limit the passkey ceremonies (each
	// begin and finish) and password logins one client address may start
	// on one instance: AddressRate a second, in bursts of AddressBurst
	// (defaults 5 and 100). A negative AddressRate turns the limit off,
	// for load tests.
	AddressRate  float64
	AddressBurst int
	// Metrics, when set, receives what the Service measures.
	Metrics Metrics
	// Now is the clock of everything the Service does: ceremonies,
	// sessions, throttles. Nil means time.Now; tests set it.
	Now func() time.Time
	// Logger receives security events (possible cloned authenticators,
	// backup flag changes). Nil discards them.
	Logger *slog.Logger
	// Messages are the languages answers are given in: JSON errors'
	// messages, and the pages of a site built on the Service. Nil: the
	// ones passkeyd embeds (locale.New), each request's chosen by its
	// passkeyd_lang cookie, then its Accept-Language.
	Messages *locale.Catalog
}

// Bounds of Config.CeremonyTTL.
const (
	MinCeremonyTTL = 10 * time.Second
	MaxCeremonyTTL = time.Hour
)

// check validates c and fills in the defaults. Its errors name the field
// and say what would be right, so that a mistake fails the start, not a
// passkey in the browser.
func (c *Config) check() error {
	if err := CheckRPID(c.RPID); err != nil {
		return fmt.Errorf("passkeyd: Config.RPID: %w", err)
	}
	if strings.TrimSpace(c.RPName) == "" {
		return errors.New("passkeyd: Config.RPName is empty: set the site's name as authenticators should show it")
	}
	if len(c.Origins) == 0 {
		return errors.New("passkeyd: Config.Origins is empty: list the origins people use, such as https://" + c.RPID)
	}
	for i, o := range c.Origins {
		if err := CheckOrigin(o, c.RPID); err != nil {
			return fmt.Errorf("passkeyd: Config.Origins[%d] %q: %w", i, o, err)
		}
	}
	for i, o := range c.RelatedOrigins {
		if err := CheckRelatedOrigin(o, c.RPID); err != nil {
			return fmt.Errorf("passkeyd: Config.RelatedOrigins[%d] %q: %w", i, o, err)
		}
	}
	switch c.Attachment {
	case "":
		c.Attachment = AttachmentAny
	case AttachmentAny, AttachmentPlatform, AttachmentCrossPlatform:
	default:
		return fmt.Errorf("passkeyd: attachment %q: want platform, cross-platform or any", c.Attachment)
	}
	switch c.UserVerification {
	case "":
		c.UserVerification = VerificationPreferred
	case VerificationRequired, VerificationPreferred, VerificationDiscouraged:
	default:
		return fmt.Errorf("passkeyd: user verification %q: want required, preferred or discouraged", c.UserVerification)
	}
	switch {
	case c.CeremonyTTL == 0:
		c.CeremonyTTL = 5 * time.Minute
	case c.CeremonyTTL < MinCeremonyTTL || c.CeremonyTTL > MaxCeremonyTTL:
		return fmt.Errorf("passkeyd: Config.CeremonyTTL %s: want between %s and %s (0 means 5m)", c.CeremonyTTL, MinCeremonyTTL, MaxCeremonyTTL)
	}
	if c.SessionIdleTimeout <= 0 {
		c.SessionIdleTimeout = 24 * time.Hour
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = 7 * 24 * time.Hour
	}
	if c.SessionTouchInterval <= 0 {
		c.SessionTouchInterval = min(time.Minute, c.SessionIdleTimeout/10)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SignUp == "" {
		c.SignUp = SignUpClosed
	}
	if c.ReauthWindow == 0 {
		c.ReauthWindow = DefaultReauthWindow
	}
	if c.AuditRetention <= 0 {
		c.AuditRetention = DefaultAuditRetention
	}
	if c.MaxPasskeys <= 0 {
		c.MaxPasskeys = DefaultMaxPasskeys
	}
	if c.AddressRate == 0 {
		c.AddressRate = defaultAddressRate
	}
	if c.AddressBurst <= 0 {
		c.AddressBurst = defaultAddressBurst
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// CheckRPID checks a relying-party id: a domain name such as example.com
// or localhost — no scheme, port, path or IP address, as WebAuthn
// requires.
func CheckRPID(rpID string) error {
	switch {
	case rpID == "":
		return errors.New("it is empty: set the site's registrable domain, such as example.com")
	case strings.ContainsAny(rpID, ":/ ") || strings.HasPrefix(rpID, "."):
		return fmt.Errorf("%q is not a domain name: want the bare domain, such as example.com (no scheme, port or path)", rpID)
	case net.ParseIP(rpID) != nil:
		return fmt.Errorf("%q is an IP address: passkeys need a domain name (localhost in development)", rpID)
	case rpID != strings.ToLower(rpID):
		return fmt.Errorf("%q has capital letters: write the domain in lower case", rpID)
	}
	return nil
}

// CheckRelatedOrigin checks a related origin: a bare origin
// (scheme://host[:port]), https unless on localhost, on another domain
// than the RP id — an origin on the RP id belongs in Config.Origins.
func CheckRelatedOrigin(o, rpID string) error {
	host, err := originHost(o, "https://example.co.jp")
	if err != nil {
		return err
	}
	if onRPID(host, rpID) {
		return fmt.Errorf("it is on the RP id %q: list it as an origin, not a related one", rpID)
	}
	return nil
}

// CheckOrigin checks that o is a bare origin (scheme://host[:port]) whose
// host is the RP id or one of its subdomains, as WebAuthn requires, and
// that it uses https unless it is on localhost, the only place browsers
// allow passkeys over plain http.
func CheckOrigin(o, rpID string) error {
	host, err := originHost(o, "https://"+rpID)
	if err != nil {
		return err
	}
	if !onRPID(host, rpID) {
		return fmt.Errorf("its host must be the RP id %q or a subdomain of it (or set the RP id to the site's registrable domain)", rpID)
	}
	return nil
}

// originHost returns the host of a bare origin (scheme://host[:port]),
// refusing plain http but on localhost, the only place browsers allow
// passkeys over it. example is a good origin, for the error.
func originHost(o, example string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("want scheme://host[:port], such as " + example)
	}
	host := u.Hostname()
	if u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return "", errors.New("browsers allow passkeys over plain http only on localhost; use https")
	}
	return host, nil
}

// onRPID says whether host is the RP id or one of its subdomains.
func onRPID(host, rpID string) bool {
	return host == rpID || strings.HasSuffix(host, "."+rpID)
}

// ServedOverHTTPS reports whether a site with these origins is reached over
// HTTPS only, as the one rule for the cookies' Secure flag and for HSTS.
// An http origin (browsers allow passkeys over http on localhost only)
// makes it false, so that the cookies still reach it.
func ServedOverHTTPS(origins []string) bool {
	for _, o := range origins {
		if !strings.HasPrefix(o, "https://") {
			return false
		}
	}
	return len(origins) > 0
}
