package core

import (
	"slices"
	"sync"
	"sync/atomic"

	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// Hook priorities: higher runs first, and a handler that returns true ends
// the chain. Modules use these names, never bare numbers, so the order of
// the whole server can be read here.
const (
	// PriorityPolicy is for checks that may refuse a stanza before anything
	// acts on it: blocking, privacy, rate limits.
	PriorityPolicy = 1000
	// PriorityModule is a module's own handling of what it implements.
	PriorityModule = 0
	// PriorityDelivery is the core's delivery to sessions.
	PriorityDelivery = -100
	// PriorityStore is for keeping what could not be delivered (offline).
	PriorityStore = -200
	// PriorityFallback answers what nobody handled (service-unavailable).
	PriorityFallback = -1000
)

// Names of the events the core fires. Stanza events are named by
// StanzaEvent and IQEvent.
const (
	// EventResourceBind fires on the host bus when a session has bound a
	// resource (ev.Origin).
	EventResourceBind = "resource-bind"
	// EventResourceUnbind fires on the host bus when a bound session goes.
	EventResourceUnbind = "resource-unbind"
	// EventSessionDetached fires on the host bus when a bound session lost
	// its link; a handler returning true keeps the session (Host.LinkLost).
	EventSessionDetached = "session-detached"
	// EventAccountDeleted fires on the host bus once an account and every
	// record of its user are gone from the store; ev.Data is the
	// localpart. Modules that keep an account's data in memory forget it.
	EventAccountDeleted = "account-deleted"
	// EventServerStarted fires on the server bus once every module loaded.
	EventServerStarted = "server-started"
	// EventServerStopping fires on the server bus before modules unload.
	EventServerStopping = "server-stopping"
)

// Handler handles an event; returning true stops the chain.
type Handler func(ev *Event) bool

// Event is what handlers receive. For stanza events Stanza, From and To are
// set; To and From may borrow the stanza's memory (jid.View) and are valid
// only during the event: Clone what you keep.
type Event struct {
	Name   string
	Host   *Host
	Origin *Session // the local session the stanza came from, if any
	Stanza *stanza.Stanza
	From   jid.JID
	To     jid.JID
	Data   any
}

type hookEntry struct {
	id   uint64
	prio int
	fn   Handler
}

// Events is an event bus. Firing takes no lock: the chains are replaced
// whole when a hook is added or removed, which is rare.
type Events struct {
	mu     sync.Mutex
	chains atomic.Pointer[map[string][]hookEntry]
	nextID uint64
}

// NewEvents returns an empty bus.
func NewEvents() *Events {
	e := &Events{}
	m := map[string][]hookEntry{}
	e.chains.Store(&m)
	return e
}

// Hook adds h to the chain of name and returns the function that removes it.
func (e *Events) Hook(name string, prio int, h Handler) (unhook func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	id := e.nextID
	old := *e.chains.Load()
	m := make(map[string][]hookEntry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	chain := append(slices.Clone(m[name]), hookEntry{id: id, prio: prio, fn: h})
	// Stable: among equal priorities the first hooked runs first.
	slices.SortStableFunc(chain, func(a, b hookEntry) int { return b.prio - a.prio })
	m[name] = chain
	e.chains.Store(&m)
	return func() { e.unhook(name, id) }
}

func (e *Events) unhook(name string, id uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := *e.chains.Load()
	m := make(map[string][]hookEntry, len(old))
	for k, v := range old {
		m[k] = v
	}
	chain := slices.DeleteFunc(slices.Clone(m[name]), func(h hookEntry) bool { return h.id == id })
	if len(chain) == 0 {
		delete(m, name)
	} else {
		m[name] = chain
	}
	e.chains.Store(&m)
}

// Fire runs the chain of name and reports whether a handler took the event.
func (e *Events) Fire(name string, ev *Event) bool {
	ev.Name = name
	for _, h := range (*e.chains.Load())[name] {
		if h.fn(ev) {
			return true
		}
	}
	return false
}

// fireKey is Fire for a name built in a byte buffer; the map lookup with
// string(key) does not allocate, and ev.Name is set only when a chain exists.
func (e *Events) fireKey(key []byte, ev *Event) (found, handled bool) {
	chain, ok := (*e.chains.Load())[string(key)]
	if !ok {
		return false, false
	}
	ev.Name = chainName(chain, key)
	for _, h := range chain {
		if h.fn(ev) {
			return true, true
		}
	}
	return true, false
}

// Has reports whether anything is hooked on name.
func (e *Events) Has(name string) bool {
	_, ok := (*e.chains.Load())[name]
	return ok
}

// names interns event names seen by fireKey, so handlers can read ev.Name
// without the router allocating a string per stanza.
var names sync.Map

func chainName(_ []hookEntry, key []byte) string {
	if v, ok := names.Load(string(key)); ok {
		return v.(string)
	}
	s := string(key)
	names.Store(s, s)
	return s
}

// StanzaEvent names the event for a stanza of kind sent to target (one of
// the Target constants): "message/bare", "presence/full", "iq/host".
func StanzaEvent(kind stanza.Kind, target string) string {
	return kind.String() + "/" + target
}

// IQEvent names the event for an iq get or set to target whose payload is
// the element {space}local: "iq/host/urn:xmpp:ping:ping". It fires before
// the iq's StanzaEvent.
func IQEvent(target, space, local string) string {
	return "iq/" + target + "/" + space + ":" + local
}
