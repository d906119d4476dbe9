package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd/internal/proctest"
)

// binary is passkeyd, built once for the tests that run it.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "passkeyd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary, err = proctest.BuildPasskeyd(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build passkeyd:", err)
		return 1
	}
	return m.Run()
}

// cmdTimeout bounds every run of the binary.
const cmdTimeout = 30 * time.Second

// result is how a run of the binary ended.
type result struct {
	code           int
	stdout, stderr string
}

// runOpts change how passkeyd runs.
type runOpts struct {
	dir   string   // working directory; "" is a fresh temporary one
	env   []string // extra environment
	stdin string
}

// runBinary runs passkeyd to completion.
func runBinary(t *testing.T, o runOpts, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = o.dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = proctest.Env(o.env...)
	cmd.Stdin = strings.NewReader(o.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
	default:
		t.Fatalf("passkeyd %s: %v; stderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs passkeyd and fails the test unless it exits 0.
func mustRun(t *testing.T, o runOpts, args ...string) result {
	t.Helper()
	r := runBinary(t, o, args...)
	if r.code != 0 {
		t.Fatalf("passkeyd %s: exit %d; stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// server is a running "passkeyd serve".
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	// base is the URL to reach it at.
	base string

	log     proctest.LineLog // its stderr
	exited  chan struct{}    // closed once the process has been waited for
	waitErr error
}

// startServer starts passkeyd with args and waits for its "passkeyd
// listening" log line, which names the address it listens on.
func startServer(t *testing.T, o runOpts, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = o.dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = proctest.Env(o.env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.log.Consume(stderr)
		// Wait only once stderr is drained, as exec requires.
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("passkeyd %s log:\n%s", strings.Join(args, " "), s.log.Since(0))
		}
	})
	line := s.waitFor("passkeyd listening")
	s.addr = proctest.ListeningAddr(line)
	if s.addr == "" {
		t.Fatalf("no addr in %q", line)
	}
	// The origin says whether TLS is on.
	scheme := "http"
	if strings.Contains(line, "origin=https://") {
		scheme = "https"
	}
	// The site answers for its origin's host name only (localhost by
	// default), not for the address it listens on.
	_, port, _ := net.SplitHostPort(s.addr)
	s.base = scheme + "://localhost:" + port
	return s
}

// waitFor waits until the server logs a line containing substr, and
// returns that line. It fails the test when the server ends first.
func (s *server) waitFor(substr string) string {
	s.t.Helper()
	line, err := s.log.Wait(substr, 0, cmdTimeout)
	if err != nil {
		s.t.Fatalf("passkeyd: %v; log:\n%s", err, s.log.Since(0))
	}
	return line
}

// logged reports whether some line so far contains substr.
func (s *server) logged(substr string) bool {
	return strings.Contains(s.log.Since(0), substr)
}

// stop sends SIGTERM and returns the exit status.
func (s *server) stop() int {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	return s.wait()
}

// wait waits for the process to end and returns its exit status.
func (s *server) wait() int {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(cmdTimeout):
		s.t.Fatalf("passkeyd did not stop within %v; log:\n%s", cmdTimeout, s.log.Since(0))
	}
	return s.cmd.ProcessState.ExitCode()
}

// client returns a client with its own cookie jar that does not follow
// redirects.
func (s *server) client(transport http.RoundTripper) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Transport:     transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       cmdTimeout,
	}
}

// login posts the login form and returns the status and the username
// the session then belongs to ("" for nobody).
func (s *server) login(c *http.Client, username, pw string) (int, string) {
	s.t.Helper()
	resp, err := c.PostForm(s.base+"/login", url.Values{"username": {username}, "password": {pw}})
	if err != nil {
		s.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, s.whoami(c)
}

// whoami asks /api/session who c is logged in as.
func (s *server) whoami(c *http.Client) string {
	s.t.Helper()
	resp, err := c.Get(s.base + "/api/session")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`"username":"([^"]*)"`).FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}
