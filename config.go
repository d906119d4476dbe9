package passkeyd

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
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
	// Logger receives security events (possible cloned authenticators,
	// backup flag changes). Nil discards them.
	Logger *slog.Logger
}

func (c *Config) check() error {
	if c.RPID == "" || c.RPName == "" || len(c.Origins) == 0 {
		return errors.New("passkeyd: RPID, RPName and at least one origin are required")
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
	if c.CeremonyTTL <= 0 {
		c.CeremonyTTL = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
