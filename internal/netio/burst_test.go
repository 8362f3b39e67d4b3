package netio

import (
	"bufio"
	"crypto/tls"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// overlap counts how many goroutines are inside a handler at once.
type overlap struct {
	cur, peak atomic.Int32
}

func (o *overlap) enter() {
	n := o.cur.Add(1)
	for {
		p := o.peak.Load()
		if n <= p || o.peak.CompareAndSwap(p, n) {
			break
		}
	}
	// Long enough that goroutines of their own would pile up here.
	time.Sleep(time.Millisecond)
}

func (o *overlap) leave() { o.cur.Add(-1) }

// burstHandler counts the data it reads and the closes, and how many of
// each run at once.
type burstHandler struct {
	data, closes overlap
	read         atomic.Int64
	closed       atomic.Int64
}

func (h *burstHandler) Data(_ *Conn, w []byte) (int, error) {
	h.data.enter()
	defer h.data.leave()
	h.read.Add(int64(len(w)))
	return len(w), nil
}

func (h *burstHandler) Closed(*Conn, error) {
	h.closes.enter()
	defer h.closes.leave()
	h.closed.Add(1)
}

// burstConns is how many connections a burst test makes: many, within
// the descriptors the process may open (two per connection).
func burstConns(t *testing.T) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	n := min(2000, (int(lim.Cur)-200)/2)
	if n < 200 {
		t.Skipf("only %d descriptors", lim.Cur)
	}
	return n
}

// waitFor polls cond until it holds; the deadline only keeps a broken
// build from hanging, it measures nothing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("never:", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBurstBoundedWorkers: thousands of connections that become ready at
// once, and then close at once, are served by no more goroutines at a time
// than the poller's bound, and every one of them is served.
func TestBurstBoundedWorkers(t *testing.T) {
	n := burstConns(t)
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	const bound = 4
	p.maxWorkers = bound
	p.trim = &trimmer{free: func() {}, collect: func() {}, open: new(atomic.Int64)}
	go p.Run()
	t.Cleanup(p.Close)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h := &burstHandler{}
	var attached atomic.Int64
	go func() {
		for {
			nc, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			if _, err := p.Attach(nc, h, defaultCfg, nil); err != nil {
				t.Error(err)
				return
			}
			attached.Add(1)
		}
	}()
	clients := make([]net.Conn, n)
	for i := range clients {
		if clients[i], err = net.Dial("tcp", ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	waitFor(t, "all attached", func() bool { return attached.Load() == int64(n) })

	for _, c := range clients {
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all read", func() bool { return h.read.Load() == int64(n) })
	if peak := h.data.peak.Load(); peak > bound {
		t.Errorf("%d connections read at once; the bound is %d", peak, bound)
	}

	for _, c := range clients {
		c.Close()
	}
	waitFor(t, "all closed", func() bool { return h.closed.Load() == int64(n) })
	if peak := h.closes.peak.Load(); peak > bound {
		t.Errorf("%d connections closed at once; the bound is %d", peak, bound)
	}
	// The workers end with the burst.
	waitFor(t, "workers gone", func() bool { return workers(p) == 0 })
}

func workers(p *Poller) int {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	return p.running
}

// TestHandshakeGate: STARTTLS handshakes beyond the gate's bound wait
// without a goroutine each, and a slot freed by a peer that leaves goes to
// the next in line, so a good client gets its handshake in the end.
func TestHandshakeGate(t *testing.T) {
	const bound, stalled = 2, 20
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	p.hs = newGate(bound)
	go p.Run()
	t.Cleanup(p.Close)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h := &lineEcho{closed: make(chan error, stalled+1), tlsCfg: &tls.Config{Certificates: []tls.Certificate{testCert(t)}}}
	go func() {
		for {
			nc, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			p.Attach(nc, h, defaultCfg, nil)
		}
	}()

	before := runtime.NumGoroutine()
	var waiting []net.Conn
	for range stalled {
		// Asks for TLS and never sends a ClientHello.
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("starttls\n"))
		if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != "proceed\n" {
			t.Fatalf("got %q, %v", got, err)
		}
		waiting = append(waiting, c)
	}
	waitFor(t, "the line", func() bool {
		p.hs.mu.Lock()
		defer p.hs.mu.Unlock()
		return len(p.hs.waiting) == stalled-bound
	})
	waitFor(t, "workers gone", func() bool { return workers(p) == 0 })
	if n := runtime.NumGoroutine() - before; n > bound {
		t.Errorf("%d goroutines more for %d handshakes and a gate of %d", n, stalled, bound)
	}

	for _, c := range waiting {
		c.Close()
	}
	for range stalled {
		select {
		case <-h.closed:
		case <-time.After(30 * time.Second):
			t.Fatal("a stalled handshake was never closed")
		}
	}
	s := &server{ln: ln, p: p, h: h}
	c, _ := dialMode(t, s, "starttls")
	c.Write([]byte("secret\n"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != "> secret\n" {
		t.Fatalf("after the line: %q, %v", got, err)
	}
}

// TestTrimmer: a burst collects early with the workers held, then every
// step, and gives memory back once, after it is over; a few closes do
// neither.
func TestTrimmer(t *testing.T) {
	var mu sync.Mutex
	var collects, frees int
	var heldDuringFirst bool
	tr := &trimmer{open: new(atomic.Int64)}
	tr.collect = func() {
		mu.Lock()
		defer mu.Unlock()
		if collects == 0 {
			heldDuringFirst = tr.holding.Load()
		}
		collects++
	}
	freed := make(chan struct{}, 1)
	tr.free = func() {
		mu.Lock()
		frees++
		mu.Unlock()
		freed <- struct{}{}
	}

	for range trimCloses/4 - 1 {
		tr.closed()
	}
	mu.Lock()
	if collects != 0 {
		t.Errorf("%d collections for %d closes", collects, trimCloses/4-1)
	}
	mu.Unlock()

	for range 4 * trimCloses {
		tr.closed()
	}
	waitFor(t, "the step collections", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return !tr.collecting
	})
	mu.Lock()
	if !heldDuringFirst {
		t.Error("the first collection did not hold the workers")
	}
	if collects < 2 || collects > 5 {
		t.Errorf("%d collections for %d closes, want the first and up to one per %d", collects, 4*trimCloses+trimCloses/4-1, trimCloses)
	}
	mu.Unlock()
	if tr.holding.Load() {
		t.Error("workers still held")
	}
	tr.wait() // does not block once the collection is done

	select {
	case <-freed:
	case <-time.After(30 * time.Second):
		t.Fatal("memory never given back after the burst")
	}
	mu.Lock()
	if frees != 1 {
		t.Errorf("%d trims", frees)
	}
	mu.Unlock()
}
