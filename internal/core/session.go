package core

import (
	"sync"
	"sync/atomic"

	"xmppd/internal/jid"
)

// Link is the transport a session's output goes through: a TCP stream,
// a WebSocket, BOSH. A session is attached to one link at a time, and may
// outlive it (stream management keeps it for resumption). The core never
// sees a socket.
type Link interface {
	// Queue adds one top-level element, serialized as on an XML stream,
	// to the peer's output; the link frames it its own way.
	Queue(p []byte) error
	// Flush writes what was queued.
	Flush()
	// Close ends the stream, with a stream error condition unless it is "".
	Close(condition, text string)
	// Info describes the link.
	Info() LinkInfo
}

// LinkInfo describes a link, for logs, policies and the admin UI.
type LinkInfo struct {
	Transport string // "c2s", "websocket", "bosh", ...
	Remote    string // the peer's IP address
	Secure    bool   // encrypted (TLS, or a TLS-terminating proxy the operator vouches for)
}

// linkRef boxes a Link so that it can be swapped atomically.
type linkRef struct{ Link }

// Session is one client's stream once it has an account: a bound resource
// after resource binding. Everything it receives goes out through Send or
// SendFor, which run its filters, count and keep what stream management
// needs, and hand the bytes to its link.
type Session struct {
	ID   uint64
	Host *Host
	JID  jid.JID // full JID once bound, bare before

	link atomic.Pointer[linkRef] // nil while detached

	priority   atomic.Int32
	available  atomic.Bool
	interested atomic.Bool
	bound      atomic.Bool

	mu       sync.Mutex
	presence []byte // the last available presence broadcast, as sent
	values   []kv

	// The outbound path's counters: what stream management needs.
	outMu sync.Mutex
	sent  uint64     // stanzas handed on (XEP-0198 h, as the server counts it)
	keep  *keptQueue // copies of unacknowledged stanzas, when asked for

	// Scratch used only by the goroutine serving this session's input, lent
	// from a pool while there is input (see Idle).
	w *work
}

// work is what routing a session's stanzas needs, so that routing one of
// them allocates nothing.
type work struct {
	ev      Event
	key     []byte
	scratch []byte
	touched []*Session
	// touchedSet indexes touched once a fan-out makes it long, so that
	// marking a session stays cheap with a thousand recipients.
	touchedSet map[*Session]struct{}
}

// maxTouchedScan is the length of touched up to which it is searched
// rather than indexed.
const maxTouchedScan = 32

// touch adds t to the sessions to flush at the end of the batch, once.
func (w *work) touch(t *Session) {
	if w.touchedSet != nil {
		if _, ok := w.touchedSet[t]; ok {
			return
		}
		w.touchedSet[t] = struct{}{}
	} else {
		for _, x := range w.touched {
			if x == t {
				return
			}
		}
		if len(w.touched) == maxTouchedScan {
			w.touchedSet = make(map[*Session]struct{}, 2*maxTouchedScan)
			for _, x := range w.touched {
				w.touchedSet[x] = struct{}{}
			}
			w.touchedSet[t] = struct{}{}
		}
	}
	w.touched = append(w.touched, t)
}

// flushTouched flushes the links of the sessions the batch wrote to.
func (w *work) flushTouched() {
	for i, t := range w.touched {
		if l := t.Link(); l != nil {
			l.Flush()
		}
		w.touched[i] = nil
	}
	w.touched = w.touched[:0]
	w.touchedSet = nil // rare and big: not kept in the pool
}

var works = sync.Pool{New: func() any { return new(work) }}

// maxKeptScratch bounds the output buffer a pooled work keeps: a rare huge
// stanza should not pin its size in the pool.
const maxKeptScratch = 16 << 10

// work returns the session's routing scratch, borrowing it if need be.
func (s *Session) work() *work {
	if s.w == nil {
		s.w = works.Get().(*work)
	}
	return s.w
}

// Idle returns the session's routing scratch to the pool: an idle session
// keeps none. Only the goroutine serving the session's input may call it,
// once its batch has ended (after FlushTouched).
func (s *Session) Idle() {
	w := s.w
	if w == nil || len(w.touched) > 0 {
		return
	}
	s.w = nil
	putWork(w)
}

func putWork(w *work) {
	w.ev = Event{}
	if cap(w.scratch) > maxKeptScratch {
		w.scratch = nil
	}
	works.Put(w)
}

type kv struct {
	key *Key
	val any
}

// Key names a value a module keeps on sessions.
type Key struct{ name string }

// NewKey returns a key for per-session module data.
func NewKey(name string) *Key { return &Key{name: name} }

// Get returns the value stored under k, or nil.
func (s *Session) Get(k *Key) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.values {
		if e.key == k {
			return e.val
		}
	}
	return nil
}

// Set stores v under k; nil removes it.
func (s *Session) Set(k *Key, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.values {
		if e.key == k {
			if v == nil {
				s.values = append(s.values[:i], s.values[i+1:]...)
			} else {
				s.values[i].val = v
			}
			return
		}
	}
	if v != nil {
		s.values = append(s.values, kv{k, v})
	}
}

// Priority returns the priority of the last available presence.
func (s *Session) Priority() int { return int(s.priority.Load()) }

// Available reports whether the session has sent available presence.
func (s *Session) Available() bool { return s.available.Load() }

