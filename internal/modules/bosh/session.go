package bosh

import (
	"crypto/tls"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"xmppd/internal/clientstream"
	"xmppd/internal/core"
	"xmppd/internal/httpd"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
)

// Errors of Queue: the session is over, or its client fell too far behind.
var (
	errClosed = errors.New("bosh: the session is over")
	errFull   = errors.New("bosh: too much output waiting for the client")
)

// emptyBody is the response that carries nothing.
var emptyBody = append(appendOpen(nil, 0), "/>"...)

// session is one BOSH session: the core.Link of a client session whose
// output waits in out until a held request carries it. It has no
// goroutine or timer of its own: held requests are served by their HTTP
// handlers, and the module's one sweep ends sessions left idle.
type session struct {
	m      *Module
	st     *clientstream.Stream
	sid    string
	ip     string
	key    string // address group, for the per-address limit
	to     string // the host the client opened the session to
	secure bool

	wait       time.Duration
	hold       int
	requests   int // hold + 1: requests the client may have open at once
	inactivity time.Duration
	maxPause   time.Duration
	maxQueue   int
	acks       bool // the client asked for request acknowledgements

	// From the machine's Open, for the creation response.
	streamID, from string
	// restart: SASL succeeded, and the next body must restart the stream.
	// Only the request that is being fed touches it.
	restart bool

	mu         sync.Mutex
	next       uint64     // the lowest rid not received yet
	fed        uint64     // the last rid whose payload went to the machine
	todo       []*request // received, waiting for their turn, by rid
	held       []*request // fed, waiting for output, by rid
	out        []byte     // output waiting for a request
	sent       []response // the last responses, for a client that asks again
	active     int        // requests the client has open
	running    bool       // a request's payload is being fed
	pausing    bool       // the client asked for a pause
	pauseFor   time.Duration
	closed     bool
	closeLater bool   // closed while feeding: the stream ends after it
	term       []byte // the terminate response, once closed

	// deadline is when an idle session ends (Unix nanoseconds), 0 while
	// the client has a request open; the sweep reads it without the lock.
	deadline atomic.Int64
	finished atomic.Bool // the machine was told the link is gone
}

// request is one HTTP request of a session.
type request struct {
	rid     uint64
	a       attrs
	body    []byte // its bytes, until fed
	stanzas int
	ready   chan struct{} // closed once resp is set
	resp    []byte
	done    bool // answered
	gone    bool // the client went away before its answer
	counted bool // counted in session.active
}

// response is a response kept for retransmission (XEP-0124 §14.3).
type response struct {
	rid  uint64
	body []byte
}

// newRequest returns a request counted as open (mu held).
func (s *session) newRequest(rid uint64) *request {
	r := &request{rid: rid, ready: make(chan struct{})}
	r.counted = true
	s.active++
	s.deadline.Store(0)
	s.pausing = false
	return r
}

// uncount ends r's part in the session's activity (mu held): with no
// request open, the inactivity time (or the pause) starts.
func (s *session) uncount(r *request) {
	if !r.counted {
		return
	}
	r.counted = false
	s.active--
	if s.active == 0 {
		s.idleFromNow()
	}
}

// idleFromNow starts the session's idle time (mu held).
func (s *session) idleFromNow() {
	d := s.inactivity
	if s.pausing {
		d = s.pauseFor
	}
	s.deadline.Store(time.Now().Add(d).UnixNano())
}

// open starts the stream: the session creation request, whose body is
// the stream header.
func (s *session) open(rid uint64, h stream.Header, herr *stream.Error) {
	s.mu.Lock()
	s.fed, s.running, s.active = rid, true, 1
	s.mu.Unlock()
	s.st.Header(h, herr)
	s.mu.Lock()
	s.running = false
	later := s.closeLater
	s.mu.Unlock()
	if later {
		s.closeStream()
	}
}

