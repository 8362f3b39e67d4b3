package netio

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Handler is what a protocol puts on a connection.
type Handler interface {
	// Data gets the window of unconsumed input after each read and returns
	// how many leading bytes it no longer needs. Calls for one connection
	// never overlap. An error closes the connection.
	Data(c *Conn, window []byte) (consumed int, err error)
	// Closed is called once, when the connection is gone for any reason.
	Closed(c *Conn, err error)
}

// Errors a connection closes with.
var (
	ErrSlowConsumer = errors.New("netio: peer reads slower than its output bound")
	ErrClosed       = errors.New("netio: connection closed")
	ErrWindowFull   = errors.New("netio: unconsumed input exceeds the window limit")
)

// errWouldBlock is what the socket says when it is drained; tls.Conn keeps
// working after it because it is a temporary net.Error.
var errWouldBlock = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "netio: would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// readBudget bounds the reads one readiness event serves, so a flooding
// peer cannot hold a goroutine forever; the one-shot re-arm brings it back.
const readBudget = 32

// Config bounds one connection.
type Config struct {
	MaxWindow int // largest unconsumed input: the stanza limit plus one read
	MaxQueue  int // largest pending output before ErrSlowConsumer
}

// Conn is a TCP connection, optionally TLS, served by a Poller.
type Conn struct {
	nc  *net.TCPConn
	rc  syscall.RawConn
	fd  int
	p   *Poller
	h   Handler
	cfg Config

	win       []byte                   // nil while idle
	tlsp      atomic.Pointer[tls.Conn] // set once the handshake is done
	transport transport
	paused    bool // the handler asked for a pause; no re-arm until it ends
	tlsNext   func() (*tls.Config, func(error))

	wmu      sync.Mutex
	out      [][]byte
	queued   int
	flushing bool
	closing  bool // close once the queue is written

	closed    atomic.Bool
	closeOnce sync.Once
	busy      atomic.Bool // a goroutine is serving reads

	// Syscalls go through RawConn so the descriptor cannot be closed and
	// reused under them; the callbacks are made once, not per call.
	readFn, writeFn func(fd uintptr) bool
	rbuf            []byte
	rn              int
	rerr            error
	wn              int
	werr            error

	// Value is for the protocol layer: the session this connection carries.
	Value any
}

// Attach registers nc with the poller under handler h. The connection is
// served from then on; with tlsConfig non-nil it first completes a TLS
// handshake (direct TLS, XEP-0368), on the calling goroutine.
func (p *Poller) Attach(nc *net.TCPConn, h Handler, cfg Config, tlsConfig *tls.Config) (*Conn, error) {
	rc, err := nc.SyscallConn()
	if err != nil {
		return nil, err
	}
	c := &Conn{nc: nc, rc: rc, p: p, h: h, cfg: cfg}
	c.transport.c = c
	rc.Control(func(fd uintptr) { c.fd = int(fd) })
	c.readFn = func(fd uintptr) bool {
		c.rn, c.rerr = unix.Read(int(fd), c.rbuf)
		return true
	}
	c.writeFn = func(fd uintptr) bool {
		c.wn, c.werr = unix.Writev(int(fd), c.out[:min(len(c.out), 64)])
		return true
	}
	if tlsConfig != nil {
		if err := c.handshake(tlsConfig); err != nil {
			nc.Close()
			return nil, err
		}
	}
	if err := p.add(c); err != nil {
		nc.Close()
		return nil, err
	}
	if tlsConfig != nil {
		go c.serve() // the handshake may have buffered application data
	}
	return c, nil
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr returns the local address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// TLS returns the connection state once TLS is up, else nil.
func (c *Conn) TLS() *tls.ConnectionState {
	tc := c.tlsp.Load()
	if tc == nil {
		return nil
	}
	cs := tc.ConnectionState()
	return &cs
}

// Buffered returns the bytes of the read window and the output queue, for
// measuring what a session costs.
func (c *Conn) Buffered() (in, out int) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return cap(c.win), c.queued
}

func (c *Conn) serve() {
	// A stale event for a reused descriptor must not start a second reader.
	if c.closed.Load() || !c.busy.CompareAndSwap(false, true) {
		return
	}
	switch c.serveLocked() {
	case drained:
		if !c.paused {
			c.rearm()
		}
	case tlsStarts:
		// Only now, with busy cleared: the handshake's goroutine serves
		// the connection when it is done, and must find it free.
		c.beginTLS()
	case budgetSpent:
		// Not a re-arm: with TLS the rest may already sit in crypto/tls's
		// buffer, where no readiness event would ever announce it. A new
		// goroutine lets other connections run first.
		if !c.paused {
			go c.serve()
		}
	}
}

// What serveLocked leaves to do.
type served uint8

const (
	stopped     served = iota // closed
	drained                   // the socket would block: wait for readiness
	budgetSpent               // input may remain: serve again
	tlsStarts                 // the handler asked for STARTTLS
)

