package pubsub

import (
	"errors"
	"fmt"

	"xmppd/internal/jid"
	"xmppd/internal/stanza"
	"xmppd/internal/storage"
)

// Errors of the local API, for callers that must say exactly why (the
// device monitor, the admin socket behind `xmppd publish`).
var (
	ErrNoAccount  = errors.New("no such account")
	ErrNoNode     = errors.New("no such node")
	ErrBadPayload = errors.New("payload not well-formed")
	ErrTooBig     = errors.New("payload too big")
	ErrTooMany    = errors.New("too many nodes")
)

// Item is a stored item as the local API returns it.
type Item struct {
	ID        string
	Publisher string
	Payload   []byte
}

// pepFace is the PEP service of account, an account of this host.
func (m *Module) pepFace(account jid.JID) (face, error) {
	if account.Local() == "" || account.Domain() != m.host.Name ||
		!m.api.Server().Accounts.Exists(account.Domain(), account.Local()) {
		return face{}, ErrNoAccount
	}
	b := account.Bare()
	return face{pep: true, owner: b.Local(), jid: b.Clone()}, nil
}

// PublishPEP publishes payload, one XML element, as item id (a random one
// when empty) to the PEP node of account as the account itself would,
// creating the node with the PEP defaults on first publish (XEP-0163 §3),
// and notifies as a publish from a client does. It returns the item's id.
func (m *Module) PublishPEP(account jid.JID, node, id string, payload []byte) (string, error) {
	return m.PublishPEPOptions(account, node, id, payload, nil)
}

// PublishPEPOptions is PublishPEP with publish-options (XEP-0060 §7.1.5):
// pubsub#node_config fields as var, value pairs, applied to the node when
// this publish creates it and ignored when it exists. A module publishing
// on a client's behalf (bookmarks) creates the node as the client's own
// publish-options would.
func (m *Module) PublishPEPOptions(account jid.JID, node, id string, payload []byte, options [][2]string) (string, error) {
	f, err := m.pepFace(account)
	if err != nil {
		return "", err
	}
	if node == "" {
		return "", ErrNoNode
	}
	el, err := stanza.Parse(payload, nil, nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	raw := el.AppendXML(nil, "")
	if len(raw) > m.opts.maxItemBytes {
		return "", fmt.Errorf("%w: over %d bytes", ErrTooBig, m.opts.maxItemBytes)
	}
	n, err := m.node(f.owner, node)
	if err != nil {
		return "", err
	}
	if n == nil {
		cfg := m.defaults(f)
		for _, fv := range options {
			if ok, why := cfg.set(fv[0], fv[1], m.opts.maxItemsLimit); !ok {
				return "", fmt.Errorf("publish-options: %s", why)
			}
		}
		n, err = m.newNode(f, node, f.jid.String(), cfg)
		if errors.Is(err, errExists) {
			n, err = m.node(f.owner, node)
		}
		if errors.Is(err, errTooMany) {
			return "", ErrTooMany
		}
		if err != nil {
			return "", err
		}
	}
	n.mu.Lock()
	limit := m.itemLimit(n)
	if !n.cfg.persistItems {
		limit = 1 // XEP-0060 §7.1.2: the last item only, for presence-based delivery
	}
	n.mu.Unlock()
	if id == "" {
		id = randomID()
	}
	it := storage.NodeItem{ID: id, Publisher: f.jid.String(), Payload: raw}
	if _, err := m.items.Publish(n.owner, n.name, it, limit); err != nil {
		return "", err
	}
	m.published.Inc()
	m.broadcast(nil, f, n, newItemEvent(f, n, it, el))
	return id, nil
}

// ItemsPEP returns the newest max items of account's PEP node (all of
// them when max <= 0), oldest first.
func (m *Module) ItemsPEP(account jid.JID, node string, max int) ([]Item, error) {
	f, err := m.pepFace(account)
	if err != nil {
		return nil, err
	}
	n, err := m.node(f.owner, node)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, ErrNoNode
	}
	q := storage.NodeQuery{Reverse: true}
	if max > 0 {
		q.Limit = max
	}
	items, _, err := m.items.Items(n.owner, n.name, q)
	if err != nil {
		return nil, err
	}
	reverse(items)
	out := make([]Item, len(items))
	for i, it := range items {
		out[i] = Item{ID: it.ID, Publisher: it.Publisher, Payload: it.Payload}
	}
	return out, nil
}
