// Package vcard stores and serves vcard-temp (XEP-0054): each account sets
// its own vCard, and anyone may read any account's. The vCard is kept as
// the element the client sent, bounded in size, in a durable store.
package vcard

import (
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// NS is the namespace of XEP-0054.
const NS = "vcard-temp"

// Bounds of the max_size option: a vCard with a small photo fits in the
// default, and the upper bound stays under the default stanza size limit.
const (
	defaultMaxSize = 32 << 10
	minMaxSize     = 1 << 10
	maxMaxSize     = 256 << 10
)

func init() {
	core.Register(core.ModuleInfo{Name: "vcard", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readMaxSize(r) }})
}

// readMaxSize reads the module's options, for Load and for the
// configuration checks alike: the largest vCard accepted, in bytes.
func readMaxSize(opts *config.Reader) int {
	n := opts.Size("max_size", defaultMaxSize, minMaxSize, maxMaxSize)
	opts.Unknown()
	return int(n)
}

// Module serves vCards on one host.
type Module struct {
	api   *core.API
	store core.KeyVal
	max   int

	gets, sets, refused *core.Counter
}

// empty is the answer for an account that has set no vCard: XEP-0054 §3.1
// allows an empty <vCard/> as well as an error, and clients treat the
// empty one as "nothing yet" rather than as a failure.
var empty = []byte("<vCard xmlns='" + NS + "'/>")

// Load reads the size limit, opens the store and hooks the vCard iqs.
func (m *Module) Load(api *core.API) error {
	m.api = api
	m.max = readMaxSize(api.Options())
	// Durable: a client is told its vCard is stored when the result
	// arrives, and a router loses power without warning.
	m.store = api.KeyVal("vcard", true)
	m.gets = api.Counter("gets", "vCards served")
	m.sets = api.Counter("sets", "vCards stored")
	m.refused = api.Counter("refused", "vCard sets refused (another's vCard, too large, malformed)")
	api.AddFeature(NS)
	api.Hook(core.IQEvent(core.TargetSelf, NS, "vCard"), core.PriorityModule, m.onSelf)
	api.Hook(core.IQEvent(core.TargetBare, NS, "vCard"), core.PriorityModule, m.onOther)
	return nil
}

// onSelf answers an account's get and set of its own vCard (no 'to', or
// its own bare JID).
func (m *Module) onSelf(ev *core.Event) bool {
	user := ev.To.Local()
	if string(ev.Stanza.Type()) == "get" {
		m.get(ev, user)
		return true
	}
	tree, err := ev.Stanza.Tree()
	if err != nil {
		m.refused.Inc()
		m.api.Error(ev, core.ErrModify, "bad-request", "")
		return true
	}
	card := tree.Child(NS, "vCard")
	if card == nil {
		m.refused.Inc()
		m.api.Error(ev, core.ErrModify, "bad-request", "")
		return true
	}
	data := card.AppendXML(nil, stanza.NSClient)
	if len(data) > m.max {
		// XEP-0054 names no error for this. Prosody's default serves
		// vcard-temp from PEP (mod_vcard_legacy), where a payload over the
		// limit is not-acceptable (XEP-0060 §7.1.3.4); the same here, so
		// a client sees one condition whichever server it talks to.
		m.refused.Inc()
		m.api.Error(ev, core.ErrModify, "not-acceptable", "the vCard is larger than this server stores")
		return true
	}
	if err := m.store.Set(user, &core.StoredElement{XML: data, Updated: time.Now().Unix()}); err != nil {
		m.api.Log().Error("cannot store a vCard", "user", user, "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return true
	}
	m.sets.Inc()
	m.api.Result(ev, nil)
	return true
}

// onOther answers a get of another account's vCard; nobody sets another's
// (XEP-0054 §3.2 only retrieves it).
func (m *Module) onOther(ev *core.Event) bool {
	if string(ev.Stanza.Type()) != "get" {
		m.refused.Inc()
		m.api.Error(ev, core.ErrAuth, "forbidden", "only the account itself sets its vCard")
		return true
	}
	user := ev.To.Local()
	if !ev.Host.Server.Accounts.Exists(ev.Host.Name, user) {
		// XEP-0054 §3.2: an error when the user does not exist; the one
		// RFC 6121 §8.5.1 gives for an iq to an account that is not there.
		m.api.Error(ev, core.ErrCancel, "service-unavailable", "")
		return true
	}
	m.get(ev, user)
	return true
}

// get answers with user's stored vCard, or an empty one.
func (m *Module) get(ev *core.Event, user string) {
	var r core.StoredElement
	found, err := m.store.Get(user, &r)
	if err != nil {
		m.api.Log().Error("cannot read a vCard", "user", user, "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return
	}
	m.gets.Inc()
	if !found || len(r.XML) == 0 {
		m.api.Result(ev, empty)
		return
	}
	m.api.Result(ev, r.XML)
}

var _ core.Module = (*Module)(nil)
