package roster

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"

	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// Roster is the roster store of one host, as the presence module and the
// iq handlers use it. Every change goes through Update, which writes the
// record durably, bumps the version and pushes the item to the user's
// interested resources (RFC 6121 §2.1.6).
type Roster struct {
	host *core.Host
	m    core.Map
	// max bounds the records of a user's roster, hidden ones included:
	// each is a durable write to flash, and without a bound a client could
	// grow its roster, or strangers' requests grow another's, until the
	// store fills. 0 means no bound.
	max int
}

// ErrFull is what Update returns, changing nothing, when the change would
// add a record to a roster that already holds max_items of them.
var ErrFull = errors.New("roster: the roster is full")

// Service is the name under which the module offers its *Roster to other
// modules (core.API.Provide).
const Service = "roster"

// For returns the roster store of host h, or nil when the roster module is
// not loaded there. Other modules reach rosters of any local host this way,
// since a stanza between two hosts changes the rosters of both; they name
// "roster" in their ModuleInfo.Requires or Optional, so that it loads first.
func For(h *core.Host) *Roster {
	r, _ := core.ServiceOf[*Roster](h, Service)
	return r
}

// Read-modify-write of a user's roster runs under one of these locks, chosen
// by host and user: two sessions (or a contact's subscription stanza and the
// user's roster set) may change the same roster at once.
var locks [64]sync.Mutex

func (r *Roster) lock(user string) *sync.Mutex {
	f := fnv.New32a()
	f.Write([]byte(r.host.Name))
	f.Write([]byte{0})
	f.Write([]byte(user))
	mu := &locks[f.Sum32()%uint32(len(locks))]
	mu.Lock()
	return mu
}

// Items returns every record of user's roster in JID order, hidden ones
// (pending inbound requests only) included.
func (r *Roster) Items(user string) ([]Item, error) {
	var out []Item
	err := r.m.Each(user, func(key string, data []byte) error {
		if key == "" {
			return nil // the version counter
		}
		it := Item{JID: key}
		if _, err := it.UnmarshalMsg(data); err != nil {
			return err
		}
		out = append(out, it)
		return nil
	})
	return out, err
}

// Get returns the record of contact (a bare JID) in user's roster.
func (r *Roster) Get(user, contact string) (Item, bool, error) {
	it := Item{JID: contact, Subscription: None}
	found, err := r.m.Get(user, contact, &it)
	it.JID = contact
	return it, found, err
}

// Version returns the roster version of user (RFC 6121 §2.6).
func (r *Roster) Version(user string) (string, error) {
	var v verRecord
	_, err := r.m.Get(user, "", &v)
	return v.String(), err
}

// bump advances the version; called with the user's lock held, before the
// change it numbers is written, so that a crash in between leaves a version
// that is merely newer than needed, never one a client has cached for a
// different roster.
func (r *Roster) bump(user string) (string, error) {
	var v verRecord
	found, err := r.m.Get(user, "", &v)
	if err != nil {
		return "", err
	}
	if !found {
		var b [4]byte
		rand.Read(b[:])
		v.Epoch = binary.BigEndian.Uint32(b[:]) | 1
	}
	v.N++
	return v.String(), r.m.Set(user, "", &v)
}

// Update changes the record of contact (a bare JID) in user's roster. fn
// gets the current record, or a new hidden one with subscription none, and
// reports whether it changed it. A change is written durably, and when it
// is visible to clients the version is bumped and the item pushed to the
// user's interested resources. fn runs under the user's roster lock, so it
// must not call Update itself. origin is the session whose input is being
// processed, or nil. Update returns the record as it now is and whether it
// changed.
func (r *Roster) Update(origin *core.Session, user, contact string, fn func(it *Item) bool) (Item, bool, error) {
	mu := r.lock(user)
	defer mu.Unlock()
	old, found, err := r.Get(user, contact)
	if err != nil {
		return old, false, err
	}
	if !found {
		old.Hidden = true
	}
	it := old
	it.Groups = append([]string(nil), old.Groups...)
	if !fn(&it) {
		return old, false, nil
	}
	// Every way a record comes to be (a roster set, a request either way)
	// passes here, so the bound is kept here; changing a record that exists
	// never makes the roster grow, and stays allowed.
	if !found && !it.unused() {
		full, err := r.full(user)
		if err != nil {
			return old, false, err
		}
		if full {
			return old, false, ErrFull
		}
	}
	visible := !sameView(&old, &it)
	var ver string
	if visible {
		if ver, err = r.bump(user); err != nil {
			return old, false, err
		}
	}
	switch {
	case it.unused() && found:
		err = r.m.Delete(user, contact)
	case it.unused():
	default:
		err = r.m.Set(user, contact, &it)
	}
	if err != nil {
		return old, false, err
	}
	if visible {
		r.push(origin, user, &it, false, ver)
	}
	return it, true, nil
}

