// Package clientstream is the client stream machine: the negotiation of a
// client's XMPP stream (RFC 6120 §4–§7: header, features, STARTTLS, SASL,
// resource binding, restarts, stream errors) and, once bound, the hand-over
// of its stanzas to the router. Every client transport drives the same
// machine: the TCP listener (modules/c2s) with an XML stream, WebSocket
// with RFC 7395 framing, BOSH with its bodies. A transport only frames
// bytes and reports what it read ("header", "element", "end"); it has no
// SASL or binding code of its own, and the login throttles it shares are
// the same whatever the transport.
package clientstream

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"xmppd/internal/certs"
	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/sasl"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
)

// Transport is what a client transport gives the machine. Queue, Flush,
// Close and Info are the session's core.Link once bound; Close with a
// condition writes the stream error with the transport's framing (and a
// header first if none went out yet), then closes.
type Transport interface {
	core.Link
	// Open writes our response header: an XML stream header over TCP, an
	// <open/> over WebSocket, a session response over BOSH.
	Open(h stream.Header)
	// CanStartTLS reports whether the transport can be upgraded to TLS:
	// only a plain TCP stream can.
	CanStartTLS() bool
	// StartTLS upgrades the transport once what was queued (<proceed/>)
	// is written; done runs when the handshake is over.
	StartTLS(done func(error))
	// TLS returns the TLS state once TLS is up, or nil (also behind a
	// TLS-terminating proxy, where no channel binding is possible).
	TLS() *tls.ConnectionState
}

// Service is what every client stream of a server shares, whatever its
// transport: the login throttles and counters, the certificates for
// channel binding, the options in force.
type Service struct {
	srv   *core.Server
	log   *slog.Logger
	guard *sasl.Guard
	certs *certs.Manager
	conf  atomic.Pointer[config.C2S]

	logins, failures *core.Counter
	warn             *core.LogLimiter
}

// NewService returns the service for srv's client streams; api is the
// module that owns it (its log and metrics).
func NewService(api *core.API, crt *certs.Manager, conf *config.C2S) *Service {
	s := &Service{srv: api.Server(), log: api.Log(), guard: sasl.NewGuard(4096), certs: crt,
		logins:   api.Counter("logins", "successful SASL authentications"),
		failures: api.Counter("auth_failures", "failed SASL authentications"),
		warn:     core.NewLogLimiter(time.Minute)}
	s.conf.Store(conf)
	return s
}

// ServiceName is the name the c2s module provides its Service under:
// every client transport (TCP, WebSocket, BOSH) uses the same one, so the
// login throttles and counters do not reset when a client changes
// transport, and the certificates are the same.
const ServiceName = "clientstream"

// Certs returns the hosts' certificates, for transports that run their own
// TLS listeners.
func (svc *Service) Certs() *certs.Manager { return svc.certs }

// SetConf replaces the options in force (a reload); streams read them at
// each step.
func (svc *Service) SetConf(c *config.C2S) { svc.conf.Store(c) }

// Conf returns the options in force.
func (svc *Service) Conf() *config.C2S { return svc.conf.Load() }

// Warn logs a warning through the service's limiter: one line per cause
// and minute.
func (svc *Service) Warn(cause, msg string, args ...any) { svc.warn.Warn(svc.log, cause, msg, args...) }

// Negotiation states of a client stream.
const (
	stateHeader = iota // waiting for a stream header
	stateAuth          // features sent: STARTTLS and SASL
	stateBind          // authenticated: waiting for resource binding
	stateOpen          // bound: stanzas are routed
)

// Next says what a transport must do after an element.
type Next uint8

// What comes after an element.
const (
	Continue Next = iota // read on
	Restart              // SASL succeeded: a new stream starts right after this element
	StartTLS             // STARTTLS: drop what follows and run the handshake
)

// Options are what a transport decides about one stream.
type Options struct {
	// IP is the peer's address, for throttles and logs.
	IP string
	// Secure is true when the stream is encrypted from the start (direct
	// TLS, or a TLS-terminating proxy the operator vouches for).
	Secure bool
	// OnBound runs once the session is bound or adopted (the TCP listener
	// frees the address's handshake slot and starts its keepalive).
	OnBound func()
}

