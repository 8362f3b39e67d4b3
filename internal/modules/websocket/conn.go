package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"

	"xmppd/internal/clientstream"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
	"xmppd/internal/xml"
)

// Sizes and times of a connection.
const (
	// initialWindow is the size of a fresh input window: most stanzas
	// fit, larger ones grow it up to stanza_size_limit.
	initialWindow = 4 << 10
	// maxKeptBuffer is the largest input window or output batch given
	// back to its pool; larger ones, made for a rare big stanza, go to
	// the collector.
	maxKeptBuffer = 64 << 10
	// writeTimeout bounds the writing of one batch of output: a client
	// that stops reading loses its connection, as a slow consumer does
	// on TCP.
	writeTimeout = 30 * time.Second
	// closeGrace is how long a stream that ends has to write its last
	// words and do the close handshake before its socket is cut: the
	// session keeps its link until then.
	closeGrace = 5 * time.Second
)

// Errors of Queue: the connection is closing, or its client fell too far
// behind.
var (
	errClosed = errors.New("websocket: the connection is closing")
	errFull   = errors.New("websocket: too much output waiting for the client")
)

// conn is one WebSocket connection: RFC 7395 framing around the shared
// stream machine. Input is read by the HTTP handler's goroutine, which
// the connection keeps; output is written by a goroutine that runs only
// while there is output. The core.Link methods may be called from any
// goroutine.
type conn struct {
	m      *Module
	st     *clientstream.Stream
	ip     string
	key    string // address group, for the per-address limit
	secure bool
	unauth bool // counted as logging in (Module.mu)
	tls    *tls.ConnectionState
	rate   *stream.RateLimiter

	// Input: the reading goroutine's alone.
	reader  *stanza.Reader // nil while parked
	parked  []byte         // the reader's state while the session is idle
	winp    *[]byte        // the pooled window, nil while idle
	win     []byte         // input not consumed yet
	started bool           // an <open/> began the current stream

	mu       sync.Mutex
	wc       *ws.Conn // nil until the handshake is done
	out      *batch   // output waiting for the writer
	queued   int      // bytes queued or being written
	maxQueue int
	writing  bool // the writer runs
	full     bool // over maxQueue: the stream is being failed
	closing  bool // no more output: the writer closes the socket after out
	code     ws.StatusCode
	gone     bool // the socket failed: output is dropped
	opened   bool // our <open/> is queued or sent
	done     chan struct{}
	stall    chan struct{} // closed when output drains: reading waits for it

	ka       atomic.Pointer[time.Timer] // the keepalive ping
	pauseEnd atomic.Int64               // reading is paused by the rate limit until then (Unix ns)
	finished atomic.Bool
}

// batch is output waiting for the writer: messages back to back in b,
// ends[i] the end of message i.
type batch struct {
	b    []byte
	ends []int
}

var batches = sync.Pool{New: func() any { return new(batch) }}

// serve runs the connection once the handshake is done, until it ends.
func (c *conn) serve(svc *clientstream.Service, wc *ws.Conn) {
	conf := svc.Conf()
	c.rate = stream.NewRateLimiter(conf.RateBytes, conf.RateBurst)
	// Messages are bounded by the module, which answers a big one with
	// a stream error rather than a bare close.
	wc.SetReadLimit(-1)
	c.reader = c.m.readers.Get().(*stanza.Reader)
	c.takeWindow()
	c.win = append(c.win, streamRoot...)
	if ev, err := c.reader.Next(c.win); ev != stanza.EventHeader || err != nil {
		// A constant that does not parse is a bug: this one connection
		// ends, not the daemon.
		c.m.api.Log().Error("the stream root does not parse", "err", err)
		wc.CloseNow()
		c.m.release(c)
		return
	}
	n := c.reader.Retain()
	c.reader.Shift(n)
	c.win = c.win[:copy(c.win, c.win[n:])]
	c.st = svc.NewStream(c, clientstream.Options{IP: c.ip, Secure: c.secure, OnBound: func() { c.m.bound(c) }})
	c.mu.Lock()
	c.maxQueue = int(conf.QueueBytes)
	c.wc = wc
	if c.out != nil {
		c.kickLocked() // closed before the handshake was done
	}
	c.mu.Unlock()
	c.keepalive()
	c.read(wc)
	c.finish(wc)
}

