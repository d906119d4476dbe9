package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	binenc "encoding/binary"
	"errors"
	"github.com/passkeyd/passkeyd/internal/proctest"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/sqlite"
)

// TestUserAndServe walks an operator's first day: add a user, list users,
// serve, log in over HTTP, change the password, migrate again.
func TestUserAndServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "passkeyd.db")
	o := runOpts{dir: dir}

	// The password is one line; "\r\n" is not part of it.
	o.stdin = "first password 1\r\n"
	r := mustRun(t, o, "user", "add", "alice", "--password-stdin", "--db", db)
	if r.stdout != "added user alice\n" {
		t.Errorf("user add: stdout %q", r.stdout)
	}
	o.stdin = ""
	mustRun(t, o, "user", "add", "bob", "--display-name", "Bob B.", "--no-password", "--staff", "--db", db)

	r = mustRun(t, o, "user", "list", "--db", db)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "USERNAME") {
		t.Fatalf("user list:\n%s", r.stdout)
	}
	if f := strings.Fields(lines[1]); f[0] != "alice" || f[1] != "alice" || f[2] != "no" || f[3] != "yes" || f[len(f)-1] != "never" {
		t.Errorf("alice's row: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "bob" || f[1] != "Bob" || f[2] != "B." || f[3] != "yes" || f[4] != "no" {
		t.Errorf("bob's row: %q", lines[2])
	}

	srv := startServer(t, o, "serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", db)
	if !strings.HasPrefix(srv.addr, "127.0.0.1:") || !strings.HasPrefix(srv.base, "http://") {
		t.Fatalf("listening at %s", srv.base)
	}
	for _, tt := range []struct {
		pw     string
		status int
		who    string
	}{
		{"first password 1\r", http.StatusUnauthorized, ""},
		{"first password 1\r\n", http.StatusUnauthorized, ""},
		{"first password", http.StatusUnauthorized, ""},
		{"first password 1", http.StatusSeeOther, "alice"},
	} {
		status, who := srv.login(srv.client(nil), "alice", tt.pw)
		if status != tt.status || who != tt.who {
			t.Errorf("login with %q: status %d as %q, want %d as %q", tt.pw, status, who, tt.status, tt.who)
		}
	}

	// Change the password while the server runs on the same database.
	o.stdin = "second password 2\n"
	r = mustRun(t, o, "user", "passwd", "ALICE", "--password-stdin", "--db", db)
	if r.stdout != "password of alice changed\n" {
		t.Errorf("user passwd: stdout %q", r.stdout)
	}
	if status, who := srv.login(srv.client(nil), "alice", "first password 1"); status != http.StatusUnauthorized || who != "" {
		t.Errorf("old password: status %d as %q, want 401", status, who)
	}
	if status, who := srv.login(srv.client(nil), "alice", "second password 2"); status != http.StatusSeeOther || who != "alice" {
		t.Errorf("new password: status %d as %q, want 303 as alice", status, who)
	}

	r = mustRun(t, runOpts{dir: dir}, "user", "list", "--db", db)
	if strings.Contains(strings.Split(r.stdout, "\n")[1], "never") {
		t.Errorf("alice's last login not shown:\n%s", r.stdout)
	}

	for i := 0; i < 2; i++ {
		r := mustRun(t, runOpts{dir: dir}, "migrate", "--db", db)
		if r.stdout != "schema is up to date\n" {
			t.Errorf("migrate %d: stdout %q", i, r.stdout)
		}
	}
	if code := srv.stop(); code != 0 {
		t.Errorf("serve: exit %d after SIGTERM", code)
	}
	if !srv.logged("stopped") {
		t.Error("no \"stopped\" log line")
	}
}

