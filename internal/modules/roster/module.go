// Package roster implements the roster of RFC 6121 §2: each user's contact
// list with its subscription states, kept in a durable map store, served
// with roster get and set, and pushed to interested resources. The presence
// module drives the subscription states through Roster.Update.
package roster

import (
	"xmppd/internal/config"
	"xmppd/internal/core"
)

func init() {
	core.Register(core.ModuleInfo{Name: "roster", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readLimits(r) }})
}

// readLimits reads the module's options, for Load and for the
// configuration checks alike: most items per roster, longest item name.
func readLimits(opts *config.Reader) (maxItems, maxName int) {
	maxItems = opts.Int("max_items", defaultMaxItems, 1, 1<<20)
	maxName = opts.Int("max_name_bytes", defaultMaxNameBytes, 1, 1<<16)
	opts.Unknown()
	return maxItems, maxName
}

// NS is the roster namespace (RFC 6121 §2.1).
const NS = "jabber:iq:roster"

// NSVer is the stream feature of roster versioning (RFC 6121 §2.6.1).
const NSVer = "urn:xmpp:features:rosterver"

// EventRemoved fires on the user's host after a roster set removed an item
// (RFC 6121 §2.5), before its roster push and the iq result: ev.Origin is
// the session that removed it, ev.From the user's bare JID, ev.To the
// contact's bare JID and ev.Data a *Removal. The presence module hooks it to
// cancel the subscriptions (RFC 6121 §2.5.2); the roster itself knows no
// presence.
const EventRemoved = "roster-item-removed"

// Defaults of the module's options.
const (
	defaultMaxItems     = 1000
	defaultMaxNameBytes = 1024
)

// Module is the roster of one host.
type Module struct {
	api    *core.API
	srv    *core.Server
	roster *Roster

	maxItems, maxName int

	gets, sets *core.Counter
}

// Load opens the store, reads the options and hooks the roster iq handlers.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	m.maxItems, m.maxName = readLimits(api.Options())
	m.gets = api.Counter("gets", "roster requests answered")
	m.sets = api.Counter("sets", "roster items added, changed or removed by clients")
	// Roster writes are durable: a contact a user added must not vanish in
	// a power cut, which on a router is an everyday event.
	m.roster = &Roster{host: api.Host(), m: api.Map("roster", true), max: m.maxItems}
	if err := api.Provide(Service, m.roster); err != nil {
		return err
	}
	api.Hook(core.EventStreamFeatures, core.PriorityModule, func(ev *core.Event) bool {
		// RFC 6121 §2.6.1: roster versioning, offered with the features
		// after authentication.
		if f, ok := ev.Data.(*core.Features); ok && f.Authenticated {
			f.B.Start("ver").Attr("xmlns", NSVer).End()
		}
		return false
	})
	api.Hook(core.IQEvent(core.TargetSelf, NS, "query"), core.PriorityModule, m.onSelf)
	api.Hook(core.IQEvent(core.TargetBare, NS, "query"), core.PriorityModule, m.onOther)
	return nil
}

var _ core.Module = (*Module)(nil)
