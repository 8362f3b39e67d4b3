package bookmarks_test

import (
	"strings"
	"testing"

	"xmppd/internal/xmpptest"
)

const disabled = "config host 'localhost'\n\tlist modules_disabled 'bookmarks'\n"

// TestImport: bookmarks stored through private storage before the module
// was loaded reach XEP-0402 at the next login, rooms already there
// winning; the old fragment is left, so turning the module off again
// gives old clients their list back.
func TestImport(t *testing.T) {
	dir := t.TempDir()
	s := xmpptest.StartIn(t, dir, disabled)
	s.AddUser(t, "juliet", "pw")
	c := login(t, s, "juliet")
	c.publish(t, "a@conf.localhost", "<conference xmlns='"+node+"' name='A from XEP-0402'/>")
	c.privateSet(t, "<conference jid='a@conf.localhost' name='A from XEP-0048'/><conference jid='b@conf.localhost' name='B'/><url name='u' url='https://example.org/'/>", "result")
	s.Stop()

	s = xmpptest.StartIn(t, dir, "")
	fresh := login(t, s, "juliet")
	items := fresh.items(t)
	for _, want := range []string{`name="A from XEP-0402"`, `<item id="b@conf.localhost"`} {
		if !strings.Contains(items, want) {
			t.Errorf("items after import lack %s: %s", want, items)
		}
	}
	if strings.Contains(items, "A from XEP-0048") {
		t.Errorf("the import overwrote a XEP-0402 room: %s", items)
	}
	if got := fresh.privateGet(t); !strings.Contains(got, `url="https://example.org/"`) || !strings.Contains(got, "b@conf") {
		t.Errorf("private get after import: %s", got)
	}
	// Imported once: a room deleted through XEP-0402 stays deleted after
	// a restart.
	fresh.retract(t, "b@conf.localhost")
	s.Stop()
	s = xmpptest.StartIn(t, dir, "")
	if items := login(t, s, "juliet").items(t); strings.Contains(items, "b@conf") {
		t.Errorf("imported twice: %s", items)
	}
	s.Stop()

	s = xmpptest.StartIn(t, dir, disabled)
	if got := login(t, s, "juliet").privateGet(t); !strings.Contains(got, "A from XEP-0048") {
		t.Errorf("the old fragment is gone: %s", got)
	}
}

// TestLegacyPEPNode: XEP-0048 through PEP (XEP-0223). A list published to
// storage:bookmarks becomes items; XEP-0402 changes are written back to
// that node once a client made it, and never create it.
func TestLegacyPEPNode(t *testing.T) {
	s := start(t, "", "juliet", "romeo")
	fresh := login(t, s, "juliet")
	fresh.publish(t, "a@conf.localhost", "<conference xmlns='"+node+"' name='A'/>")
	e := fresh.iq(t, "get", "<pubsub xmlns='"+nsPubsub+"'><items node='"+legacyNS+"'/></pubsub>", "error")
	if !strings.Contains(e, "item-not-found") {
		t.Fatalf("the legacy node was made: %s", e)
	}

	old := login(t, s, "juliet")
	opts := "<publish-options>" + form(nsPubsub+"#publish-options", "pubsub#persist_items", "true", "pubsub#access_model", "whitelist") + "</publish-options>"
	pub := func(list string) {
		t.Helper()
		old.iq(t, "set", "<pubsub xmlns='"+nsPubsub+"'><publish node='"+legacyNS+"'><item id='current'><storage xmlns='"+legacyNS+"'>"+
			list+"</storage></item></publish>"+opts+"</pubsub>", "result")
	}
	legacyItems := func() string {
		t.Helper()
		return old.iq(t, "get", "<pubsub xmlns='"+nsPubsub+"'><items node='"+legacyNS+"'/></pubsub>", "result")
	}
	// The first list names b and c; a, which the node never showed, stays
	// and is written to the node.
	pub("<conference jid='b@conf.localhost' name='B'/><conference jid='c@conf.localhost' name='C' autojoin='true'><nick>r</nick></conference>")
	items := fresh.items(t)
	for _, want := range []string{"a@conf", "b@conf", `<conference name="C" autojoin="true"><nick>r</nick>`} {
		if !strings.Contains(items, want) {
			t.Errorf("items lack %s: %s", want, items)
		}
	}
	if got := legacyItems(); !strings.Contains(got, `jid="a@conf.localhost"`) {
		t.Errorf("the legacy node lacks a: %s", got)
	}
	// A XEP-0402 publish is written to the node.
	fresh.publish(t, "d@conf.localhost", "<conference xmlns='"+node+"' name='D'/>")
	if got := legacyItems(); !strings.Contains(got, `jid="d@conf.localhost"`) {
		t.Errorf("the legacy node lacks d: %s", got)
	}
	// A list without b, which the node showed, deletes b.
	pub("<conference jid='a@conf.localhost' name='A'/><conference jid='c@conf.localhost' name='C' autojoin='true'><nick>r</nick></conference><conference jid='d@conf.localhost' name='D'/>")
	if items := fresh.items(t); strings.Contains(items, "b@conf") || strings.Count(items, "<item ") != 3 {
		t.Errorf("items after the legacy removal: %s", items)
	}
	if got := old.privateGet(t); strings.Contains(got, "b@conf") || !strings.Contains(got, "d@conf") {
		t.Errorf("private get after the legacy removal: %s", got)
	}
	// Others may not read the node the module writes.
	romeo := login(t, s, "romeo")
	if e := romeo.iqTo(t, "get", "juliet@localhost", "<pubsub xmlns='"+nsPubsub+"'><items node='"+legacyNS+"'/></pubsub>", "error"); strings.Contains(e, "a@conf") {
		t.Errorf("romeo reads the legacy node: %s", e)
	}
}