// Interested reports whether the session requested its roster (RFC 6121 §2.1.6: it then gets pushes).
func (s *Session) Interested() bool { return s.interested.Load() }

// SetInterested marks the session as having requested its roster.
func (s *Session) SetInterested() { s.interested.Store(true) }

// Bound reports whether a resource is bound.
func (s *Session) Bound() bool { return s.bound.Load() }

// SetPresence records the session's broadcast presence: raw is the
// available presence as sent (nil when unavailable), prio its priority.
func (s *Session) SetPresence(raw []byte, prio int) {
	s.mu.Lock()
	s.presence = raw
	s.mu.Unlock()
	s.priority.Store(int32(prio))
	s.available.Store(raw != nil)
}

// Presence returns the last available presence, or nil.
func (s *Session) Presence() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.presence
}

// Link returns the link the session is attached to, or nil while it is
// detached.
func (s *Session) Link() Link {
	if r := s.link.Load(); r != nil {
		return r.Link
	}
	return nil
}

// Info describes the session's link; the zero LinkInfo while detached.
func (s *Session) Info() LinkInfo {
	if l := s.Link(); l != nil {
		return l.Info()
	}
	return LinkInfo{}
}

// Attach makes l the session's link: at creation, and when a detached
// session is resumed on a new stream.
func (s *Session) Attach(l Link) { s.link.Store(&linkRef{l}) }

// Close ends the session's stream, with a stream error condition unless
// condition is ""; a detached session is unbound instead.
func (s *Session) Close(condition, text string) {
	if l := s.Link(); l != nil {
		l.Close(condition, text)
		return
	}
	s.Host.Unbind(s)
}

// Send passes p, one serialized top-level element, down the session's
// outbound path and writes it out at once: for stanzas the server makes
// outside any client's input (timers, admin commands, module goroutines).
// It is safe for concurrent use.
func (s *Session) Send(p []byte) { s.out(nil, p, true) }

// SendFor is Send on behalf of origin, the session whose input or event is
// being handled. To origin itself, p is only queued: its transport flushes
// after the read that is being processed. To any other session it is
// written at once. Handlers of any event may use it.
func (s *Session) SendFor(origin *Session, p []byte) {
	s.out(nil, p, s != origin)
}

// SendWithin passes p down s's outbound path on behalf of origin, the
// session whose input is being handled: the flush waits until origin's
// read has been processed (FlushTouched), so one writev carries all that
// the read produced for s, be it routed chat or the fan-out of a burst of
// publishes. Only the goroutine serving origin's input may call it;
// origin nil writes at once, as Send.
func (s *Session) SendWithin(origin *Session, p []byte) {
	if origin == nil {
		s.Send(p)
		return
	}
	s.out(origin, p, false)
}

// out runs the outgoing filters, then emits p. batch is the session whose
// batch the flush joins; flush without a batch writes at once.
func (s *Session) out(batch *Session, p []byte, flush bool) {
	if f := s.Host.filters.Load(); f != nil {
		// Filters get a pointer, so the record would escape: it is
		// pooled, and fan-out stays free of allocations.
		o := outgoings.Get().(*Outgoing)
		o.Raw = p
		taken := false
		for _, e := range *f {
			if e.fn(s, o) {
				taken = true
				break
			}
		}
		*o = Outgoing{}
		outgoings.Put(o)
		if taken {
			return
		}
	}
	s.emit(batch, p, flush)
}

// SendUnfiltered writes p after the filters: for a filter that held
// stanzas back (client state indication) and releases them. Counting,
// keeping and the link still see it.
func (s *Session) SendUnfiltered(p []byte) { s.emit(nil, p, true) }

// emit counts and keeps p as stream management needs, then queues it on
// the link, flushing at once, at the end of batch's read, or (neither)
// when the session's own transport flushes after its read.
func (s *Session) emit(batch *Session, p []byte, flush bool) {
	if isStanza(p) {
		s.Host.Server.Metrics.countOut(p)
		s.outMu.Lock()
		s.sent++
		over := s.keep != nil && !s.keep.push(p)
		s.outMu.Unlock()
		if over {
			// The peer acknowledges too little of what it gets: rather
			// than grow without bound, end the stream. The stanza is kept
			// with the rest, to be resent on resumption or handed on.
			s.Close("resource-constraint", "too many unacknowledged stanzas")
			return
		}
	}
	l := s.Link()
	if l == nil || l.Queue(p) != nil {
		return
	}
	if flush {
		l.Flush()
		return
	}
	if batch == nil || batch == s {
		return
	}
	batch.work().touch(s)
}

// isStanza reports whether p is a message, presence or iq: stream-level
// elements (stream management's own <r/> and <a/>) are not counted.
func isStanza(p []byte) bool {
	if len(p) < 3 || p[0] != '<' {
		return false
	}
	switch p[1] {
	case 'm':
		return len(p) > 8 && string(p[1:8]) == "message"
	case 'p':
		return len(p) > 9 && string(p[1:9]) == "presence"
	case 'i':
		return p[2] == 'q'
	}
	return false
}

// FlushTouched flushes every session that received stanzas while this
// session's input was being processed; the transport calls it once per read.
func (s *Session) FlushTouched() {
	if s.w != nil {
		s.w.flushTouched()
	}
}
