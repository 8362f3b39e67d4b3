// Package pubsub implements publish-subscribe (XEP-0060) with two faces
// over one engine: the Personal Eventing Protocol (XEP-0163) on every
// account's bare JID, and a pubsub service on the component host
// pubsub.<host>. Notifications go to explicit subscribers and, for PEP, to
// the owner's contacts whose entity capabilities ask for the node
// (XEP-0115 "+notify"); each subscription may filter items with an
// expression and coalesce them to one per interval (xmppd#filter,
// xmppd#interval; see docs/monitoring.md).
package pubsub

import (
	"sync"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/caps"
	"xmppd/internal/modules/presence"
	"xmppd/internal/modules/roster"
	"xmppd/internal/stanza"
)

// Namespaces of XEP-0060 and the XEPs around it.
const (
	NS        = "http://jabber.org/protocol/pubsub"
	NSOwner   = NS + "#owner"
	NSEvent   = NS + "#event"
	NSErrors  = NS + "#errors"
	nsData    = "jabber:x:data"
	nsRSM     = "http://jabber.org/protocol/rsm"
	nsInfo    = "http://jabber.org/protocol/disco#info"
	nsItems   = "http://jabber.org/protocol/disco#items"
	formNode  = NS + "#node_config"
	formSub   = NS + "#subscribe_options"
	formPub   = NS + "#publish-options"
	formMeta  = NS + "#meta-data"
	serviceID = "@service" // the service's pseudo-user in the stores: '@' is no localpart
)

// Service is the name under which the module offers itself to other
// modules (the device monitor, `xmppd publish`).
const Service = "pubsub"

func init() {
	core.Register(core.ModuleInfo{Name: "pubsub", Auto: true, New: func() core.Module { return &Module{} },
		Options:  func(r *config.Reader) { readOptions(r) },
		Optional: []string{roster.Service, caps.Service, "presence"}})
}

// options are the module's UCI options.
type options struct {
	create        string // local, admins
	admins        []string
	component     bool
	maxNodes      int
	maxItems      int // the default max_items
	maxItemsLimit int // what "max" means, and the highest number allowed
	maxItemBytes  int
	maxSubs       int
}

func readOptions(r *config.Reader) options {
	o := options{
		create:        r.Enum("create", "local", "local", "admins"),
		admins:        r.List("admins"),
		component:     r.Bool("component", true),
		maxNodes:      r.Int("max_nodes", 64, 1, 1<<16),
		maxItems:      r.Int("max_items", 256, 1, 1<<20),
		maxItemsLimit: r.Int("max_items_limit", 1024, 1, 1<<20),
		maxItemBytes:  int(r.Size("max_item_size", 64<<10, 256, 1<<20)),
		maxSubs:       r.Int("max_subscriptions", 1024, 1, 1<<20),
	}
	if o.maxItems > o.maxItemsLimit {
		r.Errorf("max_items", "option max_items: %d is above max_items_limit (%d)", o.maxItems, o.maxItemsLimit)
	}
	r.Unknown()
	return o
}

// Module is the pubsub engine of one host.
type Module struct {
	api   *core.API
	host  *core.Host
	comp  *core.Host // pubsub.<host>, nil when the component is off
	opts  options
	items core.Nodes
	meta  core.Map

	createMu sync.Mutex // one creation at a time, so the node count holds
	mu       sync.Mutex
	nodes    map[nodeKey]*node // loaded nodes; nil entries are known absent

	published, notified, coalesced *core.Counter
}

type nodeKey struct{ owner, name string }

// Load opens the stores, hooks PEP on the host's bare JIDs and serves the
// component.
func (m *Module) Load(api *core.API) error {
	m.api, m.host = api, api.Host()
	m.opts = readOptions(api.Options())
	m.items = api.Nodes("pubsub", true)
	m.meta = api.Map("pubsub_nodes", true)
	m.nodes = map[nodeKey]*node{}
	m.published = api.Counter("published", "items published")
	m.notified = api.Counter("notifications", "notifications sent")
	m.coalesced = api.Counter("coalesced", "notifications replaced by a newer one within a subscriber's interval")

	// XEP-0163 §1: the account's bare JID is a PEP service.
	api.AddAccountIdentity(core.Identity{Category: "pubsub", Type: "pep"})
	for _, f := range features {
		api.AddAccountFeature(NS + "#" + f)
	}
	for _, t := range []string{core.TargetSelf, core.TargetBare} {
		api.Hook(core.IQEvent(t, NS, "pubsub"), core.PriorityModule, m.onPEP)
		api.Hook(core.IQEvent(t, NSOwner, "pubsub"), core.PriorityModule, m.onPEP)
	}
	api.Hook(presence.EventAvailable, core.PriorityModule, m.onAvailable)
	api.Hook(caps.EventResolved, core.PriorityModule, m.onCapsResolved)
	api.Hook(core.EventResourceUnbind, core.PriorityModule, m.onUnbind)
	api.Hook(core.EventAccountDeleted, core.PriorityModule, m.onAccountDeleted)

	if m.opts.component {
		comp, err := api.AddComponent("pubsub")
		if err != nil {
			return err
		}
		m.comp = comp
		api.AddItem(comp.Name, "", "Publish-Subscribe")
		api.HookOn(comp, core.IQEvent(core.TargetHost, NS, "pubsub"), core.PriorityModule, m.onService)
		api.HookOn(comp, core.IQEvent(core.TargetHost, NSOwner, "pubsub"), core.PriorityModule, m.onService)
		api.HookOn(comp, core.IQEvent(core.TargetHost, nsInfo, "query"), core.PriorityModule, m.serviceInfo)
		api.HookOn(comp, core.IQEvent(core.TargetHost, nsItems, "query"), core.PriorityModule, m.serviceItems)
	}
	api.OnUnload(m.stopPacers)
	return api.Provide(Service, m)
}

