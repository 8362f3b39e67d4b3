package pubsub

import (
	"sync"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/caps"
	"xmppd/internal/modules/presence"
	"xmppd/internal/modules/roster"
	"xmppd/internal/stanza"
)

// sentLast is what a session has been sent the last item of since it
// became available, so that its presence and its caps resolving do not
// both send it.
type sentLast struct {
	mu   sync.Mutex
	seen map[nodeKey]bool
}

var lastKey = core.NewKey("pubsub-last")

// onAvailable sends the last items a session wants when it becomes
// available (XEP-0163 §4.3.2, XEP-0060 §6.1.7 on_sub_and_presence).
func (m *Module) onAvailable(ev *core.Event) bool {
	ch := presence.ChangeOf(ev)
	if ev.Origin == nil || ch == nil || !ch.Initial {
		return false
	}
	ev.Origin.Set(lastKey, nil)
	m.lastItems(ev.Origin)
	return false
}

// onCapsResolved sends the last items of the nodes a session's caps
// newly ask for (XEP-0163 §4.3.2: "+notify" may be known only later).
func (m *Module) onCapsResolved(ev *core.Event) bool {
	if ev.Origin != nil && ev.Origin.Available() {
		m.lastItems(ev.Origin)
	}
	return false
}

func (m *Module) onUnbind(ev *core.Event) bool {
	if ev.Origin != nil {
		ev.Origin.Set(lastKey, nil)
	}
	return false
}

// lastItems sends s the last item of every PEP node it may read and wants
// (by an explicit subscription or "+notify") of its own account and of
// the accounts of this host it has a presence subscription to.
func (m *Module) lastItems(s *core.Session) {
	sent, _ := s.Get(lastKey).(*sentLast)
	if sent == nil {
		sent = &sentLast{seen: map[nodeKey]bool{}}
		s.Set(lastKey, sent)
	}
	bare := s.JID.Bare().String()
	owners := []string{}
	if s.Host == m.host {
		owners = append(owners, s.JID.Local())
	}
	if r := roster.For(s.Host); r != nil {
		items, err := r.Items(s.JID.Local())
		if err != nil {
			return
		}
		for _, it := range items {
			if !it.HasTo() {
				continue
			}
			local, domain := splitBare(it.JID)
			if domain == m.host.Name && local != "" {
				owners = append(owners, local)
			}
		}
	}
	info := caps.Of(s)
	for _, owner := range owners {
		names, err := m.nodeNames(owner)
		if err != nil || len(names) == 0 {
			continue
		}
		ownerJID, err := jid.New(owner, m.host.Name, "")
		if err != nil {
			continue
		}
		f := face{pep: true, owner: owner, jid: ownerJID}
		for _, name := range names {
			k := nodeKey{owner, name}
			sent.mu.Lock()
			done := sent.seen[k]
			sent.mu.Unlock()
			if done {
				continue
			}
			n, err := m.node(owner, name)
			if err != nil || n == nil {
				continue
			}
			n.mu.Lock()
			sub := n.subs[s.JID.String()]
			if sub == nil {
				sub = n.subs[bare]
			}
			if sub != nil && sub.state != subSubscribed {
				sub = nil
			}
			ok := n.cfg.sendLast == "on_sub_and_presence" && (sub != nil || info.Wants(name)) && m.mayRead(f, n, bare)
			n.mu.Unlock()
			if !ok {
				continue
			}
			sent.mu.Lock()
			sent.seen[k] = true
			sent.mu.Unlock()
			m.sendLast(f, n, s, sub)
		}
	}
}

// serviceInfo answers disco#info on pubsub.<host> and its nodes
// (XEP-0060 §5.1, §5.3).
func (m *Module) serviceInfo(ev *core.Event) bool {
	if string(ev.Stanza.Type()) != "get" {
		return false
	}
	p, err := payloadOf(ev)
	if err != nil || p == nil {
		return false
	}
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", nsInfo)
	if name := p.Attr("node"); name != "" {
		n, err := m.node(serviceID, name)
		if err != nil || n == nil {
			m.api.Error(ev, core.ErrCancel, "item-not-found", "")
			return true
		}
		b.Attr("node", name)
		b.Start("identity").Attr("category", "pubsub").Attr("type", "leaf").End()
		b.Start("feature").Attr("var", NS).End()
		n.mu.Lock()
		writeForm(&b, "result", formMeta, [][2]string{{fTitle, n.cfg.title}, {fAccess, n.cfg.accessModel}})
		n.mu.Unlock()
		m.api.Result(ev, b.End().Bytes())
		return true
	}
	b.Start("identity").Attr("category", "pubsub").Attr("type", "service").Attr("name", "xmppd pubsub").End()
	b.Start("feature").Attr("var", nsInfo).End()
	b.Start("feature").Attr("var", nsItems).End()
	b.Start("feature").Attr("var", NS).End()
	for _, f := range features {
		b.Start("feature").Attr("var", NS+"#"+f).End()
	}
	m.api.Result(ev, b.End().Bytes())
	return true
}

// serviceItems lists the service's nodes (XEP-0060 §5.2).
func (m *Module) serviceItems(ev *core.Event) bool {
	if string(ev.Stanza.Type()) != "get" {
		return false
	}
	names, err := m.nodeNames(serviceID)
	if err != nil {
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return true
	}
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", nsItems)
	for _, n := range names {
		b.Start("item").Attr("jid", m.comp.Name).Attr("node", n).End()
	}
	m.api.Result(ev, b.End().Bytes())
	return true
}
