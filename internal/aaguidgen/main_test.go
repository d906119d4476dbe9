package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// No test here reaches the network: the upstream files are stand-ins, served
// from a loopback httptest server where a download is exercised.

const (
	gpm     = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
	apple   = "fbfc3007-154e-4ecc-8c0b-6e020557d7bd"
	hello   = "08987058-cadc-4b81-b6e1-30de50dcbe96"
	yubikey = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
)

// upstreamCombined and upstreamCurated look like the upstream files: names
// plus SVG icons (here shortened), keys in lowercase.
const upstreamCombined = `{
  "` + gpm + `": {"name": "Google Password Manager", "icon_dark": "data:image/svg+xml;base64,PHN2Zz4=", "icon_light": "data:image/svg+xml;base64,PHN2Zz4="},
  "` + apple + `": {"name": "iCloud Keychain", "icon_dark": "data:image/svg+xml;base64,PHN2Zz4=", "icon_light": "data:image/svg+xml;base64,PHN2Zz4="},
  "` + yubikey + `": {"name": "YubiKey 5 Series", "icon_light": "data:image/png;base64,iVBORw0KGgo="}
}`

const upstreamCurated = `{
  "` + gpm + `": {"name": "Google Password Manager", "icon_dark": "data:image/svg+xml;base64,PHN2Zz4=", "icon_light": "data:image/svg+xml;base64,PHN2Zz4="},
  "` + apple + `": {"name": "Apple Passwords", "icon_dark": "data:image/svg+xml;base64,PHN2Zz4=", "icon_light": "data:image/svg+xml;base64,PHN2Zz4="},
  "08987058-CADC-4B81-B6E1-30DE50DCBE96": {"name": "Windows Hello", "icon_dark": "data:image/svg+xml;base64,PHN2Zz4=", "icon_light": "data:image/svg+xml;base64,PHN2Zz4="}
}`

// wantMerged is the file refresh makes of the two above.
const wantMerged = `{
 "08987058-cadc-4b81-b6e1-30de50dcbe96": {
  "name": "Windows Hello"
 },
 "cb69481e-8ff7-4039-93ec-0a2729a154a8": {
  "name": "YubiKey 5 Series"
 },
 "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {
  "name": "Google Password Manager"
 },
 "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": {
  "name": "Apple Passwords"
 }
}`

func TestRefreshMerges(t *testing.T) {
	res, err := refresh([]byte(upstreamCombined), []byte(upstreamCurated), nil)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if res.Kept {
		t.Fatalf("refresh kept the file: %s", res.Reason)
	}
	if string(res.Data) != wantMerged {
		t.Errorf("refresh wrote\n%s\nwant\n%s", res.Data, wantMerged)
	}
	if res.Count != 4 {
		t.Errorf("Count = %d, want 4", res.Count)
	}
	if bytes.Contains(res.Data, []byte("icon")) {
		t.Error("icons were not stripped")
	}
}

func TestRefreshChanges(t *testing.T) {
	existing := []byte(`{
 "` + gpm + `": {"name": "Google Password Manager"},
 "` + apple + `": {"name": "iCloud Keychain"},
 "00000000-0000-0000-0000-00000000abcd": {"name": "Gone"}
}`)
	res, err := refresh([]byte(upstreamCombined), []byte(upstreamCurated), existing)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if string(res.Data) != wantMerged {
		t.Errorf("refresh wrote\n%s\nwant\n%s", res.Data, wantMerged)
	}
	if want := "2 added, 1 removed, 1 renamed"; res.Changes != want {
		t.Errorf("Changes = %q, want %q", res.Changes, want)
	}

	again, err := refresh([]byte(upstreamCombined), []byte(upstreamCurated), res.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Data, res.Data) || again.Changes != "no changes" {
		t.Errorf("second refresh: changes %q, data changed %v", again.Changes, !bytes.Equal(again.Data, res.Data))
	}
}

func TestRefreshKeepsOnEmptyUpstream(t *testing.T) {
	existing := []byte(wantMerged)
	for _, tc := range []struct {
		name, combined, curated, reason string
	}{
		{"both empty", `{}`, `{}`, "combined_aaguid.json and aaguid.json are empty objects"},
		{"combined empty", " {\n} ", upstreamCurated, "combined_aaguid.json is an empty object"},
		{"curated empty", upstreamCombined, `{}`, "aaguid.json is an empty object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := refresh([]byte(tc.combined), []byte(tc.curated), existing)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if !res.Kept {
				t.Fatal("refresh did not keep the existing file")
			}
			if !bytes.Equal(res.Data, existing) {
				t.Error("kept data differs from the existing file")
			}
			if !strings.Contains(res.Reason, tc.reason) || !strings.Contains(res.Reason, "retired") {
				t.Errorf("Reason = %q, want it to mention %q and retirement", res.Reason, tc.reason)
			}
			if res.Count != 4 {
				t.Errorf("Count = %d, want 4", res.Count)
			}
		})
	}

	if _, err := refresh([]byte(`{}`), []byte(`{}`), nil); err == nil {
		t.Error("refresh with empty upstream and no existing file: want an error")
	}
}

