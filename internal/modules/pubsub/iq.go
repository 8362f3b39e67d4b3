package pubsub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"

	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// request is one pubsub iq being handled.
type request struct {
	ev      *core.Event
	f       face
	from    string // the requester's bare JID
	set     bool
	op      *stanza.Element // the action element
	payload *stanza.Element // <pubsub/>
	owner   bool            // the owner namespace
}

// handle runs a <pubsub/> iq on face f (XEP-0060 §5-§8).
func (m *Module) handle(ev *core.Event, f face) {
	p, err := payloadOf(ev)
	if err != nil || p == nil {
		m.fail(ev, core.ErrModify, "bad-request", "", "", "unreadable request")
		return
	}
	r := &request{ev: ev, f: f, from: ev.From.Bare().String(), set: string(ev.Stanza.Type()) == "set",
		payload: p, owner: p.Space == NSOwner}
	if f.pep && !m.localAccount(f) {
		m.fail(ev, core.ErrCancel, "item-not-found", "", "", "no such account")
		return
	}
	var action string
	for _, c := range p.Children {
		if c.Elem == nil || c.Elem.Local == "options" || c.Elem.Local == "configure" || c.Elem.Local == "publish-options" {
			continue
		}
		r.op, action = c.Elem, c.Elem.Local
		break
	}
	if r.op == nil {
		// <configure/> or <options/> alone.
		for _, c := range p.Children {
			if c.Elem != nil {
				r.op, action = c.Elem, c.Elem.Local
				break
			}
		}
	}
	if r.op == nil {
		m.fail(ev, core.ErrModify, "bad-request", "", "", "no pubsub action")
		return
	}
	switch {
	case !r.owner && r.set && action == "create":
		m.create(r)
	case !r.owner && r.set && action == "publish":
		m.publish(r)
	case !r.owner && r.set && action == "retract":
		m.retract(r)
	case !r.owner && !r.set && action == "items":
		m.itemsGet(r)
	case !r.owner && r.set && action == "subscribe":
		m.subscribe(r)
	case !r.owner && r.set && action == "unsubscribe":
		m.unsubscribe(r)
	case !r.owner && action == "options":
		m.options(r)
	case !r.owner && !r.set && action == "subscriptions":
		m.mySubscriptions(r)
	case !r.owner && !r.set && action == "affiliations":
		m.myAffiliations(r)
	case r.owner && action == "configure":
		m.configure(r)
	case r.owner && !r.set && action == "default":
		m.defaultConfig(r)
	case r.owner && r.set && action == "delete":
		m.deleteNode(r)
	case r.owner && r.set && action == "purge":
		m.purge(r)
	case r.owner && action == "subscriptions":
		m.ownerSubscriptions(r)
	case r.owner && action == "affiliations":
		m.ownerAffiliations(r)
	default:
		m.fail(ev, core.ErrCancel, "feature-not-implemented", "unsupported", action, "")
	}
}

// localAccount reports whether the PEP face's account exists.
func (m *Module) localAccount(f face) bool {
	return m.api.Server().Accounts.Exists(f.jid.Domain(), f.jid.Local())
}

// fail answers with a stanza error; app names a pubsub#errors condition
// (XEP-0060 §7.1.3 etc.) and feature the feature of <unsupported/>.
func (m *Module) fail(ev *core.Event, typ, cond, app, feature, text string) {
	if app == "" {
		m.api.Error(ev, typ, cond, text)
		return
	}
	var b stanza.Builder
	b.Reset(nil).Start("iq").Attr("type", "error")
	if id := ev.Stanza.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	b.Attr("to", ev.From.String())
	if !ev.To.IsZero() {
		b.Attr("from", ev.To.String())
	}
	b.Start("error").Attr("type", typ)
	b.Start(cond).Attr("xmlns", stanza.NSStanzas).End()
	b.Start(app).Attr("xmlns", NSErrors)
	if feature != "" {
		b.Attr("feature", feature)
	}
	b.End()
	if text != "" {
		b.Start("text").Attr("xmlns", stanza.NSStanzas).Text(text).End()
	}
	b.End().End()
	m.api.Reply(ev, b.Bytes())
}

