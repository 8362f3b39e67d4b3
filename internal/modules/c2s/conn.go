package c2s

import (
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/netio"
	"xmppd/internal/sasl"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
	"xmppd/internal/xml"
)

// Negotiation states of a client stream (RFC 6120 §4–§7).
const (
	stateHeader = iota // waiting for a stream header
	stateAuth          // features sent: STARTTLS and SASL
	stateBind          // authenticated: waiting for resource binding
	stateOpen          // bound: stanzas are routed
)

// conn is one client stream. Data runs on one goroutine at a time; Close and
// the Sender methods may be called from any.
type conn struct {
	m   *Module
	ncp atomic.Pointer[netio.Conn]
	ip  string
	key string // the address group admit counted it in; "" if refused
	// inHandshake: it holds one of its address's handshake slots (guarded
	// by m.mu; see authDone).
	inHandshake bool
	reader      *stanza.Reader // nil while parked
	parked      []byte         // the reader's state while the session is idle
	state       int
	authed      bool // SASL succeeded: after the restart, bind comes next
	secure      bool
	host        *core.Host
	id          string
	mechs       []string
	cb          sasl.ChannelBinding
	auth        *sasl.Server
	sess        *core.Session
	rate        *stream.RateLimiter

	pending int // bytes of the window left over from the last Data call
	buf     []byte
	timer   atomic.Pointer[time.Timer] // open and auth timeouts; nil once bound
	ka      atomic.Pointer[time.Timer] // whitespace keepalive, once bound
	closing atomic.Bool
	opened  atomic.Bool // our stream header went out
}

// open starts serving a connection that admit let in, or, with a refusal,
// one that it refused: that one gets the refusal as a stream error.
func (m *Module) open(nc *net.TCPConn, ip string, direct bool, refusal string) {
	c := &conn{m: m, ip: ip, secure: direct,
		reader: m.readers.Get().(*stanza.Reader),
		rate:   stream.NewRateLimiter(m.conf().RateBytes, m.conf().RateBurst)}
	if refusal == "" {
		c.key, c.inHandshake = addrKey(ip), true
	}
	m.mu.Lock()
	m.conns[c] = struct{}{}
	m.mu.Unlock()
	var tlsCfg = m.tls
	if !direct {
		tlsCfg = nil
	}
	c.timer.Store(time.AfterFunc(m.conf().OpenTimeout, func() {
		// The same timer runs first for the header, then for authentication.
		if c.opened.Load() {
			c.Close(stream.ConnectionTimeout, "not authenticated in time")
			return
		}
		c.Close(stream.ConnectionTimeout, "no stream header in time")
	}))
	// The open timeout covers the TLS handshake too: on a direct TLS
	// connection it comes before the stream header, where the timer above
	// cannot reach the connection yet.
	ncfg := netio.Config{MaxWindow: m.limit + netio.ReadSize, MaxQueue: int(m.conf().QueueBytes),
		HandshakeTimeout: m.conf().OpenTimeout}
	// Attach serves the connection from now on; on failure (a TLS handshake
	// that did not complete) nothing else holds it.
	x, err := m.poller.Attach(nc, c, ncfg, tlsCfg)
	if err != nil {
		c.stopTimer()
		m.release(c)
		m.api.Log().Debug("connection failed", "ip", ip, "err", err)
		return
	}
	c.setConn(x)
	if refusal != "" {
		c.fail(&stream.Error{Condition: stream.PolicyViolation, Text: refusal})
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
			c.fail(stream.FromSyntax(err))
			break
		}
		next := actNone
		switch ev {
		case stanza.EventHeader:
			c.onHeader(c.reader.Header())
		case stanza.EventStanza:
			next = c.onStanza(c.reader.Stanza())
		case stanza.EventEnd:
			c.write(stream.AppendClose(c.buf[:0]))
			c.closing.Store(true)
			c.nc().CloseAfterFlush()
		}
		if next == actRestart {
			// RFC 6120 §6.4.6: after SASL success a new stream starts right
			// after the element that ended the old one.
			consumed += c.reader.Retain()
			c.reader.Reset()
		}
		if next == actTLS {
			// Nothing may follow <starttls/> in the clear (RFC 6120
			// §5.4.3.3); netio drops the window and runs the handshake.
			c.reader.Reset()
			c.state = stateHeader
			return len(window), nil
		}
	}
	if c.sess != nil {
		c.sess.FlushTouched()
	}
	if c.closing.Load() {
		return len(window), nil
	}
	// netio drops what the reader no longer needs; the reader is told.
	n := c.reader.Retain()
	c.reader.Shift(n)
	consumed += n
	c.pending = len(window) - consumed
	if c.pending == 0 && c.state == stateOpen {
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
	if c.sess != nil {
		c.sess.Idle()
	}
}

