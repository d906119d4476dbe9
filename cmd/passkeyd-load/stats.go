package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of CPU times in
// /proc/PID/stat; 100 on every Linux this runs on.
const clockTicks = 100

// procSample is a process's CPU time and memory at one moment.
type procSample struct {
	cpu     time.Duration // user + system
	rssKiB  int64
	peakKiB int64
}

// readProc samples process pid; pid 0 means "not asked", a zero sample.
func readProc(pid int) (procSample, error) {
	if pid == 0 {
		return procSample{}, nil
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, fmt.Errorf("-server-pid: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return procSample{}, fmt.Errorf("-server-pid: unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procSample{}, fmt.Errorf("-server-pid: unexpected /proc/%d/stat", pid)
	}
	s := procSample{cpu: time.Duration(utime+stime) * time.Second / clockTicks}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, fmt.Errorf("-server-pid: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		name, value, _ := strings.Cut(line, ":")
		kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			s.rssKiB = kib
		case "VmHWM":
			s.peakKiB = kib
		}
	}
	return s, nil
}

// result is what a run measured.
type result struct {
	Mode           string  `json:"mode"`
	Users          int     `json:"users"`
	Concurrency    int     `json:"concurrency"`
	Ops            int     `json:"ops"`
	Errors         int     `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	DatabaseLocked bool    `json:"database_locked"`
	Seconds        float64 `json:"seconds"`
	OpsPerSecond   float64 `json:"ops_per_second"`
	P50ms          float64 `json:"p50_ms"`
	P95ms          float64 `json:"p95_ms"`
	P99ms          float64 `json:"p99_ms"`
	Maxms          float64 `json:"max_ms"`
	// Server figures, when -server-pid was given.
	ServerCPUSeconds   float64 `json:"server_cpu_seconds,omitempty"`
	OpsPerServerCPUSec float64 `json:"ops_per_server_cpu_second,omitempty"`
	ServerCPUPerOpUs   float64 `json:"server_cpu_us_per_op,omitempty"`
	ServerRSSMiB       float64 `json:"server_rss_mib,omitempty"`
	ServerPeakRSSMiB   float64 `json:"server_peak_rss_mib,omitempty"`

	latencies []time.Duration
	elapsed   time.Duration
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile returns the p-th percentile (0..100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)-1))
	return sorted[i]
}

// addServer fills in the totals and the server's share.
func (r *result) addServer(before, after procSample) {
	slices.Sort(r.latencies)
	r.Ops = len(r.latencies)
	r.Seconds = r.elapsed.Seconds()
	if r.Seconds > 0 {
		r.OpsPerSecond = float64(r.Ops) / r.Seconds
	}
	r.P50ms, r.P95ms, r.P99ms = ms(percentile(r.latencies, 50)), ms(percentile(r.latencies, 95)), ms(percentile(r.latencies, 99))
	r.Maxms = ms(percentile(r.latencies, 100))
	if cpu := after.cpu - before.cpu; cpu > 0 {
		r.ServerCPUSeconds = cpu.Seconds()
		r.OpsPerServerCPUSec = float64(r.Ops) / cpu.Seconds()
		r.ServerCPUPerOpUs = float64(cpu.Microseconds()) / float64(max(1, r.Ops))
	}
	r.ServerRSSMiB, r.ServerPeakRSSMiB = float64(after.rssKiB)/1024, float64(after.peakKiB)/1024
}

// print writes the table and the JSON line.
func (r *result) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "mode\tclients\tops\terrors\tops/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\t\n")
	fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", r.Mode, r.Concurrency, r.Ops, r.Errors, r.OpsPerSecond, r.P50ms, r.P95ms, r.P99ms, r.Maxms)
	tw.Flush()
	if r.ServerCPUSeconds > 0 {
		fmt.Fprintf(w, "server: %.2f s CPU, %.0f ops per CPU-second (%.0f µs each), RSS %.1f MiB (peak %.1f MiB)\n",
			r.ServerCPUSeconds, r.OpsPerServerCPUSec, r.ServerCPUPerOpUs, r.ServerRSSMiB, r.ServerPeakRSSMiB)
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
	b, _ := json.Marshal(r)
	fmt.Fprintf(w, "%s\n", b)
}
