package pubsub

import (
	"errors"
	"strconv"

	"xmppd/internal/core"
	"xmppd/internal/stanza"
	"xmppd/internal/storage"
)

// mayPublish applies the node's publish model (XEP-0060 §7.1.3.1).
func (m *Module) mayPublish(r *request, n *node) bool {
	switch aff := m.affiliation(r, n); aff {
	case affOwner, affPublisher, affPublishOnly:
		return true
	case affOutcast:
		return false
	}
	switch n.cfg.publishModel {
	case "open":
		return true
	case "subscribers":
		s := n.subs[r.from]
		if s == nil {
			s = n.subs[r.ev.From.String()]
		}
		return s != nil && s.state == subSubscribed
	}
	return false
}

// publish stores an item and notifies (XEP-0060 §7.1), creating a PEP
// node on first publish (XEP-0163 §3) with the publish-options applied;
// on an existing node those are preconditions (XEP-0060 §7.1.5).
func (m *Module) publish(r *request) {
	name := r.op.Attr("node")
	if name == "" {
		m.fail(r.ev, core.ErrModify, "bad-request", "nodeid-required", "", "")
		return
	}
	var item *stanza.Element
	for _, c := range r.op.Children {
		if c.Elem != nil && c.Elem.Local == "item" {
			if item != nil {
				m.fail(r.ev, core.ErrModify, "bad-request", "invalid-payload", "", "one item per publish")
				return
			}
			item = c.Elem
		}
	}
	var payload *stanza.Element
	if item != nil {
		for _, c := range item.Children {
			if c.Elem == nil {
				continue
			}
			if payload != nil {
				m.fail(r.ev, core.ErrModify, "bad-request", "invalid-payload", "", "one payload element per item")
				return
			}
			payload = c.Elem
		}
	}
	pubOpts, ft, hasOpts := formFields(r.payload.Child(NS, "publish-options"))
	if hasOpts && ft != "" && ft != formPub {
		m.fail(r.ev, core.ErrModify, "bad-request", "invalid-options", "", "publish-options must be "+formPub)
		return
	}
	n, err := m.node(r.f.owner, name)
	if err != nil {
		m.storeFailed(r, err)
		return
	}
	if n == nil {
		if !r.f.pep || !m.mayCreate(r) {
			m.fail(r.ev, core.ErrCancel, "item-not-found", "", "", "no such node")
			return
		}
		cfg := m.defaults(r.f)
		for _, fv := range pubOpts {
			if ok, why := cfg.set(fv[0], fv[1], m.opts.maxItemsLimit); !ok {
				m.fail(r.ev, core.ErrModify, "conflict", "precondition-not-met", "", why)
				return
			}
		}
		n, err = m.newNode(r.f, name, r.from, cfg)
		if errors.Is(err, errExists) {
			n, err = m.node(r.f.owner, name)
		}
		if errors.Is(err, errTooMany) {
			m.fail(r.ev, core.ErrWait, "resource-constraint", "", "", "too many nodes")
			return
		}
		if err != nil || n == nil {
			m.storeFailed(r, err)
			return
		}
	} else if hasOpts {
		n.mu.Lock()
		why := m.precondition(n, pubOpts)
		n.mu.Unlock()
		if why != "" {
			m.fail(r.ev, core.ErrCancel, "conflict", "precondition-not-met", "", why)
			return
		}
	}
	n.mu.Lock()
	allowed := m.mayPublish(r, n)
	cfg := n.cfg
	limit := m.itemLimit(n)
	n.mu.Unlock()
	if !allowed {
		m.fail(r.ev, core.ErrAuth, "forbidden", "", "", "you may not publish to this node")
		return
	}
	if payload == nil && (cfg.persistItems || cfg.deliverPayloads) {
		app := "item-required"
		if item != nil {
			app = "payload-required"
		}
		m.fail(r.ev, core.ErrModify, "bad-request", app, "", "")
		return
	}
	id := ""
	if item != nil {
		id = item.Attr("id")
	}
	if id == "" {
		id = randomID()
	}
	var raw []byte
	if payload != nil {
		raw = payload.AppendXML(nil, "")
	}
	if len(raw) > m.opts.maxItemBytes {
		m.fail(r.ev, core.ErrModify, "not-acceptable", "payload-too-big", "", "the item is over "+strconv.Itoa(m.opts.maxItemBytes)+" bytes")
		return
	}
	it := storage.NodeItem{ID: id, Publisher: r.from, Payload: raw}
	if cfg.persistItems {
		if _, err := m.items.Publish(n.owner, n.name, it, limit); err != nil {
			m.storeFailed(r, err)
			return
		}
	} else {
		// XEP-0060 §7.1.2: a transient node keeps nothing but the
		// last item, for presence-based delivery.
		if _, err := m.items.Publish(n.owner, n.name, it, 1); err != nil {
			m.storeFailed(r, err)
			return
		}
	}
	m.published.Inc()
	var b stanza.Builder
	b.Reset(nil).Start("pubsub").Attr("xmlns", NS).Start("publish").Attr("node", name).
		Start("item").Attr("id", id).End().End().End()
	m.api.Result(r.ev, b.Bytes())
	m.broadcast(r.ev.Origin, r.f, n, newItemEvent(r.f, n, it, payload))
	m.changed(r, &Change{Node: n.name, Published: toItem(it)})
}