// unpark takes a reader for input that arrived on an idle session.
func (c *conn) unpark() bool {
	c.reader = c.m.readers.Get().(*stanza.Reader)
	if err := c.reader.Unpark(c.parked); err != nil {
		// Park made these bytes, so this is a bug, not bad input: end the
		// one stream rather than the daemon.
		c.fail(&stream.Error{Condition: stream.InternalServerError})
		c.m.api.Log().Error("cannot restore the stream reader", "ip", c.ip, "err", err)
		return false
	}
	return true
}

// Closed is netio's callback when the connection is gone.
func (c *conn) Closed(_ *netio.Conn, err error) {
	c.closing.Store(true)
	c.stopTimer()
	if t := c.ka.Load(); t != nil {
		t.Stop()
	}
	if c.sess != nil {
		c.sess.Host.LinkLost(c.sess, c)
	}
	c.m.release(c)
	if err != nil && !errors.Is(err, netio.ErrClosed) {
		c.m.api.Log().Debug("connection closed", "ip", c.ip, "err", err)
	}
}

// stopTimer ends the negotiation timeouts for good, dropping the timer so
// that a bound session does not keep it.
func (c *conn) stopTimer() {
	if t := c.timer.Swap(nil); t != nil {
		t.Stop()
	}
}

// Info implements core.Link.
func (c *conn) Info() core.LinkInfo {
	return core.LinkInfo{Transport: "c2s", Remote: c.ip, Secure: c.secure}
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
	c.fail(&stream.Error{Condition: condition, Text: text})
}

// fail sends a stream error and closes (RFC 6120 §4.9.1.1: a header first
// when none was sent yet).
func (c *conn) fail(e *stream.Error) {
	if !c.closing.CompareAndSwap(false, true) || c.nc() == nil {
		return
	}
	var out []byte
	if c.opened.CompareAndSwap(false, true) {
		out = stream.AppendOpen(out, stream.Header{Space: stanza.NSClient, ID: stream.NewID()})
	}
	out = stream.AppendError(out, e)
	c.nc().Write(out)
	c.nc().CloseAfterFlush()
	c.m.api.Log().Debug("stream error", "ip", c.ip, "condition", e.Condition, "text", e.Text)
}

func (c *conn) write(p []byte) {
	c.buf = p[:0]
	c.nc().Queue(p)
}

func (c *conn) onHeader(tok *xml.Token) {
	h, serr := stream.ParseHeader(tok, stanza.NSClient)
	to, _ := jid.New("", h.To, "")
	host := c.m.srv.Host(to.Domain())
	if h.To == "" && serr == nil {
		host = c.m.srv.Hosts()[0]
	}
	if c.host != nil && host != c.host {
		serr = &stream.Error{Condition: stream.HostUnknown, Text: "the host changed on a stream restart"}
	}
	if host == nil && serr == nil {
		serr = &stream.Error{Condition: stream.HostUnknown, Text: "this server does not serve " + h.To}
	}
	resp := stream.Header{Space: stanza.NSClient, ID: stream.NewID(), Lang: "en"}
	if host != nil {
		resp.From = host.Name
	}
	c.opened.Store(true)
	c.write(stream.AppendOpen(c.buf[:0], resp))
	if serr != nil {
		c.fail(serr)
		return
	}
	c.host, c.id = host, resp.ID
	if t := c.timer.Load(); t != nil {
		t.Reset(c.m.conf().AuthTimeout)
	}
	c.write(c.features())
	if c.authed {
		c.state = stateBind
	} else {
		c.state = stateAuth
	}
}

// plainAllowed reports whether SASL may run without TLS on this connection:
// only on loopback, and only when configured (benchmarks, local daemons).
func (c *conn) plainAllowed() bool {
	if !c.m.conf().PlainOnLoopback {
		return false
	}
	ip := net.ParseIP(c.ip)
	return ip != nil && ip.IsLoopback()
}

func (c *conn) features() []byte {
	var b stanza.Builder
	b.Reset(c.buf[:0]).Start("stream:features")
	if c.authed {
		b.Start("bind").Attr("xmlns", stanza.NSBind).End()
		b.Start("session").Attr("xmlns", stanza.NSSession).Start("optional").End().End()
		return b.Bytes()
	}
	if !c.secure {
		b.Start("starttls").Attr("xmlns", stanza.NSTLS)
		if !c.plainAllowed() {
			b.Start("required").End()
		}
		b.End()
	}
	c.appendSASL(&b)
	return b.Bytes()
}

// What Data does after an element.
const (
	actNone    = iota
	actRestart // SASL succeeded: a new stream follows
	actTLS     // STARTTLS: the handshake follows
)

// onStanza handles one top-level element and says what comes after it.
func (c *conn) onStanza(st *stanza.Stanza) int {
	switch c.state {
	case stateOpen:
		if st.Kind == stanza.Other {
			c.fail(&stream.Error{Condition: stream.UnsupportedStanzaType, Text: "unknown element " + string(st.Name())})
			return actNone
		}
		if st.Kind == stanza.IQ && string(st.ChildSpace()) == stanza.NSSession && string(st.Type()) == "set" {
			c.resultIQ(st, nil) // RFC 3921 session: a no-op kept for old clients
			return actNone
		}
		if len(st.Outer()) > 0 {
			// Prefixes from our peer's stream header mean nothing on the
			// recipient's stream: declare them before anyone sees the bytes.
			sc, err := st.SelfContained(stanza.NSClient)
			if err != nil {
				c.fail(&stream.Error{Condition: stream.InvalidXML, Text: "cannot declare the stream's prefixes on this stanza"})
				return actNone
			}
			st = sc
		}
		c.m.srv.Route(c.sess, st)
	case stateAuth:
		return c.negotiate(st)
	case stateBind:
		c.bind(st)
	}
	return actNone
}

