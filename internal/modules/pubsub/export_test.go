package pubsub

import (
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/storage"
)

// FanoutFunc makes a service node with the given full JIDs subscribed and
// returns what publishes one item to it and notifies, for benchmarks.
func FanoutFunc(h *core.Host, subscribers []string) (func(), error) {
	m, _ := core.ServiceOf[*Module](h, Service)
	f := face{owner: serviceID, jid: jid.MustParse("pubsub." + h.Name)}
	n, err := m.newNode(f, "bench", "pub@"+h.Name, m.defaults(f))
	if err != nil {
		return nil, err
	}
	for _, s := range subscribers {
		n.subs[s] = newSubscription(s, "x", subSubscribed)
	}
	it := storage.NodeItem{ID: "current", Publisher: "pub@" + h.Name,
		Payload: []byte("<load xmlns='urn:xmppd:monitor'><avg1>0.42</avg1></load>")}
	return func() { m.broadcast(nil, f, n, newItemEvent(f, n, it, nil)) }, nil
}
