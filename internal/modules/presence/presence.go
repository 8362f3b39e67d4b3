package presence

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/roster"
	"xmppd/internal/stanza"
)

var stateKey = core.NewKey("presence")

// state is what the module keeps on each session.
type state struct {
	mu sync.Mutex
	// avail says the session has sent available presence; the stanza
	// itself, for answering probes in full (RFC 6121 §4.3.2), is the one
	// core.Session keeps.
	avail bool
	// directed lists the JIDs that got directed available presence and
	// must hear of unavailability (RFC 6121 §4.6.3).
	directed []string
}

// stateOf returns the state of s, made on resource binding.
func stateOf(s *core.Session) *state {
	st, _ := s.Get(stateKey).(*state)
	return st
}

// ensureState returns the state of s, making it for a session bound before
// the module was loaded; only the session's own goroutine calls it.
func ensureState(s *core.Session) *state {
	if st := stateOf(s); st != nil {
		return st
	}
	st := &state{}
	s.Set(stateKey, st)
	return st
}

// onBind gives the session its state before it can send any stanza, so
// that no two goroutines ever race to create it.
func (m *Module) onBind(ev *core.Event) bool {
	ev.Origin.Set(stateKey, &state{})
	return false
}

// onUnbind broadcasts unavailable presence for a session that ends without
// having sent it, such as a dropped connection (RFC 6121 §4.5.2).
func (m *Module) onUnbind(ev *core.Event) bool {
	s := ev.Origin
	from := s.JID.String()
	m.offline(nil, s, nil, func(to string) []byte { return build("unavailable", from, to) })
	return false
}

// onSelf handles presence without 'to' (broadcast) or to the user's own
// bare JID.
func (m *Module) onSelf(ev *core.Event) bool {
	if ev.Stanza.To() != nil {
		return m.onBare(ev)
	}
	switch typ := string(ev.Stanza.Type()); typ {
	case "":
		m.available(ev)
	case "unavailable":
		s, st := ev.Origin, ev.Stanza
		from := []byte(s.JID.String())
		m.offline(s, s, st, func(to string) []byte { return st.AppendWithAddrs(nil, from, []byte(to)) })
	case "error", "probe", roster.Subscribe, roster.Subscribed, roster.Unsubscribe, roster.Unsubscribed:
		// Without an addressee there is nothing to do.
	default:
		m.badType(ev)
	}
	return true
}

// onBare handles presence to a local bare JID.
func (m *Module) onBare(ev *core.Event) bool {
	switch typ := string(ev.Stanza.Type()); typ {
	case "", "unavailable":
		m.directed(ev)
	case roster.Subscribe, roster.Subscribed, roster.Unsubscribe, roster.Unsubscribed:
		m.subscription(ev, typ)
	case "probe":
		m.clientProbe(ev)
	case "error":
		// An error for a bare JID names no session that could use it.
	default:
		m.badType(ev)
	}
	return true
}

// onFull handles presence to a local full JID. Subscription stanzas and
// probes concern the account, so they are handled as sent to the bare JID
// (RFC 6121 §3.1.2, §4.3).
func (m *Module) onFull(ev *core.Event) bool {
	switch typ := string(ev.Stanza.Type()); typ {
	case "", "unavailable":
		m.directed(ev)
	case "error":
		if x := ev.Host.Session(ev.To); x != nil {
			m.srv.Deliver(ev.Origin, x, ev.Stanza, ev.From)
		}
	default:
		return m.onBare(ev)
	}
	return true
}

func (m *Module) badType(ev *core.Event) {
	m.srv.Bounce(ev.Origin, ev.Stanza, ev.To, ev.From, core.ErrModify, "bad-request", "unknown presence type")
}

