// Package blocking implements the Blocking Command (XEP-0191): each user's
// list of blocked JIDs, kept durably and managed with block and unblock
// requests pushed to the user's other clients, and enforced on both
// directions: a blocked JID gets nothing from the user (no presence, no
// messages) and what it sends the user is dropped or refused.
package blocking

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/roster"
	"xmppd/internal/stanza"
)

func init() {
	core.Register(core.ModuleInfo{Name: "blocking", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readMax(r) },
		// Rosters say which contacts were subscribed, and so get
		// unavailable presence on a block and presence again on an unblock.
		Optional: []string{roster.Service}})
}

// Namespaces of XEP-0191.
const (
	NS       = "urn:xmpp:blocking"        // XEP-0191 §3.1
	NSErrors = "urn:xmpp:blocking:errors" // the <blocked/> error condition
)

// Service is the name under which the module offers itself to the
// instances on other hosts: a stanza between two hosts is checked against
// both users' lists.
const Service = "blocking"

// DefaultMaxItems is the default of max_items.
const DefaultMaxItems = 1000

// readMax reads the module's options, for Load and for the configuration
// checks alike: the most JIDs on one blocklist.
func readMax(opts *config.Reader) int {
	n := opts.Int("max_items", DefaultMaxItems, 1, 1<<16)
	opts.Unknown()
	return n
}

// active counts the users, on every host, with a non-empty blocklist: while
// it is 0 the outgoing filter passes everything without parsing it.
var active atomic.Int64

// Module is the blocking command on one host.
type Module struct {
	api   *core.API
	srv   *core.Server
	store core.KeyVal
	max   int
	// interested marks a session that retrieved the blocklist: it gets
	// pushes of changes (XEP-0191 §3.3).
	interested *core.Key
	counted    atomic.Int64 // what this instance added to active

	mu    sync.RWMutex
	cache map[string]set

	changes, refused *core.Counter
}

// Load opens the store, counts the non-empty lists and hooks the iqs, the
// policy checks and the outgoing filter.
func (m *Module) Load(api *core.API) error {
	m.api, m.srv = api, api.Server()
	m.max = readMax(api.Options())
	// Durable: a user who blocked someone must not be reached by them
	// again after a power cut.
	m.store = api.KeyVal("blocking", true)
	m.cache = map[string]set{}
	m.interested = core.NewKey("blocking")
	m.changes = api.Counter("changes", "block and unblock requests applied")
	m.refused = api.Counter("refused", "stanzas dropped or refused because of a blocklist")
	users, err := m.store.Users()
	if err != nil {
		return err
	}
	m.counted.Store(int64(len(users)))
	active.Add(int64(len(users)))
	api.OnUnload(func() { active.Add(-m.counted.Load()) })
	if err := api.Provide(Service, m); err != nil {
		return err
	}
	api.AddFeature(NS)
	api.Hook(core.IQEvent(core.TargetSelf, NS, "blocklist"), core.PriorityModule, m.onBlocklist)
	api.Hook(core.IQEvent(core.TargetSelf, NS, "block"), core.PriorityModule, m.onBlock)
	api.Hook(core.IQEvent(core.TargetSelf, NS, "unblock"), core.PriorityModule, m.onUnblock)
	m.hookPolicy(api)
	return nil
}

