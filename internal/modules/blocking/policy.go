package blocking

import (
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// hookPolicy enforces the lists. A local session's stanzas are checked on
// the sender's host before routing (the out events), against the sender's
// list and the addressee's, which covers every payload, iqs handled for
// the addressee by the server included. Stanzas without a sending session
// (a component's, later a remote server's) are checked on the addressee's
// host. The outgoing filter catches what no routed stanza carries:
// presence broadcasts, probes answered, anything sent to a session.
func (m *Module) hookPolicy(api *core.API) {
	for _, k := range []stanza.Kind{stanza.Message, stanza.Presence, stanza.IQ} {
		api.Hook(core.OutEvent(k), core.PriorityPolicy, m.onOut)
		api.Hook(core.StanzaEvent(k, core.TargetBare), core.PriorityPolicy, m.onIn)
		api.Hook(core.StanzaEvent(k, core.TargetFull), core.PriorityPolicy, m.onIn)
	}
	api.FilterOutgoing(core.PriorityPolicy, m.filter)
}

// peer returns the instance serving h, if the module is loaded there.
func peer(h *core.Host) *Module {
	mod, _ := core.ServiceOf[*Module](h, Service)
	return mod
}

// ownAccount reports whether j is the account of s or its server: never
// subject to the account's own list, or the user could cut off their own
// server's answers.
func ownAccount(s *core.Session, j jid.JID) bool {
	return j.Domain() == s.Host.Name && (j.Local() == "" || j.Local() == s.JID.Local())
}

// onOut checks a stanza a local session sends.
func (m *Module) onOut(ev *core.Event) bool {
	s, st := ev.Origin, ev.Stanza
	if s == nil || active.Load() == 0 || st.To() == nil {
		return false
	}
	to, err := jid.View(st.To())
	if err != nil || ownAccount(s, to) {
		return false
	}
	if m.blocks(s.JID.Local(), to) {
		m.refused.Inc()
		m.refuseOutbound(ev, to)
		return true
	}
	if to.Local() == "" {
		return false
	}
	if h := m.srv.Host(to.Domain()); h != nil && h.Kind == core.HostUser {
		if p := peer(h); p != nil && p.blocks(to.Local(), s.JID) {
			m.refused.Inc()
			refuseInbound(ev, to)
			return true
		}
	}
	return false
}

// onIn checks a stanza for a local account that no local session sent.
func (m *Module) onIn(ev *core.Event) bool {
	if ev.Origin != nil || active.Load() == 0 || ev.To.Local() == "" || ev.From.IsZero() {
		return false
	}
	if ev.From.Domain() == ev.Host.Name && ev.From.Local() == "" {
		return false
	}
	if !m.blocks(ev.To.Local(), ev.From) {
		return false
	}
	m.refused.Inc()
	refuseInbound(ev, ev.To)
	return true
}

// refuseInbound handles a stanza from a JID the addressee blocks as
// XEP-0191 §3.3 says: presence of any kind is dropped without a word,
// messages and iq requests get service-unavailable, as from an account
// that is not there, and iq results and errors are dropped.
func refuseInbound(ev *core.Event, to jid.JID) {
	st := ev.Stanza
	switch st.Kind {
	case stanza.Presence:
		return
	case stanza.IQ:
		if t := string(st.Type()); t != "get" && t != "set" {
			return
		}
	}
	// Bounce answers neither errors nor iq results.
	ev.Host.Server.Bounce(ev.Origin, st, to, ev.From, core.ErrCancel, "service-unavailable", "")
}

// refuseOutbound answers a stanza the user sends to a JID on their own
// blocklist: not-acceptable with <blocked/> (XEP-0191 §3.3), so the client
// can tell the user why. Presence to a blocked JID is dropped: the contact
// is meant to see the user as offline, and presence is never answered
// with an error by the server on the user's behalf.
func (m *Module) refuseOutbound(ev *core.Event, to jid.JID) {
	st := ev.Stanza
	t := string(st.Type())
	if st.Kind == stanza.Presence || t == "error" || (st.Kind == stanza.IQ && t == "result") {
		return
	}
	var b stanza.Builder
	b.Reset(nil).Start(st.Kind.String()).Attr("from", to.String()).Attr("to", ev.From.String()).Attr("type", "error")
	if id := st.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	b.Start("error").Attr("type", core.ErrCancel)
	b.Start("not-acceptable").Attr("xmlns", stanza.NSStanzas).End()
	b.Start("blocked").Attr("xmlns", NSErrors).End()
	m.api.Reply(ev, b.Bytes())
}

// filter drops what is on its way to session s when s's account blocks
// the sender, or when the sender is a local account that blocks s: the
// stanzas no routing event carries, such as presence broadcasts and
// answers to probes, which the presence module sends straight to sessions.
// Errors pass: those routed between the two were stopped by the hooks
// already, and the rest are the server's own refusals, made in the name
// of the blocked or blocking JID, which the client must see.
func (m *Module) filter(s *core.Session, o *core.Outgoing) bool {
	if active.Load() == 0 {
		return false
	}
	st, err := o.Stanza()
	if err != nil || st.Kind == stanza.Other || st.From() == nil || string(st.Type()) == "error" {
		return false
	}
	from, err := jid.View(st.From())
	if err != nil || ownAccount(s, from) {
		return false
	}
	if m.blocks(s.JID.Local(), from) {
		m.refused.Inc()
		return true
	}
	if from.Local() == "" {
		return false
	}
	if h := m.srv.Host(from.Domain()); h != nil && h.Kind == core.HostUser {
		if p := peer(h); p != nil && p.blocks(from.Local(), s.JID) {
			m.refused.Inc()
			return true
		}
	}
	return false
}
