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

// Handler is what a protocol puts on a connection. Its calls run on the
// Poller's few workers, so they must not wait for anything that only
// another connection's input would bring: a few such waits would stop
// every connection.
type Handler interface {
	// Data gets the window of unconsumed input after each read and returns
	// how many leading bytes it no longer needs. Calls for one connection
	// never overlap. An error closes the connection.
	Data(c *Conn, window []byte) (consumed int, err error)
	// Closed is called once, when the connection is gone for any reason.
	Closed(c *Conn, err error)
}

// Farewell is what a Handler implements to have last words when netio
// closes its connection for going over a limit of Config (ErrSlowConsumer,
// ErrWindowFull): a protocol's error that tells the peer why, such as an
// XMPP stream error.
type Farewell interface {
	// Farewell returns the bytes to write last, after the output already
	// queued and without regard to the output bound, or nil for none. It
	// is called at most once, and may run while Data runs. The bytes go
	// out as far as the peer reads them within a few seconds; then the
	// connection closes and Closed gets err.
	Farewell(err error) []byte
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
	// HandshakeTimeout bounds a TLS handshake, direct or after StartTLS;
	// 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
}

// DefaultHandshakeTimeout is the TLS handshake bound of a Config that sets
// none.
const DefaultHandshakeTimeout = 30 * time.Second

// farewellTime bounds how long the last words of a connection closed for
// a limit may take: a peer that does not read must not hold its memory.
const farewellTime = 3 * time.Second

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
	paused    atomic.Bool // the handler asked for a pause; no re-arm until it ends
	// sched holds listed (on the Poller's ready list) and the work other
	// goroutines leave for the next serving (dueFail, dueFarewell): they
	// must not run a close path themselves, and a goroutine each would
	// make a burst of them unbounded.
	sched   atomic.Uint32
	next    *Conn // on the ready list; under Poller.qmu
	tlsNext func() (*tls.Config, func(error))

	// With TLS, one write becomes many records, each enqueued on its own.
	// The bound is decided once per write, before encryption; tmu keeps
	// that decision and the write together, and admitted lets all the
	// records of an admitted write in. Writes crypto/tls makes on its own
	// while reading (alerts, key updates) are not admitted and meet the
	// bound record by record.
	tmu      sync.Mutex
	admitted atomic.Bool

	// busy: a worker is serving reads, or a handshake runs; it stays set
	// once serving stops for good, so that nothing reads a closing
	// connection again. It sits beside admitted to fill what would be
	// padding.
	busy atomic.Bool

	wmu      sync.Mutex
	out      [][]byte
	queued   int
	flushing bool
	closing  bool // close once the queue is written
	// cause is why the connection is closing once it is over a limit or a
	// write failed; it refuses all output from then on.
	cause error

	closed    atomic.Bool
	closeOnce sync.Once

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
		p.hs.enter()
		err := c.handshake(tlsConfig)
		p.hs.leave()
		if err != nil {
			nc.Close()
			return nil, err
		}
	}
	if err := p.add(c); err != nil {
		nc.Close()
		return nil, err
	}
	if tlsConfig != nil {
		p.ready(c) // the handshake may have buffered application data
	}
	return c, nil
}

// Config returns the bounds the connection was attached with.
func (c *Conn) Config() Config { return c.cfg }

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

// Bits of Conn.sched.
const (
	listed      = 1 << iota // on the ready list
	dueFail                 // a write failed: close with Conn.cause
	dueFarewell             // over the output bound: last words, then close
	dues        = dueFail | dueFarewell
)

