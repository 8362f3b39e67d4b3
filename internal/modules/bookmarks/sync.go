package bookmarks

import (
	"errors"
	"fmt"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/pubsub"
	"xmppd/internal/stanza"
)

// publishOptions create the XEP-0402 node as XEP-0402 §3 asks clients to:
// private, persistent, as large as the server allows, and no last item
// pushed at login. On an existing node pubsub ignores them.
var publishOptions = [][2]string{
	{"pubsub#persist_items", "true"},
	{"pubsub#access_model", "whitelist"},
	{"pubsub#max_items", "max"},
	{"pubsub#send_last_published_item", "never"},
}

// legacyOptions create the legacy PEP node as XEP-0223 §3 asks; the module
// only writes that node once a client has made it.
var legacyOptions = [][2]string{
	{"pubsub#persist_items", "true"},
	{"pubsub#access_model", "whitelist"},
}

// Keys of the module's records in its map store.
const (
	keyRest = "rest" // the XEP-0048 elements XEP-0402 has no place for
	keyPEP  = "pep"  // the legacy PEP item as the module last wrote it
)

// errTooMany refuses a list over max_bookmarks.
var errTooMany = errors.New("too many bookmarks")

// view is what one XEP-0048 reader was last given or last sent: room →
// hash of its canonical form, which keeps a session's share small. A list it sends back is read against it, so that a room
// it never saw is not deleted and a room it did not change does not
// overwrite a newer edit made through XEP-0402.
type view map[string]uint64

// current returns the account's XEP-0402 bookmarks, oldest first; no node
// is no bookmarks. Items that are not conferences are left out, logged.
func (m *Module) current(ps *pubsub.Module, account jid.JID) ([]bookmark, error) {
	items, err := ps.ItemsPEP(account, NS, 0)
	if errors.Is(err, pubsub.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]bookmark, 0, len(items))
	for _, it := range items {
		b, err := fromItem(it.ID, it.Payload)
		if err != nil {
			m.api.Log().Debug("bookmark item left out", "account", account.String(), "id", it.ID, "err", err)
			continue
		}
		out = append(out, b)
	}
	return out, nil
}

// apply makes list the account's bookmarks as far as seen allows: a room
// of list is published unless seen or the node already has it as it is; a
// room of the node missing from list is retracted only if seen had it,
// since the sender could not have meant to delete what it never saw.
// Extensions a legacy client dropped are kept from the stored item. It
// returns the bookmarks as they now stand. The caller holds the account's
// lock.
func (m *Module) apply(ps *pubsub.Module, account jid.JID, list []bookmark, seen view) ([]bookmark, error) {
	cur, err := m.current(ps, account)
	if err != nil {
		return nil, err
	}
	have := make(map[string]int, len(cur))
	for i := range cur {
		have[cur[i].room] = i
	}
	want := make(map[string]bool, len(list))
	for _, b := range list {
		want[b.room] = true
	}
	total := len(list)
	for _, b := range cur {
		if _, ok := seen[b.room]; !ok && !want[b.room] {
			total++ // kept: the sender never saw it
		}
	}
	if total > m.max {
		return nil, fmt.Errorf("%w: %d, at most %d", errTooMany, total, m.max)
	}
	for _, b := range list {
		if v, ok := seen[b.room]; ok && v == b.sum() {
			continue // unchanged by the sender: a newer XEP-0402 edit stands
		}
		i, exists := have[b.room]
		if exists && len(b.ext) == 0 {
			b.ext = cur[i].ext
		}
		if exists && cur[i].canon() == b.canon() {
			continue // XEP-0402 §5.3: no notification for an unchanged item
		}
		payload := b.item().AppendXML(nil, "")
		if _, err := ps.PublishPEPOptions(account, NS, b.room, payload, publishOptions); err != nil {
			return nil, err
		}
		if exists {
			cur[i] = b
		} else {
			have[b.room] = len(cur)
			cur = append(cur, b)
		}
	}
	kept := cur[:0]
	for _, b := range cur {
		if _, ok := seen[b.room]; ok && !want[b.room] {
			if _, err := ps.RetractPEP(account, NS, b.room); err != nil {
				return nil, err
			}
			continue
		}
		kept = append(kept, b)
	}
	return kept, nil
}

// viewOf is the view of a list as sent or served.
func viewOf(list []bookmark) view {
	v := make(view, len(list))
	for i := range list {
		v[list[i].room] = list[i].sum()
	}
	return v
}

