package core

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// Bounds of the iqs the server has sent and waits on: a client that never
// answers must not make the server remember without limit.
const (
	// MaxPendingIQs bounds the iqs waiting for an answer on one host.
	MaxPendingIQs = 1 << 16
	// MaxPendingIQsPerPeer bounds those waiting on one session.
	MaxPendingIQsPerPeer = 32
	// DefaultIQTimeout is how long SendIQ waits when given no timeout.
	DefaultIQTimeout = 30 * time.Second
)

// Errors SendIQ returns or hands its callback.
var (
	// ErrIQTimeout is handed to the callback when no answer came in time.
	ErrIQTimeout = errors.New("core: no answer to the iq in time")
	// ErrIQGone is handed to the callback when the session ended without
	// answering, and returned when it had ended already.
	ErrIQGone = errors.New("core: the session ended before it answered")
	// ErrIQLimit is returned when too many iqs wait for an answer already.
	ErrIQLimit = errors.New("core: too many iqs wait for an answer")
	// ErrIQNoRoute is returned for an address SendIQTo cannot reach: one
	// that is no bound session of a local host.
	ErrIQNoRoute = errors.New("core: no route to the iq's addressee")
)

// StanzaError is an error answer (RFC 6120 §8.3), as SendIQ's callback gets
// it; the stanza itself comes with it.
type StanzaError struct {
	Type      string // ErrCancel, ErrModify, ...
	Condition string // "service-unavailable", ...
	Text      string
}

// Error says what the peer answered.
func (e *StanzaError) Error() string {
	s := "stanza error " + e.Type + "/" + e.Condition
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// IQCallback gets the answer to an iq the server sent: the result with a
// nil error, an error answer with a *StanzaError, or nil and ErrIQTimeout
// or ErrIQGone. The stanza is valid only during the call (Clone what you
// keep). It runs on the goroutine of the session that answered, or of a
// timer: it must not block.
type IQCallback func(answer *stanza.Stanza, err error)

// SendIQ sends an iq of typ ("get" or "set") with payload, from the
// session's host, to session to, and hands cb the answer, matched by id
// and sender, exactly once: the result, the error, or ErrIQTimeout after
// timeout (DefaultIQTimeout when 0), or ErrIQGone when the session ends
// first. When SendIQ returns an error (ErrIQGone, ErrIQLimit), cb is never
// called. Waiting iqs are forgotten, without a call, when the module
// unloads.
func (a *API) SendIQ(to *Session, typ string, payload []byte, timeout time.Duration, cb IQCallback) error {
	return a.tracker(to.Host).send(a, to, typ, payload, timeout, cb)
}

// SendIQTo is SendIQ to an address: a bound session of a local host for
// now; anything else is ErrIQNoRoute until server-to-server links exist.
func (a *API) SendIQTo(to jid.JID, typ string, payload []byte, timeout time.Duration, cb IQCallback) error {
	h := a.srv.Host(to.Domain())
	if h == nil || to.Resource() == "" {
		return ErrIQNoRoute
	}
	s := h.Session(to)
	if s == nil {
		return ErrIQNoRoute
	}
	return a.SendIQ(s, typ, payload, timeout, cb)
}

// tracker returns the tracker of h for this module, holding it (and so its
// hooks) while the module is loaded.
func (a *API) tracker(h *Host) *iqTracker {
	sc := a.srv.scopeOf(h)
	sc.mu.Lock()
	if sc.iq == nil {
		sc.iq = newTracker(h)
	}
	t := sc.iq
	sc.mu.Unlock()
	a.mu.Lock()
	held := a.iqHeld[h]
	if !held {
		if a.iqHeld == nil {
			a.iqHeld = map[*Host]bool{}
		}
		a.iqHeld[h] = true
	}
	a.mu.Unlock()
	if !held {
		t.hold()
		a.OnUnload(func() { t.release(a) })
	}
	return t
}

// iqTracker matches the answers to the iqs the server sent on one host.
// Its hooks are there only while a module uses it.
type iqTracker struct {
	host   *Host
	prefix string // random, so ids of one run are not those of the last

	mu      sync.Mutex
	seq     uint64
	pending map[string]*pendingIQ
	byPeer  map[*Session][]*pendingIQ // at most MaxPendingIQsPerPeer each
	users   int
	unhook  []func()
}

type pendingIQ struct {
	id    string
	peer  *Session
	owner *API
	cb    IQCallback
	timer *time.Timer
}

func newTracker(h *Host) *iqTracker {
	var b [4]byte
	rand.Read(b[:])
	return &iqTracker{host: h, prefix: "xmppd-" + hex.EncodeToString(b[:]) + "-",
		pending: map[string]*pendingIQ{}, byPeer: map[*Session][]*pendingIQ{}}
}

// hold hooks the tracker on its host for one more module.
func (t *iqTracker) hold() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.users++
	if t.users > 1 {
		return
	}
	// Answers come to the domain (to='example.org') or, from some clients,
	// with no 'to' at all. Taken before any module: nobody else asked.
	ev := t.host.Events
	t.unhook = []func(){
		ev.Hook(StanzaEvent(stanza.IQ, TargetHost), PriorityPolicy, t.answer),
		ev.Hook(StanzaEvent(stanza.IQ, TargetSelf), PriorityPolicy, t.answer),
		ev.Hook(EventResourceUnbind, PriorityPolicy, t.unbound),
	}
}

