package csi_test

import (
	"strings"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

const (
	inactive  = "<inactive xmlns='urn:xmpp:csi:0'/>"
	active    = "<active xmlns='urn:xmpp:csi:0'/>"
	composing = "<message to='juliet@localhost/phone' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"
)

// presence is a directed presence from romeo with status s.
func presence(s string) string {
	return "<presence to='juliet@localhost/phone'><status>" + s + "</status></presence>"
}

// sync makes c's stanzas so far routed: the ping's answer comes after them.
func sync(c *rawClient, id string) string {
	c.send("<iq type='get' id='" + id + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	return c.expect("id='" + id + "'")
}

// pair logs juliet (the phone, which goes inactive) and romeo in.
func pair(t *testing.T, extra string) (s *xmpptest.Server, j, r *rawClient) {
	s = xmpptest.Start(t, plainUCI+extra)
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	j = dial(t, s)
	if f := j.auth("juliet", "balcony"); !strings.Contains(f, "<csi xmlns='urn:xmpp:csi:0'/>") {
		t.Fatalf("no <csi/> in the features after authentication: %s", f)
	}
	j.bind("phone")
	j.send("<presence/>")
	r = dial(t, s)
	r.login("romeo", "orchard", "r")
	return s, j, r
}

// TestInactiveHoldsUntilMessage: while inactive, presence updates (the
// latest per contact) and chat states wait; iqs do not; a message with a
// body brings them, in order, before itself.
func TestInactiveHoldsUntilMessage(t *testing.T) {
	_, j, r := pair(t, "")
	j.send(inactive)
	sync(j, "in")
	j.take()
	r.send(presence("first"))
	r.send(composing)
	r.send(presence("second"))
	r.send("<presence to='juliet@localhost' type='subscribe'/>")
	sync(r, "r1")
	if got := sync(j, "quiet"); strings.Contains(got, "<status>") || strings.Contains(got, "composing") {
		t.Fatalf("an inactive client got %q", got)
	}
	if got := j.take(); !strings.Contains(got, "type='subscribe'") {
		t.Fatalf("a subscription request was held back: %q", got)
	}
	r.send("<message to='juliet@localhost/phone' type='chat'><body>wake up</body></message>")
	j.expect("wake up")
	got := j.expect("</message>")
	if strings.Contains(got, "first") {
		t.Fatalf("a superseded presence was sent: %q", got)
	}
	c, p, b := strings.Index(got, "composing"), strings.Index(got, "second"), strings.Index(got, "wake up")
	if c < 0 || p < 0 || !(c < p && p < b) {
		t.Fatalf("want the chat state, the latest presence, then the message; got %q", got)
	}
	// Still inactive: the next update waits again.
	j.take()
	r.send(presence("third"))
	sync(r, "r2")
	if got := sync(j, "quiet2"); strings.Contains(got, "third") {
		t.Fatalf("an inactive client got %q", got)
	}
}

// TestActiveFlushes: <active/> sends what was held, and from then on
// nothing waits.
func TestActiveFlushes(t *testing.T) {
	_, j, r := pair(t, "")
	j.send(inactive)
	sync(j, "in")
	r.send(presence("away"))
	sync(r, "r1")
	j.take()
	j.send(active)
	j.expect("<status>away</status>")
	j.take()
	r.send(presence("back"))
	j.expect("<status>back</status>")
}

// TestHeldBound: when max_held stanzas wait, they all go; a newer
// presence from the same contact takes the place of the older one.
func TestHeldBound(t *testing.T) {
	_, j, r := pair(t, "config module 'csi'\n\toption max_held '2'\n")
	j.send(inactive)
	sync(j, "in")
	j.take()
	r.send(presence("s0"))
	r.send(presence("s1"))
	sync(r, "r1")
	if got := sync(j, "quiet"); strings.Contains(got, "<status>") {
		t.Fatalf("flushed before the bound: %q", got)
	}
	r.send(composing)
	got := j.expect("composing")
	if !strings.Contains(got, "<status>s1</status>") || strings.Contains(got, "s0") {
		t.Fatalf("at the bound got %q", got)
	}
}

// TestDetachedFlushes: what an inactive client was held when its
// connection died goes into stream management's unacknowledged stanzas,
// and arrives when the session is resumed.
func TestDetachedFlushes(t *testing.T) {
	s, j, r := pair(t, "")
	j.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	got := j.expect("max='")
	id := got[strings.Index(got, "id='")+4:]
	id = id[:strings.Index(id, "'")]
	j.send(inactive)
	sync(j, "in") // the one stanza juliet gets after <enable/>
	r.send(presence("held"))
	sync(r, "r1")
	j.c.Close()
	h := s.Host("localhost")
	deadline := time.Now().Add(10 * time.Second)
	for _, sess := range h.AllSessions() {
		for sess.JID.Resource() == "phone" && sess.Link() != nil {
			if time.Now().After(deadline) {
				t.Fatal("the connection's end was not noticed")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	j2 := dial(t, s)
	j2.auth("juliet", "balcony")
	j2.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='1'/>")
	j2.expect("<resumed")
	j2.expect("<status>held</status>")
	// Resumed streams start active.
	r.send(presence("live"))
	j2.expect("<status>live</status>")
}
