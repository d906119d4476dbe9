package main

import (
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// Defaults of the connection limits.
const (
	// defaultMaxConns bounds the open connections when the file limit
	// allows more.
	defaultMaxConns = 10_000
	// defaultMaxConnsPerAddr is how many connections one client address
	// may hold open: many browsers behind one address, but not a flood
	// of idle keep-alives from one client.
	defaultMaxConnsPerAddr = 256
)

// limitedListener holds at most max connections open, and at most
// perAddr from one address other than a trusted proxy's. A connection
// over a limit is closed as soon as it is accepted, so that one client
// cannot take the file descriptors (and the memory) every other client
// needs.
type limitedListener struct {
	net.Listener
	max, perAddr int
	trusted      []netip.Prefix

	mu     sync.Mutex
	open   int
	byAddr map[netip.Addr]int
}

func newLimitedListener(ln net.Listener, max, perAddr int, trusted []netip.Prefix) *limitedListener {
	return &limitedListener{Listener: ln, max: max, perAddr: perAddr, trusted: trusted, byAddr: map[netip.Addr]int{}}
}

// Accept returns the next connection within the limits.
func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := peerAddr(c)
		if !l.admit(addr) {
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: sync.OnceFunc(func() { l.release(addr) })}, nil
	}
}

func (l *limitedListener) admit(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max || (!l.isTrusted(addr) && l.byAddr[addr] >= l.perAddr) {
		return false
	}
	l.open++
	l.byAddr[addr]++
	return true
}

func (l *limitedListener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
}

func (l *limitedListener) isTrusted(a netip.Addr) bool {
	for _, p := range l.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is a connection's remote address; a peer without one (a unix
// socket) counts as the zero address.
func peerAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// limitedConn gives its place back when it is closed.
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// maxConnsFor is the connection limit: --max-conns when given, else
// defaultMaxConns or, when the process may open fewer files, most of
// what it may (leaving room for the database, logs and the rest).
func maxConnsFor(flag int) int {
	if flag > 0 {
		return flag
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < defaultMaxConns+256 {
		return max(64, int(rl.Cur)-256)
	}
	return defaultMaxConns
}
