package caps_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"xmppd/internal/xmpptest"
)

const timeout = 5 * time.Second

// client is a logged-in client that collects every stanza it gets as
// text and answers the server's disco#info queries with info, if set.
type client struct {
	jid  string
	sess *xmpp.Session
	in   chan string
	info string // the <query/> children it answers disco#info with
	asks chan string
	hold chan struct{} // when set, answers wait until it is closed
}

type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

func login(t *testing.T, s *xmpptest.Server, user, info string) *client {
	t.Helper()
	return loginHolding(t, s, user, info, nil)
}

// loginHolding is login with a client that answers disco#info only once
// hold is closed.
func loginHolding(t *testing.T, s *xmpptest.Server, user, info string, hold chan struct{}) *client {
	t.Helper()
	sess, _ := s.Dial(t, user, "pw")
	c := &client{jid: sess.LocalAddr().String(), sess: sess, in: make(chan string, 256), info: info, asks: make(chan string, 16), hold: hold}
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		var buf bytes.Buffer
		e := xml.NewEncoder(&buf)
		if _, err := xmlstream.Copy(e, xmlstream.MultiReader(xmlstream.Token(*start), r)); err != nil {
			return err
		}
		e.Flush()
		raw := buf.String()
		if start.Name.Local == "iq" && strings.Contains(raw, "disco#info") && attr(start, "type") == "get" {
			var q struct {
				Query struct {
					Node string `xml:"node,attr"`
				} `xml:"http://jabber.org/protocol/disco#info query"`
			}
			xml.Unmarshal(buf.Bytes(), &q)
			c.asks <- q.Query.Node
			if c.hold != nil {
				<-c.hold
			}
			resp := "<iq type='result' id='" + attr(start, "id") + "' to='" + attr(start, "from") +
				"'><query xmlns='http://jabber.org/protocol/disco#info' node='" + q.Query.Node + "'>" + c.info + "</query></iq>"
			_, err := xmlstream.Copy(r, rawTokens{xml.NewDecoder(strings.NewReader(resp))})
			return err
		}
		c.in <- raw
		return nil
	}))
	return c
}

func attr(start *xml.StartElement, name string) string {
	for _, a := range start.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (c *client) send(t *testing.T, s string) {
	ctx := xmpptest.Context(t, timeout)
	if err := c.sess.Send(ctx, rawTokens{xml.NewDecoder(strings.NewReader(s))}); err != nil {
		t.Log(err)
	}
}
