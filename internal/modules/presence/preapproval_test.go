package presence_test

import (
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"xmppd/internal/modules/roster"
	"xmppd/internal/xmpptest"
)

// nextPush returns the next roster push of jid, passing over others.
func (c *client) nextPush(t *testing.T, jid string) pushItem {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case it := <-c.pushes:
			if it.JID == jid {
				return it
			}
		case <-deadline:
			t.Fatalf("%s: no push of %s", c.jid, jid)
		}
	}
}

// TestPreApproval: RFC 6121 §3.4. An unsolicited 'subscribed' records a
// pre-approval (approved='true', not delivered to the contact); the
// contact's later 'subscribe' is approved without asking the user; an
// 'unsubscribed' cancels a pre-approval.
func TestPreApproval(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet", "romeo", "nurse")
	j := online(t, s, "juliet")
	r := online(t, s, "romeo")

	j.send(t, "<presence to='romeo@localhost' type='subscribed'/>")
	if it := j.nextPush(t, "romeo@localhost"); it.Subscription != "none" || it.Approved != "true" || it.Ask != "" {
		t.Fatalf("pre-approval push %+v", it)
	}
	r.quiet(t, "juliet@localhost") // §3.4.1: not delivered to the contact
	if it, found, err := roster.For(s.Host("localhost")).Get("juliet", "romeo@localhost"); err != nil || !found || !it.Approved || it.Hidden {
		t.Fatalf("stored pre-approval %+v %v %v", it, found, err)
	}
	// A second one changes nothing.
	j.send(t, "<presence to='romeo@localhost' type='subscribed'/>")

	// Romeo asks: approved at once, juliet is not asked.
	r.send(t, "<presence to='juliet@localhost' type='subscribe'/>")
	r.push(t, "juliet@localhost", "none", "subscribe")
	r.expect(t, "juliet@localhost", "subscribed")
	r.push(t, "juliet@localhost", "to", "")
	r.expect(t, j.jid, "") // juliet's presence follows the approval
	if it := j.nextPush(t, "romeo@localhost"); it.Subscription != "from" || it.Approved != "" {
		t.Fatalf("push after the approved request %+v", it)
	}
	for deadline := time.After(200 * time.Millisecond); ; {
		select {
		case p := <-j.presence:
			if p.From == "romeo@localhost" && p.Type == "subscribe" {
				t.Fatal("a pre-approved request reached the user")
			}
			continue
		case <-deadline:
		}
		break
	}
	if got := j.roster(t); got["romeo@localhost"] != "from" {
		t.Fatalf("juliet's roster %v", got)
	}

	// 'unsubscribed' cancels a pre-approval: the nurse's request then
	// reaches juliet as usual.
	n := online(t, s, "nurse")
	j.send(t, "<presence to='nurse@localhost' type='subscribed'/>")
	if it := j.nextPush(t, "nurse@localhost"); it.Approved != "true" {
		t.Fatalf("pre-approval push %+v", it)
	}
	j.send(t, "<presence to='nurse@localhost' type='unsubscribed'/>")
	if it := j.nextPush(t, "nurse@localhost"); it.Approved != "" || it.Subscription != "none" {
		t.Fatalf("cancelled pre-approval push %+v", it)
	}
	n.send(t, "<presence to='juliet@localhost' type='subscribe'/>")
	j.expect(t, "nurse@localhost", "subscribe")
	n.quiet(t, "juliet@localhost")
}

// TestPreApprovalFeature: the features after authentication offer
// pre-approval (RFC 6121 §3.4).
func TestPreApprovalFeature(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	users(t, s, "juliet")
	if f := featuresAfterAuth(t, s.StartTLS, "juliet", "pw"); !strings.Contains(f, "<sub xmlns='urn:xmpp:features:pre-approval'/>") {
		t.Fatalf("no pre-approval feature: %s", f)
	}
}

// featuresAfterAuth authenticates user with PLAIN over a raw stream and
// returns the stream features that follow.
func featuresAfterAuth(t *testing.T, addr, user, pass string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	const header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
	var got strings.Builder
	buf := make([]byte, 4096)
	expect := func(want string) string {
		for !strings.Contains(got.String(), want) {
			n, err := c.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				t.Fatalf("waiting for %q: %v; got %q", want, err, got.String())
			}
		}
		s := got.String()
		got.Reset()
		return s
	}
	c.Write([]byte(header))
	expect("</stream:features>")
	c.Write([]byte("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>"))
	expect("<success")
	c.Write([]byte(header))
	return expect("</stream:features>")
}
