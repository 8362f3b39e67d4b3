package smacks

import (
	"slices"
	"strconv"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// detached claims a session that enabled resumption when its connection
// dies: it stays bound, keeping what is sent to it, for its hibernation
// time (XEP-0198 §5). Sessions without resumption are left to end.
func (m *Module) detached(ev *core.Event) bool {
	st := stateOf(ev.Origin)
	if st == nil || st.id == "" || st.failed.Load() || m.stopping.Load() {
		return false
	}
	m.mu.Lock()
	if m.byID[st.id] != st {
		m.mu.Unlock()
		return false
	}
	st.hibernating, st.since = true, time.Now()
	st.gen++
	gen := st.gen
	m.hibernate[st] = struct{}{}
	st.timer = time.AfterFunc(st.max, func() {
		m.api.Log().Debug("hibernation over", "jid", st.sess.JID.String())
		m.end(st, gen)
	})
	m.mu.Unlock()
	m.api.Log().Debug("session hibernating", "jid", ev.Origin.JID.String(), "for", st.max)
	m.trim(st)
	return true
}

// trim ends the oldest hibernated sessions while there are more than
// max_hibernated of them or they keep more than hibernation_memory bytes;
// keep is spared (the one that just started hibernating), unless it is
// the only one left.
func (m *Module) trim(keep *state) {
	m.mu.Lock()
	list := make([]*state, 0, len(m.hibernate))
	for st := range m.hibernate {
		list = append(list, st)
	}
	m.mu.Unlock()
	slices.SortFunc(list, func(a, b *state) int { return a.since.Compare(b.since) })
	var total int64
	sizes := make([]int64, len(list))
	for i, st := range list {
		for _, p := range st.sess.Unacked() {
			sizes[i] += int64(len(p))
		}
		total += sizes[i]
	}
	n := len(list)
	for i, st := range list {
		if n <= m.o.maxHibernated && total <= m.o.memory {
			break
		}
		if st == keep && n == 1 {
			break
		}
		if st == keep {
			continue
		}
		m.api.Log().Info("hibernated session ended early: too many hibernate", "jid", st.sess.JID.String(),
			"sessions", n, "bytes", total)
		m.end(st, 0)
		n--
		total -= sizes[i]
	}
}

// end ends a hibernated session, if it still hibernates (and, unless gen
// is 0, has not been resumed and hibernated again since gen): it is
// unbound, and unbound routes again what it did not acknowledge.
func (m *Module) end(st *state, gen uint64) {
	m.mu.Lock()
	if !st.hibernating || (gen != 0 && st.gen != gen) {
		m.mu.Unlock()
		return
	}
	m.forget(st)
	m.mu.Unlock()
	m.expired.Inc()
	// Detached: Close unbinds it.
	st.sess.Close("", "")
}

// forget drops st from the registry and stops its hibernation. The
// module's lock is held.
func (m *Module) forget(st *state) {
	if st.id != "" && m.byID[st.id] == st {
		delete(m.byID, st.id)
	}
	delete(m.hibernate, st)
	st.hibernating = false
	st.gen++
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
}

// unbound handles the end of a session that enabled stream management,
// however it ended: the messages it did not acknowledge are routed again
// (to another resource, to offline storage, or back to their sender as an
// error), and any sent to it from now on too.
func (m *Module) unbound(ev *core.Event) bool {
	s := ev.Origin
	st := stateOf(s)
	if st == nil {
		return false
	}
	st.dead.Store(true)
	m.mu.Lock()
	m.forget(st)
	m.mu.Unlock()
	m.reroute(s, s.Unacked())
	s.KeepUnacked(0)
	return false
}

// reroute routes again the messages with a body among kept, stanzas a
// session that ended did not acknowledge, as their sender sent them:
// another available resource of the account gets them, or offline
// storage (XEP-0160), or the sender an error, as for any message to an
// account without that resource (RFC 6121 §8.5.3.2.1). A message to the
// bare JID that another available resource received already is not sent
// again. Carbons and archive results (from the account itself), errors,
// groupchat and headlines are not routed again.
func (m *Module) reroute(s *core.Session, kept [][]byte) {
	var others *bool
	for _, p := range kept {
		if len(p) < 8 || string(p[:8]) != "<message" {
			continue
		}
		st, err := stanza.Reparse(p, stanza.NSClient)
		if err != nil {
			continue
		}
		switch string(st.Type()) {
		case "error", "groupchat", "headline":
			continue
		}
		tree, err := st.Tree()
		if err != nil || tree.Child(stanza.NSClient, "body") == nil {
			continue
		}
		from, err := jid.ParseBytes(st.From())
		if err != nil || from.Equal(s.JID.Bare()) || m.srv.Host(from.Domain()) == nil {
			continue
		}
		to, err := jid.ParseBytes(st.To())
		if err != nil {
			continue
		}
		if to.IsBare() {
			if others == nil {
				v := m.otherAvailable(s)
				others = &v
			}
			if *others {
				continue
			}
		}
		m.rerouted.Inc()
		m.srv.RouteFrom(from, st)
	}
}

// otherAvailable reports whether another resource of s's account would
// have received what was sent to the bare JID (RFC 6121 §8.5.2.1.1).
func (m *Module) otherAvailable(s *core.Session) bool {
	found := false
	s.Host.Sessions(s.JID.Local(), func(o *core.Session) {
		if o != s && o.Available() && o.Priority() >= 0 {
			found = true
		}
	})
	return found
}

// resumeBound refuses <resume/> on a stream that is bound already
// (XEP-0198 §5: resumption replaces binding).
func (m *Module) resumeBound(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	ev.Origin.SendFor(ev.Origin, appendFailed("unexpected-request", nil))
	return true
}

// resume moves a resumable session of the authenticated account to this
// stream (XEP-0198 §5): <resumed/> with our count, then every stanza the
// client did not acknowledge, in order.
func (m *Module) resume(ev *core.Event) bool {
	strm, ok := ev.Data.(core.Stream)
	if !ok || ev.Origin == nil {
		return false
	}
	tree, err := ev.Stanza.Tree()
	if err != nil {
		strm.Send(appendFailed("bad-request", nil))
		return true
	}
	h, ok := parseH(tree.Attr("h"))
	previd := tree.Attr("previd")
	if !ok || previd == "" {
		strm.Send(appendFailed("bad-request", nil))
		return true
	}
	m.mu.Lock()
	st := m.byID[previd]
	if st == nil || st.failed.Load() || st.sess.Host != ev.Origin.Host || !st.sess.JID.Bare().Equal(ev.Origin.JID.Bare()) {
		m.mu.Unlock()
		// Another account's id is as unknown as an expired one.
		m.failedResumes.Inc()
		strm.Send(appendFailed("item-not-found", nil))
		return true
	}
	m.forget(st)
	m.mu.Unlock()

	old := st.sess
	st.startResume()
	if l := old.Link(); l != nil {
		// The client is back before its old connection was found dead:
		// that one ends, and concerns nobody once detached.
		old.Attach(nil)
		l.Close("conflict", "the session was resumed on another stream")
	}
	if err := old.Ack(st.base.Load() + h); err != nil {
		// XEP-0198 §5: the client acknowledges more than it was sent.
		st.failed.Store(true)
		in := st.in.Load()
		var b stanza.Builder
		b.Reset(nil).Start("failed").Attr("xmlns", NS).Attr("h", strconv.FormatUint(uint64(in), 10))
		b.Start("undefined-condition").Attr("xmlns", stanza.NSStanzas).End()
		b.Start("handled-count-too-high").Attr("xmlns", NS).Attr("h", strconv.FormatUint(uint64(h), 10)).
			Attr("send-count", strconv.FormatUint(uint64(st.sent()), 10)).End()
		strm.Send(b.Bytes())
		m.failedResumes.Inc()
		st.release()
		old.Close("", "")
		return true
	}
	st.acked.Store(h)
	st.pending.Store(false)
	var b stanza.Builder
	b.Reset(nil).Start("resumed").Attr("xmlns", NS).Attr("previd", st.id).
		Attr("h", strconv.FormatUint(uint64(st.in.Load()), 10))
	strm.Send(b.Bytes())
	if err := strm.Adopt(old); err != nil {
		m.api.Log().Warn("cannot resume", "jid", old.JID.String(), "err", err)
		st.release()
		strm.Fail("internal-server-error", "")
		old.Close("", "")
		return true
	}
	// What the client did not acknowledge goes out again before what
	// waited while the session moved.
	resent := old.Resend()
	st.release()
	if st.id != "" {
		m.mu.Lock()
		if !st.dead.Load() {
			m.byID[st.id] = st
		}
		m.mu.Unlock()
	}
	m.resumed.Inc()
	m.api.Log().Debug("session resumed", "jid", old.JID.String(), "resent", resent)
	return true
}

// startResume makes stanzas for the session wait while it moves.
func (st *state) startResume() {
	st.mu.Lock()
	st.resuming = true
	st.mu.Unlock()
}

// hold keeps a copy of p while the session moves; false otherwise.
func (st *state) hold(p []byte) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.resuming {
		return false
	}
	st.held = append(st.held, append([]byte(nil), p...))
	return true
}

// release sends what waited while the session moved, in order; what
// arrives meanwhile waits behind it.
func (st *state) release() {
	for {
		st.mu.Lock()
		held := st.held
		st.held = nil
		if len(held) == 0 {
			st.resuming = false
			st.mu.Unlock()
			return
		}
		st.mu.Unlock()
		for _, p := range held {
			// Past the filters already (this one is the last).
			st.sess.SendUnfiltered(p)
		}
	}
}
