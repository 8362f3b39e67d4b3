package pubsub

import (
	"strings"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// Subscription option fields (XEP-0060 §6.3, and xmppd's own).
const (
	fDeliver      = "pubsub#deliver"
	fFilter       = "xmppd#filter"
	fSubInterval  = "xmppd#interval"
	fSubscription = "pubsub#subscription_type"
)

// subJID reads and checks the 'jid' of a subscribe or unsubscribe: the
// requester's bare or full JID (XEP-0060 §6.1.3.1 invalid-jid otherwise).
func (m *Module) subJID(r *request) (string, bool) {
	j, err := jid.Parse(r.op.Attr("jid"))
	if err != nil || j.Bare().String() != r.from {
		m.fail(r.ev, core.ErrModify, "bad-request", "invalid-jid", "", "the JID must be your own")
		return "", false
	}
	return j.String(), true
}

// applyOptions reads a subscribe_options form into s; the error text
// names the problem (bad-request, XEP-0060 §6.3.7).
func applyOptions(s *subscription, fields [][2]string) string {
	for _, fv := range fields {
		switch fv[0] {
		case fFilter:
			if strings.TrimSpace(fv[1]) == "" {
				s.filter = nil
				continue
			}
			f, err := parseFilter(fv[1])
			if err != nil {
				return err.Error()
			}
			s.filter = f
		case fSubInterval:
			d, ok := parseInterval(fv[1])
			if !ok {
				return "xmppd#interval must be 0 to 1h (seconds, or a duration such as 500ms)"
			}
			s.interval = d
		}
	}
	return ""
}

// subscribe subscribes a JID (XEP-0060 §6.1), with options (§6.3.7).
func (m *Module) subscribe(r *request) {
	n := m.lookup(r)
	if n == nil {
		return
	}
	who, ok := m.subJID(r)
	if !ok {
		return
	}
	s := newSubscription(who, randomID(), subSubscribed)
	if fields, ft, ok := formFields(r.payload.Child(NS, "options")); ok {
		if ft != "" && ft != formSub {
			m.fail(r.ev, core.ErrModify, "bad-request", "invalid-options", "", "options must be "+formSub)
			return
		}
		if why := applyOptions(s, fields); why != "" {
			m.fail(r.ev, core.ErrModify, "bad-request", "invalid-options", "", why)
			return
		}
	}
	n.mu.Lock()
	refused, pending := m.denied(r, n, r.from, m.affiliation(r, n))
	if refused {
		n.mu.Unlock()
		return
	}
	if pending {
		s.state = subPending
	}
	if old := n.subs[who]; old != nil {
		s.subid = old.subid // one subscription per JID: options replace
		if old.state == subSubscribed {
			s.state = subSubscribed
		}
	} else if len(n.subs) >= m.opts.maxSubs {
		n.mu.Unlock()
		m.fail(r.ev, core.ErrWait, "resource-constraint", "", "", "the node has too many subscribers")
		return
	}
	prev := n.subs[who]
	n.subs[who] = s
	if err := m.save(n); err != nil {
		if prev == nil {
			delete(n.subs, who)
		} else {
			n.subs[who] = prev
		}
		n.mu.Unlock()
		m.storeFailed(r, err)
		return
	}
	sendLast := n.cfg.sendLast != "never"
	n.mu.Unlock()
	var b stanza.Builder
	b.Reset(nil).Start("pubsub").Attr("xmlns", NS).Start("subscription").Attr("node", n.name).
		Attr("jid", who).Attr("subid", s.subid).Attr("subscription", s.state).End().End()
	m.api.Result(r.ev, b.Bytes())
	if sendLast && s.state == subSubscribed {
		// XEP-0060 §6.1.7: the last item, to the subscribing resource.
		if sess := r.ev.Origin; sess != nil {
			m.sendLast(r.f, n, sess, s)
		}
	}
}

// unsubscribe ends a subscription (XEP-0060 §6.2).
func (m *Module) unsubscribe(r *request) {
	n := m.lookup(r)
	if n == nil {
		return
	}
	who, ok := m.subJID(r)
	if !ok {
		return
	}
	n.mu.Lock()
	old := n.subs[who]
	if old == nil {
		n.mu.Unlock()
		m.fail(r.ev, core.ErrCancel, "unexpected-request", "not-subscribed", "", "")
		return
	}
	delete(n.subs, who)
	err := m.save(n)
	n.mu.Unlock()
	if err != nil {
		m.storeFailed(r, err)
		return
	}
	m.api.Result(r.ev, nil)
}

// options gets or sets a subscription's options (XEP-0060 §6.3).
func (m *Module) options(r *request) {
	n := m.lookup(r)
	if n == nil {
		return
	}
	who, ok := m.subJID(r)
	if !ok {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.subs[who]
	if s == nil {
		m.fail(r.ev, core.ErrModify, "unexpected-request", "not-subscribed", "", "")
		return
	}
	if !r.set {
		fs := ""
		if s.filter != nil {
			fs = s.filter.src
		}
		var b stanza.Builder
		b.Reset(nil).Start("pubsub").Attr("xmlns", NS).Start("options").Attr("node", n.name).Attr("jid", who).Attr("subid", s.subid)
		writeForm(&b, "form", formSub, [][2]string{{fDeliver, "true"}, {fFilter, fs}, {fSubInterval, durStr(s.interval)}})
		b.End().End()
		m.api.Result(r.ev, b.Bytes())
		return
	}
	fields, _, _ := formFields(r.op)
	c := *s
	if why := applyOptions(&c, fields); why != "" {
		m.fail(r.ev, core.ErrModify, "bad-request", "invalid-options", "", why)
		return
	}
	n.subs[who] = &c
	if err := m.save(n); err != nil {
		n.subs[who] = s
		m.storeFailed(r, err)
		return
	}
	m.api.Result(r.ev, nil)
}

// eachNode calls fn for every node of the face, or only the named one.
func (m *Module) eachNode(r *request, only string, fn func(n *node)) error {
	names := []string{only}
	if only == "" {
		var err error
		if names, err = m.nodeNames(r.f.owner); err != nil {
			return err
		}
	}
	for _, name := range names {
		n, err := m.node(r.f.owner, name)
		if err != nil {
			return err
		}
		if n != nil {
			n.mu.Lock()
			fn(n)
			n.mu.Unlock()
		}
	}
	return nil
}

// mySubscriptions lists the requester's subscriptions (XEP-0060 §5.6).
func (m *Module) mySubscriptions(r *request) {
	var b stanza.Builder
	b.Reset(nil).Start("pubsub").Attr("xmlns", NS).Start("subscriptions")
	err := m.eachNode(r, r.op.Attr("node"), func(n *node) {
		for _, s := range n.subs {
			if s.jid == r.from || strings.HasPrefix(s.jid, r.from+"/") {
				b.Start("subscription").Attr("node", n.name).Attr("jid", s.jid).Attr("subid", s.subid).
					Attr("subscription", s.state).End()
			}
		}
	})
	if err != nil {
		m.storeFailed(r, err)
		return
	}
	m.api.Result(r.ev, b.End().End().Bytes())
}

// myAffiliations lists the requester's affiliations (XEP-0060 §5.7).
func (m *Module) myAffiliations(r *request) {
	var b stanza.Builder
	b.Reset(nil).Start("pubsub").Attr("xmlns", NS).Start("affiliations")
	err := m.eachNode(r, r.op.Attr("node"), func(n *node) {
		if a := m.affiliation(r, n); a != affNone {
			b.Start("affiliation").Attr("node", n.name).Attr("affiliation", a).End()
		}
	})
	if err != nil {
		m.storeFailed(r, err)
		return
	}
	m.api.Result(r.ev, b.End().End().Bytes())
}

// ownerSubscriptions lists or changes a node's subscriptions
// (XEP-0060 §8.8); setting "subscribed" approves a pending one.
func (m *Module) ownerSubscriptions(r *request) {
	n := m.lookup(r)
	if n == nil || !m.ownerOnly(r, n) {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !r.set {
		var b stanza.Builder
		b.Reset(nil).Start("pubsub").Attr("xmlns", NSOwner).Start("subscriptions").Attr("node", n.name)
		for _, s := range n.subs {
			b.Start("subscription").Attr("jid", s.jid).Attr("subscription", s.state).Attr("subid", s.subid).End()
		}
		m.api.Result(r.ev, b.End().End().Bytes())
		return
	}
	for _, c := range r.op.Children {
		e := c.Elem
		if e == nil || e.Local != "subscription" {
			continue
		}
		j, err := jid.Parse(e.Attr("jid"))
		if err != nil {
			m.fail(r.ev, core.ErrModify, "bad-request", "invalid-jid", "", "")
			return
		}
		switch st := e.Attr("subscription"); st {
		case "none":
			delete(n.subs, j.String())
		case subSubscribed, subPending:
			if s := n.subs[j.String()]; s != nil {
				c := *s
				c.state = st
				n.subs[j.String()] = &c
			} else if len(n.subs) < m.opts.maxSubs {
				n.subs[j.String()] = newSubscription(j.String(), randomID(), st)
			}
		default:
			m.fail(r.ev, core.ErrModify, "bad-request", "", "", "unknown subscription state")
			return
		}
	}
	if err := m.save(n); err != nil {
		m.storeFailed(r, err)
		return
	}
	m.api.Result(r.ev, nil)
}

// ownerAffiliations lists or changes a node's affiliations (XEP-0060 §8.9).
func (m *Module) ownerAffiliations(r *request) {
	n := m.lookup(r)
	if n == nil || !m.ownerOnly(r, n) {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !r.set {
		var b stanza.Builder
		b.Reset(nil).Start("pubsub").Attr("xmlns", NSOwner).Start("affiliations").Attr("node", n.name)
		if r.f.pep {
			b.Start("affiliation").Attr("jid", r.f.jid.String()).Attr("affiliation", affOwner).End()
		}
		for j, a := range n.affs {
			b.Start("affiliation").Attr("jid", j).Attr("affiliation", a).End()
		}
		m.api.Result(r.ev, b.End().End().Bytes())
		return
	}
	changed := map[string]string{}
	for _, c := range r.op.Children {
		e := c.Elem
		if e == nil || e.Local != "affiliation" {
			continue
		}
		j, err := jid.Parse(e.Attr("jid"))
		if err != nil {
			m.fail(r.ev, core.ErrModify, "bad-request", "invalid-jid", "", "")
			return
		}
		switch a := e.Attr("affiliation"); a {
		case affOwner, affPublisher, affPublishOnly, affMember, affNone, affOutcast:
			changed[j.Bare().String()] = a
		default:
			m.fail(r.ev, core.ErrModify, "bad-request", "", "", "unknown affiliation")
			return
		}
	}
	old := map[string]string{}
	for j, a := range n.affs {
		old[j] = a
	}
	for j, a := range changed {
		if a == affNone {
			delete(n.affs, j)
		} else {
			n.affs[j] = a
		}
		if a == affOutcast {
			// XEP-0060 §8.9.2.4: an outcast loses its subscriptions.
			for k := range n.subs {
				if k == j || strings.HasPrefix(k, j+"/") {
					delete(n.subs, k)
				}
			}
		}
	}
	if !r.f.pep && !hasOwner(n) {
		n.affs = old
		m.fail(r.ev, core.ErrModify, "not-acceptable", "", "", "a node keeps at least one owner")
		return
	}
	if err := m.save(n); err != nil {
		m.storeFailed(r, err)
		return
	}
	m.api.Result(r.ev, nil)
}

func hasOwner(n *node) bool {
	for _, a := range n.affs {
		if a == affOwner {
			return true
		}
	}
	return false
}

// sendLast sends n's newest item to session s (XEP-0060 §6.1.7,
// XEP-0163 §4.3.2), through sub's filter when there is one.
func (m *Module) sendLast(f face, n *node, s *core.Session, sub *subscription) {
	it, found, err := m.items.Last(n.owner, n.name)
	if err != nil || !found {
		return
	}
	var payload *stanza.Element
	if len(it.Payload) > 0 {
		if e, perr := stanza.Parse(it.Payload, nil, nil); perr == nil {
			payload = e
		}
	}
	ev := newItemEvent(f, n, it, payload)
	if sub != nil && sub.filter != nil && !sub.filter.match(ev.fieldsOf()) {
		return
	}
	// XEP-0060 §12.8: a delayed item says when it was published.
	ev.tail = append(ev.tail[:len(ev.tail)-len("</message>")],
		"<delay xmlns='urn:xmpp:delay' stamp='"+it.When.UTC().Format(time.RFC3339)+"'/></message>"...)
	m.sendTo(nil, s, ev)
}