// respondCreated answers the session creation request (XEP-0124 §7.1,
// XEP-0206 §4) with the session's parameters and the stream features.
func (s *session) respondCreated(w http.ResponseWriter, rid uint64) {
	s.mu.Lock()
	var b []byte
	if s.closed {
		b = s.term
	} else {
		var ack uint64
		if s.acks {
			ack = rid
		}
		b = appendOpen(make([]byte, 0, 640+len(s.out)), ack)
		b = attr(b, "sid", s.sid)
		b = attr(b, "wait", strconv.Itoa(int(s.wait/time.Second)))
		b = attr(b, "requests", strconv.Itoa(s.requests))
		b = attr(b, "hold", strconv.Itoa(s.hold))
		b = attr(b, "polling", strconv.Itoa(polling))
		b = attr(b, "inactivity", strconv.Itoa(int(s.inactivity/time.Second)))
		if s.maxPause >= time.Second {
			b = attr(b, "maxpause", strconv.Itoa(int(s.maxPause/time.Second)))
		}
		b = attr(b, "ver", "1.11")
		b = attr(b, "from", s.from)
		b = attr(b, "authid", s.streamID)
		b = attr(b, "secure", "true")
		b = append(b, " xmlns:xmpp='"+nsXBOSH+"' xmpp:version='1.0' xmpp:restartlogic='true'>"...)
		b = append(b, s.out...)
		b = append(b, "</body>"...)
		s.out = nil
	}
	s.remember(rid, b)
	s.active = 0
	s.idleFromNow()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		s.m.remove(s)
	}
	writeBody(w, b)
}

// request handles a request of the session: rid checks, then its turn to
// be fed, then the wait for output.
func (s *session) request(w http.ResponseWriter, req *http.Request, a attrs, body []byte, n int) {
	rid := uint64(a.rid)
	s.mu.Lock()
	if s.closed {
		b := s.term
		s.mu.Unlock()
		s.m.remove(s)
		if b == nil {
			b = terminateBody(condItemNotFound, "the session is over", nil)
		}
		writeBody(w, b)
		return
	}
	if a.ack >= 0 {
		// The client has every response up to ack (XEP-0124 §9.2).
		s.sent = slices.DeleteFunc(s.sent, func(r response) bool { return r.rid <= uint64(a.ack) })
	}
	if rid < s.next {
		s.again(w, req, rid, a, body, n)
		return
	}
	if rid >= s.next+uint64(s.requests) {
		s.mu.Unlock()
		writeBody(w, s.refuse(condItemNotFound, "rid "+strconv.FormatUint(rid, 10)+" is outside the window of "+strconv.Itoa(s.requests)+" requests"))
		return
	}
	if s.active >= s.requests {
		s.mu.Unlock()
		writeBody(w, s.refuse(condPolicy, "more than "+strconv.Itoa(s.requests)+" requests open at once"))
		return
	}
	r := s.newRequest(rid)
	r.a, r.body, r.stanzas = a, body, n
	i, _ := slices.BinarySearchFunc(s.todo, rid, func(x *request, rid uint64) int { return cmpRID(x.rid, rid) })
	s.todo = slices.Insert(s.todo, i, r)
	for _, t := range s.todo {
		if t.rid == s.next {
			s.next++
		}
	}
	run := !s.running && s.todo[0].rid == s.fed+1
	if run {
		s.running = true
	}
	s.mu.Unlock()
	if run {
		s.run()
	}
	s.await(w, req, r)
}

