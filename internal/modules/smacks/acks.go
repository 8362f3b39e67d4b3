package smacks

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// state is what stream management keeps on a session that enabled it.
//
// Counters are XEP-0198's, modulo 2^32. The session counts every stanza it
// sends from its creation on (core.Session.Sent); the client counts from
// <enabled/>. base is the session's count that the client's 0 stands for,
// so the client's h acknowledges the session's base+h.
type state struct {
	sess *core.Session
	id   string        // the resumption id; "" when resumption is off
	max  time.Duration // how long the session hibernates

	in      atomic.Uint32 // stanzas handled from the client (our h)
	base    atomic.Uint32
	acked   atomic.Uint32 // the client's last h
	lastReq atomic.Uint32 // the client-relative count when we last sent <r/>
	pending atomic.Bool   // an <r/> is unanswered
	failed  atomic.Bool   // a protocol error: the session is not kept
	dead    atomic.Bool   // unbound: late stanzas are routed again

	// While a resumption moves the session to its new stream, stanzas for
	// it wait here instead of going out half to the old link, half to the
	// new one (resume.go).
	mu       sync.Mutex
	resuming bool
	held     [][]byte

	// Hibernation, under the module's lock.
	hibernating bool
	since       time.Time
	gen         uint64
	timer       *time.Timer
}

// stateOf returns the stream management state of s, or nil.
func stateOf(s *core.Session) *state {
	st, _ := s.Get(stateKey).(*state)
	return st
}

// sent is how many stanzas the session sent since the client enabled
// stream management, as the client counts them.
func (st *state) sent() uint32 { return uint32(st.sess.Sent()) - st.base.Load() }

// Elements of XEP-0198 the module sends.
var (
	elemR = []byte("<r xmlns='" + NS + "'/>")
)

// appendFailed writes <failed/> with a stanza error condition (XEP-0198
// §3, §5); h is included when known (XEP-0198 §5, version 1.6).
func appendFailed(cond string, h *uint32) []byte {
	var b stanza.Builder
	b.Reset(nil).Start("failed").Attr("xmlns", NS)
	if h != nil {
		b.Attr("h", strconv.FormatUint(uint64(*h), 10))
	}
	b.Start(cond).Attr("xmlns", stanza.NSStanzas).End()
	return b.Bytes()
}

func appendA(h uint32) []byte {
	var b stanza.Builder
	return b.Reset(nil).Start("a").Attr("xmlns", NS).Attr("h", strconv.FormatUint(uint64(h), 10)).Bytes()
}

// newID returns a resumption id: unguessable, since it names a session.
func newID() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// parseH reads an 'h' attribute: a count modulo 2^32 (XEP-0198 §4).
func parseH(v string) (uint32, bool) {
	n, err := strconv.ParseUint(v, 10, 32)
	return uint32(n), err == nil
}

// enable turns stream management on for a bound session (XEP-0198 §3).
func (m *Module) enable(ev *core.Event) bool {
	s := ev.Origin
	if s == nil {
		return false
	}
	if stateOf(s) != nil {
		// XEP-0198 §3: enabling twice is an unexpected request.
		s.SendFor(s, appendFailed("unexpected-request", nil))
		return true
	}
	tree, err := ev.Stanza.Tree()
	if err != nil {
		s.SendFor(s, appendFailed("bad-request", nil))
		return true
	}
	st := &state{sess: s}
	resume := tree.Attr("resume") == "true" || tree.Attr("resume") == "1"
	if resume && m.o.hibernation > 0 && m.o.maxHibernated > 0 {
		st.id, st.max = newID(), m.o.hibernation
		// XEP-0198 §3: the client's preference, if shorter than ours.
		if v, ok := parseH(tree.Attr("max")); ok && v > 0 && time.Duration(v)*time.Second < st.max {
			st.max = time.Duration(v) * time.Second
		}
	}
	s.KeepUnacked(int(m.o.maxUnacked))
	st.base.Store(baseOf(s))
	s.Set(stateKey, st)
	if st.id != "" {
		m.mu.Lock()
		m.byID[st.id] = st
		m.mu.Unlock()
	}
	m.enabled.Inc()
	m.armSweep()

	var b stanza.Builder
	b.Reset(nil).Start("enabled").Attr("xmlns", NS)
	if st.id != "" {
		b.Attr("id", st.id).Attr("resume", "true").Attr("max", strconv.Itoa(int(st.max/time.Second)))
	}
	s.SendFor(s, b.Bytes())
	return true
}

// baseOf returns the session's count of sent stanzas when it started
// keeping them: its count less what it keeps. Both are read again until
// no stanza was sent in between, which another session may do at any time.
func baseOf(s *core.Session) uint32 {
	for {
		a := s.Sent()
		kept := len(s.Unacked())
		if s.Sent() == a {
			return uint32(a) - uint32(kept)
		}
	}
}