// onBlocklist answers the blocklist (XEP-0191 §3.2) and marks the session
// as one that gets pushes.
func (m *Module) onBlocklist(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	if string(ev.Stanza.Type()) != "get" {
		m.api.Error(ev, core.ErrModify, "bad-request", "the blocklist is retrieved with an iq get")
		return true
	}
	l, err := m.list(ev.Origin.JID.Local())
	if err != nil {
		m.api.Log().Error("blocking: reading a blocklist failed", "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return true
	}
	items := make([]string, 0, len(l))
	for j := range l {
		items = append(items, j)
	}
	slices.Sort(items)
	ev.Origin.Set(m.interested, true)
	m.api.Result(ev, payload("blocklist", items))
	return true
}

// payload is <name xmlns='urn:xmpp:blocking'> with an <item/> per JID.
func payload(name string, items []string) []byte {
	var b stanza.Builder
	b.Reset(nil).Start(name).Attr("xmlns", NS)
	for _, j := range items {
		b.Start("item").Attr("jid", j).End()
	}
	return b.Bytes()
}

// errFull is what an update returns when the list would pass max_items.
var errFull = errors.New("blocklist full")

// items reads the <item jid=”/> children of the request; a JID that
// does not parse is jid-malformed.
func (m *Module) items(ev *core.Event) ([]jid.JID, bool) {
	tree, err := ev.Stanza.Tree()
	if err != nil {
		m.api.Error(ev, core.ErrModify, "bad-request", "")
		return nil, false
	}
	var out []jid.JID
	req := tree.FirstChild()
	for _, n := range req.Children {
		if n.Elem == nil || n.Elem.Local != "item" || n.Elem.Space != NS {
			continue
		}
		j, err := jid.Parse(n.Elem.Attr("jid"))
		if err != nil {
			m.api.Error(ev, core.ErrModify, "jid-malformed", "not a JID: "+n.Elem.Attr("jid"))
			return nil, false
		}
		if !slices.ContainsFunc(out, j.Equal) {
			out = append(out, j)
		}
	}
	return out, true
}

// onBlock adds JIDs to the blocklist (XEP-0191 §3.3). The contacts they
// match first get unavailable presence from the user's available
// resources, so that the user appears offline to them; then the list is
// written, the request answered and the change pushed.
func (m *Module) onBlock(ev *core.Event) bool {
	s := ev.Origin
	if s == nil {
		return false
	}
	if string(ev.Stanza.Type()) != "set" {
		m.api.Error(ev, core.ErrModify, "bad-request", "block is an iq set")
		return true
	}
	add, ok := m.items(ev)
	if !ok {
		return true
	}
	if len(add) == 0 {
		// XEP-0191 §3.3: a block without items is bad-request.
		m.api.Error(ev, core.ErrModify, "bad-request", "nothing to block")
		return true
	}
	user := s.JID.Local()
	var added []string
	_, _, err := m.update(user, func(old []string) ([]string, error) {
		for _, j := range add {
			if !slices.Contains(old, j.String()) {
				old = append(old, j.String())
				added = append(added, j.String())
			}
		}
		if len(old) > m.max {
			return nil, errFull
		}
		// Before the list changes: once it has, the outgoing filter would
		// drop this presence too.
		m.presence(s, added, true)
		return old, nil
	})
	if !m.answer(ev, err) {
		return true
	}
	m.changes.Inc()
	m.push(s, "block", added)
	return true
}

// onUnblock removes JIDs from the blocklist, or all of them when the
// request names none (XEP-0191 §3.4, §3.5); contacts unblocked who are
// subscribed to the user's presence get it again.
func (m *Module) onUnblock(ev *core.Event) bool {
	s := ev.Origin
	if s == nil {
		return false
	}
	if string(ev.Stanza.Type()) != "set" {
		m.api.Error(ev, core.ErrModify, "bad-request", "unblock is an iq set")
		return true
	}
	del, ok := m.items(ev)
	if !ok {
		return true
	}
	user := s.JID.Local()
	var removed []string
	_, _, err := m.update(user, func(old []string) ([]string, error) {
		if len(del) == 0 {
			removed = old
			return nil, nil
		}
		for _, j := range del {
			if i := slices.Index(old, j.String()); i >= 0 {
				old = slices.Delete(old, i, i+1)
				removed = append(removed, j.String())
			}
		}
		return old, nil
	})
	if !m.answer(ev, err) {
		return true
	}
	m.changes.Inc()
	m.presence(s, removed, false)
	if len(del) == 0 {
		m.push(s, "unblock", nil)
	} else if len(removed) > 0 {
		m.push(s, "unblock", removed)
	}
	return true
}

// answer answers a block or unblock request after its update: a result,
// or the error err names. It reports whether the update went through.
func (m *Module) answer(ev *core.Event, err error) bool {
	switch {
	case err == nil:
		m.api.Result(ev, nil)
		return true
	case errors.Is(err, errFull):
		m.api.Error(ev, core.ErrWait, "resource-constraint", "the blocklist holds "+strconv.Itoa(m.max)+" items at most")
	default:
		m.api.Log().Error("blocking: writing a blocklist failed", "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
	}
	return false
}

// push sends the change to every session of the user that retrieved the
// blocklist (XEP-0191 §3.3: pushes go to interested resources).
func (m *Module) push(origin *core.Session, name string, items []string) {
	p := payload(name, items)
	host := origin.Host
	host.Sessions(origin.JID.Local(), func(t *core.Session) {
		if t.Get(m.interested) == nil {
			return
		}
		var b stanza.Builder
		b.Reset(nil).Start("iq").Attr("type", "set").Attr("id", "block-push-"+strconv.FormatUint(pushID.Add(1), 36)).
			Attr("to", t.JID.String()).Raw(p)
		t.SendFor(origin, b.Bytes())
	})
}

var pushID atomic.Uint64

// presence tells the local sessions the items match what they should now
// see of the user: unavailable presence from each of the user's available
// resources when blocked, their current presence when unblocked. Only
// contacts subscribed to the user's presence (RFC 6121 §4.2.2) are told,
// so an unblock reveals nothing to anyone else.
func (m *Module) presence(s *core.Session, items []string, blocked bool) {
	if len(items) == 0 {
		return
	}
	user := s.JID.Local()
	h := s.Host
	var mine []*core.Session
	h.Sessions(user, func(o *core.Session) {
		if o.Available() {
			mine = append(mine, o)
		}
	})
	if len(mine) == 0 {
		return
	}
	ros := roster.For(h)
	for _, item := range items {
		ij, err := jid.Parse(item)
		if err != nil {
			continue
		}
		ch := m.srv.Host(ij.Domain())
		if ch == nil || ch.Kind != core.HostUser || ij.Local() == "" {
			continue // a domain, or not local: no session of ours to tell
		}
		if ros != nil {
			it, found, err := ros.Get(user, ij.Bare().String())
			if err != nil || !found || (it.Subscription != roster.From && it.Subscription != roster.Both) {
				continue
			}
		}
		ch.Sessions(ij.Local(), func(c *core.Session) {
			if !itemMatches(item, c.JID) {
				return
			}
			for _, o := range mine {
				var p []byte
				if blocked {
					var b stanza.Builder
					p = b.Reset(nil).Start("presence").Attr("type", "unavailable").
						Attr("from", o.JID.String()).Attr("to", c.JID.String()).Bytes()
				} else if raw := o.Presence(); raw != nil {
					st, err := stanza.Reparse(raw, stanza.NSClient)
					if err != nil {
						continue
					}
					p = st.AppendWithAddrs(nil, []byte(o.JID.String()), []byte(c.JID.String()))
				}
				if p != nil {
					c.SendFor(s, p)
				}
			}
		})
	}
}