// storeFailed answers a request whose storage failed.
func (m *Module) storeFailed(r *request, err error) {
	m.api.Log().Error("storage", "err", err)
	m.fail(r.ev, core.ErrWait, "internal-server-error", "", "", "storage failed")
}

// affiliation returns the requester's affiliation with n.
func (m *Module) affiliation(r *request, n *node) string {
	if r.f.pep && r.from == r.f.jid.String() {
		return affOwner
	}
	if a, ok := n.affs[r.from]; ok {
		return a
	}
	return affNone
}

// lookup returns the node the request names, answering the errors of a
// missing name or node itself (nil then).
func (m *Module) lookup(r *request) *node {
	name := r.op.Attr("node")
	if name == "" {
		m.fail(r.ev, core.ErrModify, "bad-request", "nodeid-required", "", "")
		return nil
	}
	n, err := m.node(r.f.owner, name)
	if err != nil {
		m.storeFailed(r, err)
		return nil
	}
	if n == nil {
		m.fail(r.ev, core.ErrCancel, "item-not-found", "", "", "no such node")
	}
	return n
}

// mayCreate applies `option create` to the service; PEP nodes only their
// owner creates.
func (m *Module) mayCreate(r *request) bool {
	if r.f.pep {
		return r.from == r.f.jid.String()
	}
	if r.ev.From.Domain() != m.host.Name {
		return false
	}
	if m.opts.create == "admins" {
		for _, a := range m.opts.admins {
			if a == r.from {
				return true
			}
		}
		return false
	}
	return true
}

// create makes a node (XEP-0060 §8.1), instant when it has no name.
func (m *Module) create(r *request) {
	if !m.mayCreate(r) {
		m.fail(r.ev, core.ErrAuth, "forbidden", "", "", "you may not create nodes here")
		return
	}
	name := r.op.Attr("node")
	instant := name == ""
	if instant {
		name = randomID()
	}
	cfg := m.defaults(r.f)
	if fields, ft, ok := formFields(r.payload.Child(NS, "configure")); ok && (ft == "" || ft == formNode) {
		for _, fv := range fields {
			if ok, why := cfg.set(fv[0], fv[1], m.opts.maxItemsLimit); !ok {
				m.fail(r.ev, core.ErrModify, "not-acceptable", "", "", why)
				return
			}
		}
	}
	_, err := m.newNode(r.f, name, r.from, cfg)
	switch {
	case errors.Is(err, errExists):
		m.fail(r.ev, core.ErrCancel, "conflict", "", "", "the node exists")
		return
	case errors.Is(err, errTooMany):
		m.fail(r.ev, core.ErrWait, "resource-constraint", "", "", "too many nodes")
		return
	case err != nil:
		m.storeFailed(r, err)
		return
	}
	if !instant {
		m.api.Result(r.ev, nil)
		return
	}
	var b stanza.Builder
	b.Reset(nil).Start("pubsub").Attr("xmlns", NS).Start("create").Attr("node", name).End().End()
	m.api.Result(r.ev, b.Bytes())
}

var (
	errExists  = errors.New("pubsub: node exists")
	errTooMany = errors.New("pubsub: too many nodes")
)

// newNode creates and stores a node owned by creator.
func (m *Module) newNode(f face, name, creator string, cfg nodeConfig) (*node, error) {
	m.createMu.Lock()
	defer m.createMu.Unlock()
	n, err := m.node(f.owner, name)
	if err != nil {
		return nil, err
	}
	if n != nil {
		return nil, errExists
	}
	names, err := m.nodeNames(f.owner)
	if err != nil {
		return nil, err
	}
	limit := m.opts.maxNodes
	if !f.pep {
		limit *= 16 // the whole service's, not one account's
	}
	if len(names) >= limit {
		return nil, errTooMany
	}
	n = &node{owner: f.owner, name: name, cfg: cfg, affs: map[string]string{}, subs: map[string]*subscription{}}
	if !f.pep {
		n.affs[creator] = affOwner
	}
	if err := m.save(n); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if old := m.nodes[nodeKey{f.owner, name}]; old != nil {
		m.mu.Unlock()
		return nil, errExists
	}
	m.nodes[nodeKey{f.owner, name}] = n
	m.mu.Unlock()
	return n, nil
}

func randomID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