// release forgets what module a waits for and unhooks the tracker when no
// module uses it any more.
func (t *iqTracker) release(a *API) {
	t.mu.Lock()
	for _, p := range t.pending {
		if p.owner == a {
			t.drop(p)
		}
	}
	t.users--
	var unhook []func()
	if t.users == 0 {
		unhook, t.unhook = t.unhook, nil
	}
	t.mu.Unlock()
	for _, f := range unhook {
		f()
	}
}

func (t *iqTracker) send(a *API, to *Session, typ string, payload []byte, timeout time.Duration, cb IQCallback) error {
	if timeout <= 0 {
		timeout = DefaultIQTimeout
	}
	if !to.Bound() {
		return ErrIQGone
	}
	t.mu.Lock()
	if len(t.pending) >= MaxPendingIQs || len(t.byPeer[to]) >= MaxPendingIQsPerPeer {
		t.mu.Unlock()
		return ErrIQLimit
	}
	t.seq++
	p := &pendingIQ{id: t.prefix + strconv.FormatUint(t.seq, 36), peer: to, owner: a, cb: cb}
	t.pending[p.id] = p
	t.byPeer[to] = append(t.byPeer[to], p)
	// Made under the lock, so the timer's take waits until p is complete.
	p.timer = time.AfterFunc(timeout, func() {
		if t.take(p) {
			p.cb(nil, ErrIQTimeout)
		}
	})
	t.mu.Unlock()
	// A session that unbound between the check and now has had its unbind
	// event already: it would never answer, so it is told here.
	if !to.Bound() && t.take(p) {
		return ErrIQGone
	}
	var b stanza.Builder
	b.Reset(make([]byte, 0, 96+len(payload))).Start("iq").Attr("type", typ).Attr("id", p.id).
		Attr("from", t.host.Name).Attr("to", to.JID.String()).Raw(payload)
	to.Send(b.Bytes())
	return nil
}

// take removes p if it still waits, under the lock, and reports whether
// it did: whoever takes it (answer, timer, unbind) is the one to call back.
func (t *iqTracker) take(p *pendingIQ) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending[p.id] != p {
		return false
	}
	t.drop(p)
	return true
}

// drop forgets p; t.mu is held.
func (t *iqTracker) drop(p *pendingIQ) {
	delete(t.pending, p.id)
	if list := slices.DeleteFunc(t.byPeer[p.peer], func(x *pendingIQ) bool { return x == p }); len(list) > 0 {
		t.byPeer[p.peer] = list
	} else {
		delete(t.byPeer, p.peer)
	}
	p.timer.Stop()
}

// answer takes a result or an error that answers an iq the server sent.
func (t *iqTracker) answer(ev *Event) bool {
	typ := string(ev.Stanza.Type())
	if typ != "result" && typ != "error" {
		return false
	}
	t.mu.Lock()
	p := t.pending[string(ev.Stanza.ID())]
	// Only the addressee may answer: another client guessing the id gets
	// the core's treatment of a stray result (silence).
	if p == nil || p.peer != ev.Origin {
		t.mu.Unlock()
		return false
	}
	t.drop(p)
	t.mu.Unlock()
	var err error
	if typ == "error" {
		err = stanzaError(ev.Stanza)
	}
	p.cb(ev.Stanza, err)
	return true
}

// unbound tells the callbacks waiting on a session that ended.
func (t *iqTracker) unbound(ev *Event) bool {
	t.mu.Lock()
	gone := slices.Clone(t.byPeer[ev.Origin])
	for _, p := range gone {
		t.drop(p)
	}
	t.mu.Unlock()
	for _, p := range gone {
		p.cb(nil, ErrIQGone)
	}
	return false
}

// stanzaError reads the <error/> of an error stanza (RFC 6120 §8.3.2); an
// unreadable one is undefined-condition.
func stanzaError(st *stanza.Stanza) *StanzaError {
	e := &StanzaError{Type: ErrCancel, Condition: "undefined-condition"}
	tree, err := st.Tree()
	if err != nil {
		return e
	}
	el := tree.Child(tree.Space, "error")
	if el == nil {
		return e
	}
	if typ := el.Attr("type"); typ != "" {
		e.Type = typ
	}
	for _, c := range el.Children {
		if c.Elem == nil || c.Elem.Space != stanza.NSStanzas {
			continue
		}
		if c.Elem.Local == "text" {
			e.Text = c.Elem.Text()
		} else {
			e.Condition = c.Elem.Local
		}
	}
	return e
}