// remove deletes contact from user's roster (RFC 6121 §2.5); found is
// false when the contact is not on the roster. The removal is not pushed
// yet: Removal.Push does that, so that it can follow the presence stanzas
// the removal causes, in the order RFC 6121 §3.2.2 and §3.3.2 give.
func (r *Roster) remove(user, contact string) (old Item, found bool, err error) {
	mu := r.lock(user)
	defer mu.Unlock()
	old, found, err = r.Get(user, contact)
	if err != nil || !found || old.Hidden {
		return old, false, err
	}
	if _, err := r.bump(user); err != nil {
		return old, false, err
	}
	if err := r.m.Delete(user, contact); err != nil {
		return old, false, err
	}
	return old, true, nil
}

// Removal is the Data of EventRemoved: an item a roster set removed, whose
// roster push is still to be sent.
type Removal struct {
	// Item is the removed item as it was.
	Item Item

	r      *Roster
	origin *core.Session
	user   string
	pushed bool
}

// Push sends the roster push of the removal to the user's interested
// resources (RFC 6121 §2.5.2), once. A handler of EventRemoved calls it
// between the stanzas that cancel the subscriptions and the unavailable
// presence that follows them (RFC 6121 §3.2.2); when none did, the roster
// module sends it after the event.
func (rm *Removal) Push() {
	if rm.pushed {
		return
	}
	rm.pushed = true
	r := rm.r
	mu := r.lock(rm.user)
	defer mu.Unlock()
	// Between the removal and now the lock was free, and the contact may
	// have been put back, or another item changed: the push carries the
	// current version, which the clients' view is once they have applied
	// it, and is left out when the contact is back, as the push of that
	// change already said what it is.
	it, found, err := r.Get(rm.user, rm.Item.JID)
	if err != nil {
		r.host.Log.Error("roster store", "user", rm.user, "err", err)
		return
	}
	if found && !it.Hidden {
		return
	}
	ver, err := r.Version(rm.user)
	if err != nil {
		r.host.Log.Error("roster store", "user", rm.user, "err", err)
		return
	}
	r.push(rm.origin, rm.user, &rm.Item, true, ver)
}

// full reports whether user's roster holds max records or more.
func (r *Roster) full(user string) (bool, error) {
	if r.max <= 0 {
		return false, nil
	}
	n := 0
	err := r.m.Each(user, func(key string, _ []byte) error {
		if key != "" { // the empty key is the version, not a record
			n++
		}
		if n >= r.max {
			return errFull
		}
		return nil
	})
	if errors.Is(err, errFull) {
		return true, nil
	}
	return false, err
}

// errFull stops the count in full once it reaches the bound.
var errFull = errors.New("full")

// wantsVer marks sessions that sent a 'ver' attribute in their roster get:
// only they get 'ver' in pushes (RFC 6121 §2.6.3).
var wantsVer = core.NewKey("roster-ver")

var pushID atomic.Uint64

// push sends a roster push of it to every interested resource of user
// (RFC 6121 §2.1.6); the push comes from the user's bare JID, written as no
// 'from' at all, which RFC 6121 §2.1.6 lets clients accept likewise.
func (r *Roster) push(origin *core.Session, user string, it *Item, remove bool, ver string) {
	var b stanza.Builder
	r.host.Sessions(user, func(s *core.Session) {
		if !s.Interested() {
			return
		}
		b.Reset(nil).Start("iq").Attr("type", "set").
			Attr("id", "push"+strconv.FormatUint(pushID.Add(1), 10)).
			Attr("to", s.JID.String())
		b.Start("query").Attr("xmlns", NS)
		if s.Get(wantsVer) != nil {
			b.Attr("ver", ver)
		}
		appendItem(&b, it, remove)
		s.SendFor(origin, b.Bytes())
	})
}

// appendItem writes it as a roster <item/> (RFC 6121 §2.1.2).
func appendItem(b *stanza.Builder, it *Item, remove bool) {
	b.Start("item").Attr("jid", it.JID)
	if remove {
		b.Attr("subscription", "remove").End()
		return
	}
	if it.Name != "" {
		b.Attr("name", it.Name)
	}
	b.Attr("subscription", it.Subscription)
	if it.Ask {
		b.Attr("ask", "subscribe")
	}
	if it.Approved {
		b.Attr("approved", "true")
	}
	for _, g := range it.Groups {
		b.Start("group").Text(g).End()
	}
	b.End()
}
