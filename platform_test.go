package passkeyd

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"
)

var (
	testDetectorOnce sync.Once
	testDetector     *platformDetector
	testDetectorErr  error
)

// detector returns one platformDetector shared by the tests (building the
// parser takes tens of milliseconds).
func detector(tb testing.TB) *platformDetector {
	tb.Helper()
	testDetectorOnce.Do(func() {
		testDetector, testDetectorErr = newPlatformDetector()
	})
	if testDetectorErr != nil {
		tb.Fatalf("newPlatformDetector: %v", testDetectorErr)
	}
	return testDetector
}

const (
	uaIPhoneSafari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	uaWindowsEdge  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)

// platformCases are real User-Agent strings, with what uap-core makes of
// them (browser / OS / device family) in the comment where it matters.
var platformCases = []struct {
	name, ua, want string
}{
	// Apple.
	{"iPhone Safari", uaIPhoneSafari, PlatformApple}, // Mobile Safari / iOS / iPhone
	{"iPhone Chrome (CriOS)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1", PlatformApple},
	{"iPhone Firefox (FxiOS)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15", PlatformApple},
	{"iPhone Edge (EdgiOS)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) EdgiOS/126.0.2592.56 Version/17.0 Mobile/15E148 Safari/604.1", PlatformApple},
	{"iPhone in-app WKWebView", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", PlatformApple}, // Mobile Safari UI/WKWebView
	{"iPad Safari", "Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1 Mobile/15E148 Safari/604.1", PlatformApple},
	{"iPod touch Safari", "Mozilla/5.0 (iPod touch; CPU iPhone OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1", PlatformApple},
	{"Apple TV (AirPlay)", "AppleTV11,1/11.1", PlatformApple},                                                              // Other / ATV OS X / AppleTV
	{"Apple TV (CoreMedia)", "AppleCoreMedia/1.0.0.20J373 (Apple TV; U; CPU OS 16_0 like Mac OS X; en_us)", PlatformApple}, // Other / ATV OS X / AppleTV
	{"Mac Safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", PlatformApple},
	{"Mac Chrome", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", PlatformApple},
	{"Mac Firefox", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:127.0) Gecko/20100101 Firefox/127.0", PlatformApple},
	{"Mac Edge", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", PlatformApple},
	// Rule order: browser Safari comes before OS Windows.
	{"Safari 5 on Windows 7", "Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US) AppleWebKit/533.20.25 (KHTML, like Gecko) Version/5.0.4 Safari/533.20.27", PlatformApple},

	// Amazon.
	{"Kindle Touch e-ink", "Mozilla/5.0 (X11; U; Linux armv7l like Android; en-us) AppleWebKit/531.2+ (KHTML, like Gecko) Version/5.0 Safari/533.2+ Kindle/3.0+", PlatformAmazon}, // Kindle / Kindle / Kindle, not Safari
	{"Kindle Keyboard e-ink", "Mozilla/5.0 (Linux; U; en-US) AppleWebKit/528.5+ (KHTML, like Gecko, Safari/528.5+) Version/4.0 Kindle/3.0 (screen 600x800; rotate)", PlatformAmazon},
	{"Fire HD 10 tablet Silk", "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/115.3.2 like Chrome/115.0.5790.171 Safari/537.36", PlatformAmazon},                       // Amazon Silk / Android / Kindle
	{"Kindle Fire HD 7 Silk", "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.4 Mobile Safari/535.19 Silk-Accelerated=true", PlatformAmazon}, // device "Kindle Fire HD"
	{"Kindle Fire Silk", "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFOT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) Silk/2.1 Mobile Safari/535.19 Silk-Accelerated=true", PlatformAmazon},      // device "Kindle Fire"
	{"Fire TV AFTS", "Mozilla/5.0 (Linux; Android 5.1; AFTS Build/LMY47O) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.99900.2250.0242 Safari/537.36", PlatformAmazon},                                  // Chrome / Android / AFTS
	{"Fire TV AFTB Silk", "Mozilla/5.0 (Linux; U; Android 4.2.2; en-us; AFTB Build/JDQ39) AppleWebKit/537.36 (KHTML, like Gecko) Silk/3.42 like Chrome/34.0.1847.137 Safari/537.36", PlatformAmazon},        // Amazon Silk / Android / Kindle
	{"Fire TV AFTB stock browser", "Mozilla/5.0 (Linux; U; Android 4.2.2; en-us; AFTB Build/JDQ39) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30", PlatformAmazon},                // Android / Android / AFTB
	{"Fire TV Stick AFTM", "Mozilla/5.0 (Linux; Android 5.1.1; AFTM Build/LVY48F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.10 Safari/537.36", PlatformAmazon},
	{"Fire TV Stick AFTT WebView", "Mozilla/5.0 (Linux; Android 5.1.1; AFTT Build/LVY48F; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/49.0.2623.10 Mobile Safari/537.36", PlatformAmazon},
	{"Fire TV Stick 4K AFTMM Silk", "Mozilla/5.0 (Linux; Android 7.1.2; AFTMM) AppleWebKit/537.36 (KHTML, like Gecko) Silk/98.5.143 like Chrome/98.0.4758.136 Safari/537.36", PlatformAmazon}, // Silk makes it device Kindle

	{"Fire TV AFTT app (Dalvik)", "Dalvik/2.1.0 (Linux; U; Android 5.1.1; AFTT Build/LVY48F)", PlatformAmazon}, // Android / Android / AFTT
	// Synthetic: uap finds no device here, only the raw-token rule does.
	{"Fire TV token only in the raw UA (synthetic)", "passkeyd-tv/1.0 (AFTS; Fire OS 5.2)", PlatformAmazon},

	// Microsoft.
	{"Windows 10/11 Edge", uaWindowsEdge, PlatformMicrosoft}, // Edge / Windows (Major 10) / Other
	{"Windows 10/11 Chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", PlatformMicrosoft},
	{"Windows 10/11 Firefox", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0", PlatformMicrosoft},
	{"Windows 10 Edge Legacy", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045", PlatformMicrosoft},
	{"Windows 10 IE 11", "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", PlatformMicrosoft},
	{"Windows 7 Chrome", "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36", PlatformMicrosoft},                                                         // OS "Windows", Major "7"
	{"Windows Phone Edge", "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063", PlatformMicrosoft}, // OS "Windows Phone", despite "Android"
	{"Xbox One Edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041", PlatformMicrosoft},

	// Google.
	{"Android Pixel 8 Chrome", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.179 Mobile Safari/537.36", PlatformGoogle},
	{"Android Chrome reduced UA", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", PlatformGoogle},
	{"Android Samsung Galaxy S22 Chrome", "Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Mobile Safari/537.36", PlatformGoogle},
	{"Android Samsung Internet", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", PlatformGoogle},
	{"Android Firefox", "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0", PlatformGoogle},
	{"Android WebView", "Mozilla/5.0 (Linux; Android 14; Pixel 8; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 Mobile Safari/537.36", PlatformGoogle},
	{"Chrome OS", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", PlatformGoogle},
	{"Linux Chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", PlatformGoogle},
	// Fire TV models after the four the rules name are plain Android to uap.
	{"Fire TV Stick 4K AFTMM WebView", "Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/87.0.4280.101 Mobile Safari/537.36", PlatformGoogle},

	// Unknown.
	{"Linux Firefox", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", PlatformUnknown},
	{"Ubuntu Firefox", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", PlatformUnknown}, // OS "Ubuntu"
	{"Linux Edge", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", PlatformUnknown},
	{"Linux HeadlessChrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36", PlatformUnknown},
	{"Ubuntu Chromium", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/83.0.4103.61 Chrome/83.0.4103.61 Safari/537.36", PlatformUnknown},
	{"curl", "curl/8.5.0", PlatformUnknown},
	{"Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", PlatformUnknown},
	{"empty", "", PlatformUnknown},
	{"garbage", "\x00\xff\xfe not a user agent \u2603 ;;; ((( ", PlatformUnknown},
	{"Fire TV token inside a word", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0 XAFTSX", PlatformUnknown},
	{"5000 bytes", strings.Repeat("A", 5000), PlatformUnknown},

	// Over 1024 bytes: only the head counts.
	{"iPhone Safari padded to 5000 bytes", uaIPhoneSafari + " " + strings.Repeat("x", 5000-len(uaIPhoneSafari)-1), PlatformApple},
	{"Fire TV token past 1024 bytes", uaWindowsEdge + strings.Repeat(" ", 1100) + "AFTS", PlatformMicrosoft},
}

func TestPlatform(t *testing.T) {
	d := detector(t)
	for _, tc := range platformCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := d.Platform(tc.ua); got != tc.want {
				c := d.parser.Parse(truncateUserAgent(tc.ua))
				t.Errorf("Platform(%.80q…) = %q, want %q (uap: browser %q, OS %q, device %q)",
					tc.ua, got, tc.want, c.UserAgent.Family, c.Os.Family, c.Device.Family)
			}
		})
	}
}

func TestPlatformConcurrent(t *testing.T) {
	d := detector(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i, tc := range platformCases {
				if (i+g)%2 == 0 {
					continue
				}
				if got := d.Platform(tc.ua); got != tc.want {
					t.Errorf("%s: Platform = %q, want %q", tc.name, got, tc.want)
				}
			}
		})
	}
	wg.Wait()
}

func TestPlatformTruncateUserAgent(t *testing.T) {
	short := "curl/8.5.0"
	if got := truncateUserAgent(short); got != short {
		t.Errorf("truncateUserAgent(%q) = %q", short, got)
	}
	exact := strings.Repeat("a", maxUserAgentLen)
	if got := truncateUserAgent(exact); got != exact {
		t.Errorf("a %d-byte UA was cut to %d bytes", len(exact), len(got))
	}
	if got := truncateUserAgent(exact + "b"); got != exact {
		t.Errorf("a %d-byte UA was cut to %d bytes, want %d", len(exact)+1, len(got), maxUserAgentLen)
	}
	// A multi-byte character across the limit is dropped whole.
	s := strings.Repeat("a", maxUserAgentLen-1) + "é" + "tail"
	got := truncateUserAgent(s)
	if got != strings.Repeat("a", maxUserAgentLen-1) {
		t.Errorf("truncateUserAgent cut inside a character: %d bytes, ends %q", len(got), got[len(got)-3:])
	}
	// Invalid UTF-8 is still cut to the limit.
	bad := strings.Repeat("\xff", 3*maxUserAgentLen)
	if got := truncateUserAgent(bad); len(got) > maxUserAgentLen || len(got) < maxUserAgentLen-utf8.UTFMax {
		t.Errorf("invalid UTF-8 cut to %d bytes", len(got))
	}
}

var uncachedBuild atomic.Uint64

func BenchmarkPlatform(b *testing.B) {
	d := detector(b)
	b.Run("cached", func(b *testing.B) {
		d.Platform(uaWindowsEdge)
		for b.Loop() {
			d.Platform(uaWindowsEdge)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		// A new Chrome build number each time: never in the cache (the
		// counter is package-level so that -count runs do not repeat).
		const prefix = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0."
		for b.Loop() {
			d.Platform(prefix + strconv.FormatUint(uncachedBuild.Add(1), 10) + ".179 Mobile Safari/537.36")
		}
	})
}