// precondition returns why the publish-options do not match n's
// configuration, or "" (XEP-0060 §7.1.5).
func (m *Module) precondition(n *node, fields [][2]string) string {
	for _, fv := range fields {
		want := n.cfg
		if ok, why := want.set(fv[0], fv[1], m.opts.maxItemsLimit); !ok {
			return why
		}
		if !sameField(fv[0], n.cfg, want, m.opts.maxItemsLimit) {
			return "the node's " + fv[0] + " is not " + strconv.Quote(fv[1])
		}
	}
	return ""
}

func sameField(v string, a, b nodeConfig, limit int) bool {
	for i, f := range a.fields(limit) {
		if f[0] == v {
			return f[1] == b.fields(limit)[i][1]
		}
	}
	return true
}

// retract deletes an item (XEP-0060 §7.2).
func (m *Module) retract(r *request) {
	n := m.lookup(r)
	if n == nil {
		return
	}
	it := r.op.Child("", "item")
	if it == nil || it.Attr("id") == "" {
		m.fail(r.ev, core.ErrModify, "bad-request", "item-required", "", "")
		return
	}
	id := it.Attr("id")
	n.mu.Lock()
	aff := m.affiliation(r, n)
	cfg := n.cfg
	n.mu.Unlock()
	if aff != affOwner {
		old, found, err := m.items.Get(n.owner, n.name, id)
		if err != nil {
			m.storeFailed(r, err)
			return
		}
		if !found || (aff != affPublisher && aff != affPublishOnly) || old.Publisher != r.from {
			if aff != affPublisher && aff != affPublishOnly {
				m.fail(r.ev, core.ErrAuth, "forbidden", "", "", "you may not retract from this node")
				return
			}
		}
	}
	found, err := m.items.Retract(n.owner, n.name, id)
	if err != nil {
		m.storeFailed(r, err)
		return
	}
	if !found {
		m.fail(r.ev, core.ErrCancel, "item-not-found", "", "", "no such item")
		return
	}
	m.api.Result(r.ev, nil)
	notify, _ := parseBool(r.op.Attr("notify"))
	if notify || cfg.notifyRetract {
		m.broadcast(r.ev.Origin, r.f, n, newRetractEvent(r.f, n, id))
	}
	m.changed(r, &Change{Node: n.name, Retracted: id})
}

// itemsGet returns items (XEP-0060 §6.5): all, some by id, the newest
// max_items, or a page by RSM (XEP-0059).
func (m *Module) itemsGet(r *request) {
	n := m.lookup(r)
	if n == nil {
		return
	}
	n.mu.Lock()
	aff := m.affiliation(r, n)
	refused, pending := m.denied(r, n, r.from, aff)
	if !refused && pending && !m.mayRead(r.f, n, r.from) {
		refused = true
		m.fail(r.ev, core.ErrAuth, "not-authorized", "not-subscribed", "", "")
	}
	n.mu.Unlock()
	if refused {
		return
	}
	var items []storage.NodeItem
	var total int
	var err error
	var ids []string
	for _, c := range r.op.Children {
		if c.Elem != nil && c.Elem.Local == "item" && c.Elem.Attr("id") != "" {
			ids = append(ids, c.Elem.Attr("id"))
		}
	}
	set := r.payload.Child(nsRSM, "set")
	rsm := false
	switch {
	case len(ids) > 0:
		for _, id := range ids {
			it, found, gerr := m.items.Get(n.owner, n.name, id)
			if gerr != nil {
				err = gerr
				break
			}
			if found {
				items = append(items, it)
			}
		}
	case set != nil:
		rsm = true
		q := storage.NodeQuery{}
		if mx := set.Child(nsRSM, "max"); mx != nil {
			q.Limit, _ = strconv.Atoi(mx.Text())
		}
		if a := set.Child(nsRSM, "after"); a != nil {
			q.After = a.Text()
		}
		if bf := set.Child(nsRSM, "before"); bf != nil {
			q.Before = bf.Text()
			q.Reverse = true
			if q.Before == "" {
				q.Before = ""
			}
		}
		items, total, err = m.items.Items(n.owner, n.name, q)
		if q.Reverse {
			reverse(items)
		}
		if errors.Is(err, storage.ErrUnknownItem) {
			m.fail(r.ev, core.ErrCancel, "item-not-found", "", "", "no such item")
			return
		}
	default:
		q := storage.NodeQuery{Reverse: true}
		if mi := r.op.Attr("max_items"); mi != "" {
			k, cerr := strconv.Atoi(mi)
			if cerr != nil || k < 1 {
				m.fail(r.ev, core.ErrModify, "bad-request", "", "", "max_items must be a positive number")
				return
			}
			q.Limit = k
		}
		items, total, err = m.items.Items(n.owner, n.name, q)
		reverse(items)
	}
	if err != nil {
		m.storeFailed(r, err)
		return
	}
	var b stanza.Builder
	b.Reset(nil).Start("pubsub").Attr("xmlns", NS).Start("items").Attr("node", n.name)
	for _, it := range items {
		b.Start("item").Attr("id", it.ID)
		if r.f.pep || n.cfg.accessModel != accessOpen {
			// Publishers are known to who may read anyway.
		}
		b.Attr("publisher", it.Publisher).Raw(it.Payload).End()
	}
	b.End()
	if rsm {
		b.Start("set").Attr("xmlns", nsRSM)
		if len(items) > 0 {
			b.Start("first").Text(items[0].ID).End().Start("last").Text(items[len(items)-1].ID).End()
		}
		b.Start("count").Text(strconv.Itoa(total)).End().End()
	}
	b.End()
	m.api.Result(r.ev, b.Bytes())
}

