package c2s

import (
	"crypto/tls"
	"errors"
	"sync/atomic"
	"time"

	"xmppd/internal/clientstream"
	"xmppd/internal/core"
	"xmppd/internal/netio"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
	"xmppd/internal/xml"
)

// conn is one client connection: the XML stream framing over TCP (RFC 6120
// §4) around the shared stream machine, which does the negotiation. Data
// runs on one goroutine at a time; the core.Link methods may be called
// from any.
type conn struct {
	m   *Module
	ncp atomic.Pointer[netio.Conn]
	ip  string
	key string // the address group admit counted it in; "" if refused
	// inHandshake: it holds one of its address's handshake slots (guarded
	// by m.mu; see authDone).
	inHandshake bool
	st          *clientstream.Stream
	reader      *stanza.Reader // nil while parked
	parked      []byte         // the reader's state while the session is idle
	rate        *stream.RateLimiter

	pending int                        // bytes of the window left over from the last Data call
	ka      atomic.Pointer[time.Timer] // whitespace keepalive, once bound
	closing atomic.Bool
	opened  atomic.Bool // our stream header went out
}

// open starts serving a connection that admit let in, or, with a refusal,
// one that it refused: that one gets the refusal as a stream error.
func (m *Module) open(s netio.Socket, ip string, direct bool, refusal string) {
	c := &conn{m: m, ip: ip,
		reader: m.readers.Get().(*stanza.Reader),
		rate:   stream.NewRateLimiter(m.conf().RateBytes, m.conf().RateBurst)}
	if refusal == "" {
		c.key, c.inHandshake = clientstream.AddrKey(ip), true
	}
	c.st = m.streams.NewStream(c, clientstream.Options{IP: ip, Secure: direct, OnBound: c.bound})
	m.mu.Lock()
	m.conns[c] = struct{}{}
	m.mu.Unlock()
	var tlsCfg = m.tls
	if !direct {
		tlsCfg = nil
	}
	// The open timeout covers the TLS handshake too: on a direct TLS
	// connection it comes before the stream header.
	ncfg := netio.Config{MaxWindow: m.limit + netio.ReadSize, MaxQueue: int(m.conf().QueueBytes),
		HandshakeTimeout: m.conf().OpenTimeout}
	// Attach serves the connection from now on; on failure (a TLS handshake
	// that did not complete) nothing else holds it.
	x, err := m.poller.AttachSocket(s, c, ncfg, tlsCfg)
	if err != nil {
		c.st.Closed()
		m.release(c)
		m.api.Log().Debug("connection failed", "ip", ip, "err", err)
		return
	}
	c.setConn(x)
	if refusal != "" {
		c.st.Fail(stream.PolicyViolation, refusal)
	}
}

// setConn publishes the netio connection: Data may run before Attach
// returns, so both call it.
func (c *conn) setConn(x *netio.Conn) {
	if c.ncp.CompareAndSwap(nil, x) {
		if c.closing.Load() {
			x.Close() // timed out before the connection was attached
		}
	}
}

func (c *conn) nc() *netio.Conn { return c.ncp.Load() }

// Data is netio's callback with the unconsumed input.
func (c *conn) Data(nc *netio.Conn, window []byte) (int, error) {
	c.setConn(nc)
	if c.reader == nil && !c.unpark() {
		return len(window), nil
	}
	if d := c.rate.Take(len(window)-c.pending, time.Now()); d > 0 {
		nc.Pause(d)
	}
	consumed := 0
	for !c.closing.Load() {
		w := window[consumed:]
		ev, err := c.reader.Next(w)
		if errors.Is(err, xml.ErrNeedMore) {
			break
		}
		if err != nil {
			e := stream.FromSyntax(err)
			c.st.Fail(e.Condition, e.Text)
			break
		}
		next := clientstream.Continue
		switch ev {
		case stanza.EventHeader:
			c.st.Header(stream.ParseHeader(c.reader.Header(), stanza.NSClient))
		case stanza.EventStanza:
			next = c.st.Element(c.reader.Stanza())
		case stanza.EventEnd:
			c.st.End()
		}
		switch next {
		case clientstream.Restart:
			// RFC 6120 §6.4.6: after SASL success a new stream starts right
			// after the element that ended the old one.
			consumed += c.reader.Retain()
			c.reader.Reset()
		case clientstream.StartTLS:
			// Nothing may follow <starttls/> in the clear (RFC 6120
			// §5.4.3.3); netio drops the window and runs the handshake.
			c.reader.Reset()
			return len(window), nil
		}
	}
	if s := c.st.Session(); s != nil {
		s.FlushTouched()
	}
	if c.closing.Load() {
		return len(window), nil
	}
	// netio drops what the reader no longer needs; the reader is told.
	n := c.reader.Retain()
	c.reader.Shift(n)
	consumed += n
	c.pending = len(window) - consumed
	if c.pending == 0 && c.st.Bound() {
		c.park()
	}
	return consumed, nil
}

