package lastactivity_test

import (
	"slices"
	"strconv"
	"testing"

	"xmppd/internal/modules/lastactivity"
	"xmppd/internal/modules/roster"
	"xmppd/internal/xmpptest"
)

// online logs user in and sends initial presence.
func online(t *testing.T, s *xmpptest.Server, user, resource string) *xmpptest.Client {
	t.Helper()
	c := xmpptest.Login(t, s, user, "pw", resource)
	c.Send(t, "<presence/>")
	c.Sync(t)
	return c
}

// ask sends a last activity query with id to to and returns the answer.
func ask(t *testing.T, c *xmpptest.Client, id, to string) xmpptest.Node {
	t.Helper()
	toAttr := ""
	if to != "" {
		toAttr = " to='" + to + "'"
	}
	c.Send(t, "<iq type='get' id='"+id+"'"+toAttr+"><query xmlns='jabber:iq:last'/></iq>")
	return c.Next(t, "answer to "+id, func(n *xmpptest.Node) bool {
		return n.XMLName.Local == "iq" && n.Attr("id") == id
	})
}

// seconds returns the seconds and text of a result, failing on an error.
func seconds(t *testing.T, n xmpptest.Node) (int, string) {
	t.Helper()
	q := n.Child(lastactivity.NS, "query")
	if n.Attr("type") != "result" || q == nil {
		t.Fatalf("not a last activity result: %+v", n)
	}
	secs, err := strconv.Atoi(q.Attr("seconds"))
	if err != nil || secs < 0 {
		t.Fatalf("seconds %q", q.Attr("seconds"))
	}
	return secs, q.Text
}

func condition(t *testing.T, n xmpptest.Node, want string) {
	t.Helper()
	if _, c := n.Condition(); n.Attr("type") != "error" || c != want {
		t.Fatalf("got %s %q, want error %s", n.Attr("type"), c, want)
	}
}

// TestLastActivity: a subscribed contact learns 0 while the account is
// online, then the time and status of its last logout, which survive a
// restart; strangers get forbidden, for the bare and full JIDs alike.
func TestLastActivity(t *testing.T) {
	dir := t.TempDir()
	s := xmpptest.StartIn(t, dir, "")
	for _, u := range []string{"juliet", "romeo", "stranger"} {
		s.AddUser(t, u, "pw")
	}
	juliet := online(t, s, "juliet", "balcony")
	second := online(t, s, "juliet", "garden")
	romeo := online(t, s, "romeo", "orchard")
	stranger := online(t, s, "stranger", "street")

	romeo.Send(t, "<presence to='juliet@localhost' type='subscribe'/>")
	juliet.Next(t, "subscribe", func(n *xmpptest.Node) bool { return n.Attr("type") == "subscribe" })
	juliet.Send(t, "<presence to='romeo@localhost' type='subscribed'/>")
	romeo.Next(t, "subscribed", func(n *xmpptest.Node) bool { return n.Attr("type") == "subscribed" })

	if secs, text := seconds(t, ask(t, romeo, "l1", "juliet@localhost")); secs != 0 || text != "" {
		t.Fatalf("online: %d %q, want 0 and no text", secs, text)
	}
	condition(t, ask(t, stranger, "l2", "juliet@localhost"), "forbidden")
	condition(t, ask(t, stranger, "l3", "juliet@localhost/balcony"), "forbidden")
	condition(t, ask(t, romeo, "l4", "nobody@localhost"), "service-unavailable")

	// One resource leaves: another is still available, so still 0.
	second.Send(t, "<presence type='unavailable'><status>not this one</status></presence>")
	second.Sync(t)
	if secs, _ := seconds(t, ask(t, romeo, "l5", "juliet@localhost")); secs != 0 {
		t.Fatalf("one resource left: %d", secs)
	}
	juliet.Send(t, "<presence type='unavailable'><status>Gone fishing</status></presence>")
	juliet.Sync(t)
	secs, text := seconds(t, ask(t, romeo, "l6", "juliet@localhost"))
	if text != "Gone fishing" || secs > 5 {
		t.Fatalf("after logout: %d %q", secs, text)
	}

	s.Stop()
	s = xmpptest.StartIn(t, dir, "")
	romeo = online(t, s, "romeo", "orchard")
	if _, text := seconds(t, ask(t, romeo, "l7", "juliet@localhost")); text != "Gone fishing" {
		t.Fatalf("after restart: %q", text)
	}
	// The account itself may ask, with or without its bare JID: online, 0.
	juliet = online(t, s, "juliet", "balcony")
	if secs, _ := seconds(t, ask(t, juliet, "l8", "")); secs != 0 {
		t.Fatalf("self: %d", secs)
	}
	if !slices.Contains(s.Host("localhost").AccountFeatures(), lastactivity.NS) {
		t.Fatal("jabber:iq:last is not among the account features")
	}

	// A contact's account that never logged out: nothing to say.
	r := roster.For(s.Host("localhost"))
	s.AddUser(t, "fresh", "pw")
	if _, _, err := r.Update(nil, "fresh", "romeo@localhost", func(it *roster.Item) bool {
		it.Subscription, it.Hidden = roster.From, false
		return true
	}); err != nil {
		t.Fatal(err)
	}
	condition(t, ask(t, romeo, "l9", "fresh@localhost"), "item-not-found")
}

// TestDisabled: without the module, nothing is advertised on accounts and
// the query is not answered.
func TestDisabled(t *testing.T) {
	s := xmpptest.Start(t, "config host 'localhost'\n\tlist modules_disabled 'lastactivity'\n")
	s.AddUser(t, "juliet", "pw")
	juliet := online(t, s, "juliet", "balcony")
	condition(t, ask(t, juliet, "d1", ""), "service-unavailable")
	if slices.Contains(s.Host("localhost").AccountFeatures(), lastactivity.NS) {
		t.Fatal("advertised while not loaded")
	}
}
