package netio

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stuckClose is a handler whose Closed blocks, as a close path that takes
// a lock the caller of Flush holds would.
type stuckClose struct {
	entered chan struct{}
	release chan struct{}
}

func (h *stuckClose) Data(_ *Conn, w []byte) (int, error) { return len(w), nil }
func (h *stuckClose) Closed(*Conn, error) {
	close(h.entered)
	<-h.release
}

// TestFlushToDeadPeerDoesNotClose: a write that fails because the
// connection is dead does not run the close path on the writer's
// goroutine, which may be routing for another session under a lock.
func TestFlushToDeadPeerDoesNotClose(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	go p.Run()
	t.Cleanup(func() { p.Close() })
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	nc, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	h := &stuckClose{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(h.release)
	c, err := p.Attach(nc, h, defaultCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Writing now fails with EPIPE, without any readiness event that
	// would let the poller find out first.
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		c.Queue([]byte("<message/>"))
		c.Flush()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Flush ran the close path on its caller's goroutine")
	}
	select {
	case <-h.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the dead connection was never closed")
	}
}
