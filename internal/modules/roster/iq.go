package roster

import (
	"errors"
	"slices"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// onSelf answers a roster get or set a user sends to its own account
// (RFC 6121 §2.1.3, §2.3–§2.5).
func (m *Module) onSelf(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	switch string(ev.Stanza.Type()) {
	case "get":
		m.get(ev)
	case "set":
		m.set(ev)
	default:
		return false
	}
	return true
}

// onOther refuses a roster get or set addressed to another user's account
// (RFC 6121 §2.3.3: forbidden when the sender may not change that roster).
func (m *Module) onOther(ev *core.Event) bool {
	m.srv.Bounce(ev.Origin, ev.Stanza, ev.To, ev.From, core.ErrAuth, "forbidden", "")
	return true
}

// fail answers the iq with an error from the user's account.
func (m *Module) fail(ev *core.Event, typ, condition, text string) {
	m.srv.Bounce(ev.Origin, ev.Stanza, jid.JID{}, ev.From, typ, condition, text)
}

// get sends the whole roster, or an empty result when the client's cached
// version is current (RFC 6121 §2.6.3), and makes the session interested.
func (m *Module) get(ev *core.Event) {
	s := ev.Origin
	user := s.JID.Local()
	tree, err := ev.Stanza.Tree()
	if err != nil {
		m.fail(ev, core.ErrModify, "bad-request", "")
		return
	}
	q := tree.Child(NS, "query")
	ver, hasVer := "", false
	if q != nil {
		ver, hasVer = q.AttrNS("", "ver")
	}
	s.SetInterested()
	if hasVer {
		s.Set(wantsVer, true)
	}
	m.gets.Inc()
	cur, err := m.roster.Version(user)
	if err != nil {
		m.storeError(ev, err)
		return
	}
	if hasVer && ver == cur {
		// RFC 6121 §2.6.3: the client's copy is current; no items.
		core.Result(ev, nil)
		return
	}
	items, err := m.roster.Items(user)
	if err != nil {
		m.storeError(ev, err)
		return
	}
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", NS)
	if hasVer {
		b.Attr("ver", cur)
	}
	for i := range items {
		if !items[i].Hidden {
			appendItem(&b, &items[i], false)
		}
	}
	core.Result(ev, b.Bytes())
}

// set adds, changes or removes one item (RFC 6121 §2.3–§2.5).
func (m *Module) set(ev *core.Event) {
	s := ev.Origin
	user := s.JID.Local()
	tree, err := ev.Stanza.Tree()
	if err != nil {
		m.fail(ev, core.ErrModify, "bad-request", "")
		return
	}
	var items []*stanza.Element
	if q := tree.Child(NS, "query"); q != nil {
		for _, n := range q.Children {
			if n.Elem != nil && n.Elem.Space == NS && n.Elem.Local == "item" {
				items = append(items, n.Elem)
			}
		}
	}
	if len(items) != 1 {
		// RFC 6121 §2.3.3: a roster set carries exactly one item.
		m.fail(ev, core.ErrModify, "bad-request", "a roster set carries exactly one item")
		return
	}
	el := items[0]
	raw, ok := el.AttrNS("", "jid")
	if !ok || raw == "" {
		m.fail(ev, core.ErrModify, "bad-request", "the item has no jid")
		return
	}
	j, err := jid.Parse(raw)
	if err != nil {
		m.fail(ev, core.ErrModify, "jid-malformed", "")
		return
	}
	if j.Resource() != "" {
		// Subscriptions and routing work on bare JIDs (RFC 6121 §3):
		// an item for a resource could never be subscribed.
		m.fail(ev, core.ErrModify, "bad-request", "roster items are bare JIDs")
		return
	}
	contact := j.String()
	if contact == s.JID.Bare().String() {
		m.fail(ev, core.ErrCancel, "not-allowed", "a user is not a contact of itself")
		return
	}
	// RFC 6121 §2.1.2.5: the only subscription value a client may set is
	// "remove"; any other is ignored, as are 'ask' and 'approved'.
	if sub, _ := el.AttrNS("", "subscription"); sub == "remove" {
		m.removeItem(ev, user, contact)
		return
	}
	name, _ := el.AttrNS("", "name")
	if len(name) > m.maxName {
		m.fail(ev, core.ErrModify, "not-acceptable", "the name is too long")
		return
	}
	var groups []string
	for _, n := range el.Children {
		if n.Elem == nil || n.Elem.Space != NS || n.Elem.Local != "group" {
			continue
		}
		g := n.Elem.Text()
		switch {
		case g == "":
			// RFC 6121 §2.3.3: an empty group is not-acceptable.
			m.fail(ev, core.ErrModify, "not-acceptable", "empty group name")
			return
		case len(g) > m.maxName:
			m.fail(ev, core.ErrModify, "not-acceptable", "a group name is too long")
			return
		case slices.Contains(groups, g):
			// RFC 6121 §2.3.3: duplicate groups are a bad-request.
			m.fail(ev, core.ErrModify, "bad-request", "duplicate group")
			return
		}
		groups = append(groups, g)
	}
	_, _, err = m.roster.Update(s, user, contact, func(it *Item) bool {
		// A roster set replaces the name and groups (RFC 6121 §2.4).
		it.Name, it.Groups, it.Hidden = name, groups, false
		return true
	})
	switch {
	case errors.Is(err, ErrFull):
		m.fail(ev, core.ErrCancel, "policy-violation", "the roster is full")
	case err != nil:
		m.storeError(ev, err)
	default:
		m.sets.Inc()
		core.Result(ev, nil)
	}
}

// removeItem deletes an item (RFC 6121 §2.5.2). The presence module, on
// EventRemoved, sends the contact the stanzas that cancel the
// subscriptions, then the roster push, then unavailable presence
// (RFC 6121 §3.2.2, §3.3.2); the result follows.
func (m *Module) removeItem(ev *core.Event, user, contact string) {
	s := ev.Origin
	old, found, err := m.roster.remove(user, contact)
	switch {
	case err != nil:
		m.storeError(ev, err)
		return
	case !found:
		// RFC 6121 §2.5.3: removing an item that is not there.
		m.fail(ev, core.ErrCancel, "item-not-found", "")
		return
	}
	m.sets.Inc()
	rm := &Removal{Item: old, r: m.roster, origin: s, user: user}
	to, _ := jid.Parse(contact)
	m.api.Fire(EventRemoved, &core.Event{Origin: s, From: s.JID.Bare(), To: to, Data: rm})
	rm.Push()
	core.Result(ev, nil)
}

func (m *Module) storeError(ev *core.Event, err error) {
	m.api.Log().Error("roster store", "user", ev.Origin.JID.Bare().String(), "err", err)
	m.fail(ev, core.ErrWait, "internal-server-error", "")
}
