package bookmarks

import (
	"errors"
	"strconv"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/pubsub"
	"xmppd/internal/stanza"
)

// viewKey keeps, on each session, the XEP-0048 list it was last given or
// last stored through private storage.
var viewKey = core.NewKey("bookmarks-view")

// onPrivate answers a private-storage get or set of storage:bookmarks from
// and into the XEP-0402 items. Everything else, and a get that names more
// than one element, falls through to the private module.
func (m *Module) onPrivate(ev *core.Event) bool {
	tree, err := ev.Stanza.Tree()
	if err != nil {
		return false
	}
	q := tree.Child(nsPrivate, "query")
	if q == nil {
		return false
	}
	var st *stanza.Element
	others := 0
	for _, n := range q.Children {
		switch {
		case n.Elem == nil:
		case n.Elem.Space == NSLegacy && n.Elem.Local == "storage" && st == nil:
			st = n.Elem
		default:
			others++
		}
	}
	typ := string(ev.Stanza.Type())
	if st == nil || (typ != "get" && typ != "set") {
		return false
	}
	ps, err := m.pubsub()
	if err != nil {
		return false
	}
	account, err := m.account(ev.To.Local())
	if err != nil {
		return false
	}
	if typ == "get" {
		if others > 0 {
			return false // XEP-0049 §2.3: one element per get; private says so
		}
		m.get(ev, ps, account)
		return true
	}
	if !m.set(ev, ps, account, st) {
		return true
	}
	if others > 0 {
		// The other elements are the private module's: it stores them,
		// with a copy of the bookmarks nobody reads, and answers.
		return false
	}
	m.api.Result(ev, nil)
	return true
}

// get answers with the XEP-0402 items as a XEP-0048 <storage/>, plus what
// XEP-0402 has no place for, and remembers it as the session's view.
func (m *Module) get(ev *core.Event, ps *pubsub.Module, account jid.JID) {
	user := account.Local()
	defer m.lock(user)()
	if err := m.ensureImported(ps, account); err != nil {
		m.api.Log().Error("cannot import old bookmarks", "account", account.String(), "err", err)
	}
	list, err := m.current(ps, account)
	if err != nil {
		m.api.Log().Error("cannot read bookmarks", "account", account.String(), "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return
	}
	rest, _, err := m.rest(user)
	if err != nil {
		m.api.Log().Warn("cannot read the rest of the bookmarks", "account", account.String(), "err", err)
	}
	if ev.Origin != nil {
		ev.Origin.Set(viewKey, viewOf(list))
	}
	m.served.Inc()
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", nsPrivate).Raw(storageXML(list, rest))
	m.api.Result(ev, b.Bytes())
}

// set turns a XEP-0048 <storage/> into XEP-0402 items (XEP-0402 §5.3.2)
// read against the session's view, and keeps the rest. It answers an
// error itself and reports whether the set went through.
func (m *Module) set(ev *core.Event, ps *pubsub.Module, account jid.JID, st *stanza.Element) bool {
	list, rest, bad := legacyStorage(st)
	if len(bad) > 0 {
		m.refused.Inc()
		m.api.Error(ev, core.ErrModify, "bad-request", bad[0].Error())
		return false
	}
	if len(list) > m.max {
		m.refused.Inc()
		m.api.Error(ev, core.ErrModify, "policy-violation", "more than "+strconv.Itoa(m.max)+" bookmarks")
		return false
	}
	if len(storageXML(nil, rest)) > maxRestBytes {
		m.refused.Inc()
		m.api.Error(ev, core.ErrModify, "not-acceptable", "the bookmarks other than rooms are larger than this server stores")
		return false
	}
	user := account.Local()
	defer m.lock(user)()
	if err := m.ensureImported(ps, account); err != nil {
		m.api.Log().Error("cannot import old bookmarks", "account", account.String(), "err", err)
	}
	var seen view
	if ev.Origin != nil {
		seen, _ = ev.Origin.Get(viewKey).(view)
	}
	now, err := m.apply(ps, account, list, seen)
	if errors.Is(err, errTooMany) {
		m.refused.Inc()
		m.api.Error(ev, core.ErrModify, "policy-violation", err.Error())
		return false
	}
	if err == nil {
		err = m.setRest(user, rest)
	}
	if err != nil {
		m.api.Log().Error("cannot store bookmarks", "account", account.String(), "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return false
	}
	if ev.Origin != nil {
		ev.Origin.Set(viewKey, viewOf(list))
	}
	m.converted.Inc()
	if err := m.mirrorPEP(ps, account, now, rest); err != nil {
		m.api.Log().Warn("cannot update the legacy PEP bookmarks", "account", account.String(), "err", err)
	}
	return true
}