func (c *conn) negotiate(st *stanza.Stanza) int {
	ns := string(st.Space())
	switch {
	case ns == stanza.NSTLS && string(st.Name()) == "starttls":
		if c.secure {
			c.fail(&stream.Error{Condition: stream.PolicyViolation, Text: "TLS is already in use"})
			return actNone
		}
		c.nc().Queue([]byte("<proceed xmlns='" + stanza.NSTLS + "'/>"))
		c.nc().StartTLS(c.m.tls, func(err error) {
			if err != nil {
				c.m.api.Log().Debug("TLS handshake failed", "ip", c.ip, "err", err)
				return
			}
			c.secure = true
		})
		return actTLS
	case ns == stanza.NSSASL:
		if c.saslElement(st) {
			return actRestart
		}
		return actNone
	}
	c.fail(&stream.Error{Condition: stream.NotAuthorized, Text: "authenticate first"})
	return actNone
}

// bind handles resource binding (RFC 6120 §7).
func (c *conn) bind(st *stanza.Stanza) {
	if st.Kind != stanza.IQ || string(st.ChildSpace()) != stanza.NSBind || string(st.Type()) != "set" {
		if st.Kind == stanza.IQ {
			c.errorIQ(st, core.ErrAuth, "not-authorized", "bind a resource first")
		}
		return
	}
	tree, err := st.Tree()
	if err != nil {
		c.errorIQ(st, core.ErrModify, "bad-request", "")
		return
	}
	var resource string
	if r := tree.Child(stanza.NSBind, "bind").Child(stanza.NSBind, "resource"); r != nil {
		resource = r.Text()
	}
	cfg := c.m.conf()
	full, err := c.sess.Host.BindWithin(c.sess, resource, core.BindLimits{
		Conflict: cfg.ResourceConflict, MaxResources: cfg.MaxResources, MaxSessions: cfg.MaxSessions})
	switch {
	case errors.Is(err, core.ErrConflict):
		c.errorIQ(st, core.ErrCancel, "conflict", "")
		return
	case errors.Is(err, core.ErrResourceLimit):
		// RFC 6120 §7.6.2.1: the account has reached its limit.
		c.errorIQ(st, core.ErrWait, "resource-constraint", "this account has "+strconv.Itoa(cfg.MaxResources)+" sessions already; close one first")
		c.m.warn.Warn(c.m.api.Log(), "max_resources", "session refused: the account has max_resources sessions", "jid", c.sess.JID.String(), "ip", c.ip, "limit", cfg.MaxResources)
		return
	case errors.Is(err, core.ErrSessionLimit):
		c.errorIQ(st, core.ErrWait, "resource-constraint", "the server has as many sessions as it may; try again later")
		c.m.warn.Warn(c.m.api.Log(), "max_sessions", "session refused: the server has max_sessions sessions", "ip", c.ip, "limit", cfg.MaxSessions)
		return
	case err != nil:
		c.errorIQ(st, core.ErrModify, "bad-request", "invalid resource")
		return
	}
	c.stopTimer()
	c.m.authDone(c)
	c.state = stateOpen
	// Negotiation is over: an idle session keeps none of its buffers.
	c.mechs, c.cb = nil, sasl.ChannelBinding{}
	defer func() { c.buf = nil }()
	if c.m.conf().Keepalive > 0 {
		c.keepalive()
	}
	var b stanza.Builder
	b.Reset(nil).Start("bind").Attr("xmlns", stanza.NSBind).Start("jid").Text(full.String())
	c.resultIQ(st, b.Bytes())
	c.m.api.Log().Debug("session bound", "jid", full.String(), "ip", c.ip, "tls", c.secure)
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

func (c *conn) resultIQ(st *stanza.Stanza, payload []byte) {
	var b stanza.Builder
	b.Reset(c.buf[:0]).Start("iq").Attr("type", "result")
	if id := st.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	if c.sess != nil && c.sess.Bound() {
		b.Attr("to", c.sess.JID.String())
	}
	if payload != nil {
		b.Raw(payload)
	}
	c.write(b.Bytes())
}

func (c *conn) errorIQ(st *stanza.Stanza, typ, cond, text string) {
	var b stanza.Builder
	b.Reset(c.buf[:0]).Start("iq").Attr("type", "error")
	if id := st.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	core.AppendError(&b, typ, cond, text)
	c.write(b.Bytes())
}

var (
	_ netio.Handler = (*conn)(nil)
	_ core.Link     = (*conn)(nil)
)