// read reads messages until the stream or the socket ends.
func (c *conn) read(wc *ws.Conn) {
	ctx := context.Background()
	for !c.st.Ended() {
		typ, r, err := wc.Reader(ctx)
		if err != nil {
			if s := ws.CloseStatus(err); s != -1 {
				c.m.api.Log().Debug("the client closed the WebSocket", "ip", c.ip, "status", int(s))
			} else if !c.isClosing() {
				c.m.api.Log().Debug("connection lost", "ip", c.ip, "err", err)
			}
			return
		}
		if typ != ws.MessageText {
			c.st.Fail(stream.BadFormat, "XMPP over WebSocket is sent in text messages (RFC 7395 §3.2)")
			return
		}
		n, over, err := c.readMessage(r)
		if err != nil {
			c.m.api.Log().Debug("connection lost", "ip", c.ip, "err", err)
			return
		}
		if over {
			c.st.Fail(stream.PolicyViolation, "a message is over "+strconv.Itoa(c.m.limit)+" bytes")
			return
		}
		c.input()
		if d := c.rate.Take(n, time.Now()); d > 0 {
			c.pause(d)
		}
		c.waitOutput()
	}
}

// readMessage appends one message to the window and returns its size;
// over reports one that is bigger than a stanza may be, which is not read
// further.
func (c *conn) readMessage(r io.Reader) (n int, over bool, err error) {
	c.takeWindow()
	start := len(c.win)
	end := start + c.m.limit + 1 // one byte more than allowed tells it is over
	for {
		if len(c.win) == cap(c.win) {
			c.win = slices.Grow(c.win, min(cap(c.win), end-len(c.win)))
		}
		k, err := r.Read(c.win[len(c.win):min(cap(c.win), end)])
		c.win = c.win[:len(c.win)+k]
		switch {
		case len(c.win)-start > c.m.limit:
			return len(c.win) - start, true, nil
		case err == io.EOF:
			return len(c.win) - start, false, nil
		case err != nil:
			return len(c.win) - start, false, err
		}
	}
}

// input hands what the window holds to the stream machine. Messages are
// read as one stream of elements: a client that splits an element over
// messages, or sends several in one, is understood all the same, within
// the same bound of stanza_size_limit.
func (c *conn) input() {
	if c.reader == nil && !c.unpark() {
		return
	}
	for !c.st.Ended() {
		ev, err := c.reader.Next(c.win)
		if errors.Is(err, xml.ErrNeedMore) {
			break
		}
		if err != nil {
			e := stream.FromSyntax(err)
			c.st.Fail(e.Condition, e.Text)
			break
		}
		switch ev {
		case stanza.EventStanza:
			c.element(c.reader.Stanza())
		case stanza.EventEnd:
			c.st.Fail(stream.NotWellFormed, "a WebSocket stream ends with <close/> (RFC 7395 §3.6)")
		}
	}
	if s := c.st.Session(); s != nil {
		s.FlushTouched()
	}
	c.Flush()
	if c.st.Ended() {
		return
	}
	n := c.reader.Retain()
	c.reader.Shift(n)
	c.win = c.win[:copy(c.win, c.win[n:])]
	if len(c.win) == 0 {
		c.dropWindow()
		if c.st.Bound() {
			c.park()
		}
	}
}

// element handles one element: <open/> and <close/> frame the stream,
// everything else goes to the machine.
func (c *conn) element(st *stanza.Stanza) {
	if string(st.Space()) == nsFraming {
		switch string(st.Name()) {
		case "open":
			c.open(st)
			return
		case "close":
			c.st.End()
			return
		}
	}
	if !c.started {
		c.st.Fail(stream.NotWellFormed, "a stream starts with <open/>, and restarts with one after authentication (RFC 7395 §3.4, §3.7)")
		return
	}
	if c.st.Element(st) == clientstream.Restart {
		// RFC 7395 §3.7: after SASL success the client opens a new
		// stream with <open/>.
		c.started = false
	}
}

// open handles the client's <open/>: the stream's header.
func (c *conn) open(st *stanza.Stanza) {
	if c.started {
		c.st.Fail(stream.NotWellFormed, "<open/> on a stream that is open: a stream restarts only after authentication")
		return
	}
	c.started = true
	h := stream.Header{Space: stanza.NSClient, To: string(st.To()), Lang: string(st.Lang())}
	if tree, err := st.Tree(); err == nil {
		h.Version = tree.Attr("version")
	}
	var herr *stream.Error
	if major, _, _ := strings.Cut(h.Version, "."); major != "1" {
		herr = &stream.Error{Condition: stream.UnsupportedVersion, Text: "this server speaks XMPP version 1.0"}
	}
	c.st.Header(h, herr)
}

// takeWindow lends the connection an input window, if it has none.
func (c *conn) takeWindow() {
	if c.winp == nil {
		c.winp = c.m.bufs.Get().(*[]byte)
		c.win = (*c.winp)[:0]
	}
}

