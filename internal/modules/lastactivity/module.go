// Package lastactivity answers XEP-0012 Last Activity queries about local
// accounts: how long ago the account's last available resource went
// offline, and the status it left with. The server's own uptime under the
// same namespace is the uptime module's.
package lastactivity

import (
	"strconv"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/modules/presence"
	"xmppd/internal/modules/roster"
	"xmppd/internal/stanza"
)

// NS is the Last Activity namespace (XEP-0012).
const NS = "jabber:iq:last"

func init() {
	core.Register(core.ModuleInfo{Name: "lastactivity", Auto: true, New: func() core.Module { return &Module{} },
		Optional: []string{roster.Service, "presence"}})
}

// Module records logouts and answers queries on one host.
type Module struct {
	api   *core.API
	store core.KeyVal

	queries, refused, recorded *core.Counter
}

// Load opens the store and hooks the presence event and the queries.
func (m *Module) Load(api *core.API) error {
	m.api = api
	api.Options().Unknown()
	// Durable: the answer after a power cut must not go back to an older
	// logout, nor forget the status a user left with.
	m.store = api.KeyVal("lastactivity", true)
	m.queries = api.Counter("queries", "XEP-0012 queries about accounts answered")
	m.refused = api.Counter("refused", "XEP-0012 queries about accounts refused")
	m.recorded = api.Counter("recorded", "logouts recorded")
	api.AddAccountFeature(NS)
	api.Hook(presence.EventUnavailable, core.PriorityModule, m.onUnavailable)
	api.Hook(core.IQEvent(core.TargetSelf, NS, "query"), core.PriorityModule, m.onQuery)
	api.Hook(core.IQEvent(core.TargetBare, NS, "query"), core.PriorityModule, m.onQuery)
	// XEP-0012 §3: a query to a full JID reaches the client only when the
	// requester may see the user's presence.
	api.Hook(core.IQEvent(core.TargetFull, NS, "query"), core.PriorityPolicy, m.onFull)
	return nil
}

// onUnavailable records the time and status of the logout that leaves the
// account with no available resource (XEP-0012 §3: "the time since the
// user's last logout"); a session ending without a presence leaves an
// empty status.
func (m *Module) onUnavailable(ev *core.Event) bool {
	s := ev.Origin
	if s == nil || s.JID.Local() == "" {
		return false
	}
	user := s.JID.Local()
	if online(ev.Host, user) {
		return false
	}
	rec := core.StoredElement{Updated: time.Now().Unix()}
	if ev.Stanza != nil {
		if tree, err := ev.Stanza.Tree(); err == nil {
			if st := tree.Child("", "status"); st != nil && st.Text() != "" {
				var b stanza.Builder
				rec.XML = b.Reset(nil).Start("status").Text(st.Text()).End().Bytes()
			}
		}
	}
	if err := m.store.Set(user, &rec); err != nil {
		m.api.Log().Error("cannot record last activity", "user", user, "err", err)
		return false
	}
	m.recorded.Inc()
	return false
}

// online reports whether user has an available resource on h; sessions
// kept for resumption still count, as their presence stands.
func online(h *core.Host, user string) bool {
	found := false
	h.Sessions(user, func(s *core.Session) {
		if s.Available() {
			found = true
		}
	})
	return found
}

// allowed reports whether ev's sender may learn about the account ev is
// addressed to: the account itself, or a contact with a subscription to
// its presence (XEP-0012 §3, RFC 6121 §3).
func allowed(ev *core.Event) bool {
	if ev.Origin != nil && ev.Origin.Host == ev.Host && ev.Origin.JID.Local() == ev.To.Local() {
		return true
	}
	r := roster.For(ev.Host)
	if r == nil {
		return false
	}
	it, found, err := r.Get(ev.To.Local(), ev.From.Bare().String())
	return err == nil && found && it.HasFrom()
}

// onQuery answers a query about an account on its behalf (XEP-0012 §3).
func (m *Module) onQuery(ev *core.Event) bool {
	if string(ev.Stanza.Type()) != "get" {
		return false // a set falls through to service-unavailable
	}
	user := ev.To.Local()
	if !m.api.Server().Accounts.Exists(ev.Host.Name, user) {
		// RFC 6121 §8.5.1: an iq to an account that does not exist.
		m.refused.Inc()
		m.api.Error(ev, core.ErrCancel, "service-unavailable", "")
		return true
	}
	if !allowed(ev) {
		m.refused.Inc()
		m.api.Error(ev, core.ErrAuth, "forbidden", "only contacts subscribed to the account's presence may ask")
		return true
	}
	m.queries.Inc()
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", NS)
	if online(ev.Host, user) {
		// XEP-0012 §3: with a resource available the answer is 0, empty.
		m.api.Result(ev, b.Attr("seconds", "0").End().Bytes())
		return true
	}
	var rec core.StoredElement
	found, err := m.store.Get(user, &rec)
	if err != nil {
		m.api.Log().Error("cannot read last activity", "user", user, "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return true
	}
	if !found {
		m.api.Error(ev, core.ErrCancel, "item-not-found", "no logout of this account is known")
		return true
	}
	secs := max(time.Now().Unix()-rec.Updated, 0)
	b.Attr("seconds", strconv.FormatInt(secs, 10))
	if len(rec.XML) > 0 {
		if st, err := stanza.Parse(rec.XML, nil, nil); err == nil {
			b.Text(st.Text())
		}
	}
	m.api.Result(ev, b.End().Bytes())
	return true
}

// onFull refuses a query to a full JID from who may not see the user's
// presence; an allowed one goes on to the client.
func (m *Module) onFull(ev *core.Event) bool {
	if string(ev.Stanza.Type()) != "get" || allowed(ev) {
		return false
	}
	m.refused.Inc()
	m.api.Error(ev, core.ErrAuth, "forbidden", "only contacts subscribed to the account's presence may ask")
	return true
}

var _ core.Module = (*Module)(nil)
