// Package csi implements client state indication, XEP-0352
// (urn:xmpp:csi:0): while a client says it is inactive (a phone with its
// screen off), presence updates and chat states, which it would only wake
// up for, are held back, the latest per contact, and sent in order when it
// becomes active, when a message with a body comes, or when too many wait.
package csi

import (
	"slices"
	"sync"
	"sync/atomic"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// NS is the namespace of XEP-0352.
const NS = "urn:xmpp:csi:0"

// NSChatStates is the namespace of chat state notifications (XEP-0085).
const NSChatStates = "http://jabber.org/protocol/chatstates"

// nsHints is the namespace of message processing hints (XEP-0334), which
// may ride along a chat state without making it important.
const nsHints = "urn:xmpp:hints"

func init() {
	core.Register(core.ModuleInfo{Name: "csi", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readOptions(r) }})
}

// Defaults of the module's options.
const (
	defaultMaxHeld      = 64
	defaultMaxHeldBytes = 64 << 10
)

// readOptions reads the module's options, for Load and for the
// configuration checks alike: how many stanzas, and how many bytes, a
// session holds back at most.
func readOptions(r *config.Reader) (maxHeld int, maxBytes int64) {
	maxHeld = r.Int("max_held", defaultMaxHeld, 1, 1<<16)
	maxBytes = r.Size("max_held_bytes", defaultMaxHeldBytes, 1<<10, 16<<20)
	r.Unknown()
	return maxHeld, maxBytes
}

// stateKey holds a session's client state; the package's, so that a
// module loaded again after a reload knows which clients are inactive.
var stateKey = core.NewKey("csi")

// Module is client state indication on one host.
type Module struct {
	api      *core.API
	maxHeld  int
	maxBytes int

	inactive               atomic.Int64
	held, dropped, flushes *core.Counter
}

// state is a session's client state and what it holds back.
type state struct {
	mu       sync.Mutex
	inactive bool
	queue    []held
	bytes    int
}

// held is a stanza held back, under the key that a newer one replaces it
// by: the sender's full JID, with the kind of stanza.
type held struct {
	key string
	raw []byte
}

// Load hooks the client's state elements and the outgoing filter.
func (m *Module) Load(api *core.API) error {
	m.api = api
	maxHeld, maxBytes := readOptions(api.Options())
	m.maxHeld, m.maxBytes = maxHeld, int(maxBytes)
	m.held = api.Counter("held", "stanzas held back for inactive clients")
	m.dropped = api.Counter("superseded", "held stanzas replaced by a newer one from the same contact")
	m.flushes = api.Counter("flushes", "times held stanzas were sent")
	api.Gauge("inactive", "sessions whose client said it is inactive", func() float64 { return float64(m.inactive.Load()) })

	api.Hook(core.EventStreamFeatures, core.PriorityModule, func(ev *core.Event) bool {
		// XEP-0352 §2: offered once the client has authenticated.
		if f, ok := ev.Data.(*core.Features); ok && f.Authenticated {
			f.B.Start("csi").Attr("xmlns", NS).End()
		}
		return false
	})
	api.Hook(core.StreamEvent(core.StreamBound, NS, "inactive"), core.PriorityModule, m.setInactive)
	api.Hook(core.StreamEvent(core.StreamBound, NS, "active"), core.PriorityModule, m.setActive)
	api.FilterOutgoing(core.PriorityModule, m.filter)
	// Before stream management keeps the session: what was held goes into
	// its unacknowledged stanzas, resent on resumption or routed again,
	// and a resumed stream starts active.
	api.Hook(core.EventSessionDetached, core.PriorityPolicy, func(ev *core.Event) bool {
		m.activate(ev.Origin)
		return false
	})
	api.Hook(core.EventResourceUnbind, core.PriorityModule, func(ev *core.Event) bool {
		if st := stateOf(ev.Origin); st != nil {
			st.mu.Lock()
			if st.inactive {
				st.inactive = false
				m.inactive.Add(-1)
			}
			st.mu.Unlock()
		}
		return false
	})
	return nil
}

// Unload sends what inactive clients wait for: with the filter gone,
// nothing else would.
func (m *Module) Unload() {
	for _, s := range m.api.Host().AllSessions() {
		m.activate(s)
	}
}

func stateOf(s *core.Session) *state {
	st, _ := s.Get(stateKey).(*state)
	return st
}