// serveLocked reads until the socket is drained or the budget is spent. It
// clears busy before returning so that the event a re-arm brings finds the
// connection free.
func (c *Conn) serveLocked() served {
	defer c.busy.Store(false)
	for range readBudget {
		if c.win == nil {
			c.win = getWindow()
		}
		if len(c.win) == cap(c.win) {
			if cap(c.win) >= c.cfg.MaxWindow {
				c.fail(ErrWindowFull)
				return stopped
			}
			grown := make([]byte, len(c.win), min(2*cap(c.win), c.cfg.MaxWindow))
			copy(grown, c.win)
			putWindow(c.win)
			c.win = grown
		}
		n, err := c.read(c.win[len(c.win):cap(c.win)])
		if n > 0 {
			c.win = c.win[:len(c.win)+n]
			used, herr := c.h.Data(c, c.win)
			if herr != nil {
				c.fail(herr)
				return stopped
			}
			if c.closed.Load() {
				return stopped
			}
			// What the handler queued for its own peer goes out once per read.
			c.Flush()
			c.win = c.win[:copy(c.win, c.win[used:])]
			if c.tlsNext != nil {
				return tlsStarts
			}
		}
		if err == errWouldBlock {
			c.releaseWindow()
			return drained
		}
		if err != nil {
			c.fail(err)
			return stopped
		}
	}
	c.releaseWindow()
	return budgetSpent
}

// releaseWindow gives the window back when nothing in it is pending.
func (c *Conn) releaseWindow() {
	if len(c.win) == 0 {
		putWindow(c.win)
		c.win = nil
	}
}

func (c *Conn) rearm() {
	if !c.closed.Load() {
		if err := c.p.rearm(c); err != nil {
			c.fail(err)
		}
	}
}

// Pause stops reading for d (rate limiting); call it from Handler.Data.
func (c *Conn) Pause(d time.Duration) {
	c.paused = true
	time.AfterFunc(d, func() {
		c.paused = false
		// Serve rather than re-arm: with TLS, input may be buffered where
		// the poller cannot see it. A read that would block re-arms.
		c.serve()
	})
}

func (c *Conn) read(p []byte) (int, error) {
	if tc := c.tlsp.Load(); tc != nil {
		n, err := tc.Read(p)
		if errors.Is(err, errWouldBlock) && c.closed.Load() {
			err = ErrClosed
		}
		return n, err
	}
	return c.rawRead(p)
}

