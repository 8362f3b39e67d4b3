package xmpptest

import (
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
)

// Timeout bounds each wait of a Client.
const Timeout = 5 * time.Second

// Node is a received element, whole: tests look into any payload.
type Node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []Node     `xml:",any"`
}

// Attr returns the value of the plain attribute name.
func (n *Node) Attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Child returns the first child {space}local (any namespace when space is
// ""), or nil.
func (n *Node) Child(space, local string) *Node {
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

// Condition returns the type and defined condition of an error stanza.
func (n *Node) Condition() (typ, cond string) {
	e := n.Child("", "error")
	if e == nil {
		return "", ""
	}
	for _, c := range e.Nodes {
		if c.XMLName.Space == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.XMLName.Local != "text" {
			cond = c.XMLName.Local
		}
	}
	return e.Attr("type"), cond
}

// Client is a logged-in real client (mellium.im/xmpp) whose every received
// stanza is queued for the test to look at.
type Client struct {
	JID  string
	Sess *xmpp.Session
	in   chan Node
}

// Login logs user in with password pass and the given resource, over
// STARTTLS with SCRAM-SHA-256; it closes when the test ends.
func Login(t testing.TB, s *Server, user, pass, resource string) *Client {
	t.Helper()
	ctx := Context(t, Timeout)
	conn, err := net.Dial("tcp", s.StartTLS)
	if err != nil {
		t.Fatal(err)
	}
	addr := jid.MustParse(user + "@" + s.Domain + "/" + resource)
	sess, err := xmpp.NewClientSession(ctx, addr, conn,
		xmpp.StartTLS(&tls.Config{ServerName: s.Domain, InsecureSkipVerify: true}),
		xmpp.SASL("", pass, sasl.ScramSha256), xmpp.BindResource())
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	c := &Client{JID: sess.LocalAddr().String(), Sess: sess, in: make(chan Node, 1024)}
	t.Cleanup(func() { sess.Close(); conn.Close() })
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		var n Node
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

// Send sends a stanza written as text.
func (c *Client) Send(t testing.TB, s string) {
	t.Helper()
	ctx := Context(t, Timeout)
	if err := c.Sess.Send(ctx, rawTokens{xml.NewDecoder(strings.NewReader(s))}); err != nil {
		t.Fatal(err)
	}
}

// Next waits for the next stanza that ok accepts, passing over others.
func (c *Client) Next(t testing.TB, what string, ok func(n *Node) bool) Node {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		select {
		case n := <-c.in:
			if ok(&n) {
				return n
			}
		case <-deadline:
			t.Fatalf("%s: no %s", c.JID, what)
		}
	}
}

// None fails if a stanza ok accepts arrives before a ping to the server is
// answered: the server handles one client's stanzas in order, and sends
// what it sends them in order, so the answer marks the end of what came
// before.
func (c *Client) None(t testing.TB, what string, ok func(n *Node) bool) {
	t.Helper()
	id := "sync-" + strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
	c.Send(t, "<iq type='get' id='"+id+"'><ping xmlns='urn:xmpp:ping'/></iq>")
	deadline := time.After(Timeout)
	for {
		select {
		case n := <-c.in:
			if n.XMLName.Local == "iq" && n.Attr("id") == id {
				return
			}
			if ok(&n) {
				t.Fatalf("%s: unexpected %s", c.JID, what)
			}
		case <-deadline:
			t.Fatalf("%s: no answer to a ping", c.JID)
		}
	}
}

// Sync waits until the server has processed everything c sent before.
func (c *Client) Sync(t testing.TB) { c.None(t, "", func(*Node) bool { return false }) }

// Message matches a message whose body is body.
func Message(body string) func(n *Node) bool {
	return func(n *Node) bool {
		b := n.Child("", "body")
		return n.XMLName.Local == "message" && b != nil && b.Text == body
	}
}

// ErrorFor matches the error answering the stanza with id.
func ErrorFor(id string) func(n *Node) bool {
	return func(n *Node) bool { return n.Attr("id") == id && n.Attr("type") == "error" }
}
