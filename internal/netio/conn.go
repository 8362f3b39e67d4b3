package netio

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
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
	fd     int
	remote *net.TCPAddr
	p      *Poller
	h      Handler
	cfg    Config
	// ref counts the system calls using fd, plus refClosed once the
	// connection is closed: the last use closes the descriptor, so that a
	// number the kernel has given to a new connection is never read or
	// written for this one.
	ref atomic.Int64

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
	wreg     bool // fd is on the Poller's write epoll instance
	// lastWords ends a closing that waits for its queue after a deadline.
	lastWords *time.Timer
	// cause is why the connection is closing once it is over a limit or a
	// write failed; it refuses all output from then on.
	cause error

	closed    atomic.Bool
	closeOnce sync.Once

	// Value is for the protocol layer: the session this connection carries.
	Value any
}

// Attach serves nc as AttachSocket does, taking it out of Go's network
// poller first (SocketOf).
func (p *Poller) Attach(nc *net.TCPConn, h Handler, cfg Config, tlsConfig *tls.Config) (*Conn, error) {
	s, err := SocketOf(nc)
	if err != nil {
		return nil, err
	}
	return p.AttachSocket(s, h, cfg, tlsConfig)
}

// AttachSocket registers s with the poller under handler h; the Conn owns
// the descriptor from then on, and closes it on failure too. The
// connection is served from then on; with tlsConfig non-nil it first
// completes a TLS handshake (direct TLS, XEP-0368), on the calling
// goroutine.
func (p *Poller) AttachSocket(s Socket, h Handler, cfg Config, tlsConfig *tls.Config) (*Conn, error) {
	c := &Conn{fd: s.FD, remote: s.Remote, p: p, h: h, cfg: cfg}
	if c.remote == nil {
		c.remote = &net.TCPAddr{}
	}
	c.transport.c = c
	if tlsConfig != nil {
		p.hs.enter()
		err := c.handshake(tlsConfig)
		p.hs.leave()
		if err != nil {
			c.closeFD()
			return nil, err
		}
	}
	if err := p.add(c); err != nil {
		c.closeFD()
		return nil, err
	}
	if tlsConfig != nil {
		p.ready(c) // the handshake may have buffered application data
	}
	return c, nil
}

