// Package private implements private XML storage (XEP-0049,
// jabber:iq:private): an account keeps XML fragments of its own on the
// server, one per element name and namespace, that only it can read back.
// Clients use it for legacy bookmarks (XEP-0048) and preferences.
package private

import (
	"strings"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// NS is the namespace of XEP-0049.
const NS = "jabber:iq:private"

// Defaults and bounds of the options: bookmarks of a few hundred rooms fit
// in the default size, and the item bound keeps one account from filling
// a router's flash with fragments.
const (
	defaultMaxSize  = 64 << 10
	defaultMaxItems = 64
)

func init() {
	core.Register(core.ModuleInfo{Name: "private", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readLimits(r) }})
}

// readLimits reads the module's options, for Load and for the
// configuration checks alike: the largest fragment, the most fragments
// per account.
func readLimits(opts *config.Reader) (maxSize, maxItems int) {
	maxSize = int(opts.Size("max_size", defaultMaxSize, 1<<10, 256<<10))
	maxItems = opts.Int("max_items", defaultMaxItems, 1, 4096)
	opts.Unknown()
	return maxSize, maxItems
}

// Module serves private XML storage on one host.
type Module struct {
	api   *core.API
	store core.Map

	maxSize, maxItems int

	gets, sets, refused *core.Counter
}

// Load reads the limits, opens the store and hooks the queries.
func (m *Module) Load(api *core.API) error {
	m.api = api
	m.maxSize, m.maxItems = readLimits(api.Options())
	// Durable: bookmarks a client was told are stored must survive a
	// power cut.
	m.store = api.Map("private", true)
	m.gets = api.Counter("gets", "private XML fragments served")
	m.sets = api.Counter("sets", "private XML fragments stored")
	m.refused = api.Counter("refused", "private XML requests refused")
	api.Hook(core.IQEvent(core.TargetSelf, NS, "query"), core.PriorityModule, m.onSelf)
	api.Hook(core.IQEvent(core.TargetBare, NS, "query"), core.PriorityModule, m.onOther)
	return nil
}

// onOther refuses access to another account's storage: XEP-0049 §2.3
// prefers forbidden to the service-unavailable of old servers.
func (m *Module) onOther(ev *core.Event) bool {
	m.refused.Inc()
	m.api.Error(ev, core.ErrAuth, "forbidden", "private storage belongs to its account alone")
	return true
}

// key names a fragment in the store: its element name and namespace, as
// Prosody keys it, so one account holds one fragment of each.
func key(e *stanza.Element) string { return e.Local + ":" + e.Space }

// reserved reports whether a namespace is one XEP-0049 §2.3 reserves for
// the protocol's own use.
func reserved(ns string) bool {
	return strings.HasPrefix(ns, "jabber:") || strings.HasPrefix(ns, "http://jabber.org/") || ns == "vcard-temp"
}

// onSelf answers an account's get and set of its own fragments.
func (m *Module) onSelf(ev *core.Event) bool {
	tree, err := ev.Stanza.Tree()
	if err != nil {
		m.refused.Inc()
		m.api.Error(ev, core.ErrModify, "bad-request", "")
		return true
	}
	var frags []*stanza.Element
	if q := tree.Child(NS, "query"); q != nil {
		for _, n := range q.Children {
			if n.Elem != nil {
				frags = append(frags, n.Elem)
			}
		}
	}
	// XEP-0049 §2.3: at least one child in its own namespace, else
	// not-acceptable (its "Bad Format", XEP-0086's 406); reserved
	// namespaces are not-acceptable too.
	if len(frags) == 0 {
		m.refused.Inc()
		m.api.Error(ev, core.ErrModify, "not-acceptable", "name the element to store or retrieve")
		return true
	}
	for _, f := range frags {
		if f.Space == "" || reserved(f.Space) {
			m.refused.Inc()
			m.api.Error(ev, core.ErrModify, "not-acceptable", "namespace "+f.Space+" is reserved")
			return true
		}
	}
	user := ev.To.Local()
	if string(ev.Stanza.Type()) == "get" {
		// XEP-0049 §2.3: one namespace per get.
		if len(frags) > 1 {
			m.refused.Inc()
			m.api.Error(ev, core.ErrModify, "bad-request", "ask for one element at a time")
			return true
		}
		m.get(ev, user, frags[0])
		return true
	}
	m.set(ev, user, frags)
	return true
}

// get answers with the stored fragment, or the requested element empty
// when none is stored (XEP-0049 §2.3's result has the element either way).
func (m *Module) get(ev *core.Event, user string, want *stanza.Element) {
	var r core.StoredElement
	found, err := m.store.Get(user, key(want), &r)
	if err != nil {
		m.api.Log().Error("cannot read private storage", "user", user, "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return
	}
	m.gets.Inc()
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", NS)
	if found {
		b.Raw(r.XML)
	} else {
		b.Element(stanza.NewElement(want.Space, want.Local), NS)
	}
	m.api.Result(ev, b.Bytes())
}

// set stores every fragment of a set in one durable commit: all or none.
func (m *Module) set(ev *core.Event, user string, frags []*stanza.Element) {
	have := map[string]bool{}
	err := m.store.Each(user, func(k string, _ []byte) error {
		have[k] = true
		return nil
	})
	if err != nil {
		m.api.Log().Error("cannot list private storage", "user", user, "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return
	}
	b := m.api.NewBatch()
	defer b.Close()
	now := time.Now().Unix()
	for _, f := range frags {
		data := f.AppendXML(nil, NS)
		if len(data) > m.maxSize {
			m.refused.Inc()
			m.api.Error(ev, core.ErrModify, "not-acceptable", "the element is larger than this server stores")
			return
		}
		k := key(f)
		if !have[k] && len(have) >= m.maxItems {
			// RFC 6120 §8.3.3.18: the account's share of the store is used up.
			m.refused.Inc()
			m.api.Error(ev, core.ErrWait, "resource-constraint", "too many private elements stored")
			return
		}
		have[k] = true
		if err := b.SetMap(m.store, user, k, &core.StoredElement{XML: data, Updated: now}); err != nil {
			m.api.Error(ev, core.ErrWait, "internal-server-error", "")
			return
		}
	}
	if err := b.Commit(); err != nil {
		m.api.Log().Error("cannot store private storage", "user", user, "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return
	}
	m.sets.Add(uint64(len(frags)))
	m.api.Result(ev, nil)
}

var _ core.Module = (*Module)(nil)