// serve runs on a worker: what is due first, then reading.
func (c *Conn) serve() {
	if c.closed.Load() {
		return
	}
	// Before the busy check: a worker reading the connection now would
	// re-arm it, and the close would wait for the peer's next input. The
	// load first spares the common case an atomic write.
	if c.sched.Load()&dues != 0 && c.runDue() {
		return
	}
	// A stale event for a reused descriptor must not start a second reader.
	if !c.busy.CompareAndSwap(false, true) {
		return
	}
	res := c.serveLocked()
	switch res {
	case stopped:
		// Closed or closing for a limit: nothing reads it again, so its
		// window serves another connection rather than the collector.
		putWindow(c.win)
		c.win = nil
		return
	case tlsStarts:
		c.beginTLS() // busy until the handshake is done
		return
	}
	// Cleared before the re-arm, so that the event it brings finds the
	// connection free.
	c.busy.Store(false)
	if c.paused.Load() {
		return // the pause's end serves it
	}
	switch res {
	case drained:
		c.rearm()
	case budgetSpent:
		// Not a re-arm: with TLS the rest may already sit in crypto/tls's
		// buffer, where no readiness event would ever announce it. The
		// list's tail lets the connections already ready run first.
		c.p.ready(c)
	}
}

// runDue runs the work other goroutines left for the connection, and
// reports whether it closed the connection.
func (c *Conn) runDue() (closed bool) {
	due := c.sched.And(^uint32(dues)) & dues
	if due&dueFail != 0 {
		c.fail(nil) // with the write's error, from cause
		return true
	}
	if due&dueFarewell != 0 {
		c.farewell()
	}
	return false
}

// What serveLocked leaves to do.
type served uint8

const (
	stopped     served = iota // closed
	drained                   // the socket would block: wait for readiness
	budgetSpent               // input may remain: serve again
	tlsStarts                 // the handler asked for STARTTLS
)

