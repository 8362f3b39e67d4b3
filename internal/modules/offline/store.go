package offline

import (
	"log/slog"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/stanza"
	"xmppd/internal/storage"
)

// Namespaces the module reads or writes.
const (
	NSDelay      = "urn:xmpp:delay"                        // XEP-0203
	NSHints      = "urn:xmpp:hints"                        // XEP-0334
	NSChatStates = "http://jabber.org/protocol/chatstates" // XEP-0085
)

// page is how many stored messages one step of a hand-over reads, sends and
// deletes: a full store of large messages is never held in memory at once.
const page = 50

// onMessage stores a chat or normal message that no session took. It runs
// in the sender's stanza processing and writes with an fsync before it
// returns, so anything the sender sees after it (an iq answer, a stream
// management ack) comes after the message is on disk.
func (m *Module) onMessage(ev *core.Event) bool {
	st := ev.Stanza
	switch string(st.Type()) {
	case "", "normal", "chat":
	default:
		// RFC 6121 §8.5.2.1.2, §8.5.2.2.1: headline and error are dropped,
		// groupchat is refused; the fallback does either.
		return false
	}
	to := ev.To
	if to.Local() == "" || !m.srv.Accounts.Exists(ev.Host.Name, to.Local()) {
		return false // nobody to keep it for: service-unavailable
	}
	tree, err := st.Tree()
	if err != nil {
		return false
	}
	if !worthKeeping(tree) {
		return true
	}
	user := to.Local()
	mu := lock(ev.Host.Name, user)
	defer mu.Unlock()
	_, n, err := m.store.Find(user, storage.Query{Limit: 1})
	if err != nil {
		m.fail("counting", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return true
	}
	if n >= m.max {
		// XEP-0160 §4: a full offline store refuses with
		// resource-constraint, which the sender may retry later.
		m.refused.Inc()
		m.api.Error(ev, core.ErrWait, "resource-constraint", "the recipient's offline storage is full")
		return true
	}
	if _, err := m.store.Append(user, time.Now(), ev.From.String(), st.AppendStamped(nil, ev.From.String())); err != nil {
		m.fail("storing", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return true
	}
	m.ok()
	m.stored.Inc()
	return true
}

// worthKeeping says whether a message is worth a place in the store: a
// <no-store/> hint (XEP-0334 §4) says no, and a chat state without a body
// is stale by the time anyone reads it (XEP-0085 §5.6); both are dropped
// without an error, as a bounce would only tell the sender the contact is
// offline, which presence already did.
func worthKeeping(msg *stanza.Element) bool {
	if msg.Child(NSHints, "store") != nil {
		return true
	}
	if msg.Child(NSHints, "no-store") != nil {
		return false
	}
	if msg.Child("", "body") != nil {
		return true
	}
	for _, n := range msg.Children {
		if n.Elem != nil && n.Elem.Space == NSChatStates {
			return false
		}
	}
	return true
}

// onAvailable hands the stored messages to a session at its first
// available presence with a non-negative priority (RFC 6121 §8.5.2.1.1:
// only such resources get messages for the bare JID).
func (m *Module) onAvailable(ev *core.Event) bool {
	s := ev.Origin
	if s == nil || !s.Available() || s.Priority() < 0 || s.Get(m.flushed) != nil {
		return false
	}
	s.Set(m.flushed, true)
	m.handOver(s)
	return false
}

// handOver sends s its account's stored messages, oldest first, each with
// a delay stamp (XEP-0203), and deletes each page once it has gone to the
// session's outbound path. A crash between the two sends the page again
// on the next login: a duplicate is better than a loss. It holds the
// account's lock, so a message arriving meanwhile is stored after the
// ones being handed over, not between them.
func (m *Module) handOver(s *core.Session) {
	user, domain := s.JID.Local(), s.Host.Name
	mu := lock(domain, user)
	defer mu.Unlock()
	for {
		items, _, err := m.store.Find(user, storage.Query{Limit: page})
		if err != nil {
			m.fail("reading", err)
			return
		}
		if len(items) == 0 {
			return
		}
		for _, it := range items {
			p, err := withDelay(it.Payload, domain, it.When)
			if err != nil {
				// Unreadable bytes can never be delivered: dropping them
				// keeps them from blocking every later message.
				m.api.Log().Error("offline: a stored message does not parse; dropped", "user", user, "err", err)
				continue
			}
			// Send flushes each one: a page queued at once could pass the
			// connection's output bound and cut the session off.
			s.Send(p)
			m.delivered.Inc()
		}
		// Appends wait for the lock, so the oldest len(items) are the
		// ones just sent.
		if _, err := m.store.Delete(user, storage.Query{Limit: len(items)}); err != nil {
			m.fail("deleting", err)
			return
		}
		if len(items) < page {
			return
		}
	}
}

// withDelay returns the stored message with <delay/> from the server
// domain and the time it was stored (XEP-0160 §3, XEP-0203 §3).
func withDelay(raw []byte, domain string, when time.Time) ([]byte, error) {
	st, err := stanza.Reparse(raw, stanza.NSClient)
	if err != nil {
		return nil, err
	}
	tree, err := st.Tree()
	if err != nil {
		return nil, err
	}
	tree.AddChild(stanza.NewElement(NSDelay, "delay", "from", domain,
		"stamp", when.UTC().Format("2006-01-02T15:04:05.000Z")))
	return tree.AppendXML(nil, stanza.NSClient), nil
}

// fail reports a storage error in the log and the module's status.
func (m *Module) fail(what string, err error) {
	m.api.Log().Error("offline: "+what+" failed", "err", err)
	if m.failing.CompareAndSwap(false, true) {
		m.api.SetStatus(slog.LevelError, what+" offline messages failed: "+err.Error())
	}
}

// ok clears a failure status after a write that worked.
func (m *Module) ok() {
	if m.failing.CompareAndSwap(true, false) {
		m.api.SetStatus(slog.LevelInfo, "offline storage works again")
	}
}