// available handles initial presence and presence updates
// (RFC 6121 §4.2.2, §4.4.2).
func (m *Module) available(ev *core.Event) {
	s, st := ev.Origin, ev.Stanza
	stt := ensureState(s)
	prio := priority(st)
	stt.mu.Lock()
	initial := !stt.avail
	stt.avail = true
	stt.mu.Unlock()
	s.SetPresence(st.AppendStamped(nil, s.JID.String()), prio)
	from := []byte(s.JID.String())
	m.broadcast(s, s, func(to string) []byte { return st.AppendWithAddrs(nil, from, []byte(to)) }, nil)
	if initial {
		m.probe(s)
		m.pending(s)
	}
	c := &Change{Initial: initial, Priority: prio}
	c.Caps, _ = CapsOf(st)
	m.api.Fire(EventAvailable, &core.Event{Host: s.Host, Origin: s, Stanza: st, From: s.JID, To: ev.To, Data: c})
}

// priority reads <priority/> (RFC 6121 §4.7.2.3): out-of-range values are
// clamped and unreadable ones count as 0, the default, so that a sloppy
// client still becomes available.
func priority(st *stanza.Stanza) int {
	tree, err := st.Tree()
	if err != nil {
		return 0
	}
	p := tree.Child("", "priority")
	if p == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(p.Text()))
	if err != nil {
		return 0
	}
	return min(max(n, -128), 127)
}

// offline ends s's availability: the unavailable presence made by mk goes
// to everyone who saw it available and to the directed-presence list
// (RFC 6121 §4.5.2, §4.6.3), once, however many times it is called. st is
// the unavailable presence the client sent, nil when the session ended.
func (m *Module) offline(origin, s *core.Session, st *stanza.Stanza, mk func(to string) []byte) {
	stt := stateOf(s)
	if stt == nil {
		return
	}
	stt.mu.Lock()
	was, directed := stt.avail, stt.directed
	stt.avail, stt.directed = false, nil
	stt.mu.Unlock()
	s.SetPresence(nil, 0)
	if was {
		m.broadcast(origin, s, mk, directed)
		if origin == s {
			// RFC 6121 §4.5.2: the resource that sent the unavailable
			// presence gets it too, as it got its initial presence
			// (§4.2.2), so that a client sees the status it left with. A
			// session that ends (origin nil) is past hearing it.
			s.SendFor(origin, mk(s.JID.Bare().String()))
		}
		m.api.Fire(EventUnavailable, &core.Event{Host: s.Host, Origin: s, Stanza: st, From: s.JID})
		return
	}
	for _, d := range directed {
		m.toJID(origin, d, mk(d))
	}
}

// broadcast sends presence of s to the contacts subscribed to its user, to
// the user's available resources, and then to the directed entries that
// the broadcast did not reach (RFC 6121 §4.2.2, §4.4.2, §4.5.2).
func (m *Module) broadcast(origin, s *core.Session, mk func(to string) []byte, directed []string) {
	m.broadcasts.Inc()
	user := s.JID.Bare().String()
	covered := map[string]bool{user: true}
	if r := roster.For(s.Host); r != nil {
		items, err := r.Items(s.JID.Local())
		if err != nil {
			m.api.Log().Error("reading the roster", "user", user, "err", err)
		}
		for i := range items {
			if items[i].HasFrom() {
				covered[items[i].JID] = true
				m.toAvailable(origin, items[i].JID, mk(items[i].JID))
			}
		}
	}
	for _, x := range sessions(s.Host, s.JID.Local(), true) {
		x.SendFor(origin, mk(user))
	}
	for _, d := range directed {
		if j, err := jid.Parse(d); err == nil && !covered[j.Bare().String()] {
			m.toJID(origin, d, mk(d))
		}
	}
}

