package roster

import (
	"slices"
	"strconv"
)

//go:generate msgp -tests=false -io=false -unexported -file item.go -o item_gen.go

// Subscription states of a roster item (RFC 6121 §2.1.2.5).
const (
	None = "none"
	To   = "to"
	From = "from"
	Both = "both"
)

// Subscription stanza types (RFC 6121 §3), the events of the state table.
const (
	Subscribe    = "subscribe"
	Subscribed   = "subscribed"
	Unsubscribe  = "unsubscribe"
	Unsubscribed = "unsubscribed"
)

// Item is one record of a user's roster, stored under the contact's bare
// JID. It holds the subscription state of RFC 6121 Appendix A in four
// parts: Subscription (to/from), Ask (pending out) and PendingIn.
type Item struct {
	// JID is the contact's bare JID: the record's key, not stored in it.
	JID string `msg:"-"`
	// Name is the user's handle for the contact (RFC 6121 §2.1.2.4).
	Name string `msg:"name"`
	// Subscription is None, To, From or Both.
	Subscription string `msg:"sub"`
	// Ask is the pending outbound request (ask='subscribe', RFC 6121 §2.1.2.2).
	Ask bool `msg:"ask"`
	// Groups are the user's groups for the contact (RFC 6121 §2.1.2.3).
	Groups []string `msg:"groups"`
	// PendingIn is an inbound request the user has not answered yet.
	PendingIn bool `msg:"in"`
	// Request is the inbound subscribe stanza as received, kept while
	// PendingIn so that it can be delivered again with its extended content
	// at the next login (RFC 6121 §3.1.3).
	Request []byte `msg:"req"`
	// Hidden marks a record that exists only for a pending inbound request:
	// the requester is not part of the user's roster until the user adds or
	// approves it, so such a record is neither listed nor pushed.
	Hidden bool `msg:"hidden"`
	// Approved is a pre-approval (RFC 6121 §3.4): the user sent
	// 'subscribed' before the contact asked, and the contact's 'subscribe'
	// will be approved without asking the user (approved='true').
	Approved bool `msg:"approved"`
}

// verRecord is the roster version of a user (RFC 6121 §2.6), kept under
// the empty key of the roster map, which no bare JID can be. Epoch is drawn
// at random when the record is made, so that a roster deleted with its
// account and started again never repeats a version a client has cached;
// a clock would not do, since a router may boot in 1970.
type verRecord struct {
	Epoch uint32 `msg:"e"`
	N     uint64 `msg:"n"`
}

// String is the version as the 'ver' attribute carries it.
func (v verRecord) String() string {
	if v.Epoch == 0 && v.N == 0 {
		return "0" // an empty roster that never changed
	}
	return strconv.FormatUint(uint64(v.Epoch), 36) + "-" + strconv.FormatUint(v.N, 10)
}

// HasTo reports whether the user is subscribed to the contact's presence.
func (it *Item) HasTo() bool { return it.Subscription == To || it.Subscription == Both }

// HasFrom reports whether the contact is subscribed to the user's presence.
func (it *Item) HasFrom() bool { return it.Subscription == From || it.Subscription == Both }

func (it *Item) setSub(to, from bool) {
	switch {
	case to && from:
		it.Subscription = Both
	case to:
		it.Subscription = To
	case from:
		it.Subscription = From
	default:
		it.Subscription = None
	}
}

// Outbound applies a subscription stanza the user sends to the contact and
// reports whether the item changed (RFC 6121 Appendix A.2 and A.3.1). An
// unsolicited 'subscribed' to a contact that has no subscription from the
// user records a pre-approval (RFC 6121 §3.4.1), which also puts the
// contact on the roster; 'unsubscribed' cancels it (§3.4: the user may
// cancel a pre-approval).
func (it *Item) Outbound(typ string) bool {
	to, from := it.HasTo(), it.HasFrom()
	switch typ {
	case Subscribe:
		// The request also puts the contact on the roster (RFC 6121 §3.1.2).
		changed := it.Hidden || (!to && !it.Ask)
		it.Hidden = false
		if !to {
			it.Ask = true
		}
		return changed
	case Subscribed:
		if !it.PendingIn {
			if from || it.Approved {
				return false // RFC 6121 §3.4.1: nothing to pre-approve
			}
			it.Approved, it.Hidden = true, false
			return true
		}
		it.PendingIn, it.Request, it.Hidden, it.Approved = false, nil, false, false
		it.setSub(to, true)
	case Unsubscribe:
		if !to && !it.Ask {
			return false
		}
		it.Ask = false
		it.setSub(false, from)
	case Unsubscribed:
		if !from && !it.PendingIn && !it.Approved {
			return false
		}
		it.PendingIn, it.Request, it.Approved = false, nil, false
		it.setSub(to, false)
	default:
		return false
	}
	return true
}

// PreApproved applies an inbound 'subscribe' to an item the user
// pre-approved (RFC 6121 §3.4.2): the contact becomes a subscriber at
// once and the approval is used up. It reports false, changing nothing,
// when there is no pre-approval.
func (it *Item) PreApproved() bool {
	if !it.Approved || it.HasFrom() {
		return false
	}
	it.Approved, it.PendingIn, it.Request, it.Hidden = false, false, nil, false
	it.setSub(it.HasTo(), true)
	return true
}

// Inbound applies a subscription stanza the contact sent to the user and
// reports whether the item changed (RFC 6121 Appendix A.2.2 and A.3.2). An
// inbound 'subscribe' from a contact that already has a subscription
// changes nothing: the caller answers it with 'subscribed' (RFC 6121 §3.1.3).
func (it *Item) Inbound(typ string) bool {
	to, from := it.HasTo(), it.HasFrom()
	switch typ {
	case Subscribe:
		if from || it.PendingIn {
			return false
		}
		it.PendingIn = true
	case Subscribed:
		if !it.Ask {
			return false
		}
		it.Ask = false
		it.setSub(true, from)
	case Unsubscribe:
		if !from && !it.PendingIn {
			return false
		}
		it.PendingIn, it.Request = false, nil
		it.setSub(to, false)
	case Unsubscribed:
		if !to && !it.Ask {
			return false
		}
		it.Ask = false
		it.setSub(false, from)
	default:
		return false
	}
	return true
}

// unused reports whether a hidden record no longer holds anything worth
// keeping, so it can be deleted.
func (it *Item) unused() bool {
	return it.Hidden && !it.PendingIn && !it.Ask && !it.Approved && it.Subscription == None
}

// sameView reports whether a and b look the same to a client: what a roster
// push would carry.
func sameView(a, b *Item) bool {
	if a.Hidden && b.Hidden {
		return true
	}
	return a.Hidden == b.Hidden && a.Name == b.Name && a.Subscription == b.Subscription &&
		a.Ask == b.Ask && a.Approved == b.Approved && slices.Equal(a.Groups, b.Groups)
}
