package carbons_test

import (
	"slices"
	"testing"

	"xmppd/internal/modules/carbons"
	"xmppd/internal/xmpptest"
)

// online logs user in as resource, sends initial presence and, when
// enable is set, enables carbons.
func online(t *testing.T, s *xmpptest.Server, user, resource string, enable bool) *client {
	t.Helper()
	c := login(t, s, user, resource)
	c.Send(t, "<presence/>")
	if enable {
		c.Send(t, "<iq type='set' id='on'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
		r := c.Next(t, "answer to enable", func(n *node) bool { return n.Attr("id") == "on" })
		if r.Attr("type") != "result" {
			t.Fatalf("enable answered %+v", r)
		}
	}
	c.Sync(t)
	return c
}

// forwarded returns the message a carbon of direction dir carries, or nil.
func forwarded(n *node, dir string) *node {
	return n.Child(carbons.NS, dir).Child(carbons.NSForward, "forwarded").Child("jabber:client", "message")
}

// carbon matches a carbon of direction dir whose forwarded body is body.
func carbon(dir, body string) func(n *node) bool {
	return func(n *node) bool {
		f := forwarded(n, dir)
		return n.XMLName.Local == "message" && f != nil && f.Child("", "body") != nil && f.Child("", "body").Text == body
	}
}

func anyMessage(n *node) bool { return n.XMLName.Local == "message" }

func start(t *testing.T) *xmpptest.Server {
	t.Helper()
	s := xmpptest.Start(t, "")
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	return s
}

// TestCopies: what one resource receives and sends reaches the account's
// other carbon-enabled resources as <received/> and <sent/> forwards from
// the bare JID, and nothing goes to the sender itself or to a resource
// that did not enable carbons.
func TestCopies(t *testing.T) {
	s := start(t)
	a1 := online(t, s, "alice", "one", true)
	a2 := online(t, s, "alice", "two", true)
	a3 := online(t, s, "alice", "three", false)
	b := online(t, s, "bob", "b", false)

	b.Send(t, "<message to='"+a1.JID+"' type='chat' id='r1'><body>hello</body></message>")
	a1.Next(t, "the message", func(n *node) bool { return anyMessage(n) && n.Child("", "body") != nil })
	c := a2.Next(t, "received carbon", carbon("received", "hello"))
	// mellium shows a 'from' of the account's own bare JID as none.
	if (c.Attr("from") != "alice@localhost" && c.Attr("from") != "") || c.Attr("to") != a2.JID {
		t.Errorf("carbon from %q to %q", c.Attr("from"), c.Attr("to"))
	}
	if f := forwarded(&c, "received"); f.Attr("from") != b.JID || f.Attr("to") != a1.JID || f.Attr("id") != "r1" {
		t.Errorf("forwarded message %+v", f)
	}
	a3.None(t, "copy without carbons enabled", anyMessage)

	a1.Send(t, "<message to='bob@localhost' type='chat' id='s1'><body>hi bob</body><x xmlns='urn:xmppd:test'><y a='1'/></x></message>")
	b.Next(t, "alice's message", func(n *node) bool { return anyMessage(n) && n.Attr("id") == "s1" })
	c = a2.Next(t, "sent carbon", carbon("sent", "hi bob"))
	if f := forwarded(&c, "sent"); f.Attr("from") != a1.JID || f.Attr("to") != "bob@localhost" {
		t.Errorf("forwarded message %+v", f)
	} else if y := f.Child("urn:xmppd:test", "x").Child("urn:xmppd:test", "y"); y == nil || y.Attr("a") != "1" {
		t.Errorf("the extension lost its namespace or attributes: %+v", f)
	}
	a1.None(t, "copy to the sender", anyMessage)
	a3.None(t, "copy without carbons enabled", anyMessage)
}

// TestNotCopied: <private/>, <no-copy/>, normal messages without a body,
// headlines, and messages to the bare JID that every resource receives
// anyway get no carbon; a resource that disabled carbons gets none.
func TestNotCopied(t *testing.T) {
	s := start(t)
	a1 := online(t, s, "alice", "one", true)
	a2 := online(t, s, "alice", "two", true)
	b := online(t, s, "bob", "b", false)

	a1.Send(t, "<message to='bob@localhost' type='chat'><body>p</body><private xmlns='urn:xmpp:carbons:2'/></message>")
	a1.Send(t, "<message to='bob@localhost' type='chat'><body>nc</body><no-copy xmlns='urn:xmpp:hints'/></message>")
	a1.Send(t, "<message to='bob@localhost' id='rcpt'><received xmlns='urn:xmpp:receipts' id='x'/></message>")
	a1.Send(t, "<message to='bob@localhost' type='headline'><body>h</body></message>")
	a1.Sync(t)
	a2.None(t, "carbon", anyMessage)

	// To the bare JID both resources get the message itself, once.
	b.Send(t, "<message to='alice@localhost' type='chat'><body>both</body></message>")
	a1.Next(t, "the message", func(n *node) bool { return anyMessage(n) && n.Child("", "body") != nil })
	a2.Next(t, "the message", func(n *node) bool { return anyMessage(n) && n.Child("", "body") != nil })
	a2.None(t, "second copy", anyMessage)

	a2.Send(t, "<iq type='set' id='off'><disable xmlns='urn:xmpp:carbons:2'/></iq>")
	if r := a2.Next(t, "answer to disable", func(n *node) bool { return n.Attr("id") == "off" }); r.Attr("type") != "result" {
		t.Fatalf("disable answered %+v", r)
	}
	a1.Send(t, "<message to='bob@localhost' type='chat'><body>after</body></message>")
	a1.Sync(t)
	a2.None(t, "carbon after disable", anyMessage)

	// A normal message with a body is copied.
	a2.Send(t, "<iq type='set' id='on2'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	a2.Next(t, "answer to enable", func(n *node) bool { return n.Attr("id") == "on2" })
	a1.Send(t, "<message to='bob@localhost'><body>normal</body></message>")
	a2.Next(t, "carbon of a normal message", carbon("sent", "normal"))
}

// TestEnableErrors: enable and disable take an iq set only.
func TestEnableErrors(t *testing.T) {
	s := start(t)
	a := login(t, s, "alice", "one")
	a.Send(t, "<iq type='get' id='g'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	e := a.Next(t, "error", errorFor("g"))
	if typ, cond := e.Condition(); typ != "modify" || cond != "bad-request" {
		t.Fatalf("get enable: %s/%s, want modify/bad-request", typ, cond)
	}
	if !slices.Contains(s.Host("localhost").Features(), carbons.NS) {
		t.Fatal("urn:xmpp:carbons:2 not advertised")
	}
}
