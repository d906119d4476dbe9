package passkeyd_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/passkeytest"
)

// A mistake in the configuration fails NewService with an error that
// names the field and says what would be right.
func TestNewServiceChecksConfig(t *testing.T) {
	store := passkeytest.NewMemoryStore()
	good := passkeyd.Config{RPID: "example.com", RPName: "Example", Origins: []string{"https://example.com", "https://login.example.com"}}
	tests := []struct {
		name string
		edit func(c *passkeyd.Config)
		want string // part of the error; "" means no error
	}{
		{"good", func(*passkeyd.Config) {}, ""},
		{"localhost over http", func(c *passkeyd.Config) {
			c.RPID, c.Origins = "localhost", []string{"http://localhost:8000", "https://app.localhost"}
		}, ""},
		{"no RP id", func(c *passkeyd.Config) { c.RPID = "" }, "Config.RPID"},
		{"RP id with a scheme", func(c *passkeyd.Config) { c.RPID = "https://example.com" }, "Config.RPID"},
		{"RP id with a port", func(c *passkeyd.Config) { c.RPID = "example.com:443" }, "Config.RPID"},
		{"RP id an IP address", func(c *passkeyd.Config) { c.RPID, c.Origins = "127.0.0.1", []string{"https://127.0.0.1"} }, "IP address"},
		{"RP id in capitals", func(c *passkeyd.Config) { c.RPID = "Example.com" }, "lower case"},
		{"no RP name", func(c *passkeyd.Config) { c.RPName = " " }, "Config.RPName"},
		{"no origins", func(c *passkeyd.Config) { c.Origins = nil }, "Config.Origins is empty"},
		{"origin of another site", func(c *passkeyd.Config) { c.Origins = append(c.Origins, "https://evil.example") }, "Config.Origins[2]"},
		{"origin on a suffix that is no parent", func(c *passkeyd.Config) { c.Origins = []string{"https://notexample.com"} }, "subdomain"},
		{"origin with a path", func(c *passkeyd.Config) { c.Origins = []string{"https://example.com/login"} }, "scheme://host"},
		{"origin without a scheme", func(c *passkeyd.Config) { c.Origins = []string{"example.com"} }, "scheme://host"},
		{"plain http off localhost", func(c *passkeyd.Config) { c.Origins = []string{"http://example.com"} }, "https"},
		{"attachment", func(c *passkeyd.Config) { c.Attachment = "usb" }, "attachment"},
		{"user verification", func(c *passkeyd.Config) { c.UserVerification = "always" }, "user verification"},
		{"ceremony TTL too short", func(c *passkeyd.Config) { c.CeremonyTTL = time.Second }, "Config.CeremonyTTL"},
		{"ceremony TTL too long", func(c *passkeyd.Config) { c.CeremonyTTL = 2 * time.Hour }, "Config.CeremonyTTL"},
		{"ceremony key of the wrong size", func(c *passkeyd.Config) { c.CeremonyKeys = [][]byte{make([]byte, 16)} }, "32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			cfg.Origins = append([]string(nil), good.Origins...)
			tt.edit(&cfg)
			_, err := passkeyd.NewService(cfg, passkeyd.Deps{Users: store, Store: store})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("NewService: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("NewService = %v, want an error about %q", err, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		deps passkeyd.Deps
		want string
	}{
		{"no users", passkeyd.Deps{Store: store}, "Deps.Users is required"},
		{"no store", passkeyd.Deps{Users: store}, "Deps.Store is required"},
		{"two kinds of sessions", passkeyd.Deps{Users: store, Store: store, SessionStore: store, AppSessions: noSessions{}}, "set one"},
	} {
		if _, err := passkeyd.NewService(good, tt.deps); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

// noSessions are an app's sessions in which nobody is ever logged in.
type noSessions struct{}

func (noSessions) CurrentUserID(*http.Request) (string, error) { return "", nil }
func (noSessions) LogIn(http.ResponseWriter, *http.Request, *passkeyd.User, passkeyd.Auth) error {
	return nil
}
func (noSessions) LogOut(http.ResponseWriter, *http.Request) error { return nil }
