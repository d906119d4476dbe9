package main

import (
	"os"
	"testing"
	"time"
)

func TestRunConfigCheck(t *testing.T) {
	good := runConfig{url: "http://localhost:8000", users: 1, concurrency: 1, duration: time.Second, maxRequests: 1, mode: "login"}
	tests := []struct {
		name   string
		change func(*runConfig)
		ok     bool
	}{
		{"good", func(*runConfig) {}, true},
		{"127.0.0.1", func(c *runConfig) { c.url = "http://127.0.0.1:8000" }, true},
		{"::1", func(c *runConfig) { c.url = "https://[::1]:8443" }, true},
		{"another host", func(c *runConfig) { c.url = "http://example.com" }, false},
		{"private address", func(c *runConfig) { c.url = "http://10.0.0.1:8000" }, false},
		{"no scheme", func(c *runConfig) { c.url = "localhost:8000" }, false},
		{"unknown mode", func(c *runConfig) { c.mode = "other" }, false},
		{"too long", func(c *runConfig) { c.duration = time.Hour }, false},
		{"too many clients", func(c *runConfig) { c.concurrency = maxConcurrency + 1 }, false},
		{"no users", func(c *runConfig) { c.users = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			if err := c.check(); (err == nil) != tt.ok {
				t.Fatalf("check() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{0: time.Millisecond, 50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := percentile(d, p); got != want {
			t.Errorf("percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing should be 0")
	}
}

func TestReadProcSelf(t *testing.T) {
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if s.rssKiB <= 0 || s.peakKiB < s.rssKiB {
		t.Fatalf("sample %+v: want a positive RSS and a peak at least as large", s)
	}
	if z, err := readProc(0); err != nil || z != (procSample{}) {
		t.Fatalf("readProc(0) = %+v, %v; want a zero sample", z, err)
	}
}