func reverse(items []storage.NodeItem) {
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		items[i], items[j] = items[j], items[i]
	}
}

// ownerOnly answers forbidden unless the requester owns n.
func (m *Module) ownerOnly(r *request, n *node) bool {
	n.mu.Lock()
	aff := m.affiliation(r, n)
	n.mu.Unlock()
	if aff != affOwner {
		m.fail(r.ev, core.ErrAuth, "forbidden", "", "", "only the node's owner may do that")
		return false
	}
	return true
}

// purge deletes every item (XEP-0060 §8.5).
func (m *Module) purge(r *request) {
	n := m.lookup(r)
	if n == nil || !m.ownerOnly(r, n) {
		return
	}
	if _, err := m.items.Purge(n.owner, n.name); err != nil {
		m.storeFailed(r, err)
		return
	}
	m.api.Result(r.ev, nil)
	m.broadcast(r.ev.Origin, r.f, n, newNodeEvent(r.f, n, "purge", ""))
	m.changed(r, &Change{Node: n.name, Purged: true})
}

// deleteNode deletes a node and tells its subscribers, with the
// redirect URI when given (XEP-0060 §8.4).
func (m *Module) deleteNode(r *request) {
	n := m.lookup(r)
	if n == nil || !m.ownerOnly(r, n) {
		return
	}
	redirect := ""
	if rd := r.op.Child("", "redirect"); rd != nil {
		redirect = rd.Attr("uri")
	}
	if err := m.meta.Delete(n.owner, n.name); err != nil {
		m.storeFailed(r, err)
		return
	}
	if err := m.items.DeleteNode(n.owner, n.name); err != nil {
		m.storeFailed(r, err)
		return
	}
	m.mu.Lock()
	delete(m.nodes, nodeKey{n.owner, n.name})
	m.mu.Unlock()
	m.api.Result(r.ev, nil)
	n.mu.Lock()
	notify := n.cfg.notifyDelete
	n.mu.Unlock()
	if notify {
		m.broadcast(r.ev.Origin, r.f, n, newNodeEvent(r.f, n, "delete", redirect))
	}
	n.stopPacers()
	m.changed(r, &Change{Node: n.name, Deleted: true})
}

// configure returns or changes a node's configuration (XEP-0060 §8.2).
func (m *Module) configure(r *request) {
	n := m.lookup(r)
	if n == nil || !m.ownerOnly(r, n) {
		return
	}
	if !r.set {
		n.mu.Lock()
		fields := n.cfg.fields(m.opts.maxItemsLimit)
		n.mu.Unlock()
		var b stanza.Builder
		b.Reset(nil).Start("pubsub").Attr("xmlns", NSOwner).Start("configure").Attr("node", n.name)
		writeForm(&b, "form", formNode, fields)
		b.End().End()
		m.api.Result(r.ev, b.Bytes())
		return
	}
	fields, ft, ok := formFields(r.op)
	if !ok || (ft != "" && ft != formNode) {
		m.fail(r.ev, core.ErrModify, "bad-request", "", "", "a "+formNode+" form is needed")
		return
	}
	n.mu.Lock()
	cfg := n.cfg
	for _, fv := range fields {
		if ok, why := cfg.set(fv[0], fv[1], m.opts.maxItemsLimit); !ok {
			n.mu.Unlock()
			m.fail(r.ev, core.ErrModify, "not-acceptable", "", "", why)
			return
		}
	}
	old := n.cfg
	n.cfg = cfg
	if err := m.save(n); err != nil {
		n.cfg = old
		n.mu.Unlock()
		m.storeFailed(r, err)
		return
	}
	limit := m.itemLimit(n)
	n.mu.Unlock()
	if _, err := m.items.Trim(n.owner, n.name, limit); err != nil {
		m.api.Log().Error("trimming a node", "node", n.name, "err", err)
	}
	m.api.Result(r.ev, nil)
}

// defaultConfig returns the default node configuration (XEP-0060 §8.3).
func (m *Module) defaultConfig(r *request) {
	cfg := m.defaults(r.f)
	var b stanza.Builder
	b.Reset(nil).Start("pubsub").Attr("xmlns", NSOwner).Start("default")
	writeForm(&b, "form", formNode, cfg.fields(m.opts.maxItemsLimit))
	b.End().End()
	m.api.Result(r.ev, b.Bytes())
}
