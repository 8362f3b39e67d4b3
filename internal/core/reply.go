package core

import "xmppd/internal/stanza"

// Reply sends p to whoever sent ev's stanza: the local session it came
// from, within that session's read batch. Every answer a module makes goes
// through here, so the session's outgoing filters and stream management
// see it.
func (a *API) Reply(ev *Event, p []byte) { reply(ev, p) }

// Result answers ev's iq with a result carrying payload (nil for none).
func (a *API) Result(ev *Event, payload []byte) { Result(ev, payload) }

// Error answers ev's stanza with a stanza error (RFC 6120 §8.3).
func (a *API) Error(ev *Event, typ, condition, text string) {
	ev.Host.Server.Bounce(ev.Origin, ev.Stanza, ev.To, ev.From, typ, condition, text)
}

// FilterOutgoing adds f to the outgoing chain of every session of the
// module's host, present and future, until the module unloads. Higher
// priorities run first (the Priority constants).
func (a *API) FilterOutgoing(prio int, f OutFilter) {
	if a.host != nil {
		a.OnUnload(a.host.addFilter(prio, f))
	}
}

// Result answers ev's iq with a result carrying payload: 'to' is the
// requester, 'from' the address it asked, which for its own bare JID is
// that bare JID (RFC 6120 §8.1.2.1). It is the one iq-result builder.
func Result(ev *Event, payload []byte) {
	var b stanza.Builder
	var buf []byte
	if ev.Origin != nil {
		buf = ev.Origin.work().scratch[:0]
	}
	b.Reset(buf).Start("iq").Attr("type", "result")
	if id := ev.Stanza.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	if !ev.From.IsZero() {
		b.Attr("to", ev.From.String())
	}
	if !ev.To.IsZero() {
		b.Attr("from", ev.To.String())
	}
	if payload != nil {
		b.Raw(payload)
	}
	out := b.Bytes()
	reply(ev, out)
	if ev.Origin != nil {
		ev.Origin.w.scratch = out[:0]
	}
}

// reply delivers p to ev's sender.
func reply(ev *Event, p []byte) {
	if ev.Origin != nil {
		ev.Origin.SendWithin(ev.Origin, p)
		return
	}
	if h := ev.Host.Server.Host(ev.From.Domain()); h != nil {
		if s := h.Session(ev.From); s != nil {
			s.Send(p)
		}
	}
}
