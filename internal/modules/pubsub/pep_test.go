package pubsub_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

const tune = "http://jabber.org/protocol/tune"

// TestPEPNotify: a contact with +notify gets the event with its payload;
// a stranger with +notify and a contact without it do not; a contact that
// logs in later gets the last item; items survive a restart.
func TestPEPNotify(t *testing.T) {
	dir := t.TempDir()
	s := xmpptest.StartIn(t, dir, "")
	users(t, s, "pub", "fan", "stranger", "deaf", "late")
	p := login(t, s, "pub")
	p.online(t)
	fan, stranger, deaf := login(t, s, "fan", tune), login(t, s, "stranger", tune), login(t, s, "deaf")
	fan.online(t)
	deaf.online(t)
	stranger.online(t, tune)
	subscribe(t, fan, p)
	subscribe(t, deaf, p)
	fan.send(t, "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://xmppd.test' ver='"+fan.ver([]string{tune})+"'/></presence>")
	time.Sleep(300 * time.Millisecond) // caps resolve
	p.iq(t, "set", "", pub(tune, "current", "<tune xmlns='"+tune+"'><title>One</title></tune>"), "result")
	fan.expect(t, "<event", `from="pub@localhost"`, "<title>One</title>")
	stranger.quiet(t, "<event", 300*time.Millisecond)
	deaf.quiet(t, "<event", 100*time.Millisecond)

	// A late contact: subscribed, then online with +notify: the last item.
	late := login(t, s, "late")
	late.online(t)
	subscribe(t, late, p)
	late2 := login(t, s, "late", tune)
	late2.online(t, tune)
	late2.expect(t, "<event", "<title>One</title>", "<delay")

	// The items survive a restart.
	s.Stop()
	s2 := xmpptest.StartIn(t, dir, "")
	p2 := login(t, s2, "pub")
	items := p2.iq(t, "get", "", "<pubsub xmlns='"+ns+"'><items node='"+tune+"'/></pubsub>", "result")
	if !strings.Contains(items, "<title>One</title>") {
		t.Fatalf("after restart: %s", items)
	}
	// A stranger may not read presence-access items.
	st2 := login(t, s2, "stranger")
	if e := st2.iq(t, "get", "pub@localhost", "<pubsub xmlns='"+ns+"'><items node='"+tune+"'/></pubsub>", "error"); !strings.Contains(e, "presence-subscription-required") {
		t.Fatalf("stranger reads: %s", e)
	}
}

// TestPublishOptions: publish-options create a PEP node with open access
// (OMEMO) and then act as preconditions.
func TestPublishOptions(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "a", "b")
	a, b := login(t, s, "a"), login(t, s, "b")
	node := "eu.siacs.conversations.axolotl.devicelist"
	opts := "<publish-options>" + form(ns+"#publish-options", "pubsub#access_model", "open") + "</publish-options>"
	a.iq(t, "set", "", "<pubsub xmlns='"+ns+"'><publish node='"+node+"'><item id='current'><list xmlns='eu.siacs.conversations.axolotl'><device id='1'/></list></item></publish>"+opts+"</pubsub>", "result")
	// Open: a stranger reads it.
	if items := b.iq(t, "get", "a@localhost", "<pubsub xmlns='"+ns+"'><items node='"+node+"'/></pubsub>", "result"); !strings.Contains(items, `<device id="1">`) {
		t.Fatalf("open items: %s", items)
	}
	bad := "<publish-options>" + form(ns+"#publish-options", "pubsub#access_model", "whitelist") + "</publish-options>"
	e := a.iq(t, "set", "", "<pubsub xmlns='"+ns+"'><publish node='"+node+"'><item id='current'><list xmlns='eu.siacs.conversations.axolotl'/></item></publish>"+bad+"</pubsub>", "error")
	if !strings.Contains(e, "conflict") || !strings.Contains(e, "precondition-not-met") {
		t.Fatalf("precondition: %s", e)
	}
	// Only the owner publishes to its PEP.
	b.iq(t, "set", "a@localhost", pub(node, "x", "<list xmlns='eu.siacs.conversations.axolotl'/>"), "error")
}

