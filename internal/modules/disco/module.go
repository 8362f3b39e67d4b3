// Package disco answers XEP-0030 service discovery for the server's domain
// and, on behalf of its accounts, for their bare JIDs. What the server
// offers is whatever the host's modules advertise with API.AddFeature and
// API.AddIdentity, so a module's feature appears exactly while it is loaded.
package disco

import (
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

// accountIdentity is what the server says of a bare JID on the account's
// behalf (XEP-0030 §3.1: category "account", most likely type "registered").
var accountIdentity = core.Identity{Category: "account", Type: "registered"}

// accountFeatures are the features of a bare JID: the two queries the
// server answers for it. Every entity supports disco#info (XEP-0030 §3.1).
var accountFeatures = []string{NSInfo, NSItems}

func init() {
	core.Register(core.ModuleInfo{Name: "disco", Auto: true, New: func() core.Module { return &Module{} }})
}

// Module answers disco#info and disco#items queries.
type Module struct {
	srv *core.Server
}

// Load advertises the server identity and the disco features and hooks the
// queries to the host, to the requester's own bare JID and to other bare JIDs.
func (m *Module) Load(api *core.API) error {
	m.srv = api.Server()
	api.Options().Unknown()
	api.AddIdentity(ServerIdentity)
	api.AddFeature(NSInfo)
	api.AddFeature(NSItems)

	info := "/" + NSInfo + ":query"
	items := "/" + NSItems + ":query"
	api.Hook("iq/"+core.TargetHost+info, core.PriorityModule, m.hostInfo)
	api.Hook("iq/"+core.TargetHost+items, core.PriorityModule, m.hostItems)
	for _, t := range []string{core.TargetSelf, core.TargetBare} {
		api.Hook("iq/"+t+info, core.PriorityModule, m.accountInfo)
		api.Hook("iq/"+t+items, core.PriorityModule, m.accountItems)
	}
	// XEP-0030 §8: who may not see an account's presence may not learn
	// anything about the account either. A policy hook, so that modules
	// answering an account's nodes (PEP) need not repeat the check.
	api.Hook("iq/"+core.TargetBare+info, core.PriorityPolicy, m.guard)
	api.Hook("iq/"+core.TargetBare+items, core.PriorityPolicy, m.guard)
	// Nodes nobody answered: item-not-found (XEP-0030 §3.2, §4.2). Hooked at
	// the fallback priority, so a module serving a node (ad-hoc commands,
	// caps) takes its queries whatever the order the modules load in.
	for _, t := range []string{core.TargetHost, core.TargetSelf, core.TargetBare} {
		api.Hook("iq/"+t+info, core.PriorityFallback, m.unknownNode)
		api.Hook("iq/"+t+items, core.PriorityFallback, m.unknownNode)
	}
	return nil
}

// hostInfo answers disco#info on the server's domain (XEP-0030 §3.1) with
// every identity and feature the host's modules advertise.
func (m *Module) hostInfo(ev *core.Event) bool {
	if handled, root := m.root(ev); !root {
		return handled
	}
	b := result(ev)
	b.Start("query").Attr("xmlns", NSInfo)
	for _, id := range ev.Host.Identities() {
		identity(b, id)
	}
	for _, f := range ev.Host.Features() {
		b.Start("feature").Attr("var", f).End()
	}
	reply(ev, b.Bytes())
	return true
}

// hostItems answers disco#items on the server's domain (XEP-0030 §4.1): no
// items yet; components will be listed here. An empty result is what the
// spec requires when there are none (XEP-0030 §7).
func (m *Module) hostItems(ev *core.Event) bool {
	if handled, root := m.root(ev); !root {
		return handled
	}
	b := result(ev)
	b.Start("query").Attr("xmlns", NSItems)
	reply(ev, b.Bytes())
	return true
}

// accountInfo answers disco#info on a bare JID on the account's behalf
// (XEP-0030 §3.1); guard has let the requester through.
func (m *Module) accountInfo(ev *core.Event) bool {
	if handled, root := m.root(ev); !root {
		return handled
	}
	b := result(ev)
	b.Start("query").Attr("xmlns", NSInfo)
	identity(b, accountIdentity)
	for _, f := range accountFeatures {
		b.Start("feature").Attr("var", f).End()
	}
	reply(ev, b.Bytes())
	return true
}

// accountItems answers disco#items on a bare JID with the account's
// connected resources (XEP-0030 §4.1: "including connected or available
// resources as appropriate").
func (m *Module) accountItems(ev *core.Event) bool {
	if handled, root := m.root(ev); !root {
		return handled
	}
	b := result(ev)
	b.Start("query").Attr("xmlns", NSItems)
	ev.Host.Sessions(ev.To.Local(), func(s *core.Session) {
		b.Start("item").Attr("jid", s.JID.String()).End()
	})
	reply(ev, b.Bytes())
	return true
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
	m.srv.Bounce(ev.Origin, ev.Stanza, ev.To, ev.From, core.ErrCancel, "service-unavailable", "")
	return true
}

// unknownNode answers a query for a node no module took (XEP-0030 §3.2,
// §4.2, §7: item-not-found).
func (m *Module) unknownNode(ev *core.Event) bool {
	if !isQuery(ev) {
		return false
	}
	m.srv.Bounce(ev.Origin, ev.Stanza, ev.To, ev.From, core.ErrCancel, "item-not-found", "")
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
		m.srv.Bounce(ev.Origin, ev.Stanza, ev.To, ev.From, core.ErrModify, "bad-request", "")
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

func identity(b *stanza.Builder, id core.Identity) {
	b.Start("identity").Attr("category", id.Category).Attr("type", id.Type)
	if id.Name != "" {
		b.Attr("name", id.Name)
	}
	b.End()
}

// result starts the iq result to ev's stanza: from the address the sender
// wrote, which for the sender's own bare JID is that bare JID (RFC 6120
// §8.1.2.1), to the sender's full JID.
func result(ev *core.Event) *stanza.Builder {
	b := new(stanza.Builder)
	b.Reset(nil).Start("iq").Attr("type", "result")
	if id := ev.Stanza.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	b.Attr("from", ev.To.String()).Attr("to", ev.From.String())
	return b
}

// reply sends out to the session the stanza came from, through its
// outbound path.
func reply(ev *core.Event, out []byte) {
	if ev.Origin != nil {
		ev.Origin.SendFor(ev.Origin, out)
	}
}

var _ core.Module = (*Module)(nil)
