package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	binary = filepath.Join(dir, "passkeyd")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build passkeyd:", err)
		return 1
	}
	return m.Run()
}

// cmdTimeout bounds every run of the binary.
const cmdTimeout = 30 * time.Second

// processEnv is the environment for the binary: the test's own, without
// any PASSKEYD_ setting of whoever runs the tests, plus extra.
func processEnv(extra []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PASSKEYD_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

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
	cmd.Env = processEnv(o.env)
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

	mu      sync.Mutex
	lines   []string
	eof     bool
	changed chan struct{} // closed and replaced whenever lines or eof change
	exited  chan struct{} // closed once the process has been waited for
	waitErr error
}

var listeningAddrRE = regexp.MustCompile(`\baddr=(\S+)`)

// startServer starts passkeyd with args and waits for its "passkeyd
// listening" log line, which names the address it listens on.
func startServer(t *testing.T, o runOpts, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = o.dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = processEnv(o.env)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, changed: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
		}
		s.mu.Lock()
		s.eof = true
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
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
			t.Logf("passkeyd %s log:\n%s", strings.Join(args, " "), s.log())
		}
	})
	line := s.waitFor("passkeyd listening")
	m := listeningAddrRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no addr in %q", line)
	}
	s.addr = m[1]
	// The origin says whether TLS is on.
	scheme := "http"
	if strings.Contains(line, "origin=https://") {
		scheme = "https"
	}
	s.base = scheme + "://" + s.addr
	return s
}

// log returns everything the server logged so far.
func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// waitFor waits until the server logs a line containing substr, and
// returns that line. It fails the test when the server ends first.
func (s *server) waitFor(substr string) string {
	s.t.Helper()
	deadline := time.NewTimer(cmdTimeout)
	defer deadline.Stop()
	for i := 0; ; {
		s.mu.Lock()
		for ; i < len(s.lines); i++ {
			if strings.Contains(s.lines[i], substr) {
				line := s.lines[i]
				s.mu.Unlock()
				return line
			}
		}
		eof, changed := s.eof, s.changed
		s.mu.Unlock()
		if eof {
			s.t.Fatalf("passkeyd ended without logging %q; log:\n%s", substr, s.log())
		}
		select {
		case <-changed:
		case <-deadline.C:
			s.t.Fatalf("passkeyd did not log %q within %v; log:\n%s", substr, cmdTimeout, s.log())
		}
	}
}

// lineIndex returns the index of the first line so far that contains
// substr, or -1.
func (s *server) lineIndex(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range s.lines {
		if strings.Contains(l, substr) {
			return i
		}
	}
	return -1
}

// logged reports whether some line so far contains substr.
func (s *server) logged(substr string) bool {
	return strings.Contains(s.log(), substr)
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
		s.t.Fatalf("passkeyd did not stop within %v; log:\n%s", cmdTimeout, s.log())
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