// enableUnbound refuses <enable/> before resource binding (XEP-0198 §3).
func (m *Module) enableUnbound(ev *core.Event) bool {
	if s, ok := ev.Data.(core.Stream); ok {
		s.Send(appendFailed("unexpected-request", nil))
		return true
	}
	return false
}

// count adds each stanza a session sends to its inbound count, whatever
// becomes of it later (XEP-0198 §4: handled by the server).
func (m *Module) count(ev *core.Event) bool {
	if ev.Origin != nil {
		if st := stateOf(ev.Origin); st != nil {
			st.in.Add(1)
		}
	}
	return false
}

// request answers the client's <r/> with our count (XEP-0198 §4).
func (m *Module) request(ev *core.Event) bool {
	st := stateOf(ev.Origin)
	if st == nil {
		return false // the stream answers: not enabled, not understood
	}
	ev.Origin.SendFor(ev.Origin, appendA(st.in.Load()))
	return true
}

// answer takes the client's <a h/>: what it acknowledges is dropped from
// the kept copies (XEP-0198 §4).
func (m *Module) answer(ev *core.Event) bool {
	s := ev.Origin
	st := stateOf(s)
	if st == nil {
		return false
	}
	tree, err := ev.Stanza.Tree()
	if err != nil {
		return false
	}
	h, ok := parseH(tree.Attr("h"))
	if !ok {
		if strm, ok := ev.Data.(core.Stream); ok {
			strm.Fail("invalid-xml", "the 'h' of <a/> must be a number below 2^32")
			return true
		}
		return false
	}
	if err := s.Ack(st.base.Load() + h); errors.Is(err, core.ErrBadAck) {
		m.tooHigh(st, h)
		return true
	}
	st.acked.Store(h)
	st.pending.Store(false)
	return true
}

// tooHigh ends a stream whose client acknowledged more than it was sent
// (XEP-0198 §4): a stream error undefined-condition with
// <handled-count-too-high/>. The session is not kept for resumption; what
// it has not acknowledged is routed again.
func (m *Module) tooHigh(st *state, h uint32) {
	st.failed.Store(true)
	var b stanza.Builder
	b.Reset(nil).Start("stream:error").Attr("xmlns:stream", "http://etherx.jabber.org/streams")
	b.Start("undefined-condition").Attr("xmlns", stanza.NSStreams).End()
	b.Start("handled-count-too-high").Attr("xmlns", NS).
		Attr("h", strconv.FormatUint(uint64(h), 10)).
		Attr("send-count", strconv.FormatUint(uint64(st.sent()), 10)).End()
	st.sess.Send(b.Bytes())
	st.sess.Close("", "")
}

// outgoing sees every stanza on its way to a session of the host: it asks
// for an ack after request_every of them, and routes again the messages
// that reach a session that is gone.
func (m *Module) outgoing(s *core.Session, o *core.Outgoing) bool {
	if len(o.Raw) < 2 || (o.Raw[1] != 'm' && o.Raw[1] != 'p' && o.Raw[1] != 'i') {
		return false // stream-level elements: ours, CSI's, stream errors
	}
	st := stateOf(s)
	if st == nil {
		return false
	}
	if st.hold(o.Raw) {
		return true
	}
	if st.dead.Load() {
		m.reroute(s, [][]byte{o.Raw})
		return true
	}
	if s.Link() == nil || st.pending.Load() {
		return false
	}
	// Before this stanza: its count is the one acknowledged.
	n := st.sent()
	if n-st.lastReq.Load() >= uint32(m.o.requestEvery) && st.pending.CompareAndSwap(false, true) {
		st.lastReq.Store(n)
		s.SendUnfiltered(elemR)
	}
	return false
}

// sweep asks idle sessions that have unacknowledged stanzas for an ack,
// and keeps hibernation within its memory budget.
func (m *Module) sweep() {
	m.sweepMu.Lock()
	m.sweepT = nil
	m.sweepMu.Unlock()
	active := false
	for _, s := range m.host.AllSessions() {
		st := stateOf(s)
		if st == nil {
			continue
		}
		active = true
		if s.Link() == nil || st.pending.Load() {
			continue
		}
		n := st.sent()
		if n != st.acked.Load() && st.pending.CompareAndSwap(false, true) {
			st.lastReq.Store(n)
			s.Send(elemR)
		}
	}
	m.trim(nil)
	if active {
		m.armSweep()
	}
}

// armSweep schedules the next idle sweep unless one is scheduled.
func (m *Module) armSweep() {
	m.sweepMu.Lock()
	defer m.sweepMu.Unlock()
	if m.sweepT == nil && !m.unloading {
		m.sweepT = time.AfterFunc(m.o.requestIdle, m.sweep)
	}
}
