package offline_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"xmppd/internal/modules/offline"
	"xmppd/internal/xmpptest"
)

func start(t *testing.T, extra string, users ...string) *xmpptest.Server {
	t.Helper()
	s := xmpptest.Start(t, extra)
	for _, u := range users {
		s.AddUser(t, u, "pw")
	}
	return s
}

// TestStoredAndDeliveredWithDelay: chat and normal messages to an account
// with no session wait for its initial presence and come in order with a
// delay stamp from the server; headlines are not kept; a second login gets
// nothing again.
func TestStoredAndDeliveredWithDelay(t *testing.T) {
	s := start(t, "", "alice", "bob")
	a := login(t, s, "alice", "desk")
	before := time.Now().UTC().Add(-time.Second)
	a.Send(t, "<message to='bob@localhost' type='chat' id='m1'><body>one</body></message>")
	a.Send(t, "<message to='bob@localhost' id='m2'><body>two</body></message>")
	a.Send(t, "<message to='bob@localhost' type='headline' id='m3'><body>news</body></message>")
	a.Send(t, "<message to='bob@localhost/gone' type='chat' id='m4'><body>three</body></message>")
	a.None(t, "error", func(n *node) bool { return n.Attr("type") == "error" })

	b := login(t, s, "bob", "phone")
	// No presence, no messages: a session that is not available gets none
	// (RFC 6121 §8.5.2.1.1).
	b.None(t, "message before presence", func(n *node) bool { return n.XMLName.Local == "message" })
	b.Send(t, "<presence/>")
	var bodies []string
	for range 3 {
		m := b.Next(t, "stored message", func(n *node) bool { return n.XMLName.Local == "message" })
		bodies = append(bodies, m.Child("", "body").Text)
		d := m.Child(offline.NSDelay, "delay")
		if d == nil {
			t.Fatalf("no delay on %+v", m)
		}
		if d.Attr("from") != "localhost" {
			t.Errorf("delay from %q, want localhost", d.Attr("from"))
		}
		stamp, err := time.Parse(time.RFC3339, d.Attr("stamp"))
		if err != nil || stamp.Before(before) || stamp.After(time.Now().Add(time.Second)) {
			t.Errorf("delay stamp %q (%v)", d.Attr("stamp"), err)
		}
		if m.Attr("from") != a.JID {
			t.Errorf("from %q", m.Attr("from"))
		}
	}
	if !slices.Equal(bodies, []string{"one", "two", "three"}) {
		t.Fatalf("got %q, want one, two, three in order", bodies)
	}
	b.None(t, "headline", message("news"))

	// Exactly once: another session's initial presence gets nothing.
	b2 := login(t, s, "bob", "tablet")
	b2.Send(t, "<presence/>")
	b2.None(t, "message", func(n *node) bool { return n.XMLName.Local == "message" })
}

// TestNegativePriority: a session with negative priority gets no messages
// for the bare JID, so it does not empty the store; its change to a
// non-negative priority does.
func TestNegativePriority(t *testing.T) {
	s := start(t, "", "alice", "bob")
	a := login(t, s, "alice", "desk")
	a.Send(t, "<message to='bob@localhost' type='chat'><body>later</body></message>")
	a.Sync(t)
	b := login(t, s, "bob", "phone")
	b.Send(t, "<presence><priority>-1</priority></presence>")
	b.None(t, "message at priority -1", message("later"))
	b.Send(t, "<presence><priority>1</priority></presence>")
	b.Next(t, "stored message", message("later"))
}

