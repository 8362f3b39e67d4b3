package pubsub

import (
	"sync"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/modules/caps"
	"xmppd/internal/modules/roster"
	"xmppd/internal/stanza"
	"xmppd/internal/storage"
	"xmppd/internal/xml"
)

// event is one notification, serialized once per publish: every recipient
// gets head, its own address, then tail (XEP-0060 §7.1.2.1), so that the
// fan-out costs a copy per subscriber and no serialization.
type event struct {
	head, tail []byte
	item       bool            // an item (filters apply), not a retract/purge/delete
	payload    *stanza.Element // what filters read; nil for other events

	once   sync.Once
	fields map[string]string
}

// fieldsOf returns the payload's fields for filters, read once per event.
func (e *event) fieldsOf() map[string]string {
	e.once.Do(func() { e.fields = payloadFields(e.payload) })
	return e.fields
}

// messageHead writes the start of a notification message up to the
// opening quote of 'to'.
func messageHead(f face, typ string) []byte {
	buf := append([]byte(nil), "<message type='"...)
	buf = append(buf, typ...)
	buf = append(buf, "' from='"...)
	buf = xml.AppendEscapedAttr(buf, f.jid.String())
	buf = append(buf, "' id='"...)
	buf = append(buf, randomID()...)
	buf = append(buf, "' to='"...)
	return buf
}

func newItemEvent(f face, n *node, it storage.NodeItem, payload *stanza.Element) *event {
	n.mu.Lock()
	typ, withPayload := n.cfg.notificationType, n.cfg.deliverPayloads
	n.mu.Unlock()
	var b stanza.Builder
	b.Reset(nil).Start("event").Attr("xmlns", NSEvent).Start("items").Attr("node", n.name).
		Start("item").Attr("id", it.ID).Attr("publisher", it.Publisher)
	if withPayload {
		b.Raw(it.Payload)
	}
	tail := closeTag(b.End().End().End().Bytes())
	return &event{head: messageHead(f, typ), tail: tail, item: true, payload: payload}
}

func newRetractEvent(f face, n *node, id string) *event {
	var b stanza.Builder
	b.Reset(nil).Start("event").Attr("xmlns", NSEvent).Start("items").Attr("node", n.name).
		Start("retract").Attr("id", id).End().End().End()
	return &event{head: messageHead(f, "headline"), tail: closeTag(b.Bytes())}
}

// newNodeEvent is a purge or a delete (XEP-0060 §8.4.2, §8.5.2).
func newNodeEvent(f face, n *node, what, redirect string) *event {
	var b stanza.Builder
	b.Reset(nil).Start("event").Attr("xmlns", NSEvent).Start(what).Attr("node", n.name)
	if redirect != "" {
		b.Start("redirect").Attr("uri", redirect).End()
	}
	b.End().End()
	return &event{head: messageHead(f, "headline"), tail: closeTag(b.Bytes())}
}

// closeTag makes the tail of a notification from its <event/>: the end of
// the 'to' attribute and of the start tag, the event, the end tag.
func closeTag(ev []byte) []byte {
	out := make([]byte, 0, len(ev)+12)
	out = append(out, "'>"...)
	out = append(out, ev...)
	return append(out, "</message>"...)
}

// sendBufs lends the buffer one notification to one recipient is written
// into: the link copies what it queues, so one buffer serves a broadcast.
var sendBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// sendTo writes ev to session s: at once, or with the other output of
// origin's read when the notification is that read's doing (origin nil:
// a timer's or an API call's).
func (m *Module) sendTo(origin, s *core.Session, ev *event) {
	bp := sendBufs.Get().(*[]byte)
	buf := append((*bp)[:0], ev.head...)
	buf = xml.AppendEscapedAttr(buf, s.JID.String())
	buf = append(buf, ev.tail...)
	s.SendWithin(origin, buf)
	*bp = buf[:0]
	sendBufs.Put(bp)
	m.notified.Inc()
}

