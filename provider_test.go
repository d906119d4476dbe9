package passkeyd

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// mustAAGUID returns the 16 bytes of a canonical UUID string.
func mustAAGUID(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		tb.Fatalf("bad test AAGUID %q", s)
	}
	return b
}

func TestProviderEmbedded(t *testing.T) {
	p, err := newProviders()
	if err != nil {
		t.Fatalf("newProviders: %v", err)
	}
	if got, want := p.Len(), 292; got != want {
		t.Errorf("Len = %d, want %d (aaguids.json changed? update this test and aaguids.md)", got, want)
	}
	for _, tc := range []struct{ aaguid, want string }{
		{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", "Google Password Manager"},
		{"fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "Apple Passwords"}, // formerly "iCloud Keychain"
		{"08987058-cadc-4b81-b6e1-30de50dcbe96", "Windows Hello"},
		{"9ddd1817-af5a-4672-a2b9-3e3dd95000a9", "Windows Hello"},
		{"6028b017-b1d4-4c02-b4b3-afcdafc96bb2", "Windows Hello"},
		{"bada5566-a7aa-401f-bd96-45619a55120d", "1Password"},
		{"d548826e-79b4-db40-a3d8-11116f7e8349", "Bitwarden"},
		{"531126d6-e717-415c-9320-3d9aa6981239", "Dashlane"},
		{"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6", "Keeper"},
		{"EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4", "Google Password Manager"}, // case does not matter in bytes
		{"00000000-0000-0000-0000-000000000000", ""},                        // no AAGUID ("none" attestation)
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", ""},                        // unknown
		{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d5", ""},                        // one bit off GPM
	} {
		if got := p.Name(mustAAGUID(t, tc.aaguid)); got != tc.want {
			t.Errorf("Name(%s) = %q, want %q", tc.aaguid, got, tc.want)
		}
	}
}

// TestProviderEmbeddedMatchesShared keeps the embedded copy identical to the
// shared data file it was taken from (when that file is present).
func TestProviderEmbeddedMatchesShared(t *testing.T) {
	shared, err := os.ReadFile("/work/shared/data/passkey-provider-aaguids.json")
	if err != nil {
		t.Skipf("shared data file not available: %v", err)
	}
	if !bytes.Equal(shared, embeddedAAGUIDs) {
		t.Error("aaguids.json differs from /work/shared/data/passkey-provider-aaguids.json")
	}
}

func TestProviderNameLengths(t *testing.T) {
	p, err := newProviders()
	if err != nil {
		t.Fatal(err)
	}
	gpm := mustAAGUID(t, "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")
	for _, b := range [][]byte{nil, {}, gpm[:15], append(append([]byte{}, gpm...), 0), make([]byte, 32)} {
		if got := p.Name(b); got != "" {
			t.Errorf("Name(%d bytes) = %q, want \"\"", len(b), got)
		}
	}
	var nilProviders *providers
	if got := nilProviders.Name(gpm); got != "" || nilProviders.Len() != 0 {
		t.Errorf("nil *providers: Name = %q, Len = %d", got, nilProviders.Len())
	}
}

func TestProviderParse(t *testing.T) {
	const gpm = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
	p, err := parseProviders([]byte(`{
		"EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4": {"name": "Google Password Manager", "icon_dark": "data:image/svg+xml;base64,AAAA", "icon_light": null},
		"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": {"name": "Apple Passwords", "extra": {"nested": [1, 2, 3]}}
	}`))
	if err != nil {
		t.Fatalf("parseProviders: %v", err)
	}
	if p.Len() != 2 {
		t.Errorf("Len = %d, want 2", p.Len())
	}
	if got := p.Name(mustAAGUID(t, gpm)); got != "Google Password Manager" {
		t.Errorf("Name(upper-case key) = %q", got)
	}
	if got := p.Name(mustAAGUID(t, "fbfc3007-154e-4ecc-8c0b-6e020557d7bd")); got != "Apple Passwords" {
		t.Errorf("Name = %q", got)
	}

	empty, err := parseProviders([]byte(" {} "))
	if err != nil || empty.Len() != 0 {
		t.Errorf("parseProviders({}) = %v, %v; want an empty list", empty, err)
	}

	// A zero AAGUID in the list is accepted but never named.
	z, err := parseProviders([]byte(`{"00000000-0000-0000-0000-000000000000": {"name": "Zero"}}`))
	if err != nil {
		t.Fatalf("parseProviders(zero key): %v", err)
	}
	if got := z.Name(make([]byte, 16)); got != "" {
		t.Errorf("Name(zero) = %q, want \"\"", got)
	}
}

func TestProviderParseErrors(t *testing.T) {
	const ok = `"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"name": "Google Password Manager"}`
	for _, tc := range []struct{ name, data string }{
		{"empty input", ``},
		{"not JSON", `this is not json`},
		{"null", `null`},
		{"array", `[{"name": "x"}]`},
		{"string", `"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"`},
		{"truncated", `{` + ok},
		{"trailing garbage", `{` + ok + `} x`},
		{"two objects", `{` + ok + `} {}`},
		{"value not an object", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager"}`},
		{"value null", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": null}`},
		{"name missing", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"icon_dark": "x"}}`},
		{"name empty", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"name": ""}}`},
		{"name blank", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"name": " \t\n"}}`},
		{"name not a string", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"name": 42}}`},
		{"name null", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"name": null}}`},
		{"key empty", `{` + ok + `, "": {"name": "x"}}`},
		{"key not a UUID", `{"google": {"name": "Google Password Manager"}}`},
		{"key without hyphens", `{"ea9b8d664d011d213ce4b6b48cb575d4": {"name": "x"}}`},
		{"key in braces", `{"{ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4}": {"name": "x"}}`},
		{"key as URN", `{"urn:uuid:ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"name": "x"}}`},
		{"key with a bad hex digit", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575dg": {"name": "x"}}`},
		{"key too short", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d": {"name": "x"}}`},
		{"key too long", `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d44": {"name": "x"}}`},
		{"key with hyphens misplaced", `{"ea9b8d6-64d01-1d21-3ce4-b6b48cb575d4": {"name": "x"}}`},
		{"key with spaces", `{" ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"name": "x"}}`},
		{"same AAGUID in two cases", `{` + ok + `, "EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4": {"name": "GPM"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseProviders([]byte(tc.data))
			if err == nil {
				t.Errorf("parseProviders(%q) = %d entries, want an error", tc.data, p.Len())
			}
		})
	}
}

func FuzzProviderParse(f *testing.F) {
	f.Add(embeddedAAGUIDs)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"name": "Google Password Manager", "icon_dark": "data:x"}}`))
	f.Add([]byte(`{"EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4": {"name": "x"}, "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {"name": "y"}}`))
	f.Add([]byte(`{"00000000-0000-0000-0000-000000000000": {"name": "\u00e9"}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseProviders(data)
		if err != nil {
			if p != nil {
				t.Fatalf("parseProviders returned both a list and an error: %v", err)
			}
			return
		}
		if p.Len() != len(p.names) {
			t.Fatalf("Len = %d, map has %d", p.Len(), len(p.names))
		}
		for id, name := range p.names {
			if strings.TrimSpace(name) == "" {
				t.Fatalf("%s has an empty name", formatAAGUID(id))
			}
			back, err := parseAAGUID(formatAAGUID(id))
			if err != nil || back != id {
				t.Fatalf("AAGUID %x does not round-trip: %x, %v", id, back, err)
			}
			want := name
			if id == ([16]byte{}) {
				want = ""
			}
			if got := p.Name(id[:]); got != want {
				t.Fatalf("Name(%s) = %q, want %q", formatAAGUID(id), got, want)
			}
		}
		// Names of AAGUIDs of other lengths are never found.
		for _, n := range []int{0, 15, 17} {
			if got := p.Name(make([]byte, n)); got != "" {
				t.Fatalf("Name(%d bytes) = %q", n, got)
			}
		}
	})
}
