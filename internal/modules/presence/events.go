package presence

import (
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// Events the module fires on the session's host, for modules that act on
// a session's presence (PEP sends the last items of the nodes a client's
// capabilities ask for; XEP-0163 §4.3).
const (
	// EventAvailable fires after a session's available presence has been
	// broadcast: its initial presence and every change after it.
	// ev.Origin is the session, ev.Stanza the presence as the client sent
	// it (valid during the event only), ev.From the session's full JID,
	// and ev.Data a *Change.
	EventAvailable = "presence-available"
	// EventUnavailable fires once when an available session becomes
	// unavailable: by its own unavailable presence (ev.Stanza) or by
	// ending without one (ev.Stanza nil). ev.Origin is the session.
	EventUnavailable = "presence-unavailable"
)

// NSCaps is the namespace of entity capabilities (XEP-0115).
const NSCaps = "http://jabber.org/protocol/caps"

// Change is the Data of EventAvailable.
type Change struct {
	Initial  bool // the session was not available before
	Priority int  // as the module reads it (RFC 6121 §4.7.2.3)
	Caps     Caps // the zero Caps when the presence has no <c/>
}

// Caps is the <c/> element of a presence (XEP-0115 §4): the hash function,
// the software's node and the verification string, which names the
// client's disco#info (features such as "+notify" ones).
type Caps struct {
	Hash, Node, Ver string
}

// CapsOf reads the <c xmlns='http://jabber.org/protocol/caps'/> of st; false
// when there is none or it has no ver.
func CapsOf(st *stanza.Stanza) (Caps, bool) {
	tree, err := st.Tree()
	if err != nil {
		return Caps{}, false
	}
	c := tree.Child(NSCaps, "c")
	if c == nil || c.Attr("ver") == "" {
		return Caps{}, false
	}
	return Caps{Hash: c.Attr("hash"), Node: c.Attr("node"), Ver: c.Attr("ver")}, true
}

// ChangeOf returns the *Change of an EventAvailable event, or nil.
func ChangeOf(ev *core.Event) *Change {
	c, _ := ev.Data.(*Change)
	return c
}
