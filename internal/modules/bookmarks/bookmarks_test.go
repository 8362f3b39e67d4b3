package bookmarks_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

func start(t testing.TB, extra string, users ...string) *xmpptest.Server {
	t.Helper()
	s := xmpptest.Start(t, extra)
	for _, u := range users {
		s.AddUser(t, u, "pw")
	}
	return s
}

const twoRooms = `<conference jid='council@conf.localhost' name='Council' autojoin='true'><nick>jul</nick><password>pw</password><x xmlns='urn:example:ext'>kept</x></conference>` +
	`<conference jid='orchard@conf.localhost' name='Orchard'/>` +
	`<url name='Home' url='https://example.org/'/>`

// TestLegacySetToPEP: a list stored through private storage becomes one
// XEP-0402 item per room, with the XEP-0402 node options, and a client
// with +notify on another resource is told; a private get gives it back
// with the url bookmark XEP-0402 has no place for.
func TestLegacySetToPEP(t *testing.T) {
	s := start(t, "", "juliet")
	old := login(t, s, "juliet")
	fresh := login(t, s, "juliet", node)
	fresh.online(t, node)

	old.privateSet(t, twoRooms, "result")
	ev := fresh.expect(t, "<event", `id="council@conf.localhost"`)
	for _, want := range []string{`name="Council"`, `autojoin="true"`, "<nick>jul</nick>", "<password>pw</password>", "<extensions><x>kept</x></extensions>"} {
		if !strings.Contains(ev, want) {
			t.Errorf("notification lacks %s: %s", want, ev)
		}
	}
	fresh.expect(t, "<event", `id="orchard@conf.localhost"`)

	items := fresh.items(t)
	if strings.Count(items, "<item ") != 2 || !strings.Contains(items, `<item id="orchard@conf.localhost"`) {
		t.Fatalf("items: %s", items)
	}
	cfg := fresh.iq(t, "get", "<pubsub xmlns='"+nsPubsub+"#owner'><configure node='"+node+"'/></pubsub>", "result")
	for _, want := range []string{"whitelist", "never"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("node configuration lacks %s: %s", want, cfg)
		}
	}

	got := old.privateGet(t)
	for _, want := range []string{`jid="council@conf.localhost"`, "<nick>jul</nick>", "<x>kept</x>", `jid="orchard@conf.localhost"`, `url="https://example.org/"`} {
		if !strings.Contains(got, want) {
			t.Errorf("private get lacks %s: %s", want, got)
		}
	}

	// The same list again changes nothing, and notifies nobody.
	old.privateSet(t, twoRooms, "result")
	fresh.quiet(t, "<event", 300*time.Millisecond)
}

// TestPEPToLegacy: a XEP-0402 publish shows in a private get, extensions
// included; a retraction through XEP-0402 takes it away; a retraction
// through XEP-0048 (a list without the room) retracts the item and tells
// the XEP-0402 client.
func TestPEPToLegacy(t *testing.T) {
	s := start(t, "", "juliet")
	old := login(t, s, "juliet")
	fresh := login(t, s, "juliet", node)
	fresh.online(t, node)

	fresh.publish(t, "play@conf.localhost", "<conference xmlns='"+node+"' name='The Play' autojoin='1'><nick>JC</nick><extensions><state xmlns='urn:example:s'/></extensions></conference>")
	got := old.privateGet(t)
	for _, want := range []string{`<conference jid="play@conf.localhost" name="The Play" autojoin="true">`, "<nick>JC</nick>", "<state></state>"} {
		if !strings.Contains(got, want) {
			t.Errorf("private get lacks %s: %s", want, got)
		}
	}
	fresh.retract(t, "play@conf.localhost")
	if got := old.privateGet(t); strings.Contains(got, "play@") {
		t.Fatalf("retracted room still in private get: %s", got)
	}

	// Retraction through XEP-0048: the old client read the list, then
	// stores it without the room.
	fresh.publish(t, "a@conf.localhost", "<conference xmlns='"+node+"' name='A'/>")
	fresh.publish(t, "b@conf.localhost", "<conference xmlns='"+node+"' name='B'/>")
	old.privateGet(t)
	old.privateSet(t, "<conference jid='a@conf.localhost' name='A'/>", "result")
	fresh.expect(t, "<event", `<retract id="b@conf.localhost"`)
	if items := fresh.items(t); strings.Contains(items, "b@conf") || !strings.Contains(items, "a@conf") {
		t.Fatalf("items after the XEP-0048 removal: %s", items)
	}
	if got := old.privateGet(t); strings.Contains(got, "b@conf") || !strings.Contains(got, "a@conf") {
		t.Fatalf("private get after the XEP-0048 removal: %s", got)
	}
	// The XEP-0402 purge and node deletion empty the list too.
	fresh.iq(t, "set", "<pubsub xmlns='"+nsPubsub+"#owner'><delete node='"+node+"'/></pubsub>", "result")
	if got := old.privateGet(t); strings.Contains(got, "<conference") {
		t.Fatalf("private get after the node's deletion: %s", got)
	}
}