// TestBookmarks2: XEP-0402 bookmarks through PEP, whitelist and max.
func TestBookmarks2(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "a", "b")
	a, b := login(t, s, "a"), login(t, s, "b")
	opts := "<publish-options>" + form(ns+"#publish-options", "pubsub#persist_items", "true", "pubsub#access_model", "whitelist", "pubsub#max_items", "max", "pubsub#send_last_published_item", "never") + "</publish-options>"
	a.iq(t, "set", "", "<pubsub xmlns='"+ns+"'><publish node='urn:xmpp:bookmarks:1'><item id='room@conf.localhost'><conference xmlns='urn:xmpp:bookmarks:1' name='Room' autojoin='true'><nick>a</nick></conference></item></publish>"+opts+"</pubsub>", "result")
	a.iq(t, "set", "", "<pubsub xmlns='"+ns+"'><publish node='urn:xmpp:bookmarks:1'><item id='other@conf.localhost'><conference xmlns='urn:xmpp:bookmarks:1' name='Other'/></item></publish>"+opts+"</pubsub>", "result")
	items := a.iq(t, "get", "", "<pubsub xmlns='"+ns+"'><items node='urn:xmpp:bookmarks:1'/></pubsub>", "result")
	if !strings.Contains(items, `id="room@conf.localhost"`) || !strings.Contains(items, `id="other@conf.localhost"`) {
		t.Fatalf("bookmarks: %s", items)
	}
	if e := b.iq(t, "get", "a@localhost", "<pubsub xmlns='"+ns+"'><items node='urn:xmpp:bookmarks:1'/></pubsub>", "error"); !strings.Contains(e, "closed-node") {
		t.Fatalf("someone else reads bookmarks: %s", e)
	}
	a.iq(t, "set", "", "<pubsub xmlns='"+ns+"'><retract node='urn:xmpp:bookmarks:1' notify='true'><item id='other@conf.localhost'/></retract></pubsub>", "result")
}

// TestCoalesce: a subscriber with a 1 s interval gets at most 2
// notifications during a 1 s burst of 100 publishes, and the last one it
// gets carries the newest value.
func TestCoalesce(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "sensor", "phone")
	d, p := login(t, s, "sensor"), login(t, s, "phone")
	p.online(t)
	d.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><create node='temp'/></pubsub>", "result")
	p.iq(t, "set", svc, "<pubsub xmlns='"+ns+"'><subscribe node='temp' jid='"+p.jid+"'/><options>"+
		form(ns+"#subscribe_options", "xmppd#interval", "1")+"</options></pubsub>", "result")
	start := time.Now()
	for i := range 100 {
		d.iq(t, "set", svc, pub("temp", "current", "<t xmlns='urn:t'><v>"+strconv.Itoa(i)+"</v></t>"), "result")
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * 10 * time.Millisecond)))
	}
	burst := time.Since(start)
	var got []string
	deadline := time.After(3 * time.Second)
collect:
	for {
		select {
		case raw := <-p.in:
			if strings.Contains(raw, "<event") {
				got = append(got, raw)
			}
		case <-deadline:
			break collect
		}
	}
	if len(got) == 0 {
		t.Fatal("no notification")
	}
	// A burst of about 1 s spans at most 2 intervals plus the trailing send.
	limit := 2 + int(burst/time.Second)
	if len(got) > limit {
		t.Fatalf("%d notifications during a %s burst", len(got), burst)
	}
	if !strings.Contains(got[len(got)-1], "<v>99</v>") {
		t.Fatalf("the last notification is not the newest: %s", got[len(got)-1])
	}
}

// TestAccountDeleted: the PEP nodes of a deleted account are gone at once,
// not only after a restart: an account registered again under the name
// finds no node of the one before.
func TestAccountDeleted(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "gone", "b")
	g := login(t, s, "gone")
	node := "urn:example:data"
	opts := "<publish-options>" + form(ns+"#publish-options", "pubsub#access_model", "open") + "</publish-options>"
	g.iq(t, "set", "", "<pubsub xmlns='"+ns+"'><publish node='"+node+"'><item id='1'><x xmlns='urn:example:data'/></item></publish>"+opts+"</pubsub>", "result")
	b := login(t, s, "b")
	b.iq(t, "get", "gone@localhost", "<pubsub xmlns='"+ns+"'><items node='"+node+"'/></pubsub>", "result")
	if err := s.Accounts.Delete("localhost", "gone"); err != nil {
		t.Fatal(err)
	}
	users(t, s, "gone")
	if e := b.iq(t, "get", "gone@localhost", "<pubsub xmlns='"+ns+"'><items node='"+node+"'/></pubsub>", "error"); !strings.Contains(e, "item-not-found") {
		t.Fatalf("the deleted account's node still answers: %s", e)
	}
}
