// Package disco answers XEP-0030 service discovery for the server's domain
// and, on behalf of its accounts, for their bare JIDs. What it lists is
// whatever the host's modules advertise (API.AddFeature, AddIdentity,
// AddAccountFeature, AddAccountIdentity, AddItem), so a module's features
// appear exactly while it is loaded.
package disco

import (
	"slices"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// Namespaces of XEP-0030.
const (
	// NSInfo is the namespace of disco#info queries.
	NSInfo = "http://jabber.org/protocol/disco#info"
	// NSItems is the namespace of disco#items queries.
	NSItems = "http://jabber.org/protocol/disco#items"
)

// ServerIdentity is the identity of the server's domain (XEP-0030 §3.1;
// the category and type come from the XMPP Registrar's identity registry).
var ServerIdentity = core.Identity{Category: "server", Type: "im", Name: "xmppd"}

// AccountIdentity is what the server says of a bare JID on the account's
// behalf (XEP-0030 §3.1: category "account", most likely type
// "registered"), before the identities modules add.
var AccountIdentity = core.Identity{Category: "account", Type: "registered"}

// accountFeatures are the features of every bare JID, before those modules
// add: the two queries the server answers for it. Every entity supports
// disco#info (XEP-0030 §3.1).
var accountFeatures = []string{NSInfo, NSItems}

func init() {
	core.Register(core.ModuleInfo{Name: "disco", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readContacts(r) }})
}

// Module answers disco#info and disco#items queries.
type Module struct {
	api *core.API
	// contacts is the XEP-0157 form of the domain's disco#info, nil when
	// no address is configured.
	contacts []byte
}

// Load advertises the server identity and the disco features and hooks the
// queries to the host, to the requester's own bare JID and to other bare JIDs.
func (m *Module) Load(api *core.API) error {
	m.api = api
	m.contacts = contactForm(readContacts(api.Options()))
	api.AddIdentity(ServerIdentity)
	api.AddFeature(NSInfo)
	api.AddFeature(NSItems)

	info := func(t string) string { return core.IQEvent(t, NSInfo, "query") }
	items := func(t string) string { return core.IQEvent(t, NSItems, "query") }
	api.Hook(info(core.TargetHost), core.PriorityModule, m.hostInfo)
	api.Hook(items(core.TargetHost), core.PriorityModule, m.hostItems)
	for _, t := range []string{core.TargetSelf, core.TargetBare} {
		api.Hook(info(t), core.PriorityModule, m.accountInfo)
		api.Hook(items(t), core.PriorityModule, m.accountItems)
	}
	// XEP-0030 §8: who may not see an account's presence may not learn
	// anything about the account either. A policy hook, so that modules
	// answering an account's nodes (PEP) need not repeat the check.
	api.Hook(info(core.TargetBare), core.PriorityPolicy, m.guard)
	api.Hook(items(core.TargetBare), core.PriorityPolicy, m.guard)
	// Nodes nobody answered: item-not-found (XEP-0030 §3.2, §4.2). Hooked at
	// the fallback priority, so a module serving a node (ad-hoc commands,
	// caps) takes its queries whatever the order the modules load in.
	for _, t := range []string{core.TargetHost, core.TargetSelf, core.TargetBare} {
		api.Hook(info(t), core.PriorityFallback, m.unknownNode)
		api.Hook(items(t), core.PriorityFallback, m.unknownNode)
	}
	return nil
}

// hostInfo answers disco#info on the server's domain (XEP-0030 §3.1) with
// every identity and feature the host's modules advertise.
func (m *Module) hostInfo(ev *core.Event) bool {
	if handled, root := m.root(ev); !root {
		return handled
	}
	m.api.Result(ev, infoQuery(ev.Host.Identities(), ev.Host.Features(), m.contacts))
	return true
}

// hostItems answers disco#items on the server's domain (XEP-0030 §4.1)
// with the items the host's modules list; an empty result is what the
// spec requires when there are none (XEP-0030 §7).
func (m *Module) hostItems(ev *core.Event) bool {
	if handled, root := m.root(ev); !root {
		return handled
	}
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", NSItems)
	for _, it := range ev.Host.Items() {
		b.Start("item").Attr("jid", it.JID)
		if it.Node != "" {
			b.Attr("node", it.Node)
		}
		if it.Name != "" {
			b.Attr("name", it.Name)
		}
		b.End()
	}
	m.api.Result(ev, b.Bytes())
	return true
}

