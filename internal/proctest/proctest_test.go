package proctest

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestLineLog(t *testing.T) {
	var l LineLog
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		l.Consume(pr)
		close(done)
	}()
	changed := l.Changed()
	go func() {
		_, _ = io.WriteString(pw, "level=INFO msg=start\nlevel=INFO msg=\"passkeyd listening\" addr=127.0.0.1:8080\n")
	}()
	line, err := l.Wait("passkeyd listening", 0, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := ListeningAddr(line); got != "127.0.0.1:8080" {
		t.Errorf("ListeningAddr(%q) = %q", line, got)
	}
	select {
	case <-changed:
	default:
		t.Error("Changed channel not closed after lines arrived")
	}
	if _, err := l.Wait("msg=start", 1, 10*time.Millisecond); err == nil || !strings.Contains(err.Error(), "within") {
		t.Errorf("Wait from 1 for an earlier line: %v, want a timeout", err)
	}
	_, _ = io.WriteString(pw, "level=ERROR msg=boom\n")
	pw.Close()
	<-done
	if _, err := l.Wait("never", 0, 5*time.Second); err == nil || !strings.Contains(err.Error(), "ended") {
		t.Errorf("Wait after the end: %v, want an end error", err)
	}
	select {
	case <-l.Changed():
	default:
		t.Error("Changed channel open after the output ended")
	}
	if n := l.Len(); n != 3 {
		t.Errorf("Len = %d, want 3", n)
	}
	if n := l.Count(0, "level=INFO"); n != 2 {
		t.Errorf("Count(0, level=INFO) = %d, want 2", n)
	}
	if n := l.Count(1, "level=INFO", "addr="); n != 1 {
		t.Errorf("Count(1, level=INFO, addr=) = %d, want 1", n)
	}
	if n := l.Count(99, "level"); n != 0 {
		t.Errorf("Count(99) = %d, want 0", n)
	}
	if i := l.Index("boom"); i != 2 {
		t.Errorf("Index(boom) = %d, want 2", i)
	}
	if i := l.Index("nothing"); i != -1 {
		t.Errorf("Index(nothing) = %d, want -1", i)
	}
	if got := l.Since(2); got != "level=ERROR msg=boom" {
		t.Errorf("Since(2) = %q", got)
	}
	if got := l.Since(99); got != "" {
		t.Errorf("Since(99) = %q", got)
	}
	if got := l.Tail(1); got != "level=ERROR msg=boom" {
		t.Errorf("Tail(1) = %q", got)
	}
	if got := l.Tail(99); got != l.Since(0) {
		t.Errorf("Tail(99) = %q, want all of %q", got, l.Since(0))
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("PASSKEYD_PROCTEST", "x")
	env := Env("EXTRA=1")
	for _, kv := range env {
		if strings.HasPrefix(kv, "PASSKEYD_") {
			t.Errorf("Env kept %s", kv)
		}
	}
	if env[len(env)-1] != "EXTRA=1" {
		t.Errorf("Env did not end with the extra setting: %q", env[len(env)-1])
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 {
		t.Errorf("FreePort = %d", port)
	}
}

func TestListeningAddr(t *testing.T) {
	for line, want := range map[string]string{
		`msg="passkeyd listening" addr=[::1]:443 origin=https://x`: "[::1]:443",
		`msg=x myaddr=1.2.3.4:5`:                                   "",
		`addr=h:1`:                                                 "h:1",
		`msg=nothing`:                                              "",
	} {
		if got := ListeningAddr(line); got != want {
			t.Errorf("ListeningAddr(%q) = %q, want %q", line, got, want)
		}
	}
}