// setInactive handles <inactive/> (XEP-0352 §3).
func (m *Module) setInactive(ev *core.Event) bool {
	s := ev.Origin
	if s == nil {
		return false
	}
	st := stateOf(s)
	if st == nil {
		st = &state{}
		s.Set(stateKey, st)
	}
	st.mu.Lock()
	if !st.inactive {
		st.inactive = true
		m.inactive.Add(1)
	}
	st.mu.Unlock()
	return true
}

// setActive handles <active/>: what was held goes out now.
func (m *Module) setActive(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	m.activate(ev.Origin)
	return true
}

// activate marks s active and sends what it held.
func (m *Module) activate(s *core.Session) {
	st := stateOf(s)
	if st == nil {
		return
	}
	st.mu.Lock()
	if st.inactive {
		st.inactive = false
		m.inactive.Add(-1)
	}
	q := st.take()
	st.mu.Unlock()
	m.send(s, q)
}

// take empties the queue and returns what it held. st.mu is held.
func (st *state) take() []held {
	q := st.queue
	st.queue, st.bytes = nil, 0
	return q
}

// send writes held stanzas in the order they came. They passed the
// filters before this one when they were held; those after it are
// skipped, a price of holding them.
func (m *Module) send(s *core.Session, q []held) {
	if len(q) == 0 {
		return
	}
	m.flushes.Inc()
	for _, h := range q {
		s.SendUnfiltered(h.raw)
	}
}

// filter holds back what an inactive client need not get at once
// (XEP-0352 §1): presence updates and chat states. A message with a body
// sends what was held first, so that the client sees everything in order.
func (m *Module) filter(s *core.Session, o *core.Outgoing) bool {
	if len(o.Raw) < 2 || (o.Raw[1] != 'm' && o.Raw[1] != 'p') {
		return false // iqs and stream-level elements go out as they come
	}
	st := stateOf(s)
	if st == nil {
		return false
	}
	st.mu.Lock()
	if !st.inactive {
		st.mu.Unlock()
		return false
	}
	key, hold, flush := classify(o)
	if !hold {
		var q []held
		if flush {
			q = st.take()
		}
		st.mu.Unlock()
		m.send(s, q)
		return false
	}
	if i := slices.IndexFunc(st.queue, func(h held) bool { return h.key == key }); i >= 0 {
		// Only the latest counts: the older one goes, and the newer one
		// takes its turn at the end.
		st.bytes -= len(st.queue[i].raw)
		st.queue = slices.Delete(st.queue, i, i+1)
		m.dropped.Inc()
	}
	st.queue = append(st.queue, held{key: key, raw: append([]byte(nil), o.Raw...)})
	st.bytes += len(o.Raw)
	m.held.Inc()
	var q []held
	if len(st.queue) >= m.maxHeld || st.bytes >= m.maxBytes {
		q = st.take()
	}
	st.mu.Unlock()
	m.send(s, q)
	return true
}

// classify says whether o may wait, under which key, and, when it may not,
// whether it sends what waits first. Presence updates (available and
// unavailable, not subscriptions, probes or errors) and messages that are
// only a chat state wait; a message with a body flushes.
func classify(o *core.Outgoing) (key string, hold, flush bool) {
	st, err := o.Stanza()
	if err != nil {
		return "", false, false
	}
	typ := string(st.Type())
	if st.Kind == stanza.Presence {
		if typ != "" && typ != "unavailable" {
			return "", false, false
		}
		return "p" + string(st.From()), true, false
	}
	if st.Kind != stanza.Message || typ == "error" {
		return "", false, false
	}
	tree, err := st.Tree()
	if err != nil {
		return "", false, false
	}
	chatState := false
	for _, c := range tree.Children {
		e := c.Elem
		switch {
		case e == nil:
		case e.Space == stanza.NSClient && e.Local == "body":
			return "", false, true
		case e.Space == NSChatStates:
			chatState = true
		case e.Space == nsHints || (e.Space == stanza.NSClient && e.Local == "thread"):
		default:
			return "", false, false // receipts, markers, encrypted payloads, ...
		}
	}
	if !chatState {
		return "", false, false
	}
	return "m" + string(st.From()), true, false
}

var _ core.Module = (*Module)(nil)
var _ core.Unloader = (*Module)(nil)