// park gives the reader back to the pool when the session has nothing
// half-read: most sessions are idle most of the time, and a Reader is over
// a kilobyte where its parked state is about 90 bytes.
func (c *conn) park() {
	p, ok := c.reader.Park(c.parked[:0])
	if !ok {
		return
	}
	c.parked = p
	// In the pool it must not keep the last stanza's tree or window alive.
	c.reader.Reset()
	c.m.readers.Put(c.reader)
	c.reader = nil
	if s := c.st.Session(); s != nil {
		s.Idle()
	}
}

// unpark takes a reader for input that arrived on an idle session.
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

// bound is the machine's word that the session is bound: the address's
// handshake slot is free, and the keepalive starts.
func (c *conn) bound() {
	c.m.authDone(c)
	if c.m.conf().Keepalive > 0 {
		c.keepalive()
	}
}

// Closed is netio's callback when the connection is gone.
func (c *conn) Closed(_ *netio.Conn, err error) {
	c.closing.Store(true)
	if t := c.ka.Load(); t != nil {
		t.Stop()
	}
	c.st.Closed()
	c.m.release(c)
	if err != nil && !errors.Is(err, netio.ErrClosed) {
		c.m.api.Log().Debug("connection closed", "ip", c.ip, "err", err)
	}
}

// Info implements core.Link.
func (c *conn) Info() core.LinkInfo {
	return core.LinkInfo{Transport: "c2s", Remote: c.ip, Secure: c.st.Secure()}
}

// Queue implements core.Link.
func (c *conn) Queue(p []byte) error {
	if c.closing.Load() || c.nc() == nil {
		return netio.ErrClosed
	}
	return c.nc().Queue(p)
}

// Flush implements core.Link.
func (c *conn) Flush() {
	if c.nc() != nil {
		c.nc().Flush()
	}
}

// Close implements core.Link: it ends the stream with a stream error, or
// cleanly when condition is "".
func (c *conn) Close(condition, text string) {
	if condition == "" {
		if c.closing.CompareAndSwap(false, true) && c.nc() != nil {
			c.nc().Write(stream.AppendClose(nil))
			c.nc().CloseAfterFlush()
		}
		return
	}
	// RFC 6120 §4.9.1.1: a header first when none was sent yet.
	if !c.closing.CompareAndSwap(false, true) || c.nc() == nil {
		return
	}
	var out []byte
	if c.opened.CompareAndSwap(false, true) {
		out = stream.AppendOpen(out, stream.Header{Space: stanza.NSClient, ID: stream.NewID()})
	}
	out = stream.AppendError(out, &stream.Error{Condition: condition, Text: text})
	c.nc().Write(out)
	c.nc().CloseAfterFlush()
}

// Open implements clientstream.Transport: the XML stream header.
func (c *conn) Open(h stream.Header) {
	c.opened.Store(true)
	c.Queue(stream.AppendOpen(nil, h))
}

// CanStartTLS implements clientstream.Transport.
func (c *conn) CanStartTLS() bool { return c.nc() != nil && c.nc().TLS() == nil }

// StartTLS implements clientstream.Transport.
func (c *conn) StartTLS(done func(error)) { c.nc().StartTLS(c.m.tls, done) }

// TLS implements clientstream.Transport.
func (c *conn) TLS() *tls.ConnectionState {
	if nc := c.nc(); nc != nil {
		return nc.TLS()
	}
	return nil
}

// keepalive sends a single space every interval (RFC 6120 §4.6.1), which
// keeps NAT mappings open and reveals dead peers to TCP.
func (c *conn) keepalive() {
	var t *time.Timer
	t = time.AfterFunc(c.m.conf().Keepalive, func() {
		if c.closing.Load() {
			return
		}
		if nc := c.nc(); nc != nil && nc.Write([]byte{' '}) == nil {
			t.Reset(c.m.conf().Keepalive)
		}
	})
	c.ka.Store(t)
}

var (
	_ netio.Handler          = (*conn)(nil)
	_ clientstream.Transport = (*conn)(nil)
)
