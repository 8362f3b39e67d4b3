package mam

import (
	"bytes"
	"slices"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// Byte patterns that let most messages skip parsing: a message with none
// of them has no body, no storage hint and no stanza-id to strip.
var (
	bodyBytes  = []byte("body")
	hintsBytes = []byte(NSHints)
	sidBytes   = []byte(NSSID)
)

// onSent archives the sender's copy of a message a local session sends,
// whatever its destination. It never takes the stanza.
func (m *Module) onSent(ev *core.Event) bool {
	st := ev.Stanza
	raw := st.To()
	if raw == nil {
		return false // to the sender's own account: archived once, as received
	}
	to, err := jid.ParseBytes(raw)
	if err != nil {
		return false // the router answers jid-malformed
	}
	owner := ev.From.Bare()
	if to.Bare().Equal(owner) {
		// A message to oneself is one conversation entry: onReceived
		// archives it, where its stanza-id can go on the delivered copy.
		return false
	}
	root, archive := inspect(st)
	if !archive || !m.wanted(owner.Local(), to) {
		return false
	}
	kept, _ := m.strip(root.Children, owner)
	m.append(owner.Local(), to.String(), storedCopy(root, kept, ev.From))
	return false
}

// onReceived archives the recipient's copy of a message to a local
// account, and gives the copy the chain goes on to deliver a stanza-id
// with the archive id (XEP-0359 §3) in place of any the sender forged
// with our 'by' (XEP-0359 §3.1). It never takes the stanza: delivery,
// offline storage and carbons all handle the copy with the stanza-id.
func (m *Module) onReceived(ev *core.Event) bool {
	root, archive := inspect(ev.Stanza)
	if root == nil {
		return false
	}
	owner := ev.To.Bare()
	kept, forged := m.strip(root.Children, owner)
	id := ""
	if archive && !ev.From.IsZero() && m.exists(owner.Local()) && m.wanted(owner.Local(), ev.From) {
		id = m.append(owner.Local(), ev.From.String(), storedCopy(root, kept, ev.From))
	}
	if id == "" && !forged {
		return false
	}
	out := *root
	out.Children = kept
	if id != "" {
		out.Children = append(slices.Clip(kept), stanza.Node{Elem: stanza.NewElement(NSSID, "stanza-id", "id", id, "by", owner.String())})
	}
	st, err := stanza.Reparse(out.AppendXML(nil, root.Space), root.Space)
	if err != nil {
		m.api.Log().Warn("re-reading a message with its stanza-id failed", "err", err)
		return false
	}
	ev.Stanza = st
	return false
}

// append stores payload in user's archive and returns its id, or "" when
// the store failed, which is logged: a message is still delivered when
// its archive copy cannot be written.
func (m *Module) append(user, with string, payload []byte) string {
	id, err := m.store.Append(user, time.Time{}, with, payload)
	if err != nil {
		m.api.Log().Error("archiving a message failed", "user", user, "err", err)
		return ""
	}
	m.archived.Inc()
	return id
}

// inspect parses a message that may need archiving or stripping and says
// whether it is archived (XEP-0313 §7.1.1): chat and normal messages with
// a body, unless a XEP-0334 hint says not to store them; with a store
// hint, also those without a body and headlines. root is nil for a
// message with nothing to archive or strip, which is most of those that
// carry no body, found without parsing.
func inspect(st *stanza.Stanza) (root *stanza.Element, archive bool) {
	typ := string(st.Type())
	if typ == "error" || typ == "groupchat" {
		return nil, false // groupchat is the room's archive's (XEP-0313 §7.1.1)
	}
	raw := st.Raw
	if !bytes.Contains(raw, bodyBytes) && !bytes.Contains(raw, hintsBytes) && !bytes.Contains(raw, sidBytes) {
		return nil, false
	}
	root, err := st.Tree()
	if err != nil {
		return nil, false
	}
	var body, store, noStore bool
	for _, n := range root.Children {
		e := n.Elem
		switch {
		case e == nil:
		case e.Local == "body" && e.Space == root.Space:
			body = true
		case e.Space == NSHints && (e.Local == "no-store" || e.Local == "no-permanent-store"):
			noStore = true
		case e.Space == NSHints && e.Local == "store":
			store = true
		}
	}
	switch {
	case noStore:
		return root, false
	case typ == "headline":
		return root, store
	default:
		return root, body || store
	}
}

// strip returns children without the stanza-ids whose 'by' is the archive
// owner's or this host's: only we may say what our archive ids are
// (XEP-0359 §3.1). forged reports whether there was one; otherwise
// children is returned as it is.
func (m *Module) strip(children []stanza.Node, owner jid.JID) (kept []stanza.Node, forged bool) {
	ours := func(e *stanza.Element) bool {
		if e == nil || e.Local != "stanza-id" || e.Space != NSSID {
			return false
		}
		by, err := jid.Parse(e.Attr("by"))
		return err != nil || by.Equal(owner) || by.String() == m.host.Name
	}
	if !slices.ContainsFunc(children, func(n stanza.Node) bool { return ours(n.Elem) }) {
		return children, false
	}
	return slices.DeleteFunc(slices.Clone(children), func(n stanza.Node) bool { return ours(n.Elem) }), true
}

// storedCopy serializes the message as the archive keeps it and returns
// it in query results: from stamped with the sender's full JID, in
// jabber:client declared on the element, so that it can be wrapped in a
// <forwarded/> as it is (XEP-0297 §3).
func storedCopy(root *stanza.Element, children []stanza.Node, from jid.JID) []byte {
	c := *root
	c.Attrs = slices.Clone(root.Attrs)
	c.SetAttr("from", from.String())
	c.Children = children
	if c.Space != stanza.NSClient {
		// From a server-to-server stream (jabber:server): clients read
		// archived messages as their own stream's.
		c = *toClient(&c, root.Space)
	}
	return c.AppendXML(nil, "")
}

// toClient returns a copy of e with the stream namespace space replaced by
// jabber:client throughout.
func toClient(e *stanza.Element, space string) *stanza.Element {
	c := *e
	if c.Space == space {
		c.Space = stanza.NSClient
	}
	c.Children = make([]stanza.Node, len(e.Children))
	for i, n := range e.Children {
		if n.Elem != nil {
			n.Elem = toClient(n.Elem, space)
		}
		c.Children[i] = n
	}
	return &c
}

// exists reports whether user is an account here: archiving for a name
// nobody holds would fill the store with what nobody can read.
func (m *Module) exists(user string) bool {
	online := false
	m.host.Sessions(user, func(*core.Session) { online = true })
	return online || m.api.Server().Accounts.Exists(m.host.Name, user)
}
