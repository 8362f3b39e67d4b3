package presence

import (
	"errors"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/roster"
)

// subscription handles a subscription stanza a user sends: the state
// change on the user's side (outbound), then on the contact's (inbound),
// both local (RFC 6121 §3, Appendix A).
func (m *Module) subscription(ev *core.Event, typ string) {
	m.subscriptions.Inc()
	s := ev.Origin
	user := s.JID.Bare()
	c := ev.To.Bare().Clone()
	if c.Local() == "" || c.Equal(user) {
		return // nobody to subscribe to
	}
	local := s.JID.Local()
	contact := c.String()
	changed, hadFrom, preApproval := false, false, false
	if r := roster.For(s.Host); r != nil {
		var err error
		_, changed, err = r.Update(s, local, contact, func(it *roster.Item) bool {
			hadFrom = it.HasFrom()
			preApproval = typ == roster.Subscribed && !it.PendingIn
			return it.Outbound(typ)
		})
		switch {
		case errors.Is(err, roster.ErrFull):
			// RFC 6121 §3.1.2 lets the server refuse a request it cannot
			// keep track of. A request that would add the contact to a full
			// roster gets the error a roster set adding it would get
			// (cancel, policy-violation), so that a client meets one answer
			// to "the roster is full", whichever way it adds a contact.
			m.srv.Bounce(s, ev.Stanza, c, s.JID, core.ErrCancel, "policy-violation", "the roster is full")
			return
		case err != nil:
			m.api.Log().Error("updating the roster", "user", user.String(), "err", err)
			m.srv.Bounce(s, ev.Stanza, c, s.JID, core.ErrWait, "internal-server-error", "")
			return
		}
	}
	// Requests and cancellations always go to the contact, whose state may
	// differ; answers only when they answered something (RFC 6121 §3.1.5,
	// §3.2.1). A pre-approval stays with the user's server, which
	// approves the contact's request when it comes (RFC 6121 §3.4.1).
	if (!changed && typ != roster.Subscribe && typ != roster.Unsubscribe) || preApproval {
		return
	}
	if !m.srv.Accounts.Exists(ev.Host.Name, c.Local()) {
		if typ == roster.Subscribe {
			// RFC 6121 §8.5.1: a request to a user that does not exist may
			// be answered with 'unsubscribed', which clears the ask.
			m.inbound(s, s.Host, local, c, roster.Unsubscribed, nil)
		}
		return
	}
	// RFC 6121 §3.1.2: subscription stanzas go from and to bare JIDs; the
	// rest of the stanza (a nickname, say) is kept as sent.
	raw := ev.Stanza.AppendWithAddrs(nil, []byte(user.String()), []byte(contact))
	if m.inbound(s, ev.Host, c.Local(), user, typ, raw) {
		// The contact's roster has no room for the request. The sender
		// hears so, with a type that tells it to try again later: its own
		// roster keeps the pending request, and sending it again delivers
		// it once the contact has made room.
		m.srv.Bounce(s, ev.Stanza, c, s.JID, core.ErrWait, "resource-constraint", "the contact's roster is full")
		return
	}
	switch {
	case typ == roster.Subscribed:
		// RFC 6121 §3.1.5: the new subscriber sees the user's presence.
		m.relay(s, s.Host, local, contact, false)
	case typ == roster.Unsubscribed && hadFrom:
		// RFC 6121 §3.2.2: the former subscriber sees the user go.
		m.relay(s, s.Host, local, contact, true)
	}
}

// inbound applies a subscription stanza of type typ from the bare JID from
// to local's roster on h, pushes the change and delivers the stanza (raw,
// or one made here) to local's available resources (RFC 6121 §3.1.3,
// §3.1.6, §3.2.3, §3.3.3). It reports full when a request from someone
// not on local's roster was neither kept nor delivered because the roster
// has no room for it.
func (m *Module) inbound(origin *core.Session, h *core.Host, local string, from jid.JID, typ string, raw []byte) (full bool) {
	r := roster.For(h)
	if r == nil {
		return false
	}
	to := local + "@" + h.Name
	autoReply, hadFrom := false, false
	_, changed, err := r.Update(origin, local, from.String(), func(it *roster.Item) bool {
		hadFrom = it.HasFrom()
		if typ == roster.Subscribe && hadFrom {
			autoReply = true
			return false
		}
		if typ == roster.Subscribe && it.PreApproved() {
			// RFC 6121 §3.4.2: the user approved in advance; the
			// request is answered for it and the item pushed.
			autoReply = true
			return true
		}
		if !it.Inbound(typ) {
			return false
		}
		if typ == roster.Subscribe {
			if raw == nil {
				raw = build(typ, from.String(), to)
			}
			it.Request = raw
		}
		return true
	})
	switch {
	case errors.Is(err, roster.ErrFull):
		// Delivered without being kept, the request could be approved
		// with no record to approve; kept, it would grow the roster past
		// its bound.
		return true
	case err != nil:
		m.api.Log().Error("updating the roster", "user", to, "err", err)
		return false
	}
	if autoReply {
		// RFC 6121 §3.1.3: the contact already approved this subscriber;
		// its server answers for it, without bothering the contact.
		if hs := m.srv.Host(from.Domain()); hs != nil {
			self, _ := jid.New(local, h.Name, "")
			m.inbound(origin, hs, from.Local(), self, roster.Subscribed, nil)
			m.relay(origin, h, local, from.String(), false)
		}
		return false
	}
	if !changed {
		return false // RFC 6121 Appendix A: no state change, nothing delivered
	}
	if raw == nil {
		raw = build(typ, from.String(), to)
	}
	for _, x := range sessions(h, local, true) {
		x.SendFor(origin, raw)
	}
	if typ == roster.Unsubscribe && hadFrom {
		// RFC 6121 §3.3.3: the former subscriber sees the contact go.
		m.relay(origin, h, local, from.String(), true)
	}
	return false
}

// onRemoved cancels the subscriptions of a removed roster item both ways
// (RFC 6121 §2.5.2): 'unsubscribe' when the user was subscribed or asking,
// 'unsubscribed' when the contact was subscribed or asking. Then come the
// roster push of the removal to the user's interested resources and, for a
// contact that was subscribed, unavailable presence from each of the user's
// available resources: the order of RFC 6121 §3.2.2 and §3.3.2.
func (m *Module) onRemoved(ev *core.Event) bool {
	rm, ok := ev.Data.(*roster.Removal)
	if !ok {
		return false
	}
	old := rm.Item
	s := ev.Origin
	user, c := ev.From.Bare(), ev.To.Bare()
	hc := m.srv.Host(c.Domain())
	if hc == nil || c.Local() == "" || !m.srv.Accounts.Exists(hc.Name, c.Local()) {
		return false // remote contacts would get the stanzas over s2s
	}
	if old.HasTo() || old.Ask {
		m.inbound(s, hc, c.Local(), user, roster.Unsubscribe, nil)
	}
	if old.HasFrom() || old.PendingIn {
		m.inbound(s, hc, c.Local(), user, roster.Unsubscribed, nil)
	}
	rm.Push()
	if old.HasFrom() {
		m.relay(s, ev.Host, user.Local(), c.String(), true)
	}
	return false
}