// probe gets the current presence of the user's contacts for a newly
// available session (RFC 6121 §4.2.2, §4.3). Contacts are local, so their
// server's answer is computed here: the last presence of each of their
// available resources (RFC 6121 §4.3.2).
func (m *Module) probe(s *core.Session) {
	user := s.JID.Bare()
	if r := roster.For(s.Host); r != nil {
		items, err := r.Items(s.JID.Local())
		if err != nil {
			m.api.Log().Error("reading the roster", "user", user.String(), "err", err)
		}
		for i := range items {
			if !items[i].HasTo() {
				continue
			}
			c, err := jid.Parse(items[i].JID)
			if err != nil || c.Local() == "" {
				continue
			}
			hc := m.srv.Host(c.Domain())
			if hc == nil {
				continue // a remote contact: no federation yet
			}
			switch m.authorized(hc, c.Local(), user.String()) {
			case no:
				// RFC 6121 §4.3.2: the contact's server answers a probe
				// from a user without a subscription with 'unsubscribed',
				// which also mends the user's roster.
				m.inbound(s, s.Host, s.JID.Local(), c, roster.Unsubscribed, nil)
			case yes:
				m.sendPresences(s, hc, c.Local(), s)
			}
		}
	}
	// The user's other available resources are seen as well.
	for _, x := range sessions(s.Host, s.JID.Local(), true) {
		if x != s {
			if p := lastOf(x, s.JID.String()); p != nil {
				s.SendFor(s, p)
			}
		}
	}
}

// pending delivers the subscription requests that wait for the user's
// answer to a newly available session (RFC 6121 §3.1.3).
func (m *Module) pending(s *core.Session) {
	r := roster.For(s.Host)
	if r == nil {
		return
	}
	items, err := r.Items(s.JID.Local())
	if err != nil {
		m.api.Log().Error("reading the roster", "user", s.JID.Bare().String(), "err", err)
	}
	for i := range items {
		if items[i].PendingIn && len(items[i].Request) > 0 {
			s.SendFor(s, items[i].Request)
		}
	}
}

// Answers of authorized.
const (
	unknown = iota // the contact's host keeps no rosters
	no
	yes
)

// authorized says whether local on h lets user (a bare JID) see its
// presence: whether user has a 'from' subscription in local's roster.
func (m *Module) authorized(h *core.Host, local, user string) int {
	r := roster.For(h)
	if r == nil {
		return unknown
	}
	if !m.srv.Accounts.Exists(h.Name, local) {
		return no
	}
	it, found, err := r.Get(local, user)
	switch {
	case err != nil:
		m.api.Log().Error("reading the roster", "user", local+"@"+h.Name, "err", err)
		return unknown
	case found && it.HasFrom():
		return yes
	}
	return no
}

// clientProbe answers a probe a client sent itself, which RFC 6121 §4.3
// discourages but does not forbid: only with presence the sender may see.
func (m *Module) clientProbe(ev *core.Event) {
	s := ev.Origin
	c := ev.To.Bare()
	if ev.Host == s.Host && c.Local() == s.JID.Local() {
		m.sendPresences(s, s.Host, s.JID.Local(), s)
		return
	}
	if m.authorized(ev.Host, c.Local(), s.JID.Bare().String()) == yes {
		m.sendPresences(s, ev.Host, c.Local(), s)
	}
}

// directed delivers presence addressed to one entity and remembers it for
// the unavailable broadcast (RFC 6121 §4.6).
func (m *Module) directed(ev *core.Event) {
	s, st, to, h := ev.Origin, ev.Stanza, ev.To, ev.Host
	if to.Resource() != "" {
		x := h.Session(to)
		if x == nil {
			return // RFC 6121 §8.5.3.2.2: no such resource, ignored
		}
		m.srv.Deliver(s, x, st, ev.From)
	} else {
		if !m.srv.Accounts.Exists(h.Name, to.Local()) {
			return // RFC 6121 §8.5.1: no such user, ignored
		}
		for _, x := range sessions(h, to.Local(), true) {
			if x != s {
				m.srv.Deliver(s, x, st, ev.From)
			}
		}
	}
	if h == s.Host && to.Local() == s.JID.Local() {
		return // the user's own resources see the broadcast anyway
	}
	m.remember(s, to.Clone().String(), len(st.Type()) == 0)
}