// TestBadUsage checks that each mistake in calling passkeyd is one clear
// line on stderr and exit status 2.
func TestBadUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		env   []string
		stdin string
		// setup runs first, with the database flag value.
		setup func(t *testing.T, db string)
		// want is part of the error line.
		want string
	}{
		{name: "unknown flag", args: []string{"serve", "--bogus"}, want: "-bogus"},
		{name: "unknown flag of the default command", args: []string{"--bogus"}, want: "-bogus"},
		{name: "unknown flag of user add", args: []string{"user", "add", "x", "--bogus"}, want: "-bogus"},
		{name: "password on the command line", args: []string{"user", "add", "x", "--password", "secret123"}, want: "-password"},
		{name: "bad --attachment", args: []string{"serve", "--attachment", "usb"}, want: "--attachment"},
		{name: "bad --user-verification", args: []string{"serve", "--user-verification", "always"}, want: "--user-verification"},
		{name: "bad --tls", args: []string{"serve", "--tls", "sometimes"}, want: "--tls"},
		{name: "missing --tls files", args: []string{"serve", "--addr", "127.0.0.1:0", "--tls", "/nonexistent/cert.pem,/nonexistent/key.pem"}, want: "--tls"},
		{name: "bad --addr", args: []string{"serve", "--addr", "nonsense"}, want: "--addr"},
		{name: "bad --addr port", args: []string{"serve", "--addr", "127.0.0.1:99999"}, want: "99999"},
		{name: "bad --ceremony-ttl", args: []string{"serve", "--ceremony-ttl", "soon"}, want: "ceremony-ttl"},
		{name: "--ceremony-ttl out of range", args: []string{"serve", "--ceremony-ttl", "1s"}, want: "--ceremony-ttl"},
		{name: "--origin of another site", args: []string{"serve", "--origin", "https://evil.example"}, want: "--origin"},
		{name: "--origin http off localhost", args: []string{"serve", "--rp-id", "example.com", "--origin", "http://example.com"}, want: "--origin"},
		{name: "bad --rp-id", args: []string{"serve", "--rp-id", "https://example.com"}, want: "--rp-id"},
		{name: "unexpected argument", args: []string{"serve", "extra"}, want: "extra"},
		{name: "unknown command", args: []string{"frobnicate"}, want: "frobnicate"},
		{name: "user without subcommand", args: []string{"user"}, want: "user"},
		{name: "unknown user subcommand", args: []string{"user", "delete", "x"}, want: "delete"},
		{name: "user add without name", args: []string{"user", "add"}, want: "username"},
		{name: "user add two names", args: []string{"user", "add", "x", "y"}, want: "username"},
		{name: "user add bad name", args: []string{"user", "add", "two words", "--no-password"}, want: "username"},
		{name: "user add stdin and no password", args: []string{"user", "add", "x", "--password-stdin", "--no-password"}, stdin: "long enough password\n", want: "--no-password"},
		{name: "short password", args: []string{"user", "add", "x", "--password-stdin"}, stdin: "short\n", want: "at least 8"},
		{name: "empty password line", args: []string{"user", "add", "x", "--password-stdin"}, stdin: "\n", want: "at least 8"},
		{name: "empty stdin", args: []string{"user", "add", "x", "--password-stdin"}, stdin: "", want: "empty"},
		{name: "passwd without --password-stdin", args: []string{"user", "passwd", "x"}, want: "--password-stdin"},
		{name: "passwd of nobody", args: []string{"user", "passwd", "nobody", "--password-stdin"}, stdin: "long enough password\n", want: "nobody"},
		{name: "passwd short password", args: []string{"user", "passwd", "dup", "--password-stdin"}, stdin: "short\r\n", want: "at least 8",
			setup: func(t *testing.T, db string) {
				mustRun(t, runOpts{}, "user", "add", "dup", "--no-password", "--db", db)
			}},
		{name: "duplicate username", args: []string{"user", "add", "DUP", "--no-password"}, want: "exists",
			setup: func(t *testing.T, db string) {
				mustRun(t, runOpts{}, "user", "add", "dup", "--no-password", "--db", db)
			}},
		{name: "--db of another kind", args: []string{"migrate", "--db", "mysql://x"}, want: "--db"},
		{name: "--db in a missing folder", args: []string{"migrate", "--db", "sqlite:/nonexistent-dir/x.db"}, want: "/nonexistent-dir/x.db"},
		{name: "migrate with an argument", args: []string{"migrate", "now"}, want: "now"},
		{name: "env twin with a bad value", args: []string{"serve"}, env: []string{"PASSKEYD_USER_VERIFICATION=bogus"}, want: "bogus"},
		{name: "env twin with a bad duration", args: []string{"serve"}, env: []string{"PASSKEYD_CEREMONY_TTL=forever"}, want: "PASSKEYD_CEREMONY_TTL"},
		{name: "env twin of --db with a bad value", args: []string{"user", "list"}, env: []string{"PASSKEYD_DB=mysql://x"}, want: "mysql://x"},
		{name: "keys without subcommand", args: []string{"keys"}, want: "keys"},
		{name: "unknown keys subcommand", args: []string{"keys", "delete"}, want: "delete"},
		{name: "keys rotate with an argument", args: []string{"keys", "rotate", "now"}, want: "now"},
		{name: "missing --ceremony-key-file", args: []string{"serve", "--ceremony-key-file", "missing.txt"}, want: "--ceremony-key-file"},
		{name: "--ceremony-key-file without a key", args: []string{"serve", "--ceremony-key-file", "keys.txt"}, want: "no key",
			setup: func(t *testing.T, db string) { writeKeyFile(t, db, "# comment only\n\n") }},
		{name: "--ceremony-key-file with a short key", args: []string{"serve", "--ceremony-key-file", "keys.txt"}, want: "line 2",
			setup: func(t *testing.T, db string) {
				writeKeyFile(t, db, base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"+base64.StdEncoding.EncodeToString(make([]byte, 16))+"\n")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := "sqlite:" + filepath.Join(dir, "passkeyd.db")
			if tt.setup != nil {
				tt.setup(t, db)
			}
			// The working directory is dir, so the default database,
			// sqlite:passkeyd.db, is db.
			args := tt.args
			// A command that wrongly succeeds must not serve for ever.
			env := append([]string{"PASSKEYD_ADDR=127.0.0.1:0", "PASSKEYD_TLS=off"}, tt.env...)
			r := runBinary(t, runOpts{dir: dir, env: env, stdin: tt.stdin}, args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			if !strings.HasPrefix(r.stderr, "passkeyd: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
				t.Errorf("stderr is not one line starting passkeyd: :\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace on stderr:\n%s", r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if len(tt.args) > 1 && tt.args[0] == "user" && tt.args[1] == "add" && tt.setup == nil {
				if _, err := os.Stat(filepath.Join(dir, "passkeyd.db")); err == nil {
					if l := mustRun(t, runOpts{}, "user", "list", "--db", db).stdout; strings.Count(l, "\n") != 1 {
						t.Errorf("a failed user add stored a user:\n%s", l)
					}
				}
			}
		})
	}
}

// writeKeyFile writes keys.txt beside the database db.
func writeKeyFile(t *testing.T, db, content string) {
	t.Helper()
	path := filepath.Join(filepath.Dir(strings.TrimPrefix(db, "sqlite:")), "keys.txt")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// sealedKeyID begins a login on srv and returns the id of the key that
// sealed its state.
func sealedKeyID(t *testing.T, srv *server) uint32 {
	t.Helper()
	resp, err := srv.client(nil).Post(srv.base+"/api/login/begin", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	raw, err := base64.RawURLEncoding.DecodeString(resp.Header.Get("Passkeyd-Ceremony"))
	if err != nil || len(raw) < 5 {
		t.Fatalf("login begin: %d, sealed state %q", resp.StatusCode, resp.Header.Get("Passkeyd-Ceremony"))
	}
	return binenc.BigEndian.Uint32(raw[1:5])
}

// TestCeremonyKeys rotates the stored ceremony keys from the command line
// and serves with them, then with keys from a file, which never reach the
// database.
func TestCeremonyKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "passkeyd.db")
	o := runOpts{dir: dir}
	mustRun(t, o, "migrate", "--db", db)
	if r := mustRun(t, o, "keys", "list", "--db", db); r.stdout != "" {
		t.Errorf("keys list before any key: %q", r.stdout)
	}
	srv := startServer(t, o, "serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", db)
	if id := sealedKeyID(t, srv); id != 1 {
		t.Errorf("the first start seals with key %d, want 1", id)
	}
	if r := mustRun(t, o, "keys", "rotate", "--db", db); !strings.HasPrefix(r.stdout, "ceremony key 2 now seals") {
		t.Errorf("keys rotate: %q", r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(mustRun(t, o, "keys", "list", "--db", db).stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "2\t") || !strings.HasSuffix(lines[0], "sealing") ||
		!strings.HasPrefix(lines[1], "1\t") || !strings.Contains(lines[1], "retired ") {
		t.Errorf("keys list after a rotation:\n%s", strings.Join(lines, "\n"))
	}
	srv.stop()
	srv = startServer(t, o, "serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", db)
	if id := sealedKeyID(t, srv); id != 2 {
		t.Errorf("after the rotation the server seals with key %d, want 2", id)
	}
	srv.stop()

	// Keys from a file: the first seals; none is stored.
	fileDB := "sqlite:" + filepath.Join(dir, "file.db")
	key := make([]byte, 32)
	key[0] = 7
	writeKeyFile(t, fileDB, "# passkeyd ceremony keys\n"+base64.StdEncoding.EncodeToString(key)+"\n")
	srv = startServer(t, o, "serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", fileDB, "--ceremony-key-file", "keys.txt")
	sum := sha256.Sum256(key)
	if id := sealedKeyID(t, srv); id != binenc.BigEndian.Uint32(sum[:4]) {
		t.Errorf("with --ceremony-key-file the server seals with key %d, not the file's", id)
	}
	srv.stop()
	if r := mustRun(t, o, "keys", "list", "--db", fileDB); r.stdout != "" {
		t.Errorf("keys from a file were stored: %q", r.stdout)
	}
}

// TestEnvTwins checks that every serve flag can come from the environment
// and that a flag on the command line wins.
func TestEnvTwins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "env.db")
	srv := startServer(t, runOpts{dir: dir, env: []string{
		"PASSKEYD_ADDR=127.0.0.1:0", "PASSKEYD_TLS=off", "PASSKEYD_DB=" + db, "PASSKEYD_DEMO=true",
	}})
	if !strings.HasPrefix(srv.addr, "127.0.0.1:") || !strings.HasPrefix(srv.base, "http://") {
		t.Errorf("listening at %s, want PASSKEYD_ADDR and PASSKEYD_TLS applied", srv.base)
	}
	if status, who := srv.login(srv.client(nil), demoUsername, demoPassword); status != http.StatusSeeOther || who != demoUsername {
		t.Errorf("demo login: status %d as %q; PASSKEYD_DEMO not applied", status, who)
	}
	if _, err := os.Stat(filepath.Join(dir, "env.db")); err != nil {
		t.Errorf("PASSKEYD_DB not used: %v", err)
	}
	if code := srv.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}

	// Flags win over bad values in the environment.
	mustRun(t, runOpts{dir: dir, stdin: "env user password\n"}, "user", "add", "envuser", "--password-stdin", "--db", db)
	srv = startServer(t, runOpts{dir: dir, env: []string{
		"PASSKEYD_ADDR=nonsense", "PASSKEYD_TLS=bogus", "PASSKEYD_DB=mysql://x", "PASSKEYD_ATTACHMENT=usb",
	}}, "serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", db, "--attachment", "platform")
	if status, who := srv.login(srv.client(nil), "envuser", "env user password"); status != http.StatusSeeOther || who != "envuser" {
		t.Errorf("login: status %d as %q", status, who)
	}
	if code := srv.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	// PASSKEYD_DB works for the other commands too.
	if r := mustRun(t, runOpts{dir: dir, env: []string{"PASSKEYD_DB=" + db}}, "user", "list"); !strings.Contains(r.stdout, "envuser") {
		t.Errorf("user list with PASSKEYD_DB:\n%s", r.stdout)
	}
}

// TestDemo checks that --demo makes the demo account once and then leaves
// it alone, and that a start without --demo removes it.
func TestDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "demo.db")
	args := []string{"serve", "--demo", "--addr", "127.0.0.1:0", "--tls", "off", "--db", db}

	srv := startServer(t, runOpts{dir: dir}, args...)
	if !srv.logged("demo account ready") {
		t.Error("no log line about the demo account")
	}
	// Usernames are case-insensitive at login.
	if status, who := srv.login(srv.client(nil), "Test-User@Sample.Local", demoPassword); status != http.StatusSeeOther || who != demoUsername {
		t.Errorf("demo login: status %d as %q", status, who)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	mustRun(t, runOpts{dir: dir, stdin: "a new demo password\n"}, "user", "passwd", demoUsername, "--password-stdin", "--db", db)

	srv = startServer(t, runOpts{dir: dir}, args...)
	if status, _ := srv.login(srv.client(nil), demoUsername, demoPassword); status != http.StatusUnauthorized {
		t.Errorf("second start reset the demo password: status %d", status)
	}
	if status, who := srv.login(srv.client(nil), demoUsername, "a new demo password"); status != http.StatusSeeOther || who != demoUsername {
		t.Errorf("demo login with the changed password: status %d as %q", status, who)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	r := mustRun(t, runOpts{dir: dir}, "user", "list", "--db", db)
	if n := strings.Count(r.stdout, demoUsername); n != 1 {
		t.Errorf("%d demo accounts:\n%s", n, r.stdout)
	}

	// Without --demo the account, whose password is published, is gone.
	srv = startServer(t, runOpts{dir: dir}, "serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", db)
	if !srv.logged("the demo account was removed") {
		t.Error("no warning that the demo account was removed")
	}
	if status, _ := srv.login(srv.client(nil), demoUsername, "a new demo password"); status != http.StatusUnauthorized {
		t.Errorf("demo login without --demo: status %d, want 401", status)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if r := mustRun(t, runOpts{dir: dir}, "user", "list", "--db", db); strings.Contains(r.stdout, demoUsername) {
		t.Errorf("the demo account is still there:\n%s", r.stdout)
	}
}

// TestTLSAuto checks that --tls auto makes a certificate under ./tls/ on
// first start, keeps it, and serves HTTPS with HSTS.
func TestTLSAuto(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The default database, sqlite:passkeyd.db, is in the working directory.
	args := []string{"serve", "--addr", "127.0.0.1:0"}
	certPath, keyPath := filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem")

	get := func(srv *server) {
		t.Helper()
		certPEM, err := os.ReadFile(certPath)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(certPEM) {
			t.Fatal("cert.pem holds no certificate")
		}
		for _, name := range []string{"localhost", "127.0.0.1"} {
			c := srv.client(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: name}})
			resp, err := c.Get(srv.base + "/healthz")
			if err != nil {
				t.Fatalf("GET /healthz as %s: %v", name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(b) != "ok" {
				t.Errorf("GET /healthz: %d %q", resp.StatusCode, b)
			}
			if h := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") {
				t.Errorf("Strict-Transport-Security %q", h)
			}
			if resp.TLS == nil {
				t.Error("not TLS")
			}
		}
	}

	srv := startServer(t, runOpts{dir: dir}, args...)
	if !strings.HasPrefix(srv.base, "https://") {
		t.Fatalf("listening at %s, want https", srv.base)
	}
	if !srv.logged("made a self-signed certificate") {
		t.Error("first start did not say it made a certificate")
	}
	cert1, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	key1, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyPath); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("key.pem mode %v, want private to its owner", fi.Mode())
	}
	if _, err := os.Stat(filepath.Join(dir, "passkeyd.db")); err != nil {
		t.Errorf("default database not in the working directory: %v", err)
	}
	get(srv)
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	srv = startServer(t, runOpts{dir: dir}, args...)
	if srv.logged("made a self-signed certificate") {
		t.Error("second start made a new certificate")
	}
	cert2, _ := os.ReadFile(certPath)
	key2, _ := os.ReadFile(keyPath)
	if !bytes.Equal(cert1, cert2) || !bytes.Equal(key1, key2) {
		t.Error("second start changed the certificate or key")
	}
	get(srv)
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	// The same files given as --tls CERT,KEY.
	srv = startServer(t, runOpts{dir: dir}, "serve", "--addr", "127.0.0.1:0", "--tls", certPath+","+keyPath)
	get(srv)
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestGracefulShutdown checks that SIGTERM lets a request in flight finish
// and then ends the process with status 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "passkeyd.db")
	mustRun(t, runOpts{stdin: "alice's password\n"}, "user", "add", "alice", "--password-stdin", "--db", db)
	srv := startServer(t, runOpts{dir: dir}, "serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", db)

	// The body comes through a pipe, so the request stays in flight until
	// the test writes the rest. "Expect: 100-continue" tells the test when
	// the server's handler has begun reading it.
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, srv.base+"/login", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Expect", "100-continue")
	reading := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got100Continue: func() { close(reading) },
	}))
	c := srv.client(&http.Transport{ExpectContinueTimeout: cmdTimeout})
	type answer struct {
		resp *http.Response
		body string
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := c.Do(req)
		if err != nil {
			answers <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers <- answer{resp: resp, body: string(b), err: err}
	}()
	select {
	case <-reading:
	case a := <-answers:
		t.Fatalf("answered before the body was sent: %+v", a)
	case <-time.After(cmdTimeout):
		t.Fatal("the server did not start reading the body")
	}
	if _, err := io.WriteString(pw, "username=alice&pass"); err != nil {
		t.Fatal(err)
	}

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	srv.waitFor("shutting down")

	// The request in flight completes.
	if _, err := io.WriteString(pw, "word=alice%27s+password"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var a answer
	select {
	case a = <-answers:
	case <-time.After(cmdTimeout):
		t.Fatal("no answer to the request in flight")
	}
	if a.err != nil {
		t.Fatalf("request in flight failed: %v", a.err)
	}
	if a.resp.StatusCode != http.StatusSeeOther || a.resp.Header.Get("Location") != "/" {
		t.Errorf("request in flight: status %d, Location %q; want 303 to /", a.resp.StatusCode, a.resp.Header.Get("Location"))
	}
	if code := srv.wait(); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	// The request was logged between the start of the shutdown and its end.
	shutdown, request, stopped := srv.log.Index("shutting down"), srv.log.Index("path=/login"), srv.log.Index("stopped")
	if !(0 <= shutdown && shutdown < request && request < stopped) {
		t.Errorf("log lines out of order (shutting down %d, request %d, stopped %d):\n%s", shutdown, request, stopped, srv.log.Since(0))
	}
}

// /readyz proves the database takes a write and is the file the server
// opened: deleting it while the server runs makes /readyz fail with an
// error in the log, and nothing makes a new, empty database in its place.
// /healthz stays the liveness check.
func TestReadyz(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "ready.db")
	srv := startServer(t, runOpts{dir: dir}, "serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", "sqlite:"+path)
	get := func(p string) (int, string) {
		t.Helper()
		resp, err := srv.client(nil).Get(srv.base + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("/readyz"); status != http.StatusOK || body != "ready" {
		t.Fatalf("GET /readyz = %d %q, want 200 ready", status, body)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if status, body := get("/readyz"); status != http.StatusServiceUnavailable || body != "not ready" {
		t.Fatalf("GET /readyz after the database file was deleted = %d %q, want 503", status, body)
	}
	line := srv.waitFor("not ready")
	if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "deleted") {
		t.Errorf("log line %q, want an ERROR saying the file was deleted", line)
	}
	for _, p := range []string{"/", "/login", "/api/session"} {
		get(p)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the deleted database file is back (%v): an empty database took its place", err)
	}
}

// A password in --db or --sessions never reaches the log or an error,
// however the connection fails.
func TestPasswordsInURLsRedacted(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-pw"
	dir := t.TempDir()
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", "postgres://passkeyd:" + secret + "@127.0.0.1:1/passkeyd"},
		{"migrate", "--db", "postgres://passkeyd:" + secret + "@127.0.0.1:1/passkeyd?sslmode=disable"},
		{"user", "list", "--db", "postgresql://passkeyd:" + secret + "@127.0.0.1:1/passkeyd"},
		{"serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", "sqlite:" + filepath.Join(dir, "r.db"), "--sessions", "redis://:" + secret + "@127.0.0.1:1/0"},
		{"serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", "sqlite:" + filepath.Join(dir, "r.db"), "--sessions", "rediss://user:" + secret + "@127.0.0.1:1/0"},
	} {
		r := runBinary(t, runOpts{dir: dir}, args...)
		if r.code == 0 {
			t.Errorf("passkeyd %s: exit 0, want a failure to connect", strings.Join(args[:2], " "))
		}
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("passkeyd %s printed the password:\n%s%s", strings.Join(args[:2], " "), r.stdout, r.stderr)
		}
	}
}

