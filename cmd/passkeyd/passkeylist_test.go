package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/sqlite"
)

// runInProcess runs one command in-process and returns its exit status,
// stdout and stderr.
func runInProcess(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), env{
		args: args, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		getenv: func(string) string { return "" },
	})
	return code, out.String(), errOut.String()
}

func TestPasskeyList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "list.db")
	dsn := "sqlite:" + path
	if code, _, stderr := runInProcess(t, "a long password\n", "user", "add", "alice", "--password-stdin", "--db", dsn); code != exitOK {
		t.Fatalf("user add: %d %s", code, stderr)
	}

	code, out, stderr := runInProcess(t, "", "passkey", "list", "alice", "--db", dsn)
	if code != exitOK || !strings.HasPrefix(out, "ID") || strings.Count(out, "\n") != 1 {
		t.Fatalf("passkey list with none: %d %q %q; want the header alone", code, out, stderr)
	}

	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	p := &passkeyd.Passkey{
		ID: uuid.NewString(), UserID: u.ID, CredentialID: []byte("cred-1"), PublicKey: []byte{1},
		AAGUID: make([]byte, 16), Name: "Work laptop", Platform: "Microsoft", Provider: "Windows Hello",
		Enabled: true, BackupState: true, CreatedAt: time.Now(), AttestationType: "none", AttestationFormat: "none",
	}
	if err := db.CreatePasskey(ctx, p); err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, stderr = runInProcess(t, "", "passkey", "list", "ALICE", "--db", dsn)
	if code != exitOK {
		t.Fatalf("passkey list: %d %s", code, stderr)
	}
	for _, want := range []string{p.ID, "Work laptop", "Windows Hello", "Microsoft", "never"} {
		if !strings.Contains(out, want) {
			t.Errorf("passkey list output lacks %q:\n%s", want, out)
		}
	}

	for name, args := range map[string][]string{
		"unknown user":  {"passkey", "list", "bob", "--db", dsn},
		"no user":       {"passkey", "list", "--db", dsn},
		"no subcommand": {"passkey", "--db", dsn},
	} {
		code, out, stderr := runInProcess(t, "", args...)
		if code != exitUsage || out != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and one line on stderr", name, code, out, stderr)
		}
	}
}
