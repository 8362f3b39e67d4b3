package carbons

import (
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// maxTargets bounds the copies one message makes; an account's sessions
// are bounded by max_resources anyway, this only keeps the list on the
// stack.
const maxTargets = 16

// onSent copies a message a session sends to its account's other
// carbon-enabled sessions, wrapped in <sent/> (XEP-0280 §7). It runs
// before routing and never stops the message.
func (m *Module) onSent(ev *core.Event) bool {
	s := ev.Origin
	st := ev.Stanza
	if s == nil || !typeEligible(st) || st.To() == nil {
		return false
	}
	to, err := jid.View(st.To())
	if err != nil {
		return false
	}
	// To the account itself: its sessions get the message, or a received
	// copy, already.
	if to.Local() == s.JID.Local() && to.Domain() == s.Host.Name {
		return false
	}
	var arr [maxTargets]*core.Session
	targets := arr[:0]
	s.Host.Sessions(s.JID.Local(), func(o *core.Session) {
		if o != s && m.Enabled(o) && len(targets) < maxTargets {
			targets = append(targets, o)
		}
	})
	if len(targets) == 0 || !eligible(st) {
		return false
	}
	m.send(ev.Origin, targets, "sent", st, s.JID.String())
	return false
}

// onReceived copies a message for the account to its carbon-enabled
// sessions that do not get it themselves, wrapped in <received/>
// (XEP-0280 §6). It runs before delivery and never stops the message.
func (m *Module) onReceived(ev *core.Event) bool {
	st := ev.Stanza
	to := ev.To
	if to.Local() == "" || !typeEligible(st) {
		return false
	}
	// The session addressed by a full JID gets the message itself; a full
	// JID whose resource is gone counts as the bare JID, as delivery
	// treats it (RFC 6121 §8.5.3.2.1).
	var direct *core.Session
	if to.Resource() != "" {
		direct = ev.Host.Session(to)
	}
	// For the bare JID, every available session with a non-negative
	// priority gets the message (RFC 6121 §8.5.2.1.1); with none, it goes
	// to offline storage and nobody gets a copy now.
	delivered := direct != nil
	var arr [maxTargets]*core.Session
	targets := arr[:0]
	ev.Host.Sessions(to.Local(), func(o *core.Session) {
		gets := o == direct || (direct == nil && o.Available() && o.Priority() >= 0)
		delivered = delivered || gets
		// Never a copy to the resource that sent it (a message between
		// two resources of one account).
		if gets || !m.Enabled(o) || o.JID.Equal(ev.From) || len(targets) == maxTargets {
			return
		}
		targets = append(targets, o)
	})
	if !delivered || len(targets) == 0 || !eligible(st) {
		return false
	}
	m.send(ev.Origin, targets, "received", st, ev.From.String())
	return false
}

// typeEligible is the cheap first test of XEP-0280 §6: chat and normal
// messages may be copied; groupchat, headline and error are not.
func typeEligible(st *stanza.Stanza) bool {
	switch string(st.Type()) {
	case "chat", "normal", "":
		return true
	}
	return false
}

// eligible applies the rest of XEP-0280 §6: normal messages need a body,
// <private/> (XEP-0280 §8) and <no-copy/> (XEP-0334) opt out, and a
// carbon copy is never copied again.
func eligible(st *stanza.Stanza) bool {
	tree, err := st.Tree()
	if err != nil {
		return false
	}
	if tree.Child(NS, "private") != nil || tree.Child(NSHints, "no-copy") != nil ||
		tree.Child(NS, "sent") != nil || tree.Child(NS, "received") != nil {
		return false
	}
	if string(st.Type()) == "chat" {
		return true
	}
	return tree.Child("", "body") != nil
}

// send wraps st, with 'from' set to from, in <dir><forwarded/></dir> from
// the account's bare JID (XEP-0280 §6, §7; XEP-0297) and sends it to each
// target. origin is the session whose stanza is being handled, or nil.
func (m *Module) send(origin *core.Session, targets []*core.Session, dir string, st *stanza.Stanza, from string) {
	// The copy is a whole message in jabber:client inside the wrapper, so
	// it is serialized from a tree rather than spliced as bytes: a stanza
	// that relied on its stream's default namespace (or a prefix its
	// stream header bound) gets it declared. eligible parsed the tree.
	tree, err := st.Tree()
	if err != nil {
		return
	}
	inner := *tree
	inner.Attrs = append(make([]stanza.Attr, 0, len(tree.Attrs)+1), tree.Attrs...)
	inner.SetAttr("from", from)
	if inner.Space == "" {
		inner.Space = stanza.NSClient
	}
	fwd := inner.AppendXML(nil, NSForward)
	bare := targets[0].JID.Bare().String()
	var b stanza.Builder
	for _, t := range targets {
		b.Reset(nil).Start("message").Attr("from", bare).Attr("to", t.JID.String())
		if typ := st.Type(); len(typ) > 0 {
			b.AttrBytes("type", typ)
		}
		b.Start(dir).Attr("xmlns", NS).Start("forwarded").Attr("xmlns", NSForward).Raw(fwd)
		// With the read's other output, as the message itself is
		// delivered: one write per session for a burst of messages.
		t.SendWithin(origin, b.Bytes())
		m.copies.Inc()
	}
}