// TestConcurrentClients: a XEP-0048 client's list never deletes a room it
// was not shown, nor overwrites a newer XEP-0402 edit of a room it did not
// change; two XEP-0048 clients of one account each keep what the other
// added.
func TestConcurrentClients(t *testing.T) {
	s := start(t, "", "juliet")
	one, two := login(t, s, "juliet"), login(t, s, "juliet")
	fresh := login(t, s, "juliet")

	fresh.publish(t, "a@conf.localhost", "<conference xmlns='"+node+"' name='A'/>")
	one.privateGet(t) // one sees a
	fresh.publish(t, "b@conf.localhost", "<conference xmlns='"+node+"' name='B'/>")
	fresh.publish(t, "a@conf.localhost", "<conference xmlns='"+node+"' name='A renamed'/>")
	// one adds c to what it saw: b, which it never saw, stays, and a keeps
	// its new name.
	one.privateSet(t, "<conference jid='a@conf.localhost' name='A'/><conference jid='c@conf.localhost' name='C'/>", "result")
	items := fresh.items(t)
	for _, want := range []string{`name="A renamed"`, "b@conf", "c@conf"} {
		if !strings.Contains(items, want) {
			t.Errorf("items lack %s: %s", want, items)
		}
	}
	// two never read the list: its set adds d and deletes nothing.
	two.privateSet(t, "<conference jid='d@conf.localhost' name='D'/>", "result")
	if items := fresh.items(t); strings.Count(items, "<item ") != 4 {
		t.Fatalf("after a blind set: %s", items)
	}
	// one removes c, which it added: gone; d, which two added, stays.
	one.privateSet(t, "<conference jid='a@conf.localhost' name='A'/>", "result")
	items = fresh.items(t)
	if strings.Contains(items, "c@conf") || !strings.Contains(items, "d@conf") || !strings.Contains(items, "b@conf") {
		t.Fatalf("after one's removal: %s", items)
	}
}

// TestLegacyErrors: a malformed room JID is a bad-request naming it, a
// list over max_bookmarks a policy-violation, and neither changes the
// items; other private fragments still reach the private module.
func TestLegacyErrors(t *testing.T) {
	s := start(t, "config module 'bookmarks'\n\toption max_bookmarks '3'\n", "juliet")
	c := login(t, s, "juliet")
	c.privateSet(t, "<conference jid='ok@conf.localhost'/>", "result")
	for _, tc := range []struct{ name, storage, want string }{
		{"no jid", "<conference name='x'/>", "bad-request"},
		{"a resource", "<conference jid='room@conf.localhost/nick'/>", "bad-request"},
		{"no localpart", "<conference jid='conf.localhost'/>", "bad-request"},
		{"not a jid", "<conference jid='a@b@c'/>", "bad-request"},
		{"twice", "<conference jid='x@conf.localhost'/><conference jid='x@conf.localhost'/>", "bad-request"},
		{"too many", rooms(4), "policy-violation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := c.privateSet(t, tc.storage, "error")
			if !strings.Contains(e, "<"+tc.want) {
				t.Fatalf("want %s: %s", tc.want, e)
			}
		})
	}
	if items := c.items(t); strings.Count(items, "<item ") != 1 {
		t.Fatalf("refused sets changed the items: %s", items)
	}
	// Three rooms fit, the kept one included.
	c.privateGet(t)
	c.privateSet(t, rooms(3), "result")
	// Other fragments are still the private module's.
	c.iq(t, "set", "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'>p</prefs></query>", "result")
	if got := c.iq(t, "get", "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query>", "result"); !strings.Contains(got, ">p<") {
		t.Fatalf("other fragment: %s", got)
	}
}

func rooms(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("<conference jid='r" + strconv.Itoa(i) + "@conf.localhost'/>")
	}
	return b.String()
}

// TestDiscoCompat: the account's disco#info lists the compat features
// only where the module is loaded.
func TestDiscoCompat(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		want        bool
	}{
		{"loaded", "", true},
		{"disabled", "config host 'localhost'\n\tlist modules_disabled 'bookmarks'\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.extra, "juliet")
			c := login(t, s, "juliet")
			got := c.iqTo(t, "get", c.bare, "<query xmlns='http://jabber.org/protocol/disco#info'/>", "result")
			if strings.Contains(got, `var="urn:xmpp:bookmarks:1#compat"`) != tc.want ||
				strings.Contains(got, `var="urn:xmpp:bookmarks:1#compat-pep"`) != tc.want {
				t.Fatalf("want compat %v: %s", tc.want, got)
			}
		})
	}
}

// TestConcurrentAdds: a XEP-0402 client and two XEP-0048 clients add
// rooms at the same time; none is lost.
func TestConcurrentAdds(t *testing.T) {
	s := start(t, "", "juliet")
	fresh, one, two := login(t, s, "juliet"), login(t, s, "juliet"), login(t, s, "juliet")
	one.privateGet(t)
	two.privateGet(t)
	const n = 15
	done := make(chan bool, 3)
	// A failing helper ends its goroutine; the deferred send still runs.
	go func() {
		defer func() { done <- true }()
		for i := range n {
			fresh.publish(t, "p"+strconv.Itoa(i)+"@conf.localhost", "<conference xmlns='"+node+"'/>")
		}
	}()
	for _, c := range []struct {
		cl     *client
		prefix string
	}{{one, "l"}, {two, "m"}} {
		go func() {
			defer func() { done <- true }()
			list := ""
			for i := range n {
				list += "<conference jid='" + c.prefix + strconv.Itoa(i) + "@conf.localhost'/>"
				c.cl.privateSet(t, list, "result")
			}
		}()
	}
	for range 3 {
		<-done
	}
	items := fresh.items(t)
	if got := strings.Count(items, "<item "); got != 3*n {
		t.Fatalf("%d rooms, want %d: %s", got, 3*n, items)
	}
}