func cmpRID(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// again handles a rid the session has received before (mu held; it
// unlocks): the client lost the response and asks again (XEP-0124 §14.3).
func (s *session) again(w http.ResponseWriter, req *http.Request, rid uint64, a attrs, body []byte, n int) {
	for _, r := range s.sent {
		if r.rid == rid {
			s.mu.Unlock()
			writeBody(w, r.body)
			return
		}
	}
	// Not answered yet: this request takes the place of the one the
	// client gave up on.
	for _, list := range []*[]*request{&s.held, &s.todo} {
		for i, old := range *list {
			if old.rid != rid {
				continue
			}
			r := s.newRequest(rid)
			r.a, r.body, r.stanzas = a, old.body, old.stanzas
			(*list)[i] = r
			s.finish(old, emptyBody, false)
			s.mu.Unlock()
			s.await(w, req, r)
			return
		}
	}
	tooOld := rid+uint64(s.requests) < s.next
	s.mu.Unlock()
	if tooOld {
		writeBody(w, s.refuse(condItemNotFound, "the response to rid "+strconv.FormatUint(rid, 10)+" is no longer kept"))
		return
	}
	// Its payload is being fed right now: its answer comes on the next
	// request.
	writeBody(w, emptyBody)
}

// run feeds the requests whose turn has come, in rid order; one
// goroutine at a time does (running).
func (s *session) run() {
	for {
		s.mu.Lock()
		if len(s.todo) == 0 || s.todo[0].rid != s.fed+1 {
			s.running = false
			s.mu.Unlock()
			return
		}
		r := s.todo[0]
		s.todo = slices.Delete(s.todo, 0, 1)
		closed := s.closed
		s.mu.Unlock()
		if !closed {
			s.feed(r)
		}
		s.mu.Lock()
		s.fed = r.rid
		r.body = nil
		s.place(r)
		later := s.closeLater
		s.closeLater = false
		s.mu.Unlock()
		if later {
			s.closeStream()
		}
	}
}

// feed gives a request's payload to the stream machine: a restart, the
// stanzas, a pause, the end.
func (s *session) feed(r *request) {
	a := &r.a
	if a.restart {
		if !s.restart {
			s.st.Fail(condBadRequest, "xmpp:restart before authentication succeeded")
			return
		}
		s.restart = false
		to := a.to
		if to == "" {
			to = s.to
		}
		s.st.Header(stream.Header{Space: stanza.NSClient, To: to, Version: "1.0", Lang: a.lang}, nil)
	}
	if r.stanzas > 0 {
		rd := s.m.readers.Get().(*stanza.Reader)
		for !s.st.Ended() {
			ev, err := rd.Next(r.body)
			if err != nil || ev == stanza.EventEnd {
				break
			}
			if ev != stanza.EventStanza {
				continue
			}
			if s.st.Element(clientStanza(rd.Stanza())) == clientstream.Restart {
				s.restart = true
			}
		}
		rd.Reset()
		s.m.readers.Put(rd)
	}
	if a.pause > 0 && s.maxPause > 0 {
		// XEP-0124 §10: every request open is answered now, and the
		// session may stay idle for the pause instead of inactivity.
		s.mu.Lock()
		s.pausing = true
		s.pauseFor = min(time.Duration(a.pause)*time.Second, s.maxPause)
		s.mu.Unlock()
	}
	if a.typ == "terminate" {
		s.st.End()
	}
	if sess := s.st.Session(); sess != nil {
		sess.FlushTouched()
		sess.Idle()
	}
	s.Flush()
}

// clientStanza returns st as a client stanza. XEP-0206 asks clients to
// qualify stanzas with jabber:client; one that inherits the body's
// namespace instead is read as the client meant it.
func clientStanza(st *stanza.Stanza) *stanza.Stanza {
	if st.Kind != stanza.Other || string(st.Space()) != nsBOSH {
		return st
	}
	switch string(st.Name()) {
	case "message", "presence", "iq":
		if c, err := stanza.Reparse(st.Raw, stanza.NSClient); err == nil {
			return c
		}
	}
	return st
}

// place decides what becomes of a request once it is fed (mu held).
func (s *session) place(r *request) {
	switch {
	case r.done:
	case s.closed:
		s.finish(r, s.term, true)
	case r.gone:
	default:
		s.held = append(s.held, r)
		s.dispatch()
	}
}

// dispatch answers held requests (mu held): the oldest takes the output
// waiting, and no more than hold stay held (none during a pause).
func (s *session) dispatch() {
	if len(s.held) == 0 {
		return
	}
	if len(s.out) > 0 {
		r := s.held[0]
		s.held = slices.Delete(s.held, 0, 1)
		s.answer(r, s.out)
		s.out = nil
	}
	for len(s.held) > 0 && (len(s.held) > s.hold || s.pausing) {
		r := s.held[0]
		s.held = slices.Delete(s.held, 0, 1)
		s.answer(r, nil)
	}
}

// answer responds to r with payload (mu held).
func (s *session) answer(r *request, payload []byte) {
	var ack uint64
	if s.acks && s.next-1 > r.rid {
		// XEP-0124 §9.1: requests up to next-1 have all come.
		ack = s.next - 1
	}
	if len(payload) == 0 && ack == 0 {
		s.finish(r, emptyBody, true)
		return
	}
	b := appendOpen(make([]byte, 0, len(payload)+128), ack)
	b = append(b, '>')
	b = append(b, payload...)
	b = append(b, "</body>"...)
	s.finish(r, b, true)
}

// finish sets r's response and wakes its handler (mu held); keep keeps it
// for retransmission.
func (s *session) finish(r *request, b []byte, keep bool) {
	if r.done {
		return
	}
	r.done, r.resp = true, b
	if keep {
		s.remember(r.rid, b)
	}
	s.uncount(r)
	close(r.ready)
	if s.closed && keep {
		// The client has the session's last words: later requests get
		// item-not-found.
		s.m.remove(s)
	}
}

// remember keeps the response to rid, as many as the client may have
// requests open (mu held).
func (s *session) remember(rid uint64, b []byte) {
	if len(s.sent) >= s.requests {
		s.sent = slices.Delete(s.sent, 0, 1)
	}
	s.sent = append(s.sent, response{rid, b})
}

// await waits for r's response and writes it: output, the end of the
// wait (an empty body), or the session's end.
func (s *session) await(w http.ResponseWriter, req *http.Request, r *request) {
	httpd.LongLived(w, s.wait+writeGrace)
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case <-r.ready:
	case <-t.C:
		s.mu.Lock()
		if i := slices.Index(s.held, r); i >= 0 {
			s.held = slices.Delete(s.held, i, i+1)
			s.answer(r, nil)
		}
		s.mu.Unlock()
		// A request that still waits for a lower rid waits on.
		select {
		case <-r.ready:
		case <-req.Context().Done():
			s.abandon(r)
			return
		}
	case <-req.Context().Done():
		s.abandon(r)
		return
	}
	writeBody(w, r.resp)
}

