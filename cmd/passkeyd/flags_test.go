package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func testEnv(vars map[string]string) env {
	return env{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
}

func TestParseServeFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		vars  map[string]string
		check func(t *testing.T, c *serveConfig)
	}{
		{name: "defaults", check: func(t *testing.T, c *serveConfig) {
			if c.addr != ":8000" || c.db != "sqlite:passkeyd.db" || c.sessions != "db" || c.rpID != "localhost" ||
				c.rpName != "passkeyd" || c.tls != "auto" || c.attachment != "any" || c.userVerification != "preferred" ||
				c.demo || c.ceremonyTTL != 5*time.Minute {
				t.Errorf("defaults: %+v", c)
			}
			if !slices.Equal(c.origins, stringList{"https://localhost:8000"}) {
				t.Errorf("origins %v", c.origins)
			}
		}},
		{name: "origin follows --tls off and the port", args: []string{"--tls", "off", "--addr", "127.0.0.1:9000"}, check: wantOrigins("http://localhost:9000")},
		{name: "origin without the default port", args: []string{"--addr", ":443"}, check: wantOrigins("https://localhost")},
		{name: "origin without a port", args: []string{"--addr", "127.0.0.1:0", "--tls", "off"}, check: wantOrigins("http://localhost")},
		{name: "origin follows the RP id", args: []string{"--rp-id", "example.com", "--addr", ":8443"}, check: wantOrigins("https://example.com:8443")},
		{name: "origin repeatable", args: []string{"--rp-id", "example.com", "--origin", "https://example.com", "--origin", "https://login.example.com"},
			check: wantOrigins("https://example.com", "https://login.example.com")},
		{name: "sign-up closed by default", args: nil, check: func(t *testing.T, c *serveConfig) {
			if c.signUp != "closed" {
				t.Errorf("signup %q", c.signUp)
			}
		}},
		{name: "sign-up open with --demo", args: []string{"--demo"}, check: func(t *testing.T, c *serveConfig) {
			if c.signUp != "any" {
				t.Errorf("signup %q", c.signUp)
			}
		}},
		{name: "sign-up set", args: []string{"--demo", "--signup", "passkey"}, check: func(t *testing.T, c *serveConfig) {
			if c.signUp != "passkey" {
				t.Errorf("signup %q", c.signUp)
			}
		}},
		{name: "related origins", args: []string{"--rp-id", "example.com", "--related-origin", "https://example.co.jp", "--related-origin", "https://example.de"},
			check: func(t *testing.T, c *serveConfig) {
				if !slices.Equal(c.relatedOrigins, stringList{"https://example.co.jp", "https://example.de"}) {
					t.Errorf("related origins %v", c.relatedOrigins)
				}
			}},
		{name: "env twin", vars: map[string]string{"PASSKEYD_ADDR": ":9000"}, check: func(t *testing.T, c *serveConfig) {
			if c.addr != ":9000" || c.origins[0] != "https://localhost:9000" {
				t.Errorf("addr %q, origins %v", c.addr, c.origins)
			}
		}},
		{name: "flag wins over env", args: []string{"--addr", ":7000", "--user-verification", "required"},
			vars: map[string]string{"PASSKEYD_ADDR": ":9000", "PASSKEYD_USER_VERIFICATION": "bogus"},
			check: func(t *testing.T, c *serveConfig) {
				if c.addr != ":7000" || c.userVerification != "required" {
					t.Errorf("addr %q, user verification %q", c.addr, c.userVerification)
				}
			}},
		{name: "env twins with dashes", vars: map[string]string{
			"PASSKEYD_RP_ID": "example.com", "PASSKEYD_RP_NAME": "Example", "PASSKEYD_USER_VERIFICATION": "required",
			"PASSKEYD_CEREMONY_TTL": "1m", "PASSKEYD_DEMO": "true", "PASSKEYD_ATTACHMENT": "cross-platform", "PASSKEYD_DB": "sqlite:/x.db",
		}, check: func(t *testing.T, c *serveConfig) {
			if c.rpID != "example.com" || c.rpName != "Example" || c.userVerification != "required" || c.ceremonyTTL != time.Minute ||
				!c.demo || c.attachment != "cross-platform" || c.db != "sqlite:/x.db" {
				t.Errorf("%+v", c)
			}
		}},
		{name: "env origin list", vars: map[string]string{"PASSKEYD_ORIGIN": "https://localhost:8000, https://app.localhost"},
			check: wantOrigins("https://localhost:8000", "https://app.localhost")},
		{name: "demo listens on loopback", args: []string{"--demo"}, check: func(t *testing.T, c *serveConfig) {
			if c.addr != "localhost:8000" {
				t.Errorf("--demo listens on %q, want localhost:8000", c.addr)
			}
		}},
		{name: "demo on a loopback address", args: []string{"--demo", "--addr", "127.0.0.1:9000"}, check: func(t *testing.T, c *serveConfig) {
			if c.addr != "127.0.0.1:9000" {
				t.Errorf("--demo listens on %q, want 127.0.0.1:9000", c.addr)
			}
		}},
		{name: "trusted proxies", args: []string{"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "192.0.2.7", "--trusted-proxy", "fd00::1/64"},
			check: func(t *testing.T, c *serveConfig) {
				if fmt.Sprint(c.proxies) != "[10.0.0.0/8 192.0.2.7/32 fd00::/64]" {
					t.Errorf("trusted proxies %v", c.proxies)
				}
			}},
		{name: "bool and string flags", args: []string{"--tls", "off", "--demo"}, check: func(t *testing.T, c *serveConfig) {
			if !c.demo || c.tls != "off" {
				t.Errorf("%+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServeFlags(testEnv(tt.vars), tt.args)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func wantOrigins(want ...string) func(*testing.T, *serveConfig) {
	return func(t *testing.T, c *serveConfig) {
		t.Helper()
		if !slices.Equal(c.origins, stringList(want)) {
			t.Errorf("origins %v, want %v", c.origins, want)
		}
	}
}

func TestParseServeFlagsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		vars map[string]string
	}{
		{"unknown flag", []string{"--bogus"}, nil},
		{"positional argument", []string{"now"}, nil},
		{"addr without port", []string{"--addr", "localhost"}, nil},
		{"addr with a bad port", []string{"--addr", "localhost:99999"}, nil},
		{"addr with a negative port", []string{"--addr", ":-1"}, nil},
		{"addr with a service name", []string{"--addr", "localhost:http"}, nil},
		{"demo on every interface", []string{"--demo", "--addr", "0.0.0.0:8000"}, nil},
		{"demo on a public address", []string{"--demo", "--addr", "192.0.2.1:8000"}, nil},
		{"sessions", []string{"--sessions", "memcached://x"}, nil},
		{"rp id with a scheme", []string{"--rp-id", "https://example.com"}, nil},
		{"empty rp id", []string{"--rp-id", ""}, nil},
		{"blank rp name", []string{"--rp-name", " "}, nil},
		{"attachment", []string{"--attachment", "usb"}, nil},
		{"user verification", []string{"--user-verification", "always"}, nil},
		{"tls", []string{"--tls", "on"}, nil},
		{"signup", []string{"--signup", "open"}, nil},
		{"reauth window", []string{"--reauth-window", "500ms"}, nil},
		{"language", []string{"--lang", "fr"}, nil},
		{"related origin on the rp id", []string{"--rp-id", "example.com", "--related-origin", "https://login.example.com"}, nil},
		{"related origin not an origin", []string{"--related-origin", "example.co.jp"}, nil},
		{"tls with one file", []string{"--tls", "cert.pem,"}, nil},
		{"ceremony ttl too short", []string{"--ceremony-ttl", "1s"}, nil},
		{"ceremony ttl too long", []string{"--ceremony-ttl", "2h"}, nil},
		{"ceremony ttl not a duration", []string{"--ceremony-ttl", "soon"}, nil},
		{"session idle", []string{"--session-idle", "0s"}, nil},
		{"log format", []string{"--log-format", "xml"}, nil},
		{"trusted proxy", []string{"--trusted-proxy", "the load balancer"}, nil},
		{"negative client rate", []string{"--client-rate", "-1"}, nil},
		{"client burst", []string{"--client-burst", "0"}, nil},
		{"origin of another site", []string{"--origin", "https://evil.example"}, nil},
		{"origin with a path", []string{"--origin", "https://localhost/app"}, nil},
		{"origin without scheme", []string{"--origin", "localhost:8000"}, nil},
		{"plain http origin off localhost", []string{"--rp-id", "example.com", "--origin", "http://example.com"}, nil},
		{"rp id not covering the origin", []string{"--rp-id", "example.com", "--origin", "https://example.org"}, nil},
		{"rp id suffix that is not a parent domain", []string{"--rp-id", "ample.com", "--origin", "https://example.com"}, nil},
		{"env twin", nil, map[string]string{"PASSKEYD_ATTACHMENT": "usb"}},
		{"env twin duration", nil, map[string]string{"PASSKEYD_CEREMONY_TTL": "forever"}},
		{"env twin bool", nil, map[string]string{"PASSKEYD_DEMO": "maybe"}},
		{"env origin list with a bad entry", nil, map[string]string{"PASSKEYD_ORIGIN": "https://localhost:8000,https://evil.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseServeFlags(testEnv(tt.vars), tt.args)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if strings.ContainsAny(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}
}

func TestReadPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		usage    bool // a usage error is wanted
	}{
		{in: "correct horse\n", want: "correct horse"},
		{in: "correct horse\r\n", want: "correct horse"},
		{in: "correct horse", want: "correct horse"},
		{in: "correct horse\nsecond line\n", want: "correct horse"},
		{in: " spaces kept \n", want: " spaces kept "},
		{in: "only one\r\r\n", want: "only one\r"},
		{in: "pässwörd\n", want: "pässwörd"},
		{in: "", usage: true},
		{in: "\n", usage: true},
		{in: "\r\n", usage: true},
		{in: "short\n", usage: true},
		{in: "1234567\r\n", usage: true},
		{in: "nul\x00inside\n", usage: true},
		{in: "bad utf-8 \xff\xfe\n", usage: true},
		{in: strings.Repeat("a", 1025) + "\n", usage: true},
		{in: strings.Repeat("a", 5000), usage: true},
	}
	for _, tt := range tests {
		got, err := readPassword(strings.NewReader(tt.in))
		var ue usageError
		switch {
		case tt.usage && !errors.As(err, &ue):
			t.Errorf("readPassword(%.40q) = %q, %v; want a usage error", tt.in, got, err)
		case !tt.usage && (err != nil || got != tt.want):
			t.Errorf("readPassword(%.40q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestRunUsage checks run's contract in-process: one line on stderr and
// status 2 for a mistake, help on stdout and status 0.
func TestRunUsage(t *testing.T) {
	t.Parallel()
	var stdout, stderr strings.Builder
	e := testEnv(nil)
	e.stdout, e.stderr = &stdout, &stderr
	e.args = []string{"user", "add"}
	if code := run(t.Context(), e); code != exitUsage {
		t.Errorf("user add: exit %d, want %d", code, exitUsage)
	}
	if s := stderr.String(); strings.Count(s, "\n") != 1 || !strings.HasPrefix(s, "passkeyd: ") {
		t.Errorf("stderr %q", s)
	}

	for _, args := range [][]string{{"help"}, {"serve", "-h"}, {"--help"}, {"user", "add", "-h"}} {
		stdout.Reset()
		stderr.Reset()
		e.args = args
		if code := run(t.Context(), e); code != exitOK {
			t.Errorf("%v: exit %d, want 0", args, code)
		}
		if stdout.Len() == 0 || stderr.Len() != 0 {
			t.Errorf("%v: stdout %q, stderr %q; want help on stdout", args, stdout.String(), stderr.String())
		}
	}
}
