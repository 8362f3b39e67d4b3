package bookmarks

import (
	"maps"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/pubsub"
	"xmppd/internal/stanza"
)

// onBind imports an account's old private-storage bookmarks when one of
// its clients binds, so that a client reading only XEP-0402 finds them.
func (m *Module) onBind(ev *core.Event) bool {
	s := ev.Origin
	if s == nil || s.Host != m.api.Host() || s.JID.Local() == "" {
		return false
	}
	user := s.JID.Local()
	if m.isChecked(user) {
		return false
	}
	ps, err := m.pubsub()
	if err != nil {
		return false
	}
	account, err := m.account(user)
	if err != nil {
		return false
	}
	defer m.lock(user)()
	if err := m.ensureImported(ps, account); err != nil {
		m.api.Log().Error("cannot import old bookmarks", "account", account.String(), "err", err)
	}
	return false
}

// onPEPChanged follows a client's changes of either bookmarks node: a
// XEP-0402 change is copied to the legacy node, and a list published to
// the legacy node becomes XEP-0402 items. The private-storage side needs
// nothing: it is read from the items on every get.
func (m *Module) onPEPChanged(ev *core.Event) bool {
	c := pubsub.ChangeOf(ev)
	if c == nil || (c.Node != NS && c.Node != NSLegacy) {
		return false
	}
	ps, err := m.pubsub()
	if err != nil {
		return false
	}
	account, err := m.account(c.Owner)
	if err != nil {
		return false
	}
	defer m.lock(c.Owner)()
	if err := m.ensureImported(ps, account); err != nil {
		m.api.Log().Error("cannot import old bookmarks", "account", account.String(), "err", err)
	}
	if c.Node == NS {
		m.copyToLegacy(ps, account)
		return false
	}
	switch {
	case c.Published != nil:
		m.fromLegacyPEP(ps, account, c.Published.Payload)
	case c.Deleted, c.Purged:
		// The node's readers start over: a list published later deletes
		// nothing it does not name, and no room is deleted now, since a
		// client that moved to XEP-0402 may clear the old node.
		if err := m.store.Delete(c.Owner, keyPEP); err != nil {
			m.api.Log().Warn("cannot forget the legacy PEP bookmarks", "account", account.String(), "err", err)
		}
	}
	return false
}

// copyToLegacy writes the account's XEP-0402 bookmarks to the legacy PEP
// node, if a client made it.
func (m *Module) copyToLegacy(ps *pubsub.Module, account jid.JID) {
	list, err := m.current(ps, account)
	if err != nil {
		m.api.Log().Error("cannot read bookmarks", "account", account.String(), "err", err)
		return
	}
	rest, _, err := m.rest(account.Local())
	if err != nil {
		m.api.Log().Warn("cannot read the rest of the bookmarks", "account", account.String(), "err", err)
	}
	if err := m.mirrorPEP(ps, account, list, rest); err != nil {
		m.api.Log().Warn("cannot update the legacy PEP bookmarks", "account", account.String(), "err", err)
	}
}

// fromLegacyPEP turns a list a client published to the legacy PEP node
// into XEP-0402 items, read against what the module last wrote there. The
// publish already happened, so what cannot be converted is logged and
// left out, not refused; the node is then rewritten with the result when
// that differs from what the client sent (rooms it never saw are kept).
func (m *Module) fromLegacyPEP(ps *pubsub.Module, account jid.JID, payload []byte) {
	st, err := stanza.Parse(payload, nil, nil)
	if err != nil || st.Space != NSLegacy || st.Local != "storage" {
		m.api.Log().Warn("legacy PEP bookmarks are not a storage:bookmarks element, not converted", "account", account.String())
		return
	}
	list, rest, bad := legacyStorage(st)
	for _, e := range bad {
		m.api.Log().Warn("legacy PEP bookmark not converted", "account", account.String(), "err", e)
	}
	if len(storageXML(nil, rest)) > maxRestBytes {
		m.api.Log().Warn("legacy PEP bookmarks other than rooms too large, not kept", "account", account.String())
		rest = nil
	}
	seen, err := m.pepView(account.Local())
	if err != nil {
		m.api.Log().Warn("cannot read the legacy PEP view", "account", account.String(), "err", err)
	}
	now, err := m.apply(ps, account, list, seen)
	if err != nil {
		m.refused.Inc()
		m.api.Log().Warn("legacy PEP bookmarks not converted", "account", account.String(), "err", err)
		return
	}
	if err := m.setRest(account.Local(), rest); err != nil {
		m.api.Log().Error("cannot store bookmarks", "account", account.String(), "err", err)
		return
	}
	m.converted.Inc()
	if len(bad) == 0 && maps.Equal(viewOf(now), viewOf(list)) {
		// What the client sent is what stands: record it as the view and
		// spare its readers a second notification.
		if err := m.store.Set(account.Local(), keyPEP, &core.StoredElement{XML: storageXML(list, rest), Updated: time.Now().Unix()}); err != nil {
			m.api.Log().Warn("cannot record the legacy PEP bookmarks", "account", account.String(), "err", err)
		}
		return
	}
	if err := m.mirrorPEP(ps, account, now, rest); err != nil {
		m.api.Log().Warn("cannot update the legacy PEP bookmarks", "account", account.String(), "err", err)
	}
}