// accountInfo answers disco#info on a bare JID on the account's behalf
// (XEP-0030 §3.1): account/registered and the two disco features, then
// what the host's modules advertise on every account (PEP, MAM); guard
// has let the requester through.
func (m *Module) accountInfo(ev *core.Event) bool {
	if handled, root := m.root(ev); !root {
		return handled
	}
	ids := append([]core.Identity{AccountIdentity}, ev.Host.AccountIdentities()...)
	features := append(slices.Clone(accountFeatures), ev.Host.AccountFeatures()...)
	m.api.Result(ev, infoQuery(ids, features, nil))
	return true
}

// accountItems answers disco#items on a bare JID with the account's
// connected resources (XEP-0030 §4.1: "including connected or available
// resources as appropriate").
func (m *Module) accountItems(ev *core.Event) bool {
	if handled, root := m.root(ev); !root {
		return handled
	}
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", NSItems)
	ev.Host.Sessions(ev.To.Local(), func(s *core.Session) {
		b.Start("item").Attr("jid", s.JID.String()).End()
	})
	m.api.Result(ev, b.Bytes())
	return true
}

// infoQuery writes a disco#info <query/> with ids and features, each
// once, the features sorted (XEP-0030 §3.1 has no order; sorted, the
// answer is the same for the same set, which XEP-0115 hashes rely on),
// and the extended forms in forms, written as they are (XEP-0128).
func infoQuery(ids []core.Identity, features []string, forms []byte) []byte {
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", NSInfo)
	var seen []core.Identity
	for _, id := range ids {
		if slices.Contains(seen, id) {
			continue
		}
		seen = append(seen, id)
		b.Start("identity").Attr("category", id.Category).Attr("type", id.Type)
		if id.Name != "" {
			b.Attr("name", id.Name)
		}
		b.End()
	}
	features = slices.Clone(features)
	slices.Sort(features)
	for _, f := range slices.Compact(features) {
		b.Start("feature").Attr("var", f).End()
	}
	if forms != nil {
		b.Raw(forms)
	}
	return b.Bytes()
}

// guard refuses queries about another account's bare JID unless the
// requester may see the account's presence (XEP-0030 §8); the answer is
// service-unavailable whether or not the account exists, so it reveals
// nothing (XEP-0030 §7). Until rosters exist only the account itself may
// ask, and its queries arrive as "self", not here.
func (m *Module) guard(ev *core.Event) bool {
	if !isQuery(ev) {
		return false
	}
	if ev.From.Bare().Equal(ev.To.Bare()) {
		return false
	}
	m.api.Error(ev, core.ErrCancel, "service-unavailable", "")
	return true
}

// unknownNode answers a query for a node no module took (XEP-0030 §3.2,
// §4.2, §7: item-not-found).
func (m *Module) unknownNode(ev *core.Event) bool {
	if !isQuery(ev) {
		return false
	}
	m.api.Error(ev, core.ErrCancel, "item-not-found", "")
	return true
}

// root reports whether ev's stanza is a get on the entity itself, with no
// node: the queries this module answers first-hand. A set is left to the
// fallback (XEP-0030 defines only get) and a node to the modules that serve
// nodes; handled is true when root has answered the stanza itself, with
// bad-request for a payload that does not parse.
func (m *Module) root(ev *core.Event) (handled, root bool) {
	if !isQuery(ev) {
		return false, false
	}
	tree, err := ev.Stanza.Tree()
	if err != nil {
		m.api.Error(ev, core.ErrModify, "bad-request", "")
		return true, false
	}
	q := tree.FirstChild()
	return false, q != nil && q.Attr("node") == ""
}

// isQuery reports whether ev's stanza is an iq get, the only type XEP-0030
// defines; the router fires the payload events for sets as well.
func isQuery(ev *core.Event) bool {
	return string(ev.Stanza.Type()) == "get"
}

var _ core.Module = (*Module)(nil)