// writeGrace is the time a held request's response has to be written
// once its wait is over.
const writeGrace = 10 * time.Second

// abandon handles a client that went away before its answer: what was
// for it waits for the next request, and a request not fed yet still is.
func (s *session) abandon(r *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.done {
		return
	}
	r.gone = true
	if i := slices.Index(s.held, r); i >= 0 {
		s.held = slices.Delete(s.held, i, i+1)
	}
	s.uncount(r)
}

// refuse ends the session with a terminal condition and returns its last
// response.
func (s *session) refuse(cond, text string) []byte {
	s.st.Fail(cond, text)
	s.mu.Lock()
	b := s.term
	s.mu.Unlock()
	s.m.remove(s)
	if b == nil {
		b = terminateBody(cond, text, nil)
	}
	return b
}

// expire ends a session whose client stopped sending requests: the link
// is lost, as a TCP connection that died, so stream management may keep
// the session and offline storage takes what comes meanwhile.
func (s *session) expire() {
	s.mu.Lock()
	idle := !s.closed
	s.closed = true
	for _, r := range append(s.held, s.todo...) {
		s.finish(r, terminateBody(condItemNotFound, "the session is over", nil), false)
	}
	s.held, s.todo, s.out = nil, nil, nil
	s.mu.Unlock()
	s.m.remove(s)
	if idle {
		s.m.expired.Inc()
		s.m.api.Log().Debug("session inactive", "sid", s.sid, "ip", s.ip)
	}
	s.closeStream()
}

// closeStream tells the machine the link is gone, once.
func (s *session) closeStream() {
	if s.finished.CompareAndSwap(false, true) {
		s.st.Closed()
	}
}

// Queue implements core.Link: p waits for a request to carry it.
func (s *session) Queue(p []byte) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	if len(s.out)+len(p) > s.maxQueue {
		s.mu.Unlock()
		// Not from here: the caller may be delivering under its own locks.
		go s.st.Fail(stream.PolicyViolation, "you fetch slower than the server sends; output bound of "+strconv.Itoa(s.maxQueue)+" bytes reached")
		return errFull
	}
	s.out = appendQualified(s.out, p)
	s.mu.Unlock()
	return nil
}

// Flush implements core.Link: a held request takes the output.
func (s *session) Flush() {
	s.mu.Lock()
	if !s.closed {
		s.dispatch()
	}
	s.mu.Unlock()
}

// Close implements core.Link: the session ends, with a terminal condition
// unless condition is "" (XEP-0124 §13, §17). A held request carries the
// news; without one, the client's next request does.
func (s *session) Close(condition, text string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.term = terminateBody(condition, text, s.out)
	s.out = nil
	for _, r := range append(s.held, s.todo...) {
		s.finish(r, s.term, true)
	}
	s.held, s.todo = nil, nil
	if s.active == 0 {
		s.idleFromNow()
	}
	later := s.running
	if later {
		s.closeLater = true
	}
	s.mu.Unlock()
	if !later {
		// As netio reports a closed socket: not on the closer's stack,
		// which may hold locks the session's end needs.
		go s.closeStream()
	}
}

// Info implements core.Link.
func (s *session) Info() core.LinkInfo {
	return core.LinkInfo{Transport: "bosh", Remote: s.ip, Secure: s.secure}
}

// Open implements clientstream.Transport: the first header's id and host
// go into the session creation response; a restart's response is the
// features alone (XEP-0206 §5).
func (s *session) Open(h stream.Header) {
	if s.streamID == "" {
		s.streamID, s.from = h.ID, h.From
	}
}

// CanStartTLS implements clientstream.Transport: BOSH has TLS from HTTPS
// or none.
func (s *session) CanStartTLS() bool { return false }

// StartTLS implements clientstream.Transport; it is never offered.
func (s *session) StartTLS(done func(error)) { done(errors.New("bosh: no STARTTLS over HTTP")) }

// TLS implements clientstream.Transport: nil, since each request may come
// on another TLS connection, there is no one channel to bind SCRAM to.
func (s *session) TLS() *tls.ConnectionState { return nil }

var _ clientstream.Transport = (*session)(nil)
