package core

import (
	"errors"
	"slices"
	"sync"

	"xmppd/internal/stanza"
)

// Outgoing is a stanza on its way to a session, as an outgoing filter sees
// it: everything a session receives passes the filters of its host, be it
// routed, broadcast, pushed or an answer to its own request. It is valid
// only during the filter's call.
type Outgoing struct {
	Raw []byte // serialized; a filter that keeps it must copy it
	st  *stanza.Stanza
	err error
}

// Stanza returns Raw parsed, on first use: filters that only need the
// bytes cost nothing more.
func (o *Outgoing) Stanza() (*stanza.Stanza, error) {
	if o.st == nil && o.err == nil {
		o.st, o.err = stanza.Reparse(o.Raw, stanza.NSClient)
	}
	return o.st, o.err
}

// outgoings lends Outgoing records to the filters of one send.
var outgoings = sync.Pool{New: func() any { return new(Outgoing) }}

// OutFilter sees each stanza going to session s. It returns true when it
// took the stanza (dropped it, or keeps it to send later with
// SendUnfiltered); false passes it on.
type OutFilter func(s *Session, out *Outgoing) bool

type filterEntry struct {
	id   uint64
	prio int
	fn   OutFilter
}

// addFilter adds f to the host's outgoing chain, ordered by priority like
// event hooks, and returns its removal. The chain is replaced whole, so
// sending reads it without a lock.
func (h *Host) addFilter(prio int, f OutFilter) func() {
	h.filterMu.Lock()
	defer h.filterMu.Unlock()
	h.filterID++
	id := h.filterID
	var chain []filterEntry
	if old := h.filters.Load(); old != nil {
		chain = slices.Clone(*old)
	}
	chain = append(chain, filterEntry{id: id, prio: prio, fn: f})
	slices.SortStableFunc(chain, func(a, b filterEntry) int { return b.prio - a.prio })
	h.filters.Store(&chain)
	return func() {
		h.filterMu.Lock()
		defer h.filterMu.Unlock()
		chain := slices.DeleteFunc(slices.Clone(*h.filters.Load()), func(e filterEntry) bool { return e.id == id })
		if len(chain) == 0 {
			h.filters.Store(nil)
			return
		}
		h.filters.Store(&chain)
	}
}

// keptQueue holds copies of the stanzas a session sent that its peer has
// not acknowledged (XEP-0198 §4), up to a bound in bytes.
type keptQueue struct {
	items [][]byte
	bytes int
	max   int
	acked uint32 // the peer's last h
}

// push keeps a copy of p and reports whether the queue is still within
// its bound. p is kept even past it: the stream ends then, and what it
// kept is what stream management hands on (resent, or re-routed), so this
// stanza must not be the one that is lost.
func (q *keptQueue) push(p []byte) bool {
	q.items = append(q.items, append([]byte(nil), p...))
	q.bytes += len(p)
	return q.bytes <= q.max
}

// ErrBadAck means an acknowledgement counted more stanzas than were sent.
var ErrBadAck = errors.New("core: acknowledged more stanzas than were sent")

// KeepUnacked makes the session keep a copy of every stanza it sends from
// now on until the peer acknowledges it, up to maxBytes; the stanza that
// passes that is kept too, and the stream ends with resource-constraint. Zero stops keeping and drops what
// was kept. Stream management calls it when the client enables it.
func (s *Session) KeepUnacked(maxBytes int) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if maxBytes <= 0 {
		s.keep = nil
		return
	}
	if s.keep == nil {
		s.keep = &keptQueue{acked: uint32(s.sent)}
	}
	s.keep.max = maxBytes
}

// Ack drops the kept stanzas the peer's count h (XEP-0198 §4: stanzas
// handled, modulo 2^32) covers. An h beyond what was sent is ErrBadAck.
func (s *Session) Ack(h uint32) error {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	q := s.keep
	if q == nil {
		return nil
	}
	n := int(h - q.acked) // wraps as XEP-0198 §5 says
	if n < 0 || n > len(q.items) {
		return ErrBadAck
	}
	for _, p := range q.items[:n] {
		q.bytes -= len(p)
	}
	clear(q.items[:n])
	q.items = q.items[n:]
	q.acked = h
	return nil
}

// Unacked returns the kept stanzas not acknowledged yet, oldest first.
func (s *Session) Unacked() [][]byte {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if s.keep == nil {
		return nil
	}
	return slices.Clone(s.keep.items)
}

// Resend writes the kept stanzas the peer has not acknowledged to the
// session's link again, oldest first, and returns how many: stream
// management's resumption on a new link (XEP-0198 §5). They were filtered
// and counted when first sent, so they are neither again, and they stay
// kept until acknowledged.
func (s *Session) Resend() int {
	s.outMu.Lock()
	var items [][]byte
	if s.keep != nil {
		items = slices.Clone(s.keep.items)
	}
	s.outMu.Unlock()
	l := s.Link()
	if l == nil {
		return 0
	}
	for _, p := range items {
		if l.Queue(p) != nil {
			break
		}
	}
	l.Flush()
	return len(items)
}

// Sent returns how many stanzas the session has sent, for XEP-0198's h.
func (s *Session) Sent() uint64 {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	return s.sent
}