// TestQuota: past max_offline the sender gets resource-constraint, of type
// wait, and the message is not kept.
func TestQuota(t *testing.T) {
	s := start(t, "config module 'offline'\n\toption max_offline '2'\n", "alice", "bob")
	a := login(t, s, "alice", "desk")
	for i := range 3 {
		a.Send(t, fmt.Sprintf("<message to='bob@localhost' type='chat' id='q%d'><body>%d</body></message>", i, i))
	}
	e := a.Next(t, "error", func(n *node) bool { return n.Attr("type") == "error" })
	if e.Attr("id") != "q2" {
		t.Fatalf("error for %q, want q2", e.Attr("id"))
	}
	if typ, cond := e.Condition(); typ != "wait" || cond != "resource-constraint" {
		t.Fatalf("error %s/%s, want wait/resource-constraint", typ, cond)
	}
	b := login(t, s, "bob", "phone")
	b.Send(t, "<presence/>")
	b.Next(t, "first", message("0"))
	b.Next(t, "second", message("1"))
	b.None(t, "refused message", message("2"))
	// Delivered messages free the quota.
	a.Send(t, "<message to='bob@localhost/gone' type='chat' id='q3'><body>3</body></message>")
	b.Next(t, "message to a gone resource", message("3"))
}

// TestNotKept: no account, chat states without a body, no-store hints and
// groupchat are not stored.
func TestNotKept(t *testing.T) {
	s := start(t, "", "alice", "bob")
	a := login(t, s, "alice", "desk")
	a.Send(t, "<message to='nobody@localhost' type='chat' id='n1'><body>x</body></message>")
	e := a.Next(t, "error", errorFor("n1"))
	if _, cond := e.Condition(); cond != "service-unavailable" {
		t.Fatalf("to an unknown account: %s, want service-unavailable", cond)
	}
	a.Send(t, "<message to='bob@localhost' type='chat' id='n2'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
	a.Send(t, "<message to='bob@localhost' type='chat' id='n3'><body>secret</body><no-store xmlns='urn:xmpp:hints'/></message>")
	a.Send(t, "<message to='bob@localhost' type='groupchat' id='n4'><body>room</body></message>")
	a.Send(t, "<message to='bob@localhost' type='chat' id='n5'><body>kept</body></message>")
	a.None(t, "error for a chat state or hint", func(n *node) bool {
		return n.Attr("type") == "error" && n.Attr("id") != "n4"
	})
	b := login(t, s, "bob", "phone")
	b.Send(t, "<presence/>")
	m := b.Next(t, "stored message", func(n *node) bool { return n.XMLName.Local == "message" })
	if m.Attr("id") != "n5" {
		t.Fatalf("first stored message is %q, want n5 only", m.Attr("id"))
	}
	b.None(t, "other message", func(n *node) bool { return n.XMLName.Local == "message" })
}

// TestStoredAcrossRestart: what was stored is there after the server
// stops and starts on the same data.
func TestStoredAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := xmpptest.StartIn(t, dir, "")
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	a := login(t, s, "alice", "desk")
	a.Send(t, "<message to='bob@localhost' type='chat'><body>kept</body></message>")
	a.Sync(t)
	s.Stop()
	s2 := xmpptest.StartIn(t, dir, "")
	b := login(t, s2, "bob", "phone")
	b.Send(t, "<presence/>")
	b.Next(t, "stored message", message("kept"))
}

// TestDisco: msgoffline is advertised while the module is loaded; on a
// host that disables it, there is no feature and a message to an account
// without a session bounces.
func TestDisco(t *testing.T) {
	s := start(t, "")
	if !slices.Contains(s.Host("localhost").Features(), offline.Feature) {
		t.Fatal("msgoffline not advertised")
	}
	s2 := start(t, "config host 'localhost'\n\tlist modules_disabled 'offline'\n", "alice", "bob")
	if slices.Contains(s2.Host("localhost").Features(), offline.Feature) {
		t.Fatal("msgoffline advertised by a host without the module")
	}
	a := login(t, s2, "alice", "desk")
	a.Send(t, "<message to='bob@localhost' type='chat' id='d1'><body>x</body></message>")
	e := a.Next(t, "error", errorFor("d1"))
	if _, cond := e.Condition(); cond != "service-unavailable" {
		t.Fatalf("without offline storage: %s, want service-unavailable", cond)
	}
}