// Stream is one client stream's negotiation. Header, Element and End are
// called by the transport's reading goroutine, one at a time; Fail, Close
// and the timers may run on any goroutine.
type Stream struct {
	svc *Service
	t   Transport
	opt Options

	state  int
	authed bool // SASL succeeded: after the restart, bind comes next
	secure atomic.Bool
	host   *core.Host
	mechs  []string
	cb     sasl.ChannelBinding
	auth   *sasl.Server
	sess   *core.Session
	buf    []byte

	mu     sync.Mutex
	timer  *time.Timer // open and auth timeouts; nil once bound
	headed atomic.Bool // a header came: the timer is the auth timeout
	ended  atomic.Bool
	clean  atomic.Bool // the peer closed its stream: the session ends with it
}

// NewStream starts a stream over t. The open timeout runs from now.
func (svc *Service) NewStream(t Transport, opt Options) *Stream {
	s := &Stream{svc: svc, t: t, opt: opt}
	s.secure.Store(opt.Secure)
	s.timer = time.AfterFunc(svc.Conf().OpenTimeout, s.timeout)
	return s
}

// timeout ends a stream that did not open or authenticate in time; the
// same timer runs first for the header, then for authentication.
func (s *Stream) timeout() {
	if !s.headed.Load() {
		s.Fail(stream.ConnectionTimeout, "no stream header in time")
		return
	}
	s.Fail(stream.ConnectionTimeout, "not authenticated in time")
}

// stopTimer ends the negotiation timeouts for good, dropping the timer so
// that a bound session does not keep it.
func (s *Stream) stopTimer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// Session returns the stream's session: nil before authentication.
func (s *Stream) Session() *core.Session { return s.sess }

// Host returns the host the stream was opened to.
func (s *Stream) Host() *core.Host { return s.host }

// Info describes the transport.
func (s *Stream) Info() core.LinkInfo { return s.t.Info() }

// Bound reports whether stanzas are being routed.
func (s *Stream) Bound() bool { return s.state == stateOpen }

// Secure reports whether the stream is encrypted.
func (s *Stream) Secure() bool { return s.secure.Load() }

// Send writes one element on the stream.
func (s *Stream) Send(p []byte) {
	if s.t.Queue(p) == nil {
		s.t.Flush()
	}
}

// write queues p, keeping its buffer for the next element.
func (s *Stream) write(p []byte) {
	s.buf = p[:0]
	s.t.Queue(p)
}

// Fail ends the stream with a stream error.
func (s *Stream) Fail(condition, text string) {
	if !s.ended.CompareAndSwap(false, true) {
		return
	}
	s.svc.log.Debug("stream error", "ip", s.opt.IP, "condition", condition, "text", text)
	s.t.Close(condition, text)
}

// fail is Fail for a stream.Error.
func (s *Stream) fail(e *stream.Error) { s.Fail(e.Condition, e.Text) }

// End handles the peer's end of the stream: ours ends too, and so does the
// session: a client that closes its stream means to leave, and nobody
// keeps its session for resumption (XEP-0198 §5).
func (s *Stream) End() {
	s.clean.Store(true)
	if s.ended.CompareAndSwap(false, true) {
		s.t.Close("", "")
	}
}

// Ended reports whether the stream is over (an error, or its end).
func (s *Stream) Ended() bool { return s.ended.Load() }

// Closed is what the transport calls when it is gone: the session loses
// its link, and is unbound unless a module claims it.
func (s *Stream) Closed() {
	s.ended.Store(true)
	s.stopTimer()
	if s.sess == nil {
		return
	}
	if s.clean.Load() && s.sess.Link() == s.t {
		s.sess.Host.Unbind(s.sess)
		return
	}
	s.sess.Host.LinkLost(s.sess, s.t)
}

// Header handles the peer's stream header (or a restart's), as the
// transport parsed it: h and, when it was refused, herr.
func (s *Stream) Header(h stream.Header, herr *stream.Error) {
	srv := s.svc.srv
	to, _ := jid.New("", h.To, "")
	host := srv.Host(to.Domain())
	if h.To == "" && herr == nil {
		host = srv.Hosts()[0]
	}
	if host != nil && host.Kind != core.HostUser {
		// A component's domain has no accounts to log in to.
		host = nil
	}
	if s.host != nil && host != s.host {
		herr = &stream.Error{Condition: stream.HostUnknown, Text: "the host changed on a stream restart"}
	}
	if host == nil && herr == nil {
		herr = &stream.Error{Condition: stream.HostUnknown, Text: "this server does not serve " + h.To}
	}
	resp := stream.Header{Space: stanza.NSClient, ID: stream.NewID(), Lang: "en"}
	if host != nil {
		resp.From = host.Name
	}
	s.t.Open(resp)
	if herr != nil {
		s.fail(herr)
		return
	}
	s.host = host
	s.headed.Store(true)
	s.mu.Lock()
	if s.timer != nil {
		s.timer.Reset(s.svc.Conf().AuthTimeout)
	}
	s.mu.Unlock()
	s.write(s.features())
	if s.authed {
		s.state = stateBind
	} else {
		s.state = stateAuth
	}
}

