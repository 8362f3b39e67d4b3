package core

import (
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// Targets of a stanza, as they appear in event names: "<kind>/<target>",
// and for iq get and set first "<kind>/<target>/<namespace>:<name>" of the
// payload (Prosody's naming, so its module docs read across).
const (
	TargetSelf = "self" // no 'to', or the sender's own bare JID
	TargetBare = "bare" // a local account's bare JID
	TargetFull = "full" // a local full JID
	TargetHost = "host" // the server itself
)

// EventRouteRemote fires on the server bus for a stanza to a domain this
// server does not serve; Event.To is the destination. Server-to-server
// federation takes it there; until a handler does, the stanza bounces
// with remote-server-not-found (RFC 6120 §10.4.3).
const EventRouteRemote = "route/remote"

// OutEvent names the event fired on the sender's host for every stanza a
// local session sends, before it is routed, whatever its destination:
// "message/out". Carbons and archiving see messages to anyone there; a
// handler that returns true stops the stanza.
func OutEvent(kind stanza.Kind) string { return kind.String() + "/out" }

// outKeys are OutEvent's names, made once: the router fires them per stanza.
var outKeys = [...]string{stanza.Message: "message/out", stanza.Presence: "presence/out", stanza.IQ: "iq/out"}

// Route takes a stanza from a bound local session and hands it to the
// destination host's handlers; what none of them takes gets the RFC 6120
// §10 / RFC 6121 §8 default. The sender's full JID is the 'from', whatever
// the client wrote (RFC 6120 §8.1.2.1).
func (srv *Server) Route(origin *Session, st *stanza.Stanza) {
	ev := &origin.work().ev
	*ev = Event{Origin: origin, Stanza: st, From: origin.JID, Host: origin.Host}
	if st.Kind == stanza.Other {
		return
	}
	srv.Metrics.countIn(st.Kind)
	if origin.Host.Events.Fire(outKeys[st.Kind], ev) {
		return
	}
	srv.route(ev, origin.w, origin.Host)
}

// RouteFrom routes a stanza the server or a component makes, from from,
// without a session: a component's notifications, a server-sent iq, a
// message from an admin command. from must be a JID of a host of this
// server. It is safe for concurrent use.
func (srv *Server) RouteFrom(from jid.JID, st *stanza.Stanza) {
	if st.Kind == stanza.Other {
		return
	}
	src := srv.Host(from.Domain())
	if src == nil {
		return
	}
	w := works.Get().(*work)
	ev := &w.ev
	*ev = Event{Stanza: st, From: from, Host: src}
	srv.route(ev, w, src)
	w.flushTouched()
	putWork(w)
}

// route resolves ev's destination from its stanza's 'to' and dispatches
// it there; home is the sender's host, where a missing 'to' goes.
func (srv *Server) route(ev *Event, w *work, home *Host) {
	st := ev.Stanza
	origin := ev.Origin
	h := home
	target := TargetSelf
	if raw := st.To(); raw != nil {
		to, err := jid.View(raw)
		if err != nil {
			srv.Bounce(origin, st, ev.From, jid.JID{}, ErrModify, "jid-malformed", "")
			return
		}
		ev.To = to
		if to.Domain() != h.Name {
			if h = srv.Host(to.Domain()); h == nil {
				srv.remote(ev)
				return
			}
		}
		switch {
		case to.Local() == "":
			target = TargetHost
		case to.Resource() != "":
			target = TargetFull
		case origin == nil || to.Local() != origin.JID.Local() || h != origin.Host:
			target = TargetBare
		}
	}
	if target == TargetSelf {
		if origin == nil {
			// Nothing to be "self" for: a server's stanza with no 'to' is
			// for the server.
			ev.To, target = jid.JID{}, TargetHost
		} else {
			ev.To = origin.JID.Bare()
		}
	}
	ev.Host = h
	srv.dispatch(ev, target, w)
}

// remote hands a stanza for a domain this server does not serve to
// federation, or bounces it: the one place that decides.
func (srv *Server) remote(ev *Event) {
	if srv.Events.Fire(EventRouteRemote, ev) {
		return
	}
	srv.Bounce(ev.Origin, ev.Stanza, ev.To, ev.From, ErrCancel, "remote-server-not-found", "")
}

// dispatch fires the events for ev's stanza on ev.Host and applies the
// default when nobody takes it. w's key buffer holds the event name, so no
// name is allocated per stanza.
func (srv *Server) dispatch(ev *Event, target string, w *work) {
	st := ev.Stanza
	h := ev.Host
	key := w.key[:0]
	key = append(key, st.Kind.String()...)
	key = append(key, '/')
	key = append(key, target...)
	typ := st.Type()
	if st.Kind == stanza.IQ && (string(typ) == "get" || string(typ) == "set") && st.HasChild() {
		n := len(key)
		key = append(key, '/')
		key = append(key, st.ChildSpace()...)
		key = append(key, ':')
		key = append(key, st.ChildName()...)
		if _, handled := h.Events.fireKey(key, ev); handled {
			w.key = key[:0]
			return
		}
		key = key[:n]
	}
	_, handled := h.Events.fireKey(key, ev)
	if !handled && target == TargetSelf {
		key = append(key[:len(key)-len(target)], TargetBare...)
		_, handled = h.Events.fireKey(key, ev)
	}
	w.key = key[:0]
	if !handled {
		srv.fallback(ev, target)
	}
}

// fallback is what happens to a stanza no handler took.
func (srv *Server) fallback(ev *Event, target string) {
	st := ev.Stanza
	typ := string(st.Type())
	switch st.Kind {
	case stanza.IQ:
		// RFC 6120 §8.2.3: get and set must be answered; results and errors never.
		if typ == "get" || typ == "set" {
			srv.Bounce(ev.Origin, st, ev.To, ev.From, ErrCancel, "service-unavailable", "")
		}
	case stanza.Message:
		// RFC 6121 §8.5.2.2.1 / §8.5.3.2.1: no resource to take it.
		if typ != "error" && typ != "groupchat" && typ != "headline" && target != TargetHost {
			srv.Bounce(ev.Origin, st, ev.To, ev.From, ErrCancel, "service-unavailable", "")
		}
	}
	// Presence nobody wanted is dropped silently (RFC 6121 §8.5.2.2.2).
}

// Deliver sends st to session t with 'from' stamped, and 'to' left as the
// sender wrote it. origin is the session whose input is being processed, or
// nil; its scratch buffer and batch are used.
func (srv *Server) Deliver(origin *Session, t *Session, st *stanza.Stanza, from jid.JID) {
	var buf []byte
	if origin != nil {
		buf = origin.work().scratch[:0]
	}
	buf = st.AppendStamped(buf, from.String())
	t.SendWithin(origin, buf)
	if origin != nil {
		origin.w.scratch = buf[:0]
	}
}