// remember adds j to the directed-presence list of s, or removes it when
// the directed presence was unavailable.
func (m *Module) remember(s *core.Session, j string, avail bool) {
	stt := ensureState(s)
	if avail && s.Available() {
		// RFC 6121 §4.6.2: a contact subscribed to the user gets the
		// broadcast anyway; the list is for everyone else.
		if b, err := jid.Parse(j); err == nil {
			if r := roster.For(s.Host); r != nil {
				if it, found, _ := r.Get(s.JID.Local(), b.Bare().String()); found && it.HasFrom() {
					return
				}
			}
		}
	}
	stt.mu.Lock()
	defer stt.mu.Unlock()
	i := slices.Index(stt.directed, j)
	switch {
	case !avail && i >= 0:
		stt.directed = slices.Delete(stt.directed, i, i+1)
	case avail && i < 0 && len(stt.directed) < m.maxDirected:
		stt.directed = append(stt.directed, j)
	}
}

// sendPresences sends t the last presence of every available resource of
// local on h, addressed to t.
func (m *Module) sendPresences(origin *core.Session, h *core.Host, local string, t *core.Session) {
	for _, x := range sessions(h, local, true) {
		if p := lastOf(x, t.JID.String()); p != nil {
			t.SendFor(origin, p)
		}
	}
}

// relay sends the presence of every available resource of local on h (or
// unavailable presence from each) to the available resources of the bare
// JID to: what a subscription change shows or hides (RFC 6121 §3.1.5,
// §3.2.2, §3.3.3).
func (m *Module) relay(origin *core.Session, h *core.Host, local, to string, unavailable bool) {
	for _, x := range sessions(h, local, true) {
		var p []byte
		if unavailable {
			p = build("unavailable", x.JID.String(), to)
		} else {
			p = lastOf(x, to)
		}
		if p != nil {
			m.toAvailable(origin, to, p)
		}
	}
}

// toAvailable sends p to every available resource of a local bare JID.
func (m *Module) toAvailable(origin *core.Session, bare string, p []byte) {
	j, err := jid.Parse(bare)
	if err != nil {
		return
	}
	h := m.srv.Host(j.Domain())
	if h == nil || j.Local() == "" {
		return // remote: no federation yet
	}
	for _, x := range sessions(h, j.Local(), true) {
		x.SendFor(origin, p)
	}
}

// toJID sends p to a local full JID's session, or to a bare JID's
// available resources.
func (m *Module) toJID(origin *core.Session, to string, p []byte) {
	j, err := jid.Parse(to)
	if err != nil {
		return
	}
	if j.Resource() == "" {
		m.toAvailable(origin, to, p)
		return
	}
	if h := m.srv.Host(j.Domain()); h != nil {
		if x := h.Session(j); x != nil {
			x.SendFor(origin, p)
		}
	}
}

// lastOf returns x's last available presence from x's full JID to 'to',
// or nil when x is unavailable.
func lastOf(x *core.Session, to string) []byte {
	raw := x.Presence()
	if raw == nil {
		return nil
	}
	// Probes are rare next to broadcasts, so the stanza is kept as bytes
	// and read back here rather than kept parsed on every session.
	last, err := stanza.Reparse(raw, stanza.NSClient)
	if err != nil {
		return nil
	}
	return last.AppendWithAddrs(nil, []byte(x.JID.String()), []byte(to))
}

// sessions returns the bound sessions of local on h, only the available
// ones when avail, as a copy: sending or touching rosters under the host's
// lock could deadlock with a bind.
func sessions(h *core.Host, local string, avail bool) []*core.Session {
	var out []*core.Session
	h.Sessions(local, func(s *core.Session) {
		if !avail || s.Available() {
			out = append(out, s)
		}
	})
	return out
}

// build makes a presence stanza without payload.
func build(typ, from, to string) []byte {
	var b stanza.Builder
	b.Reset(nil).Start("presence").Attr("from", from).Attr("to", to)
	if typ != "" {
		b.Attr("type", typ)
	}
	return b.Bytes()
}
