package core

import "slices"

// DiscoItem is an item of the host's disco#items (XEP-0030 §4): an entity,
// or a node of one, that the host lists (components, pubsub services).
type DiscoItem struct{ JID, Node, Name string }

// AddAccountFeature advertises ns in the disco#info the server answers for
// every account's bare JID on the module's host (XEP-0030 §3.1): what the
// server does on the account's behalf, such as PEP or MAM.
func (a *API) AddAccountFeature(ns string) {
	if a.host == nil {
		return
	}
	sc := a.srv.scopeOf(a.host)
	sc.discoMu.Lock()
	sc.acctFeatures = append(sc.acctFeatures, ns)
	sc.discoMu.Unlock()
	a.OnUnload(func() {
		sc.discoMu.Lock()
		defer sc.discoMu.Unlock()
		if i := slices.Index(sc.acctFeatures, ns); i >= 0 {
			sc.acctFeatures = slices.Delete(sc.acctFeatures, i, i+1)
		}
	})
}

// AddAccountIdentity advertises id in the disco#info of every account's
// bare JID on the module's host, beside account/registered (PEP adds
// pubsub/pep, XEP-0163 §1).
func (a *API) AddAccountIdentity(id Identity) {
	if a.host == nil {
		return
	}
	sc := a.srv.scopeOf(a.host)
	sc.discoMu.Lock()
	sc.acctIdentities = append(sc.acctIdentities, id)
	sc.discoMu.Unlock()
	a.OnUnload(func() {
		sc.discoMu.Lock()
		defer sc.discoMu.Unlock()
		if i := slices.Index(sc.acctIdentities, id); i >= 0 {
			sc.acctIdentities = slices.Delete(sc.acctIdentities, i, i+1)
		}
	})
}

// AddItem lists an item in the host's disco#items: jid, with node and a
// human-readable name when they are not "".
func (a *API) AddItem(jid, node, name string) {
	if a.host == nil {
		return
	}
	it := DiscoItem{JID: jid, Node: node, Name: name}
	sc := a.srv.scopeOf(a.host)
	sc.discoMu.Lock()
	sc.items = append(sc.items, it)
	sc.discoMu.Unlock()
	a.OnUnload(func() {
		sc.discoMu.Lock()
		defer sc.discoMu.Unlock()
		if i := slices.Index(sc.items, it); i >= 0 {
			sc.items = slices.Delete(sc.items, i, i+1)
		}
	})
}

// AccountFeatures returns the features modules advertise on every
// account's bare JID of h, sorted and each once.
func (h *Host) AccountFeatures() []string {
	sc := h.Server.scopeOf(h)
	sc.discoMu.Lock()
	out := slices.Clone(sc.acctFeatures)
	sc.discoMu.Unlock()
	slices.Sort(out)
	return slices.Compact(out)
}

// AccountIdentities returns the identities modules advertise on every
// account's bare JID of h, each once.
func (h *Host) AccountIdentities() []Identity {
	sc := h.Server.scopeOf(h)
	sc.discoMu.Lock()
	defer sc.discoMu.Unlock()
	return uniq(sc.acctIdentities)
}

// Items returns the host's disco#items, each once, in the order they were
// added.
func (h *Host) Items() []DiscoItem {
	sc := h.Server.scopeOf(h)
	sc.discoMu.Lock()
	defer sc.discoMu.Unlock()
	return uniq(sc.items)
}

// uniq returns list without repeats, in order: while a reload runs the
// new instance of a module beside the old one, both have added the same.
func uniq[T comparable](list []T) []T {
	var out []T
	for _, x := range list {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