// plainAllowed reports whether SASL may run without TLS on this stream:
// only on loopback, and only when configured (benchmarks, local daemons).
func (s *Stream) plainAllowed() bool {
	if !s.svc.Conf().PlainOnLoopback {
		return false
	}
	ip := net.ParseIP(s.opt.IP)
	return ip != nil && ip.IsLoopback()
}

// features writes <stream:features/>: STARTTLS and SASL before
// authentication, binding after it, and what modules add.
func (s *Stream) features() []byte {
	var b stanza.Builder
	b.Reset(s.buf[:0]).Start("stream:features")
	if s.authed {
		b.Start("bind").Attr("xmlns", stanza.NSBind).End()
		b.Start("session").Attr("xmlns", stanza.NSSession).Start("optional").End().End()
	} else {
		if !s.Secure() && s.t.CanStartTLS() {
			b.Start("starttls").Attr("xmlns", stanza.NSTLS)
			if !s.plainAllowed() {
				b.Start("required").End()
			}
			b.End()
		}
		s.appendSASL(&b)
	}
	s.host.Events.Fire(core.EventStreamFeatures, &core.Event{Host: s.host, Origin: s.sess,
		Data: &core.Features{B: &b, Authenticated: s.authed, Stream: s}})
	return b.Bytes()
}

// Element handles one top-level element and says what the transport does
// next.
func (s *Stream) Element(st *stanza.Stanza) Next {
	if s.Ended() {
		return Continue
	}
	switch s.state {
	case stateOpen:
		s.routed(st)
	case stateAuth:
		return s.negotiate(st)
	case stateBind:
		s.bind(st)
	default:
		s.fail(&stream.Error{Condition: stream.NotWellFormed, Text: "an element before the stream header"})
	}
	return Continue
}

// routed handles an element of a bound stream.
func (s *Stream) routed(st *stanza.Stanza) {
	if st.Kind == stanza.Other {
		if !s.fire(core.StreamBound, st) {
			s.fail(&stream.Error{Condition: stream.UnsupportedStanzaType, Text: "unknown element " + string(st.Name())})
		}
		return
	}
	if st.Kind == stanza.IQ && string(st.ChildSpace()) == stanza.NSSession && string(st.Type()) == "set" {
		// RFC 3921 session: a no-op kept for old clients.
		core.Result(&core.Event{Host: s.host, Origin: s.sess, Stanza: st, From: s.sess.JID}, nil)
		return
	}
	if len(st.Outer()) > 0 {
		// Prefixes from our peer's stream header mean nothing on the
		// recipient's stream: declare them before anyone sees the bytes.
		sc, err := st.SelfContained(stanza.NSClient)
		if err != nil {
			s.fail(&stream.Error{Condition: stream.InvalidXML, Text: "cannot declare the stream's prefixes on this stanza"})
			return
		}
		st = sc
	}
	s.svc.srv.Route(s.sess, st)
}

// fire offers an element the machine does not handle to the modules.
func (s *Stream) fire(phase string, st *stanza.Stanza) bool {
	space, local := st.Space(), st.Name()
	if st.Kind == stanza.IQ {
		space, local = st.ChildSpace(), st.ChildName()
	}
	ev := &core.Event{Host: s.host, Origin: s.sess, Stanza: st, Data: s}
	if s.sess != nil {
		ev.From = s.sess.JID
	}
	return s.host.Events.Fire(core.StreamEvent(phase, string(space), string(local)), ev)
}

// negotiate handles an element before authentication.
func (s *Stream) negotiate(st *stanza.Stanza) Next {
	ns := string(st.Space())
	switch {
	case ns == stanza.NSTLS && string(st.Name()) == "starttls":
		if s.Secure() {
			s.fail(&stream.Error{Condition: stream.PolicyViolation, Text: "TLS is already in use"})
			return Continue
		}
		if !s.t.CanStartTLS() {
			s.fail(&stream.Error{Condition: stream.UnsupportedFeature, Text: "this transport has no STARTTLS"})
			return Continue
		}
		s.t.Queue([]byte("<proceed xmlns='" + stanza.NSTLS + "'/>"))
		s.t.StartTLS(func(err error) {
			if err != nil {
				s.svc.log.Debug("TLS handshake failed", "ip", s.opt.IP, "err", err)
				return
			}
			s.secure.Store(true)
		})
		// RFC 6120 §5.4.3.3: a new stream follows the handshake.
		s.state = stateHeader
		return StartTLS
	case ns == stanza.NSSASL:
		if s.saslElement(st) {
			return Restart
		}
		return Continue
	}
	if s.fire(core.StreamPreAuth, st) {
		return Continue
	}
	s.fail(&stream.Error{Condition: stream.NotAuthorized, Text: "authenticate first"})
	return Continue
}

