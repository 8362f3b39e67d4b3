package blocking_test

import (
	"slices"
	"strings"
	"testing"

	"xmppd/internal/modules/blocking"
	"xmppd/internal/xmpptest"
)

func start(t *testing.T, extra string) *xmpptest.Server {
	t.Helper()
	s := xmpptest.Start(t, extra)
	for _, u := range []string{"alice", "bob", "carol"} {
		s.AddUser(t, u, "pw")
	}
	return s
}

// iq sends an iq and returns its answer.
func (c *client) iq(t *testing.T, id, body string) node {
	t.Helper()
	c.Send(t, body)
	return c.Next(t, "answer to "+id, func(n *node) bool { return n.XMLName.Local == "iq" && n.Attr("id") == id })
}

// blocklist returns the JIDs of the blocklist, retrieving it.
func (c *client) blocklist(t *testing.T) []string {
	t.Helper()
	r := c.iq(t, "bl", "<iq type='get' id='bl'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
	l := r.Child(blocking.NS, "blocklist")
	if r.Attr("type") != "result" || l == nil {
		t.Fatalf("blocklist answered %+v", r)
	}
	var out []string
	for _, it := range l.Nodes {
		out = append(out, it.Attr("jid"))
	}
	slices.Sort(out)
	return out
}

// push waits for a blocklist push of name and returns its JIDs.
func (c *client) push(t *testing.T, name string) []string {
	t.Helper()
	p := c.Next(t, name+" push", func(n *node) bool { return n.XMLName.Local == "iq" && n.Child(blocking.NS, name) != nil })
	if p.Attr("type") != "set" {
		t.Fatalf("push of type %q", p.Attr("type"))
	}
	var out []string
	for _, it := range p.Child(blocking.NS, name).Nodes {
		out = append(out, it.Attr("jid"))
	}
	slices.Sort(out)
	return out
}

func presenceFrom(from, typ string) func(n *node) bool {
	return func(n *node) bool {
		return n.XMLName.Local == "presence" && n.Attr("from") == from && n.Attr("type") == typ
	}
}

// TestBlocklist: block, unblock and unblock all change the list, which
// survives a restart, and every session that retrieved the list gets the
// changes pushed.
func TestBlocklist(t *testing.T) {
	dir := t.TempDir()
	s := xmpptest.StartIn(t, dir, "")
	s.AddUser(t, "alice", "pw")
	a1 := login(t, s, "alice", "one")
	a2 := login(t, s, "alice", "two")
	if l := a1.blocklist(t); len(l) != 0 {
		t.Fatalf("new blocklist %q", l)
	}
	if l := a2.blocklist(t); len(l) != 0 {
		t.Fatalf("new blocklist %q", l)
	}
	r := a1.iq(t, "b1", "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/><item jid='example.net'/></block></iq>")
	if r.Attr("type") != "result" {
		t.Fatalf("block answered %+v", r)
	}
	if got := a2.push(t, "block"); !slices.Equal(got, []string{"bob@localhost", "example.net"}) {
		t.Fatalf("block push %q", got)
	}
	if got := a2.blocklist(t); !slices.Equal(got, []string{"bob@localhost", "example.net"}) {
		t.Fatalf("blocklist %q", got)
	}
	a1.iq(t, "u1", "<iq type='set' id='u1'><unblock xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></unblock></iq>")
	if got := a2.push(t, "unblock"); !slices.Equal(got, []string{"bob@localhost"}) {
		t.Fatalf("unblock push %q", got)
	}
	a1.iq(t, "b2", "<iq type='set' id='b2'><block xmlns='urn:xmpp:blocking'><item jid='carol@localhost/phone'/></block></iq>")
	a2.push(t, "block")

	s.Stop()
	s2 := xmpptest.StartIn(t, dir, "")
	a3 := login(t, s2, "alice", "three")
	if got := a3.blocklist(t); !slices.Equal(got, []string{"carol@localhost/phone", "example.net"}) {
		t.Fatalf("blocklist after restart %q", got)
	}
	a4 := login(t, s2, "alice", "four")
	a4.blocklist(t)
	a3.iq(t, "u2", "<iq type='set' id='u2'><unblock xmlns='urn:xmpp:blocking'/></iq>")
	if got := a4.push(t, "unblock"); len(got) != 0 {
		t.Fatalf("unblock all pushed %q", got)
	}
	if got := a4.blocklist(t); len(got) != 0 {
		t.Fatalf("blocklist after unblock all %q", got)
	}
}

// TestRequestErrors: the errors XEP-0191 and RFC 6120 name for requests
// the module cannot take.
func TestRequestErrors(t *testing.T) {
	s := start(t, "config module 'blocking'\n\toption max_items '2'\n")
	a := login(t, s, "alice", "one")
	for _, c := range []struct{ req, typ, cond string }{
		{"<iq type='set' id='x'><blocklist xmlns='urn:xmpp:blocking'/></iq>", "modify", "bad-request"},
		{"<iq type='get' id='x'><block xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></block></iq>", "modify", "bad-request"},
		{"<iq type='set' id='x'><block xmlns='urn:xmpp:blocking'/></iq>", "modify", "bad-request"},
		{"<iq type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid='@bad'/></block></iq>", "modify", "jid-malformed"},
		{"<iq type='set' id='x'><block xmlns='urn:xmpp:blocking'><item jid='a@x'/><item jid='b@x'/><item jid='c@x'/></block></iq>", "wait", "resource-constraint"},
	} {
		e := a.iq(t, "x", c.req)
		if typ, cond := e.Condition(); typ != c.typ || cond != c.cond {
			t.Errorf("%s: %s/%s, want %s/%s", c.req, typ, cond, c.typ, c.cond)
		}
	}
	if l := a.blocklist(t); len(l) != 0 {
		t.Fatalf("refused requests changed the list: %q", l)
	}
}

// subscribe makes a and b subscribed to each other's presence.
func subscribe(t *testing.T, a, b *client, aBare, bBare string) {
	t.Helper()
	a.Send(t, "<presence to='"+bBare+"' type='subscribe'/>")
	b.Next(t, "subscription request", presenceFrom(aBare, "subscribe"))
	b.Send(t, "<presence to='"+aBare+"' type='subscribed'/>")
	b.Send(t, "<presence to='"+aBare+"' type='subscribe'/>")
	a.Next(t, "subscription request", presenceFrom(bBare, "subscribe"))
	a.Send(t, "<presence to='"+bBare+"' type='subscribed'/>")
	a.Sync(t)
	b.Sync(t)
}

// TestEnforced: once alice blocks bob, bob sees her go offline, gets no
// presence or message from her, and his messages and iq requests bounce as
// from an absent account; hers to him bounce with <blocked/>. Carol is not
// affected, and an unblock gives bob alice's presence again.
func TestEnforced(t *testing.T) {
	s := start(t, "")
	a := login(t, s, "alice", "one")
	b := login(t, s, "bob", "two")
	c := login(t, s, "carol", "three")
	for _, x := range []*client{a, b, c} {
		x.iq(t, "r", "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>")
		x.Send(t, "<presence/>")
	}
	subscribe(t, a, b, "alice@localhost", "bob@localhost")
	a.Send(t, "<presence/>")
	b.Send(t, "<presence/>")
	b.Next(t, "alice's presence", presenceFrom(a.JID, ""))
	a.Next(t, "bob's presence", presenceFrom(b.JID, ""))

	a.iq(t, "b1", "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></block></iq>")
	b.Next(t, "alice's unavailable presence", presenceFrom(a.JID, "unavailable"))

	// From bob to alice.
	b.Send(t, "<message to='alice@localhost' type='chat' id='m1'><body>hi</body></message>")
	e := b.Next(t, "error", errorFor("m1"))
	if typ, cond := e.Condition(); typ != "cancel" || cond != "service-unavailable" {
		t.Errorf("message to blocker: %s/%s, want cancel/service-unavailable", typ, cond)
	}
	b.Send(t, "<iq to='"+a.JID+"' type='get' id='q1'><ping xmlns='urn:xmpp:ping'/></iq>")
	e = b.Next(t, "error", errorFor("q1"))
	if _, cond := e.Condition(); cond != "service-unavailable" {
		t.Errorf("iq to blocker: %s, want service-unavailable", cond)
	}
	b.Send(t, "<presence><status>changed</status></presence>")
	b.Sync(t)
	a.None(t, "stanza from bob", func(n *node) bool { return n.Attr("from") == b.JID || n.Attr("from") == "bob@localhost" })

	// From alice to bob.
	a.Send(t, "<message to='bob@localhost' type='chat' id='m2'><body>hi</body></message>")
	e = a.Next(t, "error", errorFor("m2"))
	if typ, cond := e.Condition(); typ != "cancel" || cond != "not-acceptable" || e.Child("", "error").Child(blocking.NSErrors, "blocked") == nil {
		t.Errorf("message to blocked: %s/%s %+v, want cancel/not-acceptable with <blocked/>", typ, cond, e)
	}
	a.Send(t, "<presence><status>away</status></presence>")
	a.Sync(t)
	b.None(t, "stanza from alice", func(n *node) bool { return n.Attr("from") == a.JID || n.Attr("from") == "alice@localhost" })

	// Carol still reaches alice.
	c.Send(t, "<message to='alice@localhost' type='chat' id='m3'><body>carol</body></message>")
	a.Next(t, "carol's message", func(n *node) bool { return n.Attr("id") == "m3" })

	a.iq(t, "u1", "<iq type='set' id='u1'><unblock xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></unblock></iq>")
	p := b.Next(t, "alice's presence after unblock", presenceFrom(a.JID, ""))
	if st := p.Child("", "status"); st == nil || st.Text != "away" {
		t.Errorf("presence after unblock %+v", p)
	}
	b.Send(t, "<message to='alice@localhost' type='chat' id='m4'><body>again</body></message>")
	a.Next(t, "bob's message after unblock", func(n *node) bool { return n.Attr("id") == "m4" })
}

// TestDomainItem: a domain/resource item blocks that resource of every
// account of the domain (XEP-0016 §2.1).
func TestDomainItem(t *testing.T) {
	s := start(t, "")
	a := login(t, s, "alice", "one")
	b := login(t, s, "bob", "two")
	a.Send(t, "<presence/>")
	r := a.iq(t, "b1", "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='localhost/"+b.JID[strings.Index(b.JID, "/")+1:]+"'/></block></iq>")
	if r.Attr("type") != "result" {
		t.Fatalf("block answered %+v", r)
	}
	b.Send(t, "<message to='alice@localhost' type='chat' id='m1'><body>hi</body></message>")
	e := b.Next(t, "error", errorFor("m1"))
	if _, cond := e.Condition(); cond != "service-unavailable" {
		t.Errorf("domain/resource item: %s", cond)
	}
	a.None(t, "message from bob", func(n *node) bool { return n.Attr("id") == "m1" })
}
