package websocket_test

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"
	mws "mellium.im/xmpp/websocket"

	"xmppd/internal/jid"
	"xmppd/internal/xmpptest"
)

// wsClient is a real client library (mellium.im/xmpp's websocket package)
// logged in over ws://, whose every received stanza is queued for the test.
type wsClient struct {
	jid  string
	sess *xmpp.Session
	in   chan xmpptest.Node
}

// dialMellium logs user in over the WebSocket at url with SCRAM-SHA-256
// and binds a resource. The endpoint is plain ws:// on loopback, which the
// server allows (c2s_plain_on_loopback); the library is told the stream
// is secure, as it would be over wss://, so that it agrees to SASL.
func dialMellium(t testing.TB, url, user, pass, resource string) *wsClient {
	t.Helper()
	ctx := xmpptest.Context(t, xmpptest.Timeout)
	origin := "http://" + strings.TrimPrefix(strings.TrimSuffix(url, "/xmpp-websocket"), "ws://")
	conn, err := mws.DialDirect(ctx, origin, url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	addr := mjid.MustParse(user + "@localhost/" + resource)
	n := mws.Negotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: []xmpp.StreamFeature{
			xmpp.SASL("", pass, sasl.ScramSha256), xmpp.BindResource()}}
	})
	sess, err := xmpp.NewSession(ctx, addr.Domain(), addr, conn, xmpp.Secure, n)
	if err != nil {
		conn.Close()
		t.Fatalf("login over WebSocket: %v", err)
	}
	c := &wsClient{jid: sess.LocalAddr().String(), sess: sess, in: make(chan xmpptest.Node, 64)}
	t.Cleanup(func() { sess.Close(); conn.Close() })
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		var n xmpptest.Node
		if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), r)).Decode(&n); err != nil {
			return err
		}
		c.in <- n
		return nil
	}))
	return c
}

// send sends a stanza written as text.
func (c *wsClient) send(t testing.TB, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	if err := c.sess.Send(xmpptest.Context(t, xmpptest.Timeout), rawTokens{d}); err != nil {
		t.Fatal(err)
	}
}

type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

// next waits for a stanza ok accepts, passing over others.
func (c *wsClient) next(t testing.TB, what string, ok func(n *xmpptest.Node) bool) xmpptest.Node {
	t.Helper()
	deadline := time.After(xmpptest.Timeout)
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

// TestMellium: a real WebSocket client logs in with SCRAM-SHA-256 and
// exchanges messages with a TCP client both ways: its session is an
// ordinary one of the router.
func TestMellium(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	srv.AddUser(t, "bob", "pw-bob")
	alice := dialMellium(t, url, "alice", "pw-alice", "browser")
	if !strings.HasPrefix(alice.jid, "alice@localhost/") {
		t.Fatalf("bound %q", alice.jid)
	}
	s := srv.Host("localhost").Session(jid.MustParse(alice.jid))
	if s == nil || s.Info().Transport != "websocket" {
		t.Fatalf("no WebSocket session for %s: %+v", alice.jid, s)
	}

	bob := xmpptest.Login(t, srv, "bob", "pw-bob", "tcp")
	alice.send(t, "<message to='"+bob.JID+"' type='chat'><body>from the browser</body></message>")
	got := bob.Next(t, "message from WebSocket", xmpptest.Message("from the browser"))
	if got.Attr("from") != alice.jid {
		t.Errorf("from=%q", got.Attr("from"))
	}

	bob.Send(t, "<message to='"+alice.jid+"' type='chat'><body>to the browser</body></message>")
	m := alice.next(t, "message from TCP", xmpptest.Message("to the browser"))
	if m.Attr("from") != bob.JID || m.XMLName.Space != "jabber:client" {
		t.Errorf("message %+v", m)
	}

	// Sent to the bare JID once the WebSocket session is available, the
	// only one of the account.
	alice.send(t, "<presence/>")
	alice.next(t, "its own presence", func(n *xmpptest.Node) bool { return n.XMLName.Local == "presence" })
	bob.Send(t, "<message to='alice@localhost' type='chat'><body>bare</body></message>")
	alice.next(t, "message to the bare JID", xmpptest.Message("bare"))
}
