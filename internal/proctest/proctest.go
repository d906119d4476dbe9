// Package proctest holds what the tests that run the passkeyd binary as a
// subprocess share: building it, the environment to run it in, a free
// port, and a log of its output lines that a test can wait on.
package proctest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// BuildPasskeyd builds cmd/passkeyd into dir and returns the binary's
// path.
func BuildPasskeyd(dir string) (path string, err error) {
	return Build(dir, "./cmd/passkeyd")
}

// Build builds the main package pkg of the module ("./examples/minimal")
// into dir and returns the binary's path.
func Build(dir, pkg string) (path string, err error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	path = filepath.Join(dir, filepath.Base(pkg))
	build := exec.Command("go", "build", "-o", path, pkg)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return path, nil
}

// moduleRoot returns the directory of the go.mod that the working
// directory belongs to.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// Env is the environment to run passkeyd in: the caller's own without any
// PASSKEYD_ setting of whoever runs the tests, which would change the
// configuration under test, plus extra.
func Env(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PASSKEYD_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// FreePort returns a TCP port on 127.0.0.1 that nobody listens on now.
// It is found by listening and closing, so another process can take it
// before the caller does.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ListeningAddr returns the value of the addr= attribute of a log line,
// such as passkeyd's "passkeyd listening" line, or "" when it has none.
func ListeningAddr(line string) string {
	m := regexp.MustCompile(`\baddr=(\S+)`).FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return m[1]
}

// LineLog collects a process's output lines and lets tests wait for one.
// The zero value is an empty log, ready to use; a LineLog must not be
// copied after first use.
type LineLog struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced when lines grow; closed when the output ends
	eof     bool
}

// changedLocked returns l.changed, making it first; l.mu is held.
func (l *LineLog) changedLocked() chan struct{} {
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.changed
}

// Consume reads r line by line into the log until r ends, then marks the
// output as ended.
func (l *LineLog) Consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		close(l.changedLocked())
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.eof = true
	close(l.changedLocked())
	l.mu.Unlock()
}

// Changed returns a channel that is closed when the log next grows or
// its output ends; once the output has ended it is closed already.
func (l *LineLog) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changedLocked()
}

// Wait returns the first line after the first from that contains substr,
// waiting for it up to timeout. It fails when the output ends or the
// timeout passes first.
func (l *LineLog) Wait(substr string, from int, timeout time.Duration) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		lines, eof, changed := l.lines, l.eof, l.changedLocked()
		l.mu.Unlock()
		for ; from < len(lines); from++ {
			if strings.Contains(lines[from], substr) {
				return lines[from], nil
			}
		}
		if eof {
			return "", fmt.Errorf("output ended before a line with %q", substr)
		}
		select {
		case <-changed:
		case <-deadline.C:
			return "", fmt.Errorf("no line with %q within %s", substr, timeout)
		}
	}
}

// Len is the number of lines so far.
func (l *LineLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// Index returns the index of the first line so far that contains substr,
// or -1.
func (l *LineLog) Index(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, line := range l.lines {
		if strings.Contains(line, substr) {
			return i
		}
	}
	return -1
}

// Count counts the lines after the first from that contain every one of
// substrs.
func (l *LineLog) Count(from int, substrs ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
next:
	for _, line := range l.lines[min(from, len(l.lines)):] {
		for _, s := range substrs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		n++
	}
	return n
}

// Since returns the lines after the first n, joined by newlines.
func (l *LineLog) Since(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[min(n, len(l.lines)):], "\n")
}

// Tail returns the last n lines, joined by newlines.
func (l *LineLog) Tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-n):], "\n")
}