// bind handles resource binding (RFC 6120 §7).
func (s *Stream) bind(st *stanza.Stanza) {
	if st.Kind != stanza.IQ || string(st.ChildSpace()) != stanza.NSBind || string(st.Type()) != "set" {
		if s.fire(core.StreamPreBind, st) {
			return
		}
		if st.Kind == stanza.IQ {
			s.errorIQ(st, core.ErrAuth, "not-authorized", "bind a resource first")
		}
		return
	}
	tree, err := st.Tree()
	if err != nil {
		s.errorIQ(st, core.ErrModify, "bad-request", "")
		return
	}
	var resource string
	if r := tree.Child(stanza.NSBind, "bind").Child(stanza.NSBind, "resource"); r != nil {
		resource = r.Text()
	}
	cfg := s.svc.Conf()
	full, err := s.sess.Host.BindWithin(s.sess, resource, core.BindLimits{
		Conflict: cfg.ResourceConflict, MaxResources: cfg.MaxResources, MaxSessions: cfg.MaxSessions})
	switch {
	case errors.Is(err, core.ErrConflict):
		s.errorIQ(st, core.ErrCancel, "conflict", "")
		return
	case errors.Is(err, core.ErrResourceLimit):
		// RFC 6120 §7.6.2.1: the account has reached its limit.
		s.errorIQ(st, core.ErrWait, "resource-constraint", "this account has "+strconv.Itoa(cfg.MaxResources)+" sessions already; close one first")
		s.svc.Warn("max_resources", "session refused: the account has max_resources sessions", "jid", s.sess.JID.String(), "ip", s.opt.IP, "limit", cfg.MaxResources)
		return
	case errors.Is(err, core.ErrSessionLimit):
		s.errorIQ(st, core.ErrWait, "resource-constraint", "the server has as many sessions as it may; try again later")
		s.svc.Warn("max_sessions", "session refused: the server has max_sessions sessions", "ip", s.opt.IP, "limit", cfg.MaxSessions)
		return
	case err != nil:
		s.errorIQ(st, core.ErrModify, "bad-request", "invalid resource")
		return
	}
	var b stanza.Builder
	b.Reset(nil).Start("bind").Attr("xmlns", stanza.NSBind).Start("jid").Text(full.String())
	s.opened()
	core.Result(&core.Event{Host: s.host, Origin: s.sess, Stanza: st, From: full}, b.Bytes())
	s.svc.log.Debug("session bound", "jid", full.String(), "ip", s.opt.IP, "tls", s.Secure())
}

// opened ends negotiation: stanzas are routed from now on, and an idle
// session keeps none of the negotiation's buffers.
func (s *Stream) opened() {
	s.stopTimer()
	s.state = stateOpen
	s.mechs, s.cb, s.buf = nil, sasl.ChannelBinding{}, nil
	if s.opt.OnBound != nil {
		s.opt.OnBound()
	}
}

// ErrNotAdoptable is Adopt's refusal: the stream is not between
// authentication and binding, or the session is not a detached one of
// the same account.
var ErrNotAdoptable = errors.New("clientstream: that session cannot be resumed on this stream")

// Adopt implements core.Stream.
func (s *Stream) Adopt(old *core.Session) error {
	if s.state != stateBind || s.sess == nil || old.Link() != nil || !old.Bound() ||
		old.Host != s.sess.Host || !old.JID.Bare().Equal(s.sess.JID.Bare()) {
		return ErrNotAdoptable
	}
	old.Attach(s.t)
	s.sess = old
	s.opened()
	return nil
}

func (s *Stream) errorIQ(st *stanza.Stanza, typ, cond, text string) {
	var b stanza.Builder
	b.Reset(s.buf[:0]).Start("iq").Attr("type", "error")
	if id := st.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	core.AppendError(&b, typ, cond, text)
	s.write(b.Bytes())
}

var _ core.Stream = (*Stream)(nil)