// broadcast sends ev to everyone who gets n's notifications: explicit
// subscribers (each once, through its filter and interval), and for PEP
// the account's own resources and contacts with a presence subscription
// whose caps ask for the node (XEP-0163 §4.3.1). Sessions' output queues
// never block, so a slow subscriber costs the publisher nothing. origin is
// the session whose read caused ev, or nil; a burst of publishes in one
// read reaches each subscriber in one write.
func (m *Module) broadcast(origin *core.Session, f face, n *node, ev *event) {
	n.mu.Lock()
	subs := make([]*subscription, 0, len(n.subs))
	for _, s := range n.subs {
		if s.state == subSubscribed {
			subs = append(subs, s)
		}
	}
	access := n.cfg.accessModel
	nodeInterval := n.cfg.interval
	n.mu.Unlock()
	explicit := func(s *core.Session) bool {
		if len(subs) == 0 {
			return false
		}
		full, bare := s.JID.String(), s.JID.Bare().String()
		for _, x := range subs {
			if x.jid == full || x.jid == bare {
				return true
			}
		}
		return false
	}
	for _, sub := range subs {
		j := sub.addr
		if j.IsZero() {
			continue
		}
		h := m.api.Server().Host(j.Domain())
		if h == nil {
			continue
		}
		if j.Resource() != "" {
			if s := h.Session(j); s != nil && s.Available() {
				m.deliver(origin, n, ev, s, sub, nodeInterval)
			}
			continue
		}
		h.Sessions(j.Local(), func(s *core.Session) {
			if !s.Available() {
				return
			}
			for _, x := range subs {
				if x.jid == s.JID.String() {
					return // its own full-JID subscription covers it
				}
			}
			m.deliver(origin, n, ev, s, sub, nodeInterval)
		})
	}
	if !f.pep {
		return
	}
	// Presence-based delivery: the account itself, then its contacts.
	wants := func(s *core.Session) {
		if s.Available() && caps.Of(s).Wants(n.name) && !explicit(s) {
			m.deliver(origin, n, ev, s, nil, nodeInterval)
		}
	}
	m.host.Sessions(f.jid.Local(), wants)
	r := roster.For(m.host)
	if r == nil {
		return
	}
	items, err := r.Items(f.jid.Local())
	if err != nil {
		m.api.Log().Error("reading a roster for PEP", "err", err)
		return
	}
	for i := range items {
		it := &items[i]
		if !it.HasFrom() || (access == accessRoster && !m.rosterGroupOK(n, it.Groups)) {
			continue
		}
		if access == accessWhitelist || access == accessAuthorize {
			continue // only affiliates and approved subscribers, above
		}
		local, domain := splitBare(it.JID)
		h := m.api.Server().Host(domain)
		if h == nil {
			continue
		}

		h.Sessions(local, wants)
	}
}

func (m *Module) rosterGroupOK(n *node, groups []string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.cfg.rosterGroups) == 0 {
		return true
	}
	for _, g := range groups {
		for _, a := range n.cfg.rosterGroups {
			if g == a {
				return true
			}
		}
	}
	return false
}

// deliver sends ev to s through sub's filter and interval (sub nil: a
// presence-based recipient, with the node's interval only).
func (m *Module) deliver(origin *core.Session, n *node, ev *event, s *core.Session, sub *subscription, nodeInterval time.Duration) {
	interval := nodeInterval
	if sub != nil {
		if ev.item && sub.filter != nil && !sub.filter.match(ev.fieldsOf()) {
			return
		}
		if sub.interval > 0 {
			interval = sub.interval
		}
	}
	if interval <= 0 || !ev.item {
		m.sendTo(origin, s, ev)
		return
	}
	m.pace(origin, n, ev, s, interval)
}

// pacer coalesces one recipient's notifications of one node: at most one
// per interval, the newest one, and the last never lost (a timer sends
// what is pending when the interval ends).
type pacer struct {
	last    time.Time
	pending *event
	timer   *time.Timer
}

// maxPacers bounds the coalescing state of one node.
const maxPacers = 1 << 14

func (m *Module) pace(origin *core.Session, n *node, ev *event, s *core.Session, interval time.Duration) {
	full := s.JID.String()
	now := time.Now()
	n.mu.Lock()
	if n.pacers == nil {
		n.pacers = map[string]*pacer{}
	}
	p := n.pacers[full]
	if p == nil {
		if len(n.pacers) >= maxPacers {
			n.mu.Unlock()
			m.sendTo(origin, s, ev)
			return
		}
		p = &pacer{}
		n.pacers[full] = p
	}
	if p.timer == nil && now.Sub(p.last) >= interval {
		p.last = now
		n.mu.Unlock()
		m.sendTo(origin, s, ev)
		return
	}
	if p.pending != nil {
		m.coalesced.Inc()
	}
	p.pending = ev
	if p.timer == nil {
		wait := interval - now.Sub(p.last)
		p.timer = time.AfterFunc(wait, func() { m.fire(n, full, p, interval) })
	}
	n.mu.Unlock()
}

// fire sends a pacer's pending notification when its interval ends, and
// forgets the pacer once an interval passes with nothing to send.
func (m *Module) fire(n *node, full string, p *pacer, interval time.Duration) {
	n.mu.Lock()
	ev := p.pending
	p.pending = nil
	p.timer = nil
	if ev == nil {
		if n.pacers[full] == p {
			delete(n.pacers, full)
		}
		n.mu.Unlock()
		return
	}
	p.last = time.Now()
	p.timer = time.AfterFunc(interval, func() { m.fire(n, full, p, interval) })
	n.mu.Unlock()
	if s := m.sessionOf(full); s != nil {
		m.sendTo(nil, s, ev)
	}
}
