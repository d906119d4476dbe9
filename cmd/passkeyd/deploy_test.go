package main

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// The systemd unit in deploy/ runs passkeyd so that what it creates is
// its own only, on loopback behind the proxy.
func TestSystemdUnit(t *testing.T) {
	f, err := os.Open("../../deploy/passkeyd.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	settings := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			settings[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if settings["UMask"] != "0077" {
		t.Errorf("UMask=%q, want 0077: the database and keys would be readable by others", settings["UMask"])
	}
	if !strings.Contains(settings["ExecStart"], "--addr 127.0.0.1:") {
		t.Errorf("ExecStart=%q, want passkeyd on loopback behind the proxy", settings["ExecStart"])
	}
}
