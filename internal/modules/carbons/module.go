// Package carbons implements Message Carbons (XEP-0280): a resource that
// enables them gets a copy of the chat messages its account's other
// resources send and receive, so that every client of a user shows the
// whole conversation.
package carbons

import (
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

func init() {
	core.Register(core.ModuleInfo{Name: "carbons", Auto: true, New: func() core.Module { return &Module{} }})
}

// Namespaces of XEP-0280 and of the elements it uses.
const (
	NS        = "urn:xmpp:carbons:2" // XEP-0280 §10
	NSForward = "urn:xmpp:forward:0" // XEP-0297
	NSHints   = "urn:xmpp:hints"     // XEP-0334 <no-copy/>
)

// Module is message carbons on one host.
type Module struct {
	api *core.API
	srv *core.Server
	// enabled marks a session that enabled carbons (XEP-0280 §4); the
	// state lives and dies with the session.
	enabled *core.Key

	toggles, copies *core.Counter
}

// Load advertises the feature and hooks enabling, and both sides of a
// message: sent copies on the sender's host before routing, received
// copies on the recipient's host before delivery.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	m.enabled = core.NewKey("carbons")
	m.toggles = api.Counter("toggles", "carbons enabled or disabled by sessions")
	m.copies = api.Counter("copies", "carbon copies sent")
	api.AddFeature(NS)
	api.Hook(core.IQEvent(core.TargetSelf, NS, "enable"), core.PriorityModule, m.onToggle)
	api.Hook(core.IQEvent(core.TargetSelf, NS, "disable"), core.PriorityModule, m.onToggle)
	api.Hook(core.OutEvent(stanza.Message), core.PriorityModule, m.onSent)
	api.Hook(core.StanzaEvent(stanza.Message, core.TargetBare), core.PriorityModule, m.onReceived)
	api.Hook(core.StanzaEvent(stanza.Message, core.TargetFull), core.PriorityModule, m.onReceived)
	return nil
}

// onToggle enables or disables carbons for the session (XEP-0280 §4, §5).
func (m *Module) onToggle(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	if string(ev.Stanza.Type()) != "set" {
		m.api.Error(ev, core.ErrModify, "bad-request", "carbons are enabled and disabled with an iq set")
		return true
	}
	if string(ev.Stanza.ChildName()) == "enable" {
		ev.Origin.Set(m.enabled, true)
	} else {
		ev.Origin.Set(m.enabled, nil)
	}
	m.toggles.Inc()
	m.api.Result(ev, nil)
	return true
}

// Enabled reports whether session s has enabled carbons.
func (m *Module) Enabled(s *core.Session) bool { return s.Get(m.enabled) != nil }

var _ core.Module = (*Module)(nil)