// TestLimitsAndRemoval: a list over the default max_bookmarks is refused;
// deleting the account deletes its bookmarks in both forms.
func TestLimitsAndRemoval(t *testing.T) {
	s := start(t, "", "juliet")
	c := login(t, s, "juliet")
	if e := c.privateSet(t, rooms(257), "error"); !strings.Contains(e, "policy-violation") {
		t.Fatalf("257 rooms: %s", e)
	}
	c.privateSet(t, rooms(256)+"<url url='https://example.org/'/>", "result")
	if items := c.items(t); strings.Count(items, "<item ") != 256 {
		t.Fatalf("256 rooms: %d items", strings.Count(items, "<item "))
	}

	if err := s.Accounts.Delete("localhost", "juliet"); err != nil {
		t.Fatal(err)
	}
	s.AddUser(t, "juliet", "pw")
	c = login(t, s, "juliet")
	if got := c.privateGet(t); strings.Contains(got, "<conference") || strings.Contains(got, "example.org") {
		t.Fatalf("private get after the account's deletion: %s", got)
	}
	// No items: the node is gone from the store (pubsub may still answer
	// for it from memory until a restart, empty).
	if got := c.iq(t, "get", "<pubsub xmlns='"+nsPubsub+"'><items node='"+node+"'/></pubsub>", ""); strings.Contains(got, "<item ") {
		t.Fatalf("items after the account's deletion: %s", got)
	}
}

// TestMixedSet: a set of bookmarks and another element converts the
// bookmarks and leaves the other to the private module.
func TestMixedSet(t *testing.T) {
	s := start(t, "", "juliet")
	c := login(t, s, "juliet")
	c.iq(t, "set", "<query xmlns='jabber:iq:private'><storage xmlns='"+legacyNS+"'><conference jid='m@conf.localhost'/></storage>"+
		"<prefs xmlns='urn:example:prefs'>p</prefs></query>", "result")
	if items := c.items(t); !strings.Contains(items, "m@conf") {
		t.Fatalf("items: %s", items)
	}
	if got := c.iq(t, "get", "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query>", "result"); !strings.Contains(got, ">p<") {
		t.Fatalf("other element: %s", got)
	}
	// A refused list stores nothing of the set.
	c.iq(t, "set", "<query xmlns='jabber:iq:private'><storage xmlns='"+legacyNS+"'><conference jid='bad'/></storage>"+
		"<prefs xmlns='urn:example:prefs'>q</prefs></query>", "error")
	if got := c.iq(t, "get", "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query>", "result"); !strings.Contains(got, ">p<") {
		t.Fatalf("other element after a refused set: %s", got)
	}
}