func (c *Conn) rawRead(p []byte) (int, error) {
	for {
		c.rbuf = p
		if err := c.rc.Read(c.readFn); err != nil {
			return 0, err
		}
		c.rbuf = nil
		n, err := c.rn, c.rerr
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, errWouldBlock
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// StartTLS upgrades the connection after the handler has queued its
// <proceed/>: once Data returns, the queue is flushed, the handshake runs on
// a goroutine of its own, and done reports the outcome; reading resumes
// after done returns. Call it from Handler.Data.
func (c *Conn) StartTLS(cfg *tls.Config, done func(error)) {
	c.tlsNext = func() (*tls.Config, func(error)) { return cfg, done }
}

func (c *Conn) beginTLS() {
	cfg, done := c.tlsNext()
	c.tlsNext = nil
	if c.win != nil {
		// Nothing may follow <starttls/> before the handshake (RFC 6120 §5.4.3.3).
		putWindow(c.win)
		c.win = nil
	}
	go func() {
		if err := c.drain(5 * time.Second); err != nil {
			c.fail(err)
			return
		}
		err := c.handshake(cfg)
		done(err)
		if err != nil {
			c.fail(err)
			return
		}
		// The handshake may have read application data into the TLS
		// buffer already: serve now rather than wait for the socket.
		c.serve()
	}()
}

// handshake runs the server side of a TLS handshake, blocking.
func (c *Conn) handshake(cfg *tls.Config) error {
	c.transport.blocking = true
	c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	tc := tls.Server(&c.transport, cfg)
	err := tc.Handshake()
	c.nc.SetDeadline(time.Time{})
	c.transport.blocking = false
	if err != nil {
		return err
	}
	c.tlsp.Store(tc)
	return nil
}

// transport is the net.Conn a tls.Conn works over: blocking during the
// handshake, non-blocking after it, with writes going to the bounded queue.
type transport struct {
	c        *Conn
	blocking bool
}

func (t *transport) Read(p []byte) (int, error) {
	if t.blocking {
		return t.c.nc.Read(p)
	}
	return t.c.rawRead(p)
}

func (t *transport) Write(p []byte) (int, error) {
	if t.blocking {
		return t.c.nc.Write(p)
	}
	if err := t.c.enqueue(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (t *transport) Close() error                       { return t.c.nc.Close() }
func (t *transport) LocalAddr() net.Addr                { return t.c.nc.LocalAddr() }
func (t *transport) RemoteAddr() net.Addr               { return t.c.nc.RemoteAddr() }
func (t *transport) SetDeadline(d time.Time) error      { return t.c.nc.SetDeadline(d) }
func (t *transport) SetReadDeadline(d time.Time) error  { return t.c.nc.SetReadDeadline(d) }
func (t *transport) SetWriteDeadline(d time.Time) error { return t.c.nc.SetWriteDeadline(d) }

// Queue adds p to the output without writing it yet; Flush writes. Queueing
// many stanzas and flushing once makes one writev of them.
func (c *Conn) Queue(p []byte) error {
	if tc := c.tlsp.Load(); tc != nil {
		_, err := tc.Write(p)
		return err
	}
	return c.enqueue(p)
}

// Write queues p and flushes.
func (c *Conn) Write(p []byte) error {
	if err := c.Queue(p); err != nil {
		return err
	}
	c.Flush()
	return nil
}

func (c *Conn) enqueue(p []byte) error {
	c.wmu.Lock()
	if c.closed.Load() {
		c.wmu.Unlock()
		return ErrClosed
	}
	// One item is always taken into an empty queue, so a stanza larger
	// than the bound can still be delivered to a peer that reads.
	if c.queued > 0 && c.queued+len(p) > c.cfg.MaxQueue {
		c.wmu.Unlock()
		go c.fail(ErrSlowConsumer)
		return ErrSlowConsumer
	}
	c.queued += len(p)
	for len(p) > 0 {
		if k := len(c.out); k > 0 && len(c.out[k-1]) < cap(c.out[k-1]) {
			last := c.out[k-1]
			n := copy(last[len(last):cap(last)], p)
			c.out[k-1] = last[:len(last)+n]
			p = p[n:]
			continue
		}
		c.out = append(c.out, getChunk())
	}
	c.wmu.Unlock()
	return nil
}

// Flush writes what is queued as far as the socket takes it; the rest is
// written by a goroutine that lives only while the peer is slow.
func (c *Conn) Flush() {
	c.wmu.Lock()
	if c.flushing || c.queued == 0 {
		c.wmu.Unlock()
		return
	}
	done, err := c.writeLocked()
	if err != nil {
		c.wmu.Unlock()
		c.fail(err)
		return
	}
	if done {
		closing := c.closing
		c.wmu.Unlock()
		if closing {
			c.fail(nil)
		}
		return
	}
	c.flushing = true
	c.wmu.Unlock()
	go c.flushSlow()
}

// writeLocked writes with writev until the queue is empty (done) or the
// socket is full.
func (c *Conn) writeLocked() (done bool, err error) {
	for c.queued > 0 {
		if err := c.rc.Write(c.writeFn); err != nil {
			return false, err
		}
		n, err := c.wn, c.werr
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		c.consume(n)
	}
	return true, nil
}

func (c *Conn) consume(n int) {
	c.queued -= n
	i := 0
	for ; i < len(c.out) && n >= len(c.out[i]); i++ {
		n -= len(c.out[i])
		putChunk(c.out[i])
		c.out[i] = nil
	}
	c.out = c.out[:copy(c.out, c.out[i:])]
	if n > 0 {
		c.out[0] = c.out[0][n:]
	}
}

func (c *Conn) flushSlow() {
	// RawConn.Write with a callback that reports "not done" parks this
	// goroutine in the runtime's poller until the socket is writable.
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		for c.queued > 0 {
			n, err := unix.Writev(int(fd), c.out[:min(len(c.out), 64)])
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return false
			}
			if err != nil {
				werr = err
				return true
			}
			c.consume(n)
		}
		return true
	})
	c.wmu.Lock()
	c.flushing = false
	closing := c.closing
	c.wmu.Unlock()
	if err == nil {
		err = werr
	}
	if err != nil || closing {
		c.fail(err)
	}
}

// drain waits until the queue is written, for at most d.
func (c *Conn) drain(d time.Duration) error {
	c.Flush()
	deadline := time.Now().Add(d)
	for {
		c.wmu.Lock()
		busy := c.queued > 0
		c.wmu.Unlock()
		if !busy {
			return nil
		}
		if c.closed.Load() {
			return ErrClosed
		}
		if time.Now().After(deadline) {
			return ErrSlowConsumer
		}
		time.Sleep(time.Millisecond)
	}
}

// CloseAfterFlush closes the connection once what is queued is written (a
// stream's last words), or after a few seconds if the peer does not read.
func (c *Conn) CloseAfterFlush() {
	c.wmu.Lock()
	c.closing = true
	idle := c.queued == 0
	c.wmu.Unlock()
	if idle {
		c.fail(nil)
		return
	}
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.Flush()
}

// Close closes the connection at once.
func (c *Conn) Close() { c.fail(nil) }

func (c *Conn) fail(err error) {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.p.remove(c)
		c.nc.Close()
		c.wmu.Lock()
		for _, b := range c.out {
			putChunk(b)
		}
		c.out, c.queued = nil, 0
		c.wmu.Unlock()
		c.h.Closed(c, err)
	})
}