// dropWindow gives the empty window back: an idle connection holds none.
func (c *conn) dropWindow() {
	if c.winp == nil {
		return
	}
	if cap(c.win) <= maxKeptBuffer {
		*c.winp = c.win[:0]
		c.m.bufs.Put(c.winp)
	}
	c.winp, c.win = nil, nil
}

// park gives the reader back to the pool when the session has nothing
// half-read, keeping its state in a few bytes: most sessions are idle
// most of the time.
func (c *conn) park() {
	p, ok := c.reader.Park(c.parked[:0])
	if !ok {
		return
	}
	c.parked = p
	c.reader.Reset()
	c.m.readers.Put(c.reader)
	c.reader = nil
	if s := c.st.Session(); s != nil {
		s.Idle()
	}
}

// unpark takes a reader for a message that arrived on an idle session.
func (c *conn) unpark() bool {
	c.reader = c.m.readers.Get().(*stanza.Reader)
	if err := c.reader.Unpark(c.parked); err != nil {
		// Park made these bytes, so this is a bug, not bad input: end the
		// one stream rather than the daemon.
		c.st.Fail(stream.InternalServerError, "")
		c.m.api.Log().Error("cannot restore the stream reader", "ip", c.ip, "err", err)
		return false
	}
	return true
}

// pause stops reading for d, the rate limit's verdict; the keepalive does
// not count the pongs that wait meanwhile against the client.
func (c *conn) pause(d time.Duration) {
	c.pauseEnd.Store(time.Now().Add(d).UnixNano())
	time.Sleep(d)
}

