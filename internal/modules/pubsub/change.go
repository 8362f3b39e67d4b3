package pubsub

import (
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/storage"
)

// EventPEPChanged fires on the host bus after a client changed the items
// of a PEP node: a publish, a retraction, a purge or the node's deletion.
// ev.Origin is the client's session and ev.Data a *Change. Changes made
// through the module's Go API (PublishPEP, RetractPEP) do not fire it, so a
// module that keeps other data in step with a node (bookmarks) can write
// the node without hearing its own writes.
const EventPEPChanged = "pep-changed"

// Change is the Data of EventPEPChanged. Exactly one of Published,
// Retracted, Purged and Deleted says what happened.
type Change struct {
	Owner     string // the account's localpart
	Node      string
	Published *Item  // the item as stored
	Retracted string // the id of the retracted item
	Purged    bool   // every item was deleted, the node kept
	Deleted   bool   // the node and its items were deleted
}

// ChangeOf returns the *Change of an EventPEPChanged event, or nil.
func ChangeOf(ev *core.Event) *Change {
	c, _ := ev.Data.(*Change)
	return c
}

// changed fires EventPEPChanged for a client's change on a PEP node.
func (m *Module) changed(r *request, c *Change) {
	if !r.f.pep {
		return
	}
	c.Owner = r.f.owner
	m.api.Fire(EventPEPChanged, &core.Event{Origin: r.ev.Origin, Data: c})
}

// RetractPEP deletes item id from account's PEP node as the account
// would, and notifies the node's subscribers and interested contacts of
// the retraction whatever the node's notify_retract (the module retracts
// on behalf of another representation of the same data, and the account's
// other clients must learn of it). found is false when there was no such
// item.
func (m *Module) RetractPEP(account jid.JID, node, id string) (found bool, err error) {
	f, err := m.pepFace(account)
	if err != nil {
		return false, err
	}
	n, err := m.node(f.owner, node)
	if err != nil {
		return false, err
	}
	if n == nil {
		return false, nil
	}
	found, err = m.items.Retract(n.owner, n.name, id)
	if err != nil || !found {
		return found, err
	}
	m.broadcast(nil, f, n, newRetractEvent(f, n, id))
	return true, nil
}

// toItem converts a stored item for the Go API.
func toItem(it storage.NodeItem) *Item {
	return &Item{ID: it.ID, Publisher: it.Publisher, Payload: it.Payload}
}
