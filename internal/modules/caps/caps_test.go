package caps_test

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/caps"
	"xmppd/internal/stanza"
	"xmppd/internal/xmpptest"
)

// exodus is the disco#info of XEP-0115 §5.2's simple example.
const exodus = `<identity category='client' name='Exodus 0.9.1' type='pc'/>` +
	`<feature var='http://jabber.org/protocol/caps'/>` +
	`<feature var='http://jabber.org/protocol/disco#info'/>` +
	`<feature var='http://jabber.org/protocol/disco#items'/>` +
	`<feature var='http://jabber.org/protocol/muc'/>`

const exodusVer = "QgayPKawpkPSDYmwT/WM94uAlu0="

// psi is the disco#info of XEP-0115 §5.3's complex example.
const psi = `<identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>` +
	`<identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>` +
	`<feature var='http://jabber.org/protocol/caps'/>` +
	`<feature var='http://jabber.org/protocol/disco#info'/>` +
	`<feature var='http://jabber.org/protocol/disco#items'/>` +
	`<feature var='http://jabber.org/protocol/muc'/>` +
	`<x xmlns='jabber:x:data' type='result'>` +
	`<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>` +
	`<field var='ip_version'><value>ipv4</value><value>ipv6</value></field>` +
	`<field var='os'><value>Mac</value></field>` +
	`<field var='os_version'><value>10.5.1</value></field>` +
	`<field var='software'><value>Psi</value></field>` +
	`<field var='software_version'><value>0.11</value></field>` +
	`</x>`

const psiVer = "q07IKJEyjvHSyhy//CH0CxmKi8w="

func TestVerifyExamples(t *testing.T) {
	for _, tc := range []struct {
		name, info, ver string
		ok              bool
	}{
		{"simple", exodus, exodusVer, true},
		{"complex", psi, psiVer, true},
		{"mismatch", exodus, psiVer, false},
		{"duplicate feature", exodus + `<feature var='http://jabber.org/protocol/muc'/>`, exodusVer, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte("<iq type='result' id='1'><query xmlns='http://jabber.org/protocol/disco#info'>" + tc.info + "</query></iq>")
			st, err := stanza.Reparse(raw, stanza.NSClient)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := caps.Verify(st, "sha-1", tc.ver); ok != tc.ok {
				t.Fatalf("verify = %v, want %v", ok, tc.ok)
			}
		})
	}
}

// notifyInfo is a client's disco#info with a +notify feature, and its ver.
func notifyInfo(node string) (info, ver string) {
	info = `<identity category='client' name='t' type='pc'/>` +
		`<feature var='http://jabber.org/protocol/caps'/>` +
		`<feature var='` + node + `+notify'/>`
	h := sha1.Sum([]byte("client/pc//t<http://jabber.org/protocol/caps<" + node + "+notify<"))
	return info, base64.StdEncoding.EncodeToString(h[:])
}

func capsPresence(ver string) string {
	return "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://xmppd.test' ver='" + ver + "'/></presence>"
}

// resolvedModule records the caps-resolved events of the test server.
type resolvedModule struct{}

var resolved = make(chan string, 16)

func init() {
	core.Register(core.ModuleInfo{Name: "capstest", Auto: true, New: func() core.Module { return resolvedModule{} }})
}

func (resolvedModule) Load(api *core.API) error {
	api.Hook(caps.EventResolved, core.PriorityModule, func(ev *core.Event) bool {
		resolved <- ev.From.String()
		return false
	})
	return nil
}

func waitResolved(t *testing.T, full string) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case j := <-resolved:
			if j == full {
				return
			}
		case <-deadline:
			t.Fatalf("no caps-resolved for %s", full)
		}
	}
}

