package scaleout_test

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// proxyMode is what a tcpProxy does with connections.
type proxyMode int

const (
	// forward passes connections on to the target.
	forward proxyMode = iota
	// refuse accepts a connection and resets it at once, as a host whose
	// database has gone down does.
	refuse
	// blackhole accepts a connection and never answers, as a network
	// partition or a hung server does; the connection is held until the
	// mode changes.
	blackhole
)

// tcpProxy forwards TCP connections from a loopback port to a target, and
// can cut them: a database outage on demand.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	live  map[net.Conn]struct{} // both ends of forwarded connections
	held  []net.Conn            // blackholed connections
	wg    sync.WaitGroup
	total int // connections accepted
}

// newProxy starts a proxy to target; it is closed when the test ends.
func newProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, live: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// addr is where the proxy listens.
func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		p.total++
		mode := p.mode
		switch mode {
		case refuse:
			reset(c)
		case blackhole:
			p.held = append(p.held, c)
		}
		p.mu.Unlock()
		if mode == forward {
			p.wg.Go(func() { p.forward(c) })
		}
	}
}

// forward copies between c and a new connection to the target until
// either side ends or the proxy cuts them.
func (p *tcpProxy) forward(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		reset(c)
		return
	}
	p.mu.Lock()
	if p.mode != forward { // cut while dialling
		p.mu.Unlock()
		reset(c)
		reset(up)
		return
	}
	p.live[c], p.live[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// One direction ended: end both, so the other copy returns.
		dst.Close()
		src.Close()
	}
	wg.Go(func() { pipe(up, c) })
	wg.Go(func() { pipe(c, up) })
	wg.Wait()
	p.mu.Lock()
	delete(p.live, c)
	delete(p.live, up)
	p.mu.Unlock()
}

// cut starts an outage: every live connection is reset, and new ones are
// refused or blackholed, as mode says.
func (p *tcpProxy) cut(mode proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	for c := range p.live {
		reset(c)
	}
	if mode != blackhole {
		p.releaseHeld()
	}
}

// restore ends the outage: blackholed connections are reset (their
// clients retry), new connections are forwarded.
func (p *tcpProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = forward
	p.releaseHeld()
}

// releaseHeld resets the blackholed connections; p.mu must be held.
func (p *tcpProxy) releaseHeld() {
	for _, c := range p.held {
		reset(c)
	}
	p.held = nil
}

// accepted returns how many connections the proxy has accepted.
func (p *tcpProxy) accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

func (p *tcpProxy) close() {
	p.ln.Close()
	p.cut(refuse)
	p.wg.Wait()
}

// reset closes c with a TCP RST rather than a FIN where it can, as a
// crashed peer or a firewall would.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}
