package blocking_test

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"net"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"xmppd/internal/xmpptest"
)

const timeout = 5 * time.Second

// node is a received element, whole: the tests look into any payload.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

// attr returns the value of the plain attribute name.
func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// child returns the first child {space}local, or nil.
func (n *node) child(space, local string) *node {
	if n == nil {
		return nil
	}
	for i := range n.Nodes {
		c := &n.Nodes[i]
		if c.XMLName.Local == local && (space == "" || c.XMLName.Space == space) {
			return c
		}
	}
	return nil
}

// condition returns the type and defined condition of an error stanza.
func (n *node) condition() (typ, cond string) {
	e := n.child("", "error")
	if e == nil {
		return "", ""
	}
	for _, c := range e.Nodes {
		if c.XMLName.Space == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.XMLName.Local != "text" {
			cond = c.XMLName.Local
		}
	}
	return e.attr("type"), cond
}

// client is a logged-in real client; every stanza it receives is queued.
type client struct {
	jid  string
	sess *xmpp.Session
	in   chan node
}

// login logs user in (password "pw") with the given resource.
func login(t *testing.T, s *xmpptest.Server, user, resource string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := net.Dial("tcp", s.StartTLS)
	if err != nil {
		t.Fatal(err)
	}
	addr := jid.MustParse(user + "@localhost/" + resource)
	sess, err := xmpp.NewClientSession(ctx, addr, conn,
		xmpp.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true}),
		xmpp.SASL("", "pw", sasl.ScramSha256), xmpp.BindResource())
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	c := &client{jid: sess.LocalAddr().String(), sess: sess, in: make(chan node, 1024)}
	t.Cleanup(func() { sess.Close(); conn.Close() })
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		var n node
		if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), r)).Decode(&n); err != nil {
			return err
		}
		c.in <- n
		return nil
	}))
	return c
}

type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

// send sends a stanza written as text.
func (c *client) send(t *testing.T, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.sess.Send(ctx, rawTokens{xml.NewDecoder(strings.NewReader(s))}); err != nil {
		t.Fatal(err)
	}
}

// next waits for the next stanza that ok accepts, passing over others.
func (c *client) next(t *testing.T, what string, ok func(n *node) bool) node {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case n := <-c.in:
			if ok(&n) {
				return n
			}
		case <-deadline:
			t.Fatalf("%s: no %s", c.jid, what)
		}
	}
}

// none fails if a stanza ok accepts arrives before a ping to the server is
// answered: the server handles one client's stanzas in order, and what it
// sends them in order, so the answer marks the end of what came before.
func (c *client) none(t *testing.T, what string, ok func(n *node) bool) {
	t.Helper()
	id := "sync-" + strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
	c.send(t, "<iq type='get' id='"+id+"'><ping xmlns='urn:xmpp:ping'/></iq>")
	deadline := time.After(timeout)
	for {
		select {
		case n := <-c.in:
			if n.XMLName.Local == "iq" && n.attr("id") == id {
				return
			}
			if ok(&n) {
				t.Fatalf("%s: unexpected %s", c.jid, what)
			}
		case <-deadline:
			t.Fatalf("%s: no answer to a ping", c.jid)
		}
	}
}

// sync waits until the server has processed everything c sent before.
func (c *client) sync(t *testing.T) { c.none(t, "", func(*node) bool { return false }) }

// errorFor matches the error answering the stanza with id.
func errorFor(id string) func(n *node) bool {
	return func(n *node) bool { return n.attr("id") == id && n.attr("type") == "error" }
}