// serveLocked reads until the socket is drained or the budget is spent.
func (c *Conn) serveLocked() served {
	for range readBudget {
		if c.win == nil {
			c.win = getWindow()
		}
		if len(c.win) == cap(c.win) {
			if cap(c.win) >= c.cfg.MaxWindow {
				c.overLimit(ErrWindowFull)
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
	c.paused.Store(true)
	time.AfterFunc(d, func() {
		c.paused.Store(false)
		// Serve rather than re-arm: with TLS, input may be buffered where
		// the poller cannot see it. A read that would block re-arms.
		c.p.ready(c)
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
// a goroutine of its own (once one of the Poller's handshake slots is
// free), and done reports the outcome; reading resumes after done returns.
// Call it from Handler.Data.
func (c *Conn) StartTLS(cfg *tls.Config, done func(error)) {
	c.tlsNext = func() (*tls.Config, func(error)) { return cfg, done }
}

// beginTLS hands the connection, still busy, to the handshake gate.
func (c *Conn) beginTLS() {
	if c.win != nil {
		// Nothing may follow <starttls/> before the handshake (RFC 6120 §5.4.3.3).
		putWindow(c.win)
		c.win = nil
	}
	c.p.hs.start(c)
}

// upgrade runs the STARTTLS handshake on a goroutine of the gate and hands
// the connection back to the workers.
func (c *Conn) upgrade() {
	cfg, done := c.tlsNext()
	c.tlsNext = nil
	if c.closed.Load() {
		done(ErrClosed) // by a timeout, while it waited for a slot
		return
	}
	if err := c.drain(5 * time.Second); err != nil {
		done(err)
		c.fail(err)
		return
	}
	err := c.handshake(cfg)
	done(err)
	if err != nil {
		c.fail(err)
		return
	}
	// The handshake may have read application data into the TLS buffer
	// already: serve now rather than wait for the socket.
	c.busy.Store(false)
	c.p.ready(c)
}

// handshake runs the server side of a TLS handshake, blocking for at most
// the configured time.
func (c *Conn) handshake(cfg *tls.Config) error {
	d := c.cfg.HandshakeTimeout
	if d <= 0 {
		d = DefaultHandshakeTimeout
	}
	c.transport.blocking = true
	c.nc.SetDeadline(time.Now().Add(d))
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
	if err := t.c.enqueue(p, t.c.admitted.Load()); err != nil {
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
// many stanzas and flushing once makes one writev of them. A p that would
// take the output over the bound closes the connection (ErrSlowConsumer),
// unless the output is empty: one write always fits, so a stanza larger
// than the bound still reaches a peer that reads. Queue may be called from
// several goroutines at once.
func (c *Conn) Queue(p []byte) error {
	tc := c.tlsp.Load()
	if tc == nil {
		return c.enqueue(p, false)
	}
	c.tmu.Lock()
	defer c.tmu.Unlock()
	c.wmu.Lock()
	err := c.admitLocked(len(p))
	c.wmu.Unlock()
	if err != nil || len(p) == 0 {
		return err
	}
	return c.writeTLS(tc, p)
}

// writeTLS encrypts p into the queue, every record of it taken; tmu is held.
func (c *Conn) writeTLS(tc *tls.Conn, p []byte) error {
	c.admitted.Store(true)
	_, err := tc.Write(p)
	c.admitted.Store(false)
	return err
}

// admitLocked decides whether n more bytes may join the output; over the
// bound, it leaves the closing to a worker, so that a sender routing to
// this peer is never held up by it.
func (c *Conn) admitLocked(n int) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.cause != nil {
		return c.cause
	}
	if n > 0 && c.queued > 0 && c.queued+n > c.cfg.MaxQueue {
		c.cause = ErrSlowConsumer
		c.sched.Or(dueFarewell)
		c.p.ready(c)
		return ErrSlowConsumer
	}
	return nil
}

// Write queues p and flushes.
func (c *Conn) Write(p []byte) error {
	if err := c.Queue(p); err != nil {
		return err
	}
	c.Flush()
	return nil
}

// enqueue appends p to the output; admitted skips the bound, which the
// caller has applied already or which last words do not meet.
func (c *Conn) enqueue(p []byte, admitted bool) error {
	c.wmu.Lock()
	if c.closed.Load() {
		c.wmu.Unlock()
		return ErrClosed
	}
	if !admitted {
		if err := c.admitLocked(len(p)); err != nil {
			c.wmu.Unlock()
			return err
		}
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
		if c.cause == nil {
			c.cause = err
		}
		c.wmu.Unlock()
		// Not on this goroutine: Flush is called by whoever routes to this
		// peer, maybe under a lock of their own that the close path (an
		// unbind, presence going out) would need.
		c.sched.Or(dueFail)
		c.p.ready(c)
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
func (c *Conn) CloseAfterFlush() { c.closeAfter(5 * time.Second) }

func (c *Conn) closeAfter(d time.Duration) {
	c.wmu.Lock()
	c.closing = true
	idle := c.queued == 0
	c.wmu.Unlock()
	if idle {
		c.fail(nil)
		return
	}
	c.nc.SetWriteDeadline(time.Now().Add(d))
	c.Flush()
}

// overLimit closes the connection for going over a limit of its Config,
// with the handler's last words.
func (c *Conn) overLimit(err error) {
	c.wmu.Lock()
	if c.cause != nil || c.closed.Load() {
		c.wmu.Unlock()
		return
	}
	c.cause = err
	c.wmu.Unlock()
	c.farewell()
}

// farewell writes the handler's last words after the queued output, past
// the bound (c.cause refuses all other output from now on), and closes
// once they are written or farewellTime has passed.
func (c *Conn) farewell() {
	c.wmu.Lock()
	err := c.cause
	c.wmu.Unlock()
	if f, ok := c.h.(Farewell); ok {
		if last := f.Farewell(err); len(last) > 0 {
			if tc := c.tlsp.Load(); tc != nil {
				// Under tmu, as in Queue: the admitted flag must cover
				// this write alone.
				c.tmu.Lock()
				c.writeTLS(tc, last)
				c.tmu.Unlock()
			} else {
				c.enqueue(last, true)
			}
		}
	}
	c.closeAfter(farewellTime)
}

// Close closes the connection at once.
func (c *Conn) Close() { c.fail(nil) }

func (c *Conn) fail(err error) {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.p.remove(c)
		c.nc.Close()
		c.wmu.Lock()
		if c.cause != nil {
			// However the closing ends (written, timed out, reset), the
			// handler learns the limit or the write error that started it.
			err = c.cause
		}
		for _, b := range c.out {
			putChunk(b)
		}
		c.out, c.queued = nil, 0
		c.wmu.Unlock()
		c.h.Closed(c, err)
		open.Add(-1)
		c.p.trim.closed()
	})
}