func TestRefreshRejectsBadUpstream(t *testing.T) {
	good := upstreamCombined
	for _, tc := range []struct{ name, combined, curated string }{
		{"combined not JSON", `<html>rate limited</html>`, good},
		{"curated not JSON", good, `not json`},
		{"combined null", `null`, good},
		{"curated array", good, `[]`},
		{"bad key", good, `{"not-a-uuid": {"name": "x"}}`},
		{"empty name", good, `{"` + gpm + `": {"name": ""}}`},
		{"missing name", good, `{"` + gpm + `": {"icon_dark": "x"}}`},
		{"name not a string", good, `{"` + gpm + `": {"name": 1}}`},
		{"duplicate in two cases", `{"` + gpm + `": {"name": "a"}, "` + strings.ToUpper(gpm) + `": {"name": "b"}}`, good},
		{"empty input", ``, good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if res, err := refresh([]byte(tc.combined), []byte(tc.curated), []byte(wantMerged)); err == nil {
				t.Errorf("refresh = %d AAGUIDs (kept %v), want an error", res.Count, res.Kept)
			}
		})
	}
}

func TestMergeCuratedWins(t *testing.T) {
	got := merge(
		map[string]string{gpm: "GPM (FIDO MDS)", yubikey: "YubiKey 5 Series"},
		map[string]string{gpm: "Google Password Manager", hello: "Windows Hello"},
	)
	want := map[string]string{gpm: "Google Password Manager", yubikey: "YubiKey 5 Series", hello: "Windows Hello"}
	if len(got) != len(want) {
		t.Fatalf("merge = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("merge[%s] = %q, want %q", k, got[k], v)
		}
	}
}

// TestFormatMatchesCommittedFile checks that the committed list is exactly
// what this tool writes, so a refresh only shows real changes in a diff.
func TestFormatMatchesCommittedFile(t *testing.T) {
	committed, err := os.ReadFile(filepath.Join("..", "..", "aaguids.json"))
	if err != nil {
		t.Skipf("aaguids.json not found: %v", err)
	}
	list, err := parseList(committed)
	if err != nil {
		t.Fatalf("aaguids.json: %v", err)
	}
	data, err := format(list)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, committed) {
		t.Errorf("format(aaguids.json) differs from the file (%d vs %d bytes)", len(data), len(committed))
	}
	// And merging the committed list with itself changes nothing.
	res, err := refresh(committed, committed, committed)
	if err != nil || res.Kept || !bytes.Equal(res.Data, committed) || res.Changes != "no changes" {
		t.Errorf("refresh(committed ×3) = kept %v, changes %q, err %v", res.Kept, res.Changes, err)
	}
}

func TestFormatKeepsUTF8AndHTML(t *testing.T) {
	data, err := format(map[string]string{gpm: "Sésame <&> \"quoted\""})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n \"" + gpm + "\": {\n  \"name\": \"Sésame <&> \\\"quoted\\\"\"\n }\n}"
	if string(data) != want {
		t.Errorf("format = %s, want %s", data, want)
	}
	var back map[string]struct{ Name string }
	if err := json.Unmarshal(data, &back); err != nil || back[gpm].Name != "Sésame <&> \"quoted\"" {
		t.Errorf("round trip: %v, %v", back, err)
	}
}

// TestRun drives the whole command against a loopback server.
func TestRun(t *testing.T) {
	files := map[string]string{
		"/combined_aaguid.json": upstreamCombined,
		"/aaguid.json":          upstreamCurated,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()

	dir := t.TempDir()
	out := filepath.Join(dir, "aaguids.json")
	cmd := func(extra ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-out", out, "-combined-url", srv.URL + "/combined_aaguid.json", "-curated-url", srv.URL + "/aaguid.json", "-timeout", "5s"}, extra...)
		code := run(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	code, stdout, stderr := cmd()
	if code != 0 {
		t.Fatalf("run = %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "wrote 4 AAGUIDs") {
		t.Errorf("stdout = %q", stdout)
	}
	got, err := os.ReadFile(out)
	if err != nil || string(got) != wantMerged {
		t.Fatalf("file = %q, %v", got, err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v; want 0644", fi.Mode(), err)
	}

	code, stdout, _ = cmd()
	if code != 0 || !strings.Contains(stdout, "up to date") {
		t.Errorf("second run = %d, %q; want up to date", code, stdout)
	}

	// Retirement: upstream publishes {}; the file stays.
	if err := os.WriteFile(out, []byte(wantMerged), 0o644); err != nil {
		t.Fatal(err)
	}
	files["/combined_aaguid.json"], files["/aaguid.json"] = "{}", "{}"
	code, stdout, stderr = cmd()
	if code != 0 || !strings.Contains(stdout, "kept") || !strings.Contains(stdout, "retired") {
		t.Errorf("run on empty upstream = %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if got, _ := os.ReadFile(out); string(got) != wantMerged {
		t.Error("the file changed although upstream was empty")
	}

	// A failed download leaves the file alone.
	code, _, stderr = cmd("-curated-url", srv.URL+"/missing.json")
	if code != 1 || !strings.Contains(stderr, "404") {
		t.Errorf("run with a 404 = %d, stderr %q", code, stderr)
	}
	if got, _ := os.ReadFile(out); string(got) != wantMerged {
		t.Error("the file changed after a failed download")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestRunTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"-out", filepath.Join(t.TempDir(), "x.json"), "-combined-url", srv.URL, "-curated-url", srv.URL, "-timeout", "100ms"}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("run = %d, want 1; stderr %q", code, stderr.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-no-such-flag"},
		{"extra-argument"},
		{"-out", ""},
		{"-timeout", "0s"},
		{"-timeout", "soon"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}
