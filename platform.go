package passkeyd

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ua-parser/uap-go/uaparser"
)

// Platform names.
const (
	PlatformApple     = "Apple"
	PlatformAmazon    = "Amazon"
	PlatformMicrosoft = "Microsoft"
	PlatformGoogle    = "Google"
	PlatformUnknown   = "Unknown"
)

const (
	// maxUserAgentLen bounds the part of a User-Agent that is parsed: the
	// uap regexes are slow on huge inputs, and no real User-Agent is this
	// long.
	maxUserAgentLen = 1024
	// userAgentCacheSize is the size of each of the parser's LRU caches
	// (user agent, OS, device). A repeated User-Agent then costs about a
	// microsecond instead of about half a millisecond.
	userAgentCacheSize = 4096
)

// fireTVToken finds the model code of a first- or second-generation Fire TV
// (Fire TV, Fire TV Stick) in a raw User-Agent. uap reports such a device as
// device "AFTS", "AFTB", … — except when the browser is Silk, which makes
// it device "Kindle" — so the raw string is checked too.
var fireTVToken = regexp.MustCompile(`\bAFT[SBMT]\b`)

// platformDetector guesses a device's platform from its User-Agent. Safe for
// concurrent use; make one at start-up (building the parser takes ~40 ms)
// and share it.
type platformDetector struct {
	parser *uaparser.Parser
}

// newPlatformDetector builds the User-Agent parser (uap-core regexes, which
// are compiled into uap-go) with an LRU cache.
func newPlatformDetector() (*platformDetector, error) {
	p, err := uaparser.New(uaparser.WithCacheSize(userAgentCacheSize))
	if err != nil {
		return nil, fmt.Errorf("user-agent parser: %w", err)
	}
	return &platformDetector{parser: p}, nil
}

// Platform returns the platform of the device that sent userAgent: one of
// PlatformApple, PlatformAmazon, PlatformMicrosoft, PlatformGoogle or
// PlatformUnknown. It applies these rules in order, on the uap-core parse of
// the User-Agent (the regexes Python's user_agents uses):
//
//  1. device iPhone, iPad, iPod or AppleTV; OS iOS, Mac OS X (or tvOS, which
//     uap names "ATV OS X"); or browser Safari (also "Mobile Safari") or
//     Chrome Mobile iOS → Apple;
//  2. device Kindle (also "Kindle Fire", "Kindle Fire HD") or a Fire TV
//     (AFTS, AFTB, AFTM, AFTT — as the device, or as a word in the raw
//     User-Agent) → Amazon;
//  3. OS Windows (any version, Windows Phone included) → Microsoft;
//  4. OS Android or Chrome OS, or browser Chrome on OS Linux → Google;
//  5. else Unknown.
//
// Only the first 1024 bytes of userAgent are looked at.
func (d *platformDetector) Platform(userAgent string) string {
	platform, _ := d.Device(userAgent)
	return platform
}

// Device returns the platform of the device that sent userAgent, as
// Platform does, and the name of its browser ("Chrome", "Mobile Safari",
// "Firefox", …; "Unknown" when uap-core does not know it).
func (d *platformDetector) Device(userAgent string) (platform, browser string) {
	ua := truncateUserAgent(userAgent)
	if ua == "" {
		return PlatformUnknown, PlatformUnknown
	}
	c := d.parser.Parse(ua)
	browser, osName, device := c.UserAgent.Family, c.Os.Family, c.Device.Family
	switch {
	case isAppleDevice(device), isAppleOS(osName), isAppleBrowser(browser):
		platform = PlatformApple
	case isAmazonDevice(device), fireTVToken.MatchString(ua):
		platform = PlatformAmazon
	case osName == "Windows", strings.HasPrefix(osName, "Windows "):
		platform = PlatformMicrosoft
	case osName == "Android", osName == "Chrome OS", osName == "ChromeOS",
		browser == "Chrome" && osName == "Linux":
		platform = PlatformGoogle
	default:
		platform = PlatformUnknown
	}
	if browser == "" || browser == "Other" {
		browser = PlatformUnknown
	}
	return platform, browser
}

// truncateUserAgent cuts s to at most maxUserAgentLen bytes, on a UTF-8
// character boundary when s is valid UTF-8.
func truncateUserAgent(s string) string {
	if len(s) <= maxUserAgentLen {
		return s
	}
	n := maxUserAgentLen
	for i := 0; i < utf8.UTFMax && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return s[:n]
}

func isAppleDevice(family string) bool {
	switch family {
	case "iPhone", "iPad", "iPod", "iPod touch", "AppleTV", "Apple TV":
		return true
	}
	return false
}

func isAppleOS(family string) bool {
	switch family {
	case "iOS", "iPadOS", "Mac OS X", "Mac OS", "macOS", "ATV OS X", "tvOS":
		return true
	}
	return false
}

func isAppleBrowser(family string) bool {
	switch family {
	case "Safari", "Mobile Safari", "Chrome Mobile iOS":
		return true
	}
	// uap's in-app web views: "Mobile Safari UI/WKWebView".
	return strings.HasPrefix(family, "Mobile Safari ")
}

func isAmazonDevice(family string) bool {
	switch family {
	case "Kindle", "AFTS", "AFTB", "AFTM", "AFTT":
		return true
	}
	// uap names first-generation Fire tablets "Kindle Fire", "Kindle Fire HD".
	return strings.HasPrefix(family, "Kindle ")
}
