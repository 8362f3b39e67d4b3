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
	c.Send("<iq type='get' id='" + id + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	return c.Expect("id='" + id + "'")
}

// pair logs juliet (the phone, which goes inactive) and romeo in.
func pair(t *testing.T, extra string) (s *xmpptest.Server, j, r *rawClient) {
	s = xmpptest.Start(t, plainUCI+extra)
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	j = dial(t, s)
	if f := j.Auth("juliet", "balcony"); !strings.Contains(f, "<csi xmlns='urn:xmpp:csi:0'/>") {
		t.Fatalf("no <csi/> in the features after authentication: %s", f)
	}
	j.Bind("phone")
	j.Send("<presence/>")
	r = dial(t, s)
	r.Login("romeo", "orchard", "r")
	return s, j, r
}

// TestInactiveHoldsUntilMessage: while inactive, presence updates (the
// latest per contact) and chat states wait; iqs do not; a message with a
// body brings them, in order, before itself.
func TestInactiveHoldsUntilMessage(t *testing.T) {
	_, j, r := pair(t, "")
	j.Send(inactive)
	sync(j, "in")
	j.Take()
	r.Send(presence("first"))
	r.Send(composing)
	r.Send(presence("second"))
	r.Send("<presence to='juliet@localhost' type='subscribe'/>")
	sync(r, "r1")
	if got := sync(j, "quiet"); strings.Contains(got, "<status>") || strings.Contains(got, "composing") {
		t.Fatalf("an inactive client got %q", got)
	}
	if got := j.Take(); !strings.Contains(got, "type='subscribe'") {
		t.Fatalf("a subscription request was held back: %q", got)
	}
	r.Send("<message to='juliet@localhost/phone' type='chat'><body>wake up</body></message>")
	j.Expect("wake up")
	got := j.Expect("</message>")
	if strings.Contains(got, "first") {
		t.Fatalf("a superseded presence was sent: %q", got)
	}
	c, p, b := strings.Index(got, "composing"), strings.Index(got, "second"), strings.Index(got, "wake up")
	if c < 0 || p < 0 || !(c < p && p < b) {
		t.Fatalf("want the chat state, the latest presence, then the message; got %q", got)
	}
	// Still inactive: the next update waits again.
	j.Take()
	r.Send(presence("third"))
	sync(r, "r2")
	if got := sync(j, "quiet2"); strings.Contains(got, "third") {
		t.Fatalf("an inactive client got %q", got)
	}
}

// TestActiveFlushes: <active/> sends what was held, and from then on
// nothing waits.
func TestActiveFlushes(t *testing.T) {
	_, j, r := pair(t, "")
	j.Send(inactive)
	sync(j, "in")
	r.Send(presence("away"))
	sync(r, "r1")
	j.Take()
	j.Send(active)
	j.Expect("<status>away</status>")
	j.Take()
	r.Send(presence("back"))
	j.Expect("<status>back</status>")
}

// TestHeldBound: when max_held stanzas wait, they all go; a newer
// presence from the same contact takes the place of the older one.
func TestHeldBound(t *testing.T) {
	_, j, r := pair(t, "config module 'csi'\n\toption max_held '2'\n")
	j.Send(inactive)
	sync(j, "in")
	j.Take()
	r.Send(presence("s0"))
	r.Send(presence("s1"))
	sync(r, "r1")
	if got := sync(j, "quiet"); strings.Contains(got, "<status>") {
		t.Fatalf("flushed before the bound: %q", got)
	}
	r.Send(composing)
	got := j.Expect("composing")
	if !strings.Contains(got, "<status>s1</status>") || strings.Contains(got, "s0") {
		t.Fatalf("at the bound got %q", got)
	}
}

// TestDetachedFlushes: what an inactive client was held when its
// connection died goes into stream management's unacknowledged stanzas,
// and arrives when the session is resumed.
func TestDetachedFlushes(t *testing.T) {
	s, j, r := pair(t, "")
	j.Send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	got := j.Expect("max='")
	id := got[strings.Index(got, "id='")+4:]
	id = id[:strings.Index(id, "'")]
	j.Send(inactive)
	sync(j, "in") // the one stanza juliet gets after <enable/>
	r.Send(presence("held"))
	sync(r, "r1")
	j.C.Close()
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
	j2.Auth("juliet", "balcony")
	j2.Send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='1'/>")
	j2.Expect("<resumed")
	j2.Expect("<status>held</status>")
	// Resumed streams start active.
	r.Send(presence("live"))
	j2.Expect("<status>live</status>")
}