// "passkeyd audit" shows the audit log, a user's or everyone's; changing
// a password on the command line is in it, by the command.
func TestAuditCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "audit.db")
	mustRun(t, runOpts{dir: dir, stdin: "first password\n"}, "user", "add", "auditee", "--password-stdin", "--db", db)
	mustRun(t, runOpts{dir: dir, stdin: "second password\n"}, "user", "passwd", "auditee", "--password-stdin", "--db", db)
	for _, args := range [][]string{{"audit", "auditee"}, {"audit"}, {"audit", "-n", "1", "auditee"}} {
		r := mustRun(t, runOpts{dir: dir}, append(args, "--db", db)...)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 2 || !strings.Contains(lines[1], "auditee") || !strings.Contains(lines[1], "password_changed") ||
			!strings.Contains(lines[1], "passkeyd user passwd") {
			t.Errorf("passkeyd %s:\n%s\nwant a header and the password change, by the command", strings.Join(args, " "), r.stdout)
		}
	}
	if r := runBinary(t, runOpts{dir: dir}, "audit", "nobody", "--db", db); r.code != 2 || !strings.Contains(r.stderr, "no user named") {
		t.Errorf("audit of an unknown user: exit %d, %s", r.code, r.stderr)
	}
}

// GET /metrics answers in Prometheus's text format to this machine, not
// through a proxy, and everyone on --metrics-addr; it counts ceremonies by
// outcome and times routes and commits.
func TestMetrics(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "metrics.db")
	mustRun(t, runOpts{dir: dir, stdin: "right password\n"}, "user", "add", "counted", "--password-stdin", "--db", db)
	metricsPort, err := proctest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(metricsPort)
	srv := startServer(t, runOpts{dir: dir}, "serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", db, "--metrics-addr", metricsAddr)
	c := srv.client(nil)
	if status, _ := srv.login(c, "counted", "wrong password"); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", status)
	}
	if status, _ := srv.login(c, "counted", "right password"); status != http.StatusSeeOther {
		t.Fatalf("right password: %d", status)
	}
	scrape := func(url string, header ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := scrape(srv.base + "/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics from this machine: %d", status)
	}
	for _, want := range []string{
		`passkeyd_ceremonies_total{kind="password",outcome="login_failed"} 1`,
		`passkeyd_ceremonies_total{kind="password",outcome="ok"} 1`,
		`passkeyd_store_commit_seconds_count{kind="login"} 1`,
		`passkeyd_http_request_duration_seconds_count{code="303",route="POST /login"} 1`,
		`passkeyd_password_hash_queue 0`,
		`passkeyd_sessions_active 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if status, _ := scrape(srv.base+"/metrics", "X-Forwarded-For", "203.0.113.9"); status != http.StatusNotFound {
		t.Errorf("GET /metrics through a proxy: %d, want 404", status)
	}
	if status, body := scrape("http://" + metricsAddr + "/metrics"); status != http.StatusOK || !strings.Contains(body, "passkeyd_ceremonies_total") {
		t.Errorf("GET /metrics on --metrics-addr: %d", status)
	}
}

// "passkeyd user recover NAME" prints a one-time login link for the
// site's origin, which logs the user in once; its making is in the audit
// log, by the command.
func TestUserRecover(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "recover.db")
	db := "sqlite:" + path
	mustRun(t, runOpts{dir: dir}, "user", "add", "lost", "--no-password", "--db", db)
	r := mustRun(t, runOpts{dir: dir}, "user", "recover", "lost", "--origin", "https://login.example.com", "--db", db)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	link := lines[len(lines)-1]
	token, ok := strings.CutPrefix(link, "https://login.example.com/recover/")
	if !ok || len(token) < 40 {
		t.Fatalf("user recover printed %q, want a link on the origin", r.stdout)
	}
	if a := mustRun(t, runOpts{dir: dir}, "audit", "lost", "--db", db); !strings.Contains(a.stdout, "login_link_created") || !strings.Contains(a.stdout, "passkeyd user recover") {
		t.Errorf("audit log:\n%s", a.stdout)
	}

	ctx := context.Background()
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc, err := passkeyd.NewService(passkeyd.Config{RPID: "example.com", RPName: "t", Origins: []string{"https://login.example.com"}}, passkeyd.Deps{Users: store, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	for i, wantOK := range []bool{true, false} {
		res, err := svc.LogInWithLink(httptest.NewRecorder(), httptest.NewRequest("POST", "https://login.example.com/recover/x", nil), token)
		if (err == nil) != wantOK || (wantOK && res.User.Username != "lost") {
			t.Errorf("use %d of the link: %+v, %v", i+1, res, err)
		}
	}
	if r := runBinary(t, runOpts{dir: dir}, "user", "recover", "nobody", "--db", db); r.code != 2 {
		t.Errorf("recover of an unknown user: exit %d", r.code)
	}
}

// TestUserLock: "user lock" stops a user's logins, "user unlock" lets
// them in again; both are in the audit log with the command's name.
func TestUserLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "lock.db")
	mustRun(t, runOpts{dir: dir, stdin: "a long password\n"}, "user", "add", "locky", "--password-stdin", "--db", db)
	if r := mustRun(t, runOpts{dir: dir}, "user", "lock", "locky", "--db", db); !strings.Contains(r.stdout, "locked") {
		t.Errorf("user lock printed %q", r.stdout)
	}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--tls", "off", "--db", db}
	srv := startServer(t, runOpts{dir: dir}, args...)
	if status, _ := srv.login(srv.client(nil), "locky", "a long password"); status != http.StatusForbidden {
		t.Errorf("login of a locked user: %d, want 403", status)
	}
	mustRun(t, runOpts{dir: dir}, "user", "unlock", "locky", "--db", db)
	if status, who := srv.login(srv.client(nil), "locky", "a long password"); status != http.StatusSeeOther || who != "locky" {
		t.Errorf("login after unlocking: %d as %q", status, who)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	a := mustRun(t, runOpts{dir: dir}, "audit", "locky", "--db", db)
	if !strings.Contains(a.stdout, "account_locked") || !strings.Contains(a.stdout, "account_unlocked") || !strings.Contains(a.stdout, "passkeyd user lock") {
		t.Errorf("audit log:\n%s", a.stdout)
	}
	if r := runBinary(t, runOpts{dir: dir}, "user", "lock", "nobody", "--db", db); r.code != 2 {
		t.Errorf("lock of an unknown user: exit %d", r.code)
	}
}

// TestForcedLanguage: --lang ja answers every request in Japanese, pages
// and JSON errors alike, whatever the browser asks for.
func TestForcedLanguage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, runOpts{dir: dir}, "serve", "--addr", "127.0.0.1:0", "--tls", "off", "--lang", "ja", "--db", "sqlite:"+filepath.Join(dir, "lang.db"))
	for _, tc := range []struct{ path, want string }{
		{"/login", `<html lang="ja">`},
		{"/api/passkeys", "先にログインしてください。"},
	} {
		req, err := http.NewRequest(http.MethodGet, srv.base+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Language", "en-US,en")
		resp, err := srv.client(nil).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), tc.want) {
			t.Errorf("%s with --lang ja: no %q in\n%.300s", tc.path, tc.want, body)
		}
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
