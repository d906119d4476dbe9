package main

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// dialFrom connects to ln from a local address of 127.0.0.0/8 (all of it
// is this machine's loopback on Linux).
func dialFrom(t *testing.T, ln net.Listener, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refused reports whether the listener closed c at once: a read ends
// with EOF (or a reset) instead of waiting for data.
func refused(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

// acceptAll accepts from l until it is closed, handing each connection on.
func acceptAll(l net.Listener) <-chan net.Conn {
	accepted := make(chan net.Conn, 16)
	go func() {
		defer close(accepted)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	return accepted
}

func newTestListener(t *testing.T, max, perAddr int, trusted ...netip.Prefix) *limitedListener {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitedListener(raw, max, perAddr, trusted)
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLimitedListener(t *testing.T) {
	l := newTestListener(t, 5, 3)
	accepted := acceptAll(l)
	// Three from one address are let in; the fourth is closed at once.
	var held []net.Conn
	for range 3 {
		dialFrom(t, l, "127.0.0.1")
		held = append(held, <-accepted)
	}
	if c := dialFrom(t, l, "127.0.0.1"); !refused(t, c) {
		t.Fatal("a fourth connection from one address was let in, want it closed")
	}
	// Another address is not held up by the first one's.
	dialFrom(t, l, "127.0.0.2")
	held = append(held, <-accepted)
	// A closed connection gives its place back.
	if err := held[0].Close(); err != nil {
		t.Fatal(err)
	}
	dialFrom(t, l, "127.0.0.1")
	held = append(held, <-accepted)
	dialFrom(t, l, "127.0.0.3")
	held = append(held, <-accepted)
	// Five are open: the total is reached.
	if c := dialFrom(t, l, "127.0.0.4"); !refused(t, c) {
		t.Fatal("a connection over the total was let in, want it closed")
	}
	for _, c := range held[1:] {
		_ = c.Close()
	}
}

// A trusted proxy carries many clients: it has no limit of its own.
func TestLimitedListenerTrustedProxy(t *testing.T) {
	l := newTestListener(t, 10, 1, netip.MustParsePrefix("127.0.0.9/32"))
	accepted := acceptAll(l)
	for range 3 {
		dialFrom(t, l, "127.0.0.9")
		defer (<-accepted).Close()
	}
	dialFrom(t, l, "127.0.0.1")
	defer (<-accepted).Close()
	if c := dialFrom(t, l, "127.0.0.1"); !refused(t, c) {
		t.Fatal("a second connection from an untrusted address was let in")
	}
}

func TestMaxConnsFor(t *testing.T) {
	if got := maxConnsFor(42); got != 42 {
		t.Fatalf("maxConnsFor(42) = %d", got)
	}
	if got := maxConnsFor(0); got < 64 || got > defaultMaxConns {
		t.Fatalf("maxConnsFor(0) = %d, want between 64 and %d", got, defaultMaxConns)
	}
}

// A flood of connections at once from one address: exactly the limit is
// let in, and every other one is closed.
func TestLimitedListenerFlood(t *testing.T) {
	l := newTestListener(t, 1000, 3)
	accepted := acceptAll(l)
	const n = 50
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, c := range conns {
		defer c.Close()
	}
	in := map[string]bool{}
	for range 3 {
		c := <-accepted
		defer c.Close()
		in[c.RemoteAddr().String()] = true
	}
	for _, c := range conns {
		if in[c.LocalAddr().String()] {
			continue
		}
		if !refused(t, c) {
			t.Fatalf("connection %s of the flood was let in past the limit", c.LocalAddr())
		}
	}
	// Every refused one was accepted and closed before this: no more were
	// let in.
	select {
	case c := <-accepted:
		t.Fatalf("a fourth connection, %s, was let in", c.RemoteAddr())
	default:
	}
}
