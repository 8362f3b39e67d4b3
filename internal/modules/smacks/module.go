// Package smacks implements stream management, XEP-0198 (urn:xmpp:sm:3):
// acknowledgements in both directions, and the resumption of a session
// whose connection died, within a hibernation window, with exactly the
// stanzas the client had not acknowledged sent again. What a session that
// is not resumed leaves unacknowledged is routed again, so its messages
// reach another resource or offline storage instead of being lost.
package smacks

import (
	"sync"
	"sync/atomic"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// NS is the namespace of XEP-0198 version 3.
const NS = "urn:xmpp:sm:3"

func init() {
	core.Register(core.ModuleInfo{Name: "smacks", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readOptions(r) }})
}

// Defaults of the module's options.
const (
	defaultHibernation   = 5 * time.Minute
	defaultMaxHibernated = 100
	defaultMaxUnacked    = 256 << 10
	defaultMemory        = 8 << 20
	defaultRequestEvery  = 5
	defaultRequestIdle   = 5 * time.Second
)

// options are the module's settings.
type options struct {
	hibernation   time.Duration // how long a detached session waits for its client
	maxHibernated int           // hibernated sessions per host
	maxUnacked    int64         // bytes of unacknowledged stanzas one session keeps
	memory        int64         // bytes of unacknowledged stanzas all hibernated sessions keep
	requestEvery  int           // stanzas sent between two ack requests
	requestIdle   time.Duration // how soon an idle session is asked for an ack
}

// readOptions reads the module's options, for Load and for the
// configuration checks alike.
func readOptions(r *config.Reader) options {
	o := options{
		hibernation:   r.Duration("hibernation_time", defaultHibernation, 0, 24*time.Hour),
		maxHibernated: r.Int("max_hibernated", defaultMaxHibernated, 0, 1<<20),
		maxUnacked:    r.Size("max_unacked", defaultMaxUnacked, 4<<10, 64<<20),
		memory:        r.Size("hibernation_memory", defaultMemory, 64<<10, 1<<30),
		requestEvery:  r.Int("request_every", defaultRequestEvery, 1, 1<<16),
		requestIdle:   r.Duration("request_idle", defaultRequestIdle, time.Second, time.Hour),
	}
	r.Unknown()
	return o
}

// priorityCount runs the inbound count before any policy: a stanza a
// policy refuses was handled all the same (XEP-0198 §4 counts what the
// server processed, not what it delivered).
const priorityCount = core.PriorityPolicy + 1

// stateKey holds a session's stream management state. It is the package's,
// not an instance's, so that a module loaded again after a reload finds
// the sessions that enabled stream management before.
var stateKey = core.NewKey("smacks")

// Module is stream management on one host.
type Module struct {
	api  *core.API
	host *core.Host
	srv  *core.Server
	o    options

	mu        sync.Mutex
	byID      map[string]*state // resumable sessions, attached or not
	hibernate map[*state]struct{}
	stopping  atomic.Bool

	// The idle sweep runs only while a session uses stream management,
	// so an idle server with none makes no wake-ups for it.
	sweepMu   sync.Mutex
	sweepT    *time.Timer
	unloading bool

	enabled, resumed, failedResumes, expired, rerouted *core.Counter
}

// Load reads the options and hooks the stream-level elements, the inbound
// count, the outbound filter and the end of connections.
func (m *Module) Load(api *core.API) error {
	m.api, m.host, m.srv = api, api.Host(), api.Server()
	m.o = readOptions(api.Options())
	// The biggest stanza must fit, or keeping it would end the stream.
	if lim := int64(m.srv.Config.StanzaSizeLimit); m.o.maxUnacked < lim {
		m.o.maxUnacked = lim
	}
	m.byID = map[string]*state{}
	m.hibernate = map[*state]struct{}{}

	m.enabled = api.Counter("enabled", "sessions that enabled stream management")
	m.resumed = api.Counter("resumed", "sessions resumed on a new stream")
	m.failedResumes = api.Counter("resume_failed", "resumptions refused (unknown or expired id, bad count)")
	m.expired = api.Counter("expired", "hibernated sessions that ended unresumed")
	m.rerouted = api.Counter("rerouted", "unacknowledged messages routed again when their session ended")
	api.Gauge("hibernated", "sessions waiting for their client to resume them", func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return float64(len(m.hibernate))
	})

	api.Hook(core.EventStreamFeatures, core.PriorityModule, m.features)
	api.Hook(core.StreamEvent(core.StreamBound, NS, "enable"), core.PriorityModule, m.enable)
	api.Hook(core.StreamEvent(core.StreamPreBind, NS, "enable"), core.PriorityModule, m.enableUnbound)
	api.Hook(core.StreamEvent(core.StreamBound, NS, "r"), core.PriorityModule, m.request)
	api.Hook(core.StreamEvent(core.StreamBound, NS, "a"), core.PriorityModule, m.answer)
	api.Hook(core.StreamEvent(core.StreamPreBind, NS, "resume"), core.PriorityModule, m.resume)
	api.Hook(core.StreamEvent(core.StreamBound, NS, "resume"), core.PriorityModule, m.resumeBound)
	for _, k := range []stanza.Kind{stanza.Message, stanza.Presence, stanza.IQ} {
		api.Hook(core.OutEvent(k), priorityCount, m.count)
	}
	api.Hook(core.EventSessionDetached, core.PriorityModule, m.detached)
	api.Hook(core.EventResourceUnbind, core.PriorityModule, m.unbound)
	// Last in the chain: what it sees is what the session will get.
	api.FilterOutgoing(core.PriorityFallback, m.outgoing)
	api.HookServer(core.EventServerStopping, core.PriorityModule, func(*core.Event) bool {
		// Nobody resumes on a server that stops: what sessions leave
		// unacknowledged goes to offline storage while it still can.
		m.stopping.Store(true)
		return false
	})

	// Sessions that enabled stream management under a previous load.
	for _, s := range m.host.AllSessions() {
		if st := stateOf(s); st != nil && st.id != "" && s.Link() != nil {
			m.byID[st.id] = st
		}
		if stateOf(s) != nil {
			m.armSweep()
		}
	}
	return nil
}

// Unload ends the hibernated sessions: with the module gone nothing would
// end them, and their messages are routed again while the modules that
// store them are still there.
func (m *Module) Unload() {
	m.sweepMu.Lock()
	m.unloading = true
	if m.sweepT != nil {
		m.sweepT.Stop()
		m.sweepT = nil
	}
	m.sweepMu.Unlock()
	m.mu.Lock()
	var ending []*state
	for st := range m.hibernate {
		ending = append(ending, st)
	}
	m.mu.Unlock()
	for _, st := range ending {
		m.end(st, 0)
	}
}

// features offers <sm/> once the client has authenticated (XEP-0198 §2).
func (m *Module) features(ev *core.Event) bool {
	if f, ok := ev.Data.(*core.Features); ok && f.Authenticated {
		f.B.Start("sm").Attr("xmlns", NS).End()
	}
	return false
}

var _ core.Module = (*Module)(nil)
var _ core.Unloader = (*Module)(nil)
