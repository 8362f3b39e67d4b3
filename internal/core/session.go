package core

import (
	"sync"
	"sync/atomic"

	"xmppd/internal/jid"
)

// Sender is how the core reaches a session's peer. The c2s module
// implements it over a stream; the core never sees a socket.
type Sender interface {
	// Queue adds a serialized stanza to the peer's output.
	Queue(p []byte) error
	// Flush writes what was queued.
	Flush()
	// Close ends the stream, with a stream error condition unless it is "".
	Close(condition, text string)
}

// Session is one client's stream once it has an account: a bound resource
// after resource binding.
type Session struct {
	ID     uint64
	Host   *Host
	JID    jid.JID // full JID once bound, bare before
	Out    Sender
	Remote string // peer address, for logs
	Secure bool   // the stream is encrypted

	priority   atomic.Int32
	available  atomic.Bool
	interested atomic.Bool
	bound      atomic.Bool

	mu       sync.Mutex
	presence []byte // the last available presence broadcast, as sent
	values   []kv

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

// Send queues p for the session's peer and flushes it, for stanzas the
// server makes outside any client's input (timers, admin commands).
func (s *Session) Send(p []byte) {
	if s.Out.Queue(p) == nil {
		s.Out.Flush()
	}
}

// send queues p for s on behalf of origin: within a read batch the flush
// waits until the batch ends (FlushTouched), so one writev carries them all.
func (s *Session) send(origin *Session, p []byte) {
	if origin == nil {
		s.Send(p)
		return
	}
	if s.Out.Queue(p) != nil {
		return
	}
	w := origin.work()
	for _, t := range w.touched {
		if t == s {
			return
		}
	}
	w.touched = append(w.touched, s)
}

// FlushTouched flushes every session that received stanzas while this
// session's input was being processed; the c2s module calls it once per read.
func (s *Session) FlushTouched() {
	w := s.w
	if w == nil {
		return
	}
	for i, t := range w.touched {
		t.Out.Flush()
		w.touched[i] = nil
	}
	w.touched = w.touched[:0]
}