// TestResolveOncePerHash: the first client with an unknown ver is asked
// once, the answer verified and cached; a second client with the same ver
// is not asked, and both want the node's notifications.
func TestResolveOncePerHash(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "a", "pw")
	s.AddUser(t, "b", "pw")
	info, ver := notifyInfo("urn:xmppd:test")
	a := login(t, s, "a", info)
	a.send(t, capsPresence(ver))
	select {
	case node := <-a.asks:
		if node != "https://xmppd.test#"+ver {
			t.Fatalf("asked node %q", node)
		}
	case <-time.After(timeout):
		t.Fatal("the server did not ask for disco#info")
	}
	waitResolved(t, a.jid)
	c := caps.For(s.Host("localhost"))
	if c == nil {
		t.Fatal("no caps service")
	}
	aj, _ := jid.Parse(a.jid)
	if !c.Wants(aj, "urn:xmppd:test") || c.Wants(aj, "urn:xmppd:other") {
		t.Fatal("Wants does not follow the features")
	}
	if f, ok := c.Features(aj); !ok || !slices.Contains(f, "http://jabber.org/protocol/caps") {
		t.Fatalf("features %v %v", f, ok)
	}

	b := login(t, s, "b", info)
	b.send(t, capsPresence(ver))
	waitResolved(t, b.jid)
	select {
	case <-b.asks:
		t.Fatal("asked again for a cached ver")
	case <-time.After(200 * time.Millisecond):
	}
}

// TestMismatchNotCached: an answer that does not hash to the announced ver
// leaves the client's features unknown.
func TestMismatchNotCached(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "a", "pw")
	info, _ := notifyInfo("urn:xmppd:test")
	a := login(t, s, "a", info)
	a.send(t, capsPresence(exodusVer))
	select {
	case <-a.asks:
	case <-time.After(timeout):
		t.Fatal("the server did not ask for disco#info")
	}
	time.Sleep(300 * time.Millisecond)
	aj, _ := jid.Parse(a.jid)
	if _, ok := caps.For(s.Host("localhost")).Features(aj); ok {
		t.Fatal("features of a mismatching answer were accepted")
	}
	// The same presence again (a status change) does not ask again.
	a.send(t, capsPresence(exodusVer))
	select {
	case <-a.asks:
		t.Fatal("a client that answered wrongly was asked again")
	case <-time.After(300 * time.Millisecond):
	}
}

// TestWaitersBeyondTheLine: clients that announce a version while its
// query is out, more of them than are kept in line to be asked, all
// learn their features from the one answer.
func TestWaitersBeyondTheLine(t *testing.T) {
	caps.SetMaxWaiters(t, 1)
	s := xmpptest.Start(t, "")
	info, ver := notifyInfo("urn:xmppd:line")
	hold := make(chan struct{})
	s.AddUser(t, "first", "pw")
	first := loginHolding(t, s, "first", info, hold)
	first.send(t, capsPresence(ver))
	select {
	case <-first.asks:
	case <-time.After(timeout):
		t.Fatal("the server did not ask for disco#info")
	}
	c := caps.For(s.Host("localhost"))
	var others []*client
	for i := range 3 {
		user := fmt.Sprintf("other%d", i)
		s.AddUser(t, user, "pw")
		o := login(t, s, user, info)
		o.send(t, capsPresence(ver))
		others = append(others, o)
	}
	// The presences are handled before the first client answers.
	for _, o := range others {
		o.send(t, "<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>")
		waitIn(t, o, "id=\"sync\"")
		if _, ok := c.Features(mustJID(t, o.jid)); ok {
			t.Fatal("resolved before the answer")
		}
	}
	close(hold)
	waitResolved(t, first.jid)
	for _, o := range others {
		deadline := time.Now().Add(timeout)
		for !c.Wants(mustJID(t, o.jid), "urn:xmppd:line") {
			if time.Now().After(deadline) {
				t.Fatalf("%s beyond the line never resolved", o.jid)
			}
			time.Sleep(10 * time.Millisecond)
		}
		select {
		case <-o.asks:
			t.Fatal("a client beyond the line was asked")
		default:
		}
	}
}

func mustJID(t *testing.T, s string) jid.JID {
	t.Helper()
	j, err := jid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// waitIn waits for a stanza containing sub.
func waitIn(t *testing.T, c *client, sub string) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case raw := <-c.in:
			if strings.Contains(raw, sub) {
				return
			}
		case <-deadline:
			t.Fatalf("%s: nothing with %s", c.jid, sub)
		}
	}
}
