package passkeyd

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

//go:generate go run ./internal/aaguidgen -out aaguids.json

// embeddedAAGUIDs is the community list of passkey provider AAGUIDs
// (passkeydeveloper/passkey-authenticator-aaguids, names only); see
// aaguids.md for where it comes from and how to refresh it.
//
//go:embed aaguids.json
var embeddedAAGUIDs []byte

// providers maps AAGUIDs to passkey provider names.
type providers struct {
	names map[[16]byte]string
}

// newProviders parses the embedded list.
func newProviders() (*providers, error) {
	p, err := parseProviders(embeddedAAGUIDs)
	if err != nil {
		return nil, fmt.Errorf("embedded aaguids.json: %w", err)
	}
	return p, nil
}

// parseProviders parses a list in the upstream format
// ({"<aaguid>": {"name": "...", ...}, ...}); unknown fields such as icons are
// ignored; keys are normalised to lowercase canonical UUIDs; a malformed key
// or empty name is an error.
//
// A key must be a UUID in the canonical 8-4-4-4-12 hex form, in either
// case; two keys that name the same AAGUID (differing in case) are an
// error. An empty object is a valid, empty list.
func parseProviders(data []byte) (*providers, error) {
	var raw map[string]*struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("provider list: %w", err)
	}
	if raw == nil {
		return nil, errors.New("provider list: not a JSON object")
	}
	names := make(map[[16]byte]string, len(raw))
	for key, entry := range raw {
		aaguid, err := parseAAGUID(key)
		if err != nil {
			return nil, fmt.Errorf("provider list: key %q: %w", key, err)
		}
		if entry == nil || strings.TrimSpace(entry.Name) == "" {
			return nil, fmt.Errorf("provider list: %s: empty name", formatAAGUID(aaguid))
		}
		if _, dup := names[aaguid]; dup {
			return nil, fmt.Errorf("provider list: %s appears more than once", formatAAGUID(aaguid))
		}
		names[aaguid] = entry.Name
	}
	return &providers{names: names}, nil
}

// Name returns the provider's name for an AAGUID (16 bytes), or "" when
// unknown or when the AAGUID is all zeros.
func (p *providers) Name(aaguid []byte) string {
	if p == nil || len(aaguid) != 16 {
		return ""
	}
	key := [16]byte(aaguid)
	if key == ([16]byte{}) {
		// Authenticators that do not identify themselves (and every
		// passkey registered with attestation "none" on some platforms).
		return ""
	}
	return p.names[key]
}

// Len returns the number of AAGUIDs in the list.
func (p *providers) Len() int {
	if p == nil {
		return 0
	}
	return len(p.names)
}

// parseAAGUID parses a UUID in the canonical form
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits in either case).
func parseAAGUID(s string) ([16]byte, error) {
	var id [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, errors.New("not a UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
	}
	digits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(id[:], []byte(digits)); err != nil {
		return id, errors.New("not a UUID: bad hex digit")
	}
	return id, nil
}

// formatAAGUID returns the lowercase canonical form of a UUID.
func formatAAGUID(id [16]byte) string {
	h := hex.EncodeToString(id[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
