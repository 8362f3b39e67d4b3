// Package presence implements presence (RFC 6121 §4) and presence
// subscriptions (RFC 6121 §3) for local users: broadcast to subscribers,
// probes answered from the sessions' last presence, directed presence, and
// the subscription handshake, whose states live in the roster module. It
// fires EventAvailable and EventUnavailable for modules that act on a
// session's presence (PEP).
package presence

import (
	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/modules/roster"
	"xmppd/internal/stanza"
)

func init() {
	core.Register(core.ModuleInfo{Name: "presence", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readMaxDirected(r) },
		// Without rosters there are no subscriptions, but presence still
		// reaches the user's own resources and directed addressees.
		Optional: []string{"roster"}})
}

// readMaxDirected reads the module's options, for Load and for the
// configuration checks alike.
func readMaxDirected(opts *config.Reader) int {
	n := opts.Int("max_directed", defaultMaxDirected, 0, 1<<16)
	opts.Unknown()
	return n
}

// NSPreApproval is the stream feature of subscription pre-approval
// (RFC 6121 §3.4).
const NSPreApproval = "urn:xmpp:features:pre-approval"

// Defaults of the module's options.
const defaultMaxDirected = 100

// Module is the presence service of one host.
type Module struct {
	api *core.API
	srv *core.Server

	// maxDirected bounds the directed-presence list of a session, which a
	// client could otherwise grow without limit.
	maxDirected int

	broadcasts, subscriptions *core.Counter
}

// Load hooks the presence handlers of the host.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	m.maxDirected = readMaxDirected(api.Options())
	m.broadcasts = api.Counter("broadcasts", "presence broadcasts of local users")
	m.subscriptions = api.Counter("subscriptions", "subscription stanzas processed")
	api.Hook(core.EventStreamFeatures, core.PriorityModule, func(ev *core.Event) bool {
		// RFC 6121 §3.4: pre-approval, offered after authentication where
		// there are rosters to keep it in.
		if f, ok := ev.Data.(*core.Features); ok && f.Authenticated && roster.For(ev.Host) != nil {
			f.B.Start("sub").Attr("xmlns", NSPreApproval).End()
		}
		return false
	})
	api.Hook(core.StanzaEvent(stanza.Presence, core.TargetSelf), core.PriorityModule, m.onSelf)
	api.Hook(core.StanzaEvent(stanza.Presence, core.TargetBare), core.PriorityModule, m.onBare)
	api.Hook(core.StanzaEvent(stanza.Presence, core.TargetFull), core.PriorityModule, m.onFull)
	api.Hook(core.EventResourceBind, core.PriorityModule, m.onBind)
	api.Hook(core.EventResourceUnbind, core.PriorityModule, m.onUnbind)
	api.Hook(roster.EventRemoved, core.PriorityModule, m.onRemoved)
	return nil
}

var _ core.Module = (*Module)(nil)