// rest returns the stored XEP-0048 elements XEP-0402 has no place for, and
// whether the account's record exists at all (it marks the import done).
func (m *Module) rest(user string) ([]*stanza.Element, bool, error) {
	var r core.StoredElement
	found, err := m.store.Get(user, keyRest, &r)
	if err != nil || !found {
		return nil, found, err
	}
	el, err := stanza.Parse(r.XML, nil, nil)
	if err != nil {
		return nil, true, err
	}
	var out []*stanza.Element
	for _, n := range el.Children {
		if n.Elem != nil {
			out = append(out, n.Elem)
		}
	}
	return out, true, nil
}

// setRest stores the elements XEP-0402 has no place for.
func (m *Module) setRest(user string, rest []*stanza.Element) error {
	return m.store.Set(user, keyRest, &core.StoredElement{XML: storageXML(nil, rest), Updated: time.Now().Unix()})
}

// storageXML is a XEP-0048 <storage/> of list and rest.
func storageXML(list []bookmark, rest []*stanza.Element) []byte {
	st := stanza.NewElement(NSLegacy, "storage")
	for i := range list {
		st.AddChild(list[i].legacy())
	}
	for _, e := range rest {
		st.AddChild(e)
	}
	return st.AppendXML(nil, "")
}

// mirrorPEP rewrites the legacy PEP node with list and rest when a client
// has made that node (XEP-0402 §5.3.1), and records what it wrote as the
// view of that node's readers. It does nothing when the node is absent,
// so an account whose clients never used it gets none.
func (m *Module) mirrorPEP(ps *pubsub.Module, account jid.JID, list []bookmark, rest []*stanza.Element) error {
	if _, err := ps.ItemsPEP(account, NSLegacy, 1); errors.Is(err, pubsub.ErrNoNode) {
		return nil
	} else if err != nil {
		return err
	}
	payload := storageXML(list, rest)
	if _, err := ps.PublishPEPOptions(account, NSLegacy, "current", payload, legacyOptions); err != nil {
		return err
	}
	return m.store.Set(account.Local(), keyPEP, &core.StoredElement{XML: payload, Updated: time.Now().Unix()})
}

// pepView is the view of the legacy PEP node's readers: the list the
// module last wrote there; none when it never did.
func (m *Module) pepView(user string) (view, error) {
	var r core.StoredElement
	found, err := m.store.Get(user, keyPEP, &r)
	if err != nil || !found {
		return nil, err
	}
	el, err := stanza.Parse(r.XML, nil, nil)
	if err != nil {
		return nil, err
	}
	list, _, _ := legacyStorage(el)
	return viewOf(list), nil
}

// keyPrivate is where the private module keeps a storage:bookmarks
// fragment (its README's Storage section).
const keyPrivate = "storage:" + NSLegacy

// ensureImported brings an account's bookmarks stored by private storage
// before this module was loaded into XEP-0402, once: rooms the node lacks
// are published and the rest kept. The record of the rest marks it done,
// so the old fragment is never read again while the module is loaded; it
// is left in place, so that turning the module off gives old clients
// their list back as it was. The caller holds the account's lock.
func (m *Module) ensureImported(ps *pubsub.Module, account jid.JID) error {
	user := account.Local()
	if m.isChecked(user) {
		return nil
	}
	if _, found, err := m.rest(user); err != nil || found {
		if err == nil {
			m.markChecked(user)
		}
		return err
	}
	var r core.StoredElement
	found, err := m.private.Get(user, keyPrivate, &r)
	if err != nil {
		return err
	}
	var rest []*stanza.Element
	if found {
		st, err := stanza.Parse(r.XML, nil, nil)
		if err != nil {
			m.api.Log().Warn("old bookmarks unreadable, not imported", "account", account.String(), "err", err)
		} else {
			var list []bookmark
			var bad []error
			list, rest, bad = legacyStorage(st)
			for _, e := range bad {
				m.api.Log().Warn("old bookmark not imported", "account", account.String(), "err", e)
			}
			// Rooms already in XEP-0402 win; with nothing seen, none is
			// retracted.
			cur, err := m.current(ps, account)
			if err != nil {
				return err
			}
			have := make(map[string]bool, len(cur))
			for _, b := range cur {
				have[b.room] = true
			}
			missing := list[:0]
			for _, b := range list {
				if !have[b.room] {
					missing = append(missing, b)
				}
			}
			if _, err := m.apply(ps, account, missing, nil); errors.Is(err, errTooMany) {
				m.api.Log().Warn("old bookmarks not imported", "account", account.String(), "err", err)
			} else if err != nil {
				return err
			}
		}
	}
	if err := m.setRest(user, rest); err != nil {
		return err
	}
	if found {
		m.imported.Inc()
		m.api.Log().Info("old private-storage bookmarks imported", "account", account.String())
	}
	m.markChecked(user)
	return nil
}
