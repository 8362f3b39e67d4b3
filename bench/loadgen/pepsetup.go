package main

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// The setup of the pep scenario: what every client answers while it runs,
// and the subscriptions made before the measured phase.

func bareJID(j []byte) string {
	if i := bytes.IndexByte(j, '/'); i >= 0 {
		j = j[:i]
	}
	return string(j)
}

// read dispatches what a client receives until its connection ends: it
// accepts subscription requests, answers disco#info as XEP-0115 asks,
// notes presences for the setup, and counts notifications.
func (p *pepClient) read() {
	r := p.run
	for {
		el, err := p.c.stanza()
		if err != nil {
			return
		}
		switch {
		case nameIs(el, "message"):
			if ev := child(el, "event"); ev != nil {
				p.notification(ev)
			}
		case nameIs(el, "presence"):
			from, _ := attr(el, "from")
			switch t := attrString(el, "type"); t {
			case "subscribe":
				p.c.write([]byte("<presence type='subscribed' to=" + quoted([]byte(bareJID(from))) + "/>"))
			case "", "subscribed":
				r.presence(p, bareJID(from), t == "")
			}
		case nameIs(el, "iq"):
			p.iq(el)
		}
	}
}

// presence notes an available presence or a subscription approval that
// client p got. Approvals count as well as presence: a server need not
// send presence along with one when the subscription already existed (a
// repeated run).
func (r *pepRun) presence(p *pepClient, from string, available bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case from == p.bare:
	case p == r.pub:
		r.pubHas[from] = true
		if available {
			r.capsSeen[from]++
		}
	case from == r.pubBare:
		r.subHas[p.bare] = true
	}
}

func (p *pepClient) iq(el []byte) {
	r := p.run
	id, _ := attr(el, "id")
	from, _ := attr(el, "from")
	switch t := attrString(el, "type"); {
	case (t == "result" || t == "error") && p == r.pub && bytes.HasPrefix(id, []byte("pub")):
		cond := ""
		if t == "error" {
			cond = errorCondition(el)
		}
		r.acks <- cond
	case (t == "result" || t == "error") && p == r.pub && string(id) == "info":
		r.infos <- bytes.Clone(el)
	case t == "get" && bytes.Contains(attrOf(child(el, "query"), "xmlns"), []byte("disco#info")):
		node, _ := attr(child(el, "query"), "node")
		p.c.write(discoInfoReply(replyAttrs(from, id), string(node), pepNode))
		r.mu.Lock()
		r.lastDisco = time.Now()
		r.mu.Unlock()
	case t == "set" && bytes.Contains(attrOf(child(el, "query"), "xmlns"), []byte("jabber:iq:roster")),
		t == "get" && child(el, "ping") != nil:
		p.c.write([]byte("<iq type='result'" + replyAttrs(from, id) + "/>"))
	case t == "get" || t == "set":
		p.c.write([]byte("<iq type='error'" + replyAttrs(from, id) +
			"><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"))
	}
}

// replyAttrs addresses an answer to an iq: to its sender, when it names
// one (a server may leave out its own address), with its id.
func replyAttrs(from, id []byte) string {
	a := " id=" + quoted(id)
	if len(from) > 0 {
		a = " to=" + quoted(from) + a
	}
	return a
}

// waitFor polls cond until it holds or the setup timeout passes.
func (r *pepRun) waitFor(what string, cond func() (bool, string)) error {
	deadline := time.Now().Add(setupTimeout)
	for {
		r.mu.Lock()
		ok, state := cond()
		r.mu.Unlock()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("setup: %s: %s after %v", what, state, setupTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// accountHasPEP asks the server about the publisher's own account: a PEP
// service shows as identity pubsub/pep or the publish feature (XEP-0163
// §6.1).
func (r *pepRun) accountHasPEP() (bool, error) {
	r.pub.c.write([]byte("<iq type='get' id='info' to='" + r.pubBare + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"))
	select {
	case el := <-r.infos:
		if attrString(el, "type") != "result" {
			return false, nil
		}
		for _, c := range children(child(el, "query")) {
			switch {
			case nameIs(c, "identity") && attrString(c, "category") == "pubsub" && attrString(c, "type") == "pep",
				nameIs(c, "feature") && attrString(c, "var") == "http://jabber.org/protocol/pubsub#publish":
				return true, nil
			}
		}
		return false, nil
	case <-time.After(setupTimeout):
		return false, errors.New("setup: no answer to disco#info on the publisher's account")
	}
}

// subscribe makes the publisher and every subscriber subscribe to each
// other (the readers accept), then has each subscriber send its caps
// presence again once both directions stand, so that the server's PEP
// service sees it from a contact it may notify. It returns when the
// publisher has that presence from everyone and the server has stopped
// asking for disco#info. A subscription counts as standing once its
// approval or the contact's presence has come back.
func (r *pepRun) subscribe() error {
	for _, s := range r.subs {
		r.pub.c.write([]byte("<presence type='subscribe' to='" + s.bare + "'/>"))
		s.c.write([]byte("<presence type='subscribe' to='" + r.pubBare + "'/>"))
	}
	err := r.waitFor("mutual subscription", func() (bool, string) {
		n, m := 0, 0
		for _, s := range r.subs {
			if r.pubHas[s.bare] {
				n++
			}
			if r.subHas[s.bare] {
				m++
			}
		}
		return n == len(r.subs) && m == len(r.subs),
			fmt.Sprintf("the publisher is subscribed to %d of %d subscribers, %d to the publisher", n, len(r.subs), m)
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	before := make(map[string]int, len(r.subs))
	for _, s := range r.subs {
		before[s.bare] = r.capsSeen[s.bare]
	}
	r.mu.Unlock()
	caps := []byte("<presence>" + capsElement(pepNode) + "</presence>")
	for _, s := range r.subs {
		s.c.write(caps)
	}
	err = r.waitFor("caps presence", func() (bool, string) {
		n := 0
		for _, s := range r.subs {
			if r.capsSeen[s.bare] > before[s.bare] {
				n++
			}
		}
		return n == len(r.subs), fmt.Sprintf("the publisher saw it from %d of %d", n, len(r.subs))
	})
	if err != nil {
		return err
	}
	// A server learns caps by asking a subscriber, possibly after
	// forwarding the presence, and answers the rest from its cache: give
	// it a quiet moment after the presences and after the last question.
	const quiet = 300 * time.Millisecond
	seen := time.Now()
	return r.waitFor("disco#info", func() (bool, string) {
		return time.Since(seen) > quiet && time.Since(r.lastDisco) > quiet, "the server kept asking"
	})
}