// waitOutput holds reading while the client's output is backed up past
// half of its bound, until the writer brings it under a quarter: a client
// that sends requests faster than it reads the answers is slowed down
// rather than cut off. Output that others send it is not held back by
// this, and ends the stream at the bound.
func (c *conn) waitOutput() {
	c.mu.Lock()
	if c.maxQueue <= 0 || c.queued <= c.maxQueue/2 || c.closing || c.gone {
		c.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	c.stall = ch
	c.mu.Unlock()
	// The writes time out by then; the pongs that wait meanwhile are not
	// held against the client.
	c.pauseEnd.Store(time.Now().Add(writeTimeout).UnixNano())
	t := time.NewTimer(writeTimeout)
	select {
	case <-ch:
	case <-t.C:
	}
	t.Stop()
	c.pauseEnd.Store(0)
}

// unstallLocked lets reading go on once output has drained (mu held).
func (c *conn) unstallLocked() {
	if c.stall != nil && (c.queued <= c.maxQueue/4 || c.gone || c.closing) {
		close(c.stall)
		c.stall = nil
	}
}

// keepalive pings the client every interval (RFC 7395 §3.8): a proxy in
// between sees traffic and keeps the socket, and a client that does not
// answer within the interval has lost its connection.
func (c *conn) keepalive() {
	if d := c.m.opts.Load().keepalive; d > 0 {
		c.ka.Store(time.AfterFunc(d, c.ping))
	}
}

// ping sends one ping and waits for its pong.
func (c *conn) ping() {
	d := c.m.opts.Load().keepalive
	if d <= 0 || c.finished.Load() {
		return // turned off by a reload, or over
	}
	t := c.ka.Load()
	if t == nil {
		return
	}
	if time.Now().UnixNano() < c.pauseEnd.Load() {
		t.Reset(d)
		return
	}
	c.mu.Lock()
	wc := c.wc
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	err := wc.Ping(ctx)
	cancel()
	if c.finished.Load() {
		return
	}
	if err != nil {
		if !c.isClosing() && time.Now().UnixNano() >= c.pauseEnd.Load() {
			c.m.api.Log().Debug("no answer to a ping: the connection is lost", "ip", c.ip)
			wc.CloseNow()
			return
		}
	}
	t.Reset(d)
}

// finish ends the connection once reading is over: the last words are
// written, the socket closed, and the session loses its link.
func (c *conn) finish(wc *ws.Conn) {
	c.finished.Store(true)
	if t := c.ka.Load(); t != nil {
		t.Stop()
	}
	c.mu.Lock()
	closing := c.closing
	c.closing = true
	c.mu.Unlock()
	if !closing {
		wc.CloseNow() // the socket failed
	}
	c.st.Closed()
	c.dropWindow()
	if c.reader != nil {
		c.reader.Reset()
		c.m.readers.Put(c.reader)
		c.reader = nil
	}
	c.parked = nil
	if closing {
		// The writer writes the last words and closes the socket; the
		// connection counts until then.
		<-c.done
	}
	c.m.release(c)
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// appendLocked adds one element to the output as a message of its own
// (mu held).
func (c *conn) appendLocked(p []byte) {
	if c.out == nil {
		c.out = batches.Get().(*batch)
	}
	n := len(c.out.b)
	c.out.b = appendFramed(c.out.b, p)
	c.out.ends = append(c.out.ends, len(c.out.b))
	c.queued += len(c.out.b) - n
}

// kickLocked starts the writer unless it runs (mu held).
func (c *conn) kickLocked() {
	if !c.writing && c.wc != nil {
		c.writing = true
		go c.writeLoop()
	}
}

// writeLoop writes batches until none is left; on a closing connection it
// then closes the socket with the WebSocket close handshake.
func (c *conn) writeLoop() {
	for {
		c.mu.Lock()
		b, wc, gone := c.out, c.wc, c.gone
		c.out = nil
		if b == nil {
			c.writing = false
			closing, code := c.closing, c.code
			c.unstallLocked()
			c.mu.Unlock()
			if closing {
				wc.Close(code, "")
				close(c.done)
			}
			return
		}
		c.mu.Unlock()
		var err error
		if !gone {
			err = c.write(wc, b)
		}
		c.mu.Lock()
		c.queued -= len(b.b)
		if err != nil {
			c.gone = true
		}
		c.unstallLocked()
		c.mu.Unlock()
		b.b, b.ends = b.b[:0], b.ends[:0]
		if cap(b.b) > maxKeptBuffer {
			b.b = nil
		}
		batches.Put(b)
	}
}

// write sends a batch, one message per element.
func (c *conn) write(wc *ws.Conn, b *batch) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	start := 0
	for _, end := range b.ends {
		if err := wc.Write(ctx, ws.MessageText, b.b[start:end]); err != nil {
			c.m.api.Log().Debug("write failed", "ip", c.ip, "err", err)
			return err
		}
		start = end
	}
	return nil
}

// Queue implements core.Link: p goes out as one message.
func (c *conn) Queue(p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.gone {
		return errClosed
	}
	if c.queued+len(p) > c.maxQueue && c.maxQueue > 0 {
		if !c.full {
			c.full = true
			// Not from here: the caller may be delivering under its own
			// locks.
			go c.st.Fail(stream.PolicyViolation, "you read slower than the server sends; output bound of "+strconv.Itoa(c.maxQueue)+" bytes reached")
		}
		return errFull
	}
	c.appendLocked(p)
	return nil
}

// Flush implements core.Link: the writer takes what was queued.
func (c *conn) Flush() {
	c.mu.Lock()
	if c.out != nil {
		c.kickLocked()
	}
	c.mu.Unlock()
}

// Close implements core.Link: the stream ends with a stream error unless
// condition is "", then <close/>, then the WebSocket close handshake
// (RFC 7395 §3.5, §3.6).
func (c *conn) Close(condition, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.closing = true
	c.code = ws.StatusNormalClosure
	if condition != "" {
		if !c.opened {
			// An error before the client's <open/> comes after ours.
			c.opened = true
			c.appendLocked(appendOpen(nil, stream.Header{ID: stream.NewID(), Lang: "en"}))
		}
		c.appendLocked(appendError(nil, condition, text))
		switch condition {
		case stream.SystemShutdown:
			c.code = ws.StatusGoingAway
		case stream.PolicyViolation:
			c.code = ws.StatusPolicyViolation
		}
	}
	c.appendLocked([]byte(closeElement))
	c.kickLocked()
	if wc, done := c.wc, c.done; wc != nil {
		time.AfterFunc(closeGrace, func() {
			select {
			case <-done:
			default:
				wc.CloseNow() // a client that does not read loses its last words
			}
		})
	}
}

// Info implements core.Link.
func (c *conn) Info() core.LinkInfo {
	return core.LinkInfo{Transport: "websocket", Remote: c.ip, Secure: c.secure}
}

// Open implements clientstream.Transport: our <open/>.
func (c *conn) Open(h stream.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.opened = true
	c.appendLocked(appendOpen(nil, h))
}

// CanStartTLS implements clientstream.Transport: a WebSocket has TLS from
// HTTPS (wss:) or none (RFC 7395 §3.9).
func (c *conn) CanStartTLS() bool { return false }

// StartTLS implements clientstream.Transport; it is never offered.
func (c *conn) StartTLS(done func(error)) {
	done(errors.New("websocket: no STARTTLS over a WebSocket"))
}

// TLS implements clientstream.Transport: the connection's TLS state over
// wss:, so that SCRAM can bind to it; nil behind a TLS-terminating proxy.
func (c *conn) TLS() *tls.ConnectionState { return c.tls }

var _ clientstream.Transport = (*conn)(nil)