// features are the pubsub#… features both faces advertise (XEP-0060 §10).
var features = []string{"access-authorize", "access-open", "access-presence", "access-roster",
	"access-whitelist", "auto-create", "auto-subscribe", "config-node", "create-and-configure",
	"create-nodes", "delete-items", "delete-nodes", "filtered-notifications", "instant-nodes",
	"item-ids", "last-published", "manage-subscriptions", "meta-data", "modify-affiliations",
	"multi-items", "outcast-affiliation", "persistent-items", "presence-notifications",
	"publish", "publish-options", "publisher-affiliation", "purge-nodes", "retract-items",
	"retrieve-affiliations", "retrieve-default", "retrieve-items", "retrieve-subscriptions",
	"subscribe", "subscription-options", "subscription-notifications"}

// face is one of the two services a request addresses.
type face struct {
	pep   bool
	owner string  // storage owner: the account's localpart, or serviceID
	jid   jid.JID // the service's address: the account's bare JID, or pubsub.<host>
}

func (m *Module) onPEP(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	m.handle(ev, face{pep: true, owner: ev.To.Local(), jid: own(ev.To.Bare())})
	return true
}

func (m *Module) onService(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	d, _ := jid.New("", m.comp.Name, "")
	m.handle(ev, face{owner: serviceID, jid: d})
	return true
}

func (m *Module) stopPacers() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.nodes {
		if n == nil {
			continue
		}
		n.stopPacers()
	}
}

// stopPacers stops the node's coalescing timers: a held notification is
// not sent for a node that is gone or a module that unloads.
func (n *node) stopPacers() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.pacers {
		if p.timer != nil {
			p.timer.Stop()
		}
	}
	n.pacers = nil
}

// onAccountDeleted forgets the loaded PEP nodes of a deleted account,
// whose records the store has dropped: a request for them must find no
// node, and their pacers must not fire for a node that is gone.
func (m *Module) onAccountDeleted(ev *core.Event) bool {
	local, _ := ev.Data.(string)
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, n := range m.nodes {
		if k.owner != local {
			continue
		}
		delete(m.nodes, k)
		if n == nil {
			continue
		}
		n.stopPacers()
	}
	return false
}

// defaults returns the default configuration of a new node on f
// (XEP-0163 §5 for PEP: presence access; the service: open).
func (m *Module) defaults(f face) nodeConfig {
	c := nodeConfig{accessModel: accessOpen, publishModel: "publishers", maxItems: m.opts.maxItems,
		persistItems: true, notifyRetract: true, notifyDelete: true, deliverPayloads: true,
		sendLast: "on_sub", notificationType: "headline"}
	if f.pep {
		c.accessModel = accessPresence
		c.sendLast = "on_sub_and_presence"
	}
	return c
}

// itemLimit is the node's max_items as a number.
func (m *Module) itemLimit(n *node) int {
	if n.cfg.maxItems <= 0 || n.cfg.maxItems > m.opts.maxItemsLimit {
		return m.opts.maxItemsLimit
	}
	return n.cfg.maxItems
}

// node returns the node, loading it on first use; nil when it does not
// exist.
func (m *Module) node(owner, name string) (*node, error) {
	k := nodeKey{owner, name}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.nodes[k]; ok {
		return n, nil
	}
	var r record
	found, err := m.meta.Get(owner, name, &r)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, nil
	}
	n := &node{owner: owner, name: name}
	n.load(r)
	m.nodes[k] = n
	return n, nil
}

// nodeNames lists the nodes of owner.
func (m *Module) nodeNames(owner string) ([]string, error) {
	var out []string
	err := m.meta.Each(owner, func(key string, _ []byte) error {
		out = append(out, key)
		return nil
	})
	return out, err
}

// save writes n's record; n.mu is held.
func (m *Module) save(n *node) error {
	return m.meta.Set(n.owner, n.name, n.record())
}

// sessionOf returns the local session of full, or nil.
func (m *Module) sessionOf(full string) *core.Session {
	j, err := jid.Parse(full)
	if err != nil || j.Resource() == "" {
		return nil
	}
	h := m.api.Server().Host(j.Domain())
	if h == nil {
		return nil
	}
	return h.Session(j)
}

// own copies j out of the stanza memory an event's JIDs may borrow.
func own(j jid.JID) jid.JID {
	return j.Clone()
}

var _ core.Module = (*Module)(nil)

// stanzaChild returns the first child element of the iq's payload.
func payloadOf(ev *core.Event) (*stanza.Element, error) {
	tree, err := ev.Stanza.Tree()
	if err != nil {
		return nil, err
	}
	return tree.FirstChild(), nil
}