// acquire reserves fd for one system call; false once the connection is
// closed.
func (c *Conn) acquire() bool {
	for {
		s := c.ref.Load()
		if s&refClosed != 0 {
			return false
		}
		if c.ref.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// release ends a use of fd, and closes it if the connection was closed
// meanwhile.
func (c *Conn) release() {
	if c.ref.Add(-1) == refClosed {
		unix.Close(c.fd)
	}
}

// refClosed is the bit of Conn.ref that says the connection is closed.
const refClosed = 1 << 62

// closeFD closes the descriptor, now or at the end of the use in flight;
// a use that is waiting for the socket (a handshake) is woken by the
// shutdown.
func (c *Conn) closeFD() {
	old := c.ref.Or(refClosed)
	switch {
	case old&refClosed != 0:
	case old == 0:
		unix.Close(c.fd)
	default:
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
}

// Config returns the bounds the connection was attached with.
func (c *Conn) Config() Config { return c.cfg }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// LocalAddr returns the local address, or an empty one once closed.
func (c *Conn) LocalAddr() net.Addr {
	if !c.acquire() {
		return &net.TCPAddr{}
	}
	sa, err := unix.Getsockname(c.fd)
	c.release()
	if err != nil {
		return &net.TCPAddr{}
	}
	return tcpAddr(sa)
}

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
		if !c.acquire() {
			return 0, ErrClosed
		}
		n, err := unix.Read(c.fd, p)
		c.release()
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
	c.transport.deadline = time.Now().Add(d)
	tc := tls.Server(&c.transport, cfg)
	err := tc.Handshake()
	c.transport.blocking = false
	if err != nil {
		return err
	}
	c.tlsp.Store(tc)
	return nil
}

// transport is the net.Conn a tls.Conn works over: blocking until a
// deadline during the handshake, non-blocking after it, with writes going
// to the bounded queue.
type transport struct {
	c        *Conn
	blocking bool
	deadline time.Time
}

func (t *transport) Read(p []byte) (int, error) {
	if t.blocking {
		return t.c.blockingIO(p, false, t.deadline)
	}
	return t.c.rawRead(p)
}

func (t *transport) Write(p []byte) (int, error) {
	if t.blocking {
		return t.c.blockingIO(p, true, t.deadline)
	}
	if err := t.c.enqueue(p, t.c.admitted.Load()); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (t *transport) Close() error                       { t.c.Close(); return nil }
func (t *transport) LocalAddr() net.Addr                { return t.c.LocalAddr() }
func (t *transport) RemoteAddr() net.Addr               { return t.c.remote }
func (t *transport) SetDeadline(d time.Time) error      { t.deadline = d; return nil }
func (t *transport) SetReadDeadline(d time.Time) error  { t.deadline = d; return nil }
func (t *transport) SetWriteDeadline(d time.Time) error { t.deadline = d; return nil }

// blockingIO reads into p, or writes all of p, waiting for the socket with
// poll(2) until the deadline. Only a handshake uses it, on a goroutine of
// the handshake gate, which bounds the threads it holds.
func (c *Conn) blockingIO(p []byte, write bool, deadline time.Time) (int, error) {
	done := 0
	for {
		if !c.acquire() {
			return done, ErrClosed
		}
		var n int
		var err error
		if write {
			n, err = unix.Write(c.fd, p[done:])
		} else {
			n, err = unix.Read(c.fd, p)
		}
		switch {
		case err == unix.EINTR:
			c.release()
			continue
		case err == unix.EAGAIN:
		case err != nil:
			c.release()
			return done, err
		case !write && n == 0:
			c.release()
			return 0, io.EOF
		case !write:
			c.release()
			return n, nil
		default:
			if done += n; done == len(p) {
				c.release()
				return done, nil
			}
			c.release()
			continue
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			c.release()
			return done, os.ErrDeadlineExceeded
		}
		ev := int16(unix.POLLIN)
		if write {
			ev = unix.POLLOUT
		}
		fds := [1]unix.PollFd{{Fd: int32(c.fd), Events: ev}}
		_, err = unix.Poll(fds[:], int(wait/time.Millisecond)+1)
		c.release()
		if err != nil && err != unix.EINTR {
			return done, err
		}
	}
}

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
// written when the socket has room again (writable).
func (c *Conn) Flush() {
	c.wmu.Lock()
	if c.flushing || c.queued == 0 {
		c.wmu.Unlock()
		return
	}
	done, err := c.writeLocked()
	if err != nil {
		// Not on this goroutine: Flush is called by whoever routes to this
		// peer, maybe under a lock of their own that the close path (an
		// unbind, presence going out) would need.
		c.failLater(err)
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
	// The rest waits for the socket to take it: the Poller's write epoll
	// instance says when (writable).
	c.flushing = true
	if err := c.p.armWrite(c); err != nil {
		c.flushing = false
		c.failLater(err)
		return
	}
	c.wmu.Unlock()
}

// failLater records why the connection must close and leaves the closing
// to a worker; wmu is held, and released.
func (c *Conn) failLater(err error) {
	if c.cause == nil {
		c.cause = err
	}
	c.wmu.Unlock()
	c.sched.Or(dueFail)
	c.p.ready(c)
}

// writeLocked writes with writev until the queue is empty (done) or the
// socket is full.
func (c *Conn) writeLocked() (done bool, err error) {
	for c.queued > 0 {
		if !c.acquire() {
			return false, ErrClosed
		}
		n, err := unix.Writev(c.fd, c.out[:min(len(c.out), 64)])
		c.release()
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

// writable continues a flush the socket had stopped, once the write epoll
// instance reports room; it runs on that instance's goroutine, and leaves
// a close to the workers.
func (c *Conn) writable() {
	c.wmu.Lock()
	if !c.flushing {
		c.wmu.Unlock() // stale: a reused descriptor, or already closed
		return
	}
	done, err := c.writeLocked()
	if err == nil && !done {
		if err = c.p.armWrite(c); err == nil {
			c.wmu.Unlock()
			return
		}
	}
	c.flushing = false
	if err != nil {
		c.failLater(err)
		return
	}
	if c.closing {
		c.failLater(nil)
		return
	}
	c.wmu.Unlock()
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
	t := time.AfterFunc(d, func() {
		c.wmu.Lock()
		c.failLater(os.ErrDeadlineExceeded)
	})
	c.wmu.Lock()
	c.lastWords = t
	c.wmu.Unlock()
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
		c.closeFD()
		c.wmu.Lock()
		if c.lastWords != nil {
			c.lastWords.Stop()
		}
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
