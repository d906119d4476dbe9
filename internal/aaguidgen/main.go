// Command aaguidgen refreshes aaguids.json, the list of passkey provider
// AAGUIDs that package passkeyd embeds, from the community list
// passkeydeveloper/passkey-authenticator-aaguids.
//
// It fetches the upstream combined_aaguid.json (curated entries plus names
// from the FIDO metadata service) and aaguid.json (curated), merges them —
// the curated name wins where both name an AAGUID —, drops everything but
// the names (upstream also carries SVG icons), and writes the result sorted
// by AAGUID with a one-space indent, the format of the committed file.
//
// Upstream has said that if the list is ever retired it will be published as
// an empty object. When either file is an empty object, aaguidgen keeps the
// existing file as it is and says so.
//
// Usage, from the module root (or through go generate in package passkeyd):
//
//	go run ./internal/aaguidgen -out aaguids.json
//
// Flags:
//
//	-out          file to write (default aaguids.json)
//	-combined-url URL of combined_aaguid.json
//	-curated-url  URL of aaguid.json
//	-timeout      limit for each download (default 30s)
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	upstreamBase       = "https://raw.githubusercontent.com/passkeydeveloper/passkey-authenticator-aaguids/main/"
	defaultCombinedURL = upstreamBase + "combined_aaguid.json"
	defaultCuratedURL  = upstreamBase + "aaguid.json"

	// maxDownload bounds each download; the upstream files, icons
	// included, are a few megabytes.
	maxDownload = 64 << 20
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command: it returns the exit status (0 written or kept, 1
// failure, 2 bad usage).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("aaguidgen", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("out", "aaguids.json", "file to write")
	combinedURL := fl.String("combined-url", defaultCombinedURL, "URL of the upstream combined_aaguid.json (curated plus FIDO metadata names)")
	curatedURL := fl.String("curated-url", defaultCuratedURL, "URL of the upstream aaguid.json (curated; wins over combined)")
	timeout := fl.Duration("timeout", 30*time.Second, "time limit for each download")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "aaguidgen: unexpected argument %q\n", fl.Arg(0))
		return 2
	}
	if *out == "" || *timeout <= 0 {
		fmt.Fprintln(stderr, "aaguidgen: -out must be set and -timeout must be positive")
		return 2
	}

	client := &http.Client{Timeout: *timeout}
	combined, err := fetch(ctx, client, *combinedURL)
	if err != nil {
		fmt.Fprintf(stderr, "aaguidgen: %v\n", err)
		return 1
	}
	curated, err := fetch(ctx, client, *curatedURL)
	if err != nil {
		fmt.Fprintf(stderr, "aaguidgen: %v\n", err)
		return 1
	}
	existing, err := os.ReadFile(*out)
	if errors.Is(err, fs.ErrNotExist) {
		existing = nil
	} else if err != nil {
		fmt.Fprintf(stderr, "aaguidgen: %v\n", err)
		return 1
	}

	res, err := refresh(combined, curated, existing)
	if err != nil {
		fmt.Fprintf(stderr, "aaguidgen: %v\n", err)
		return 1
	}
	switch {
	case res.Kept:
		fmt.Fprintf(stdout, "aaguidgen: %s; kept %s as it is (%d AAGUIDs)\n", res.Reason, *out, res.Count)
	case existing != nil && bytes.Equal(res.Data, existing):
		fmt.Fprintf(stdout, "aaguidgen: %s is up to date (%d AAGUIDs)\n", *out, res.Count)
	default:
		if err := writeFile(*out, res.Data); err != nil {
			fmt.Fprintf(stderr, "aaguidgen: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "aaguidgen: wrote %d AAGUIDs to %s (%s)\n", res.Count, *out, res.Changes)
	}
	return 0
}

// fetch downloads url, which must answer 200 with at most maxDownload bytes.
func fetch(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	req.Header.Set("User-Agent", "passkeyd-aaguidgen")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	if len(body) > maxDownload {
		return nil, fmt.Errorf("fetch %s: more than %d bytes", url, maxDownload)
	}
	return body, nil
}

// writeFile replaces path with data through a temporary file in the same
// directory, so that a failure never leaves a half-written list.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".aaguidgen-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// result is what refresh decided.
type result struct {
	// Data is the file's new content (the existing bytes when Kept).
	Data []byte
	// Kept is true when upstream published an empty list and the existing
	// file is to be left alone; Reason then says why.
	Kept   bool
	Reason string
	// Count is the number of AAGUIDs in Data.
	Count int
	// Changes summarises the difference from the existing file.
	Changes string
}

// refresh is the pure core of the command: from the upstream combined and
// curated lists (raw JSON) and the existing file (nil when there is none) it
// computes what the file should hold. An empty object in either upstream
// file is upstream's retirement signal: the existing file is kept.
func refresh(combinedJSON, curatedJSON, existing []byte) (result, error) {
	combined, err := parseList(combinedJSON)
	if err != nil {
		return result{}, fmt.Errorf("combined_aaguid.json: %w", err)
	}
	curated, err := parseList(curatedJSON)
	if err != nil {
		return result{}, fmt.Errorf("aaguid.json: %w", err)
	}

	var empty []string
	if len(combined) == 0 {
		empty = append(empty, "combined_aaguid.json")
	}
	if len(curated) == 0 {
		empty = append(empty, "aaguid.json")
	}
	if len(empty) > 0 {
		reason := "upstream " + strings.Join(empty, " and ") + " is an empty object (upstream's sign that the list is retired)"
		if len(empty) > 1 {
			reason = strings.Replace(reason, " is an empty object", " are empty objects", 1)
		}
		if existing == nil {
			return result{}, errors.New(reason + ", and there is no existing file to keep")
		}
		old, err := parseList(existing)
		if err != nil {
			return result{}, fmt.Errorf("%s, and the existing file is not valid: %w", reason, err)
		}
		return result{Data: existing, Kept: true, Reason: reason, Count: len(old), Changes: "no changes"}, nil
	}

	merged := merge(combined, curated)
	data, err := format(merged)
	if err != nil {
		return result{}, err
	}
	changes := "a new file"
	if existing != nil {
		if old, err := parseList(existing); err == nil {
			changes = diff(old, merged)
		} else {
			changes = "replacing an invalid file"
		}
	}
	return result{Data: data, Count: len(merged), Changes: changes}, nil
}

// merge returns combined overlaid with curated: the curated name wins where
// both name an AAGUID.
func merge(combined, curated map[string]string) map[string]string {
	merged := make(map[string]string, len(combined)+len(curated))
	for id, name := range combined {
		merged[id] = name
	}
	for id, name := range curated {
		merged[id] = name
	}
	return merged
}

// parseList parses a list in the upstream format
// ({"<aaguid>": {"name": "...", "icon_dark": ..., ...}, ...}) into AAGUID
// (lowercase canonical UUID) → name. Fields other than name are dropped. A
// key that is not a canonical UUID, a missing or blank name, or two keys
// for one AAGUID (differing in case) are errors.
func parseList(data []byte) (map[string]string, error) {
	var raw map[string]*struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errors.New("not a JSON object")
	}
	list := make(map[string]string, len(raw))
	for key, entry := range raw {
		id, err := canonicalAAGUID(key)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		if entry == nil || strings.TrimSpace(entry.Name) == "" {
			return nil, fmt.Errorf("%s: empty name", id)
		}
		if _, dup := list[id]; dup {
			return nil, fmt.Errorf("%s appears more than once", id)
		}
		list[id] = entry.Name
	}
	return list, nil
}

// canonicalAAGUID checks that s is a UUID in the canonical
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx form and returns it in lowercase.
func canonicalAAGUID(s string) (string, error) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return "", errors.New("not a UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
	}
	digits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.DecodeString(digits); err != nil {
		return "", errors.New("not a UUID: bad hex digit")
	}
	return strings.ToLower(s), nil
}

// format writes list as the committed file is written: an object sorted by
// AAGUID, each value {"name": ...}, indented by one space, UTF-8 left
// unescaped, no newline at the end.
func format(list map[string]string) ([]byte, error) {
	type entry struct {
		Name string `json:"name"`
	}
	out := make(map[string]entry, len(list))
	for id, name := range list {
		out[id] = entry{Name: name}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil { // encoding/json sorts map keys
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// diff summarises how list next differs from list old.
func diff(old, next map[string]string) string {
	var added, removed, renamed int
	for id, name := range next {
		switch oldName, ok := old[id]; {
		case !ok:
			added++
		case oldName != name:
			renamed++
		}
	}
	for id := range old {
		if _, ok := next[id]; !ok {
			removed++
		}
	}
	if added+removed+renamed == 0 {
		return "no changes"
	}
	return fmt.Sprintf("%d added, %d removed, %d renamed", added, removed, renamed)
}
