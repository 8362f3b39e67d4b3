// Package message delivers messages and iq stanzas addressed to local
// accounts' sessions (RFC 6121 §8.5).
package message

import (
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

func init() {
	core.Register(core.ModuleInfo{Name: "message", Auto: true, New: func() core.Module { return &Module{} }})
}

// Module is the delivery of messages and iq stanzas to sessions.
type Module struct {
	srv *core.Server
}

// Load hooks the delivery handlers.
func (m *Module) Load(api *core.API) error {
	m.srv = api.Server()
	api.Hook(core.StanzaEvent(stanza.Message, core.TargetFull), core.PriorityDelivery, m.toFull)
	api.Hook(core.StanzaEvent(stanza.Message, core.TargetBare), core.PriorityDelivery, m.toBare)
	api.Hook(core.StanzaEvent(stanza.IQ, core.TargetFull), core.PriorityDelivery, m.iqToFull)
	return nil
}

// toFull delivers to the addressed resource; when it is not online the
// message is treated as sent to the bare JID (RFC 6121 §8.5.3.2.1), except
// groupchat, which nobody else may receive.
func (m *Module) toFull(ev *core.Event) bool {
	if s := ev.Host.Session(ev.To); s != nil {
		m.srv.Deliver(ev.Origin, s, ev.Stanza, ev.From)
		return true
	}
	if string(ev.Stanza.Type()) == "groupchat" {
		return false
	}
	return m.toBare(ev)
}

// toBare delivers to every available resource with a non-negative priority
// (RFC 6121 §8.5.2.1.1 lets the server pick all of them); with none, the
// chain goes on to offline storage or the error fallback.
func (m *Module) toBare(ev *core.Event) bool {
	if string(ev.Stanza.Type()) == "groupchat" {
		return false
	}
	delivered := false
	ev.Host.Sessions(ev.To.Local(), func(s *core.Session) {
		if s.Available() && s.Priority() >= 0 {
			m.srv.Deliver(ev.Origin, s, ev.Stanza, ev.From)
			delivered = true
		}
	})
	return delivered
}

// iqToFull delivers an iq to the addressed resource (RFC 6121 §8.5.3.1);
// without it the fallback answers service-unavailable.
func (m *Module) iqToFull(ev *core.Event) bool {
	if s := ev.Host.Session(ev.To); s != nil {
		m.srv.Deliver(ev.Origin, s, ev.Stanza, ev.From)
		return true
	}
	return false
}

var _ core.Module = (*Module)(nil)
