package pubsub_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"xmppd/internal/xmpptest"
)

const timeout = 5 * time.Second

// xmlnsAttr matches the declarations encoding/xml repeats on every
// element, which the tests' matching ignores.
var xmlnsAttr = regexp.MustCompile(` xmlns="[^"]*"`)

// client is a logged-in client that collects what it gets as text and
// answers the server's disco#info queries with its features.
type client struct {
	jid  string
	bare string
	sess *xmpp.Session
	in   chan string
	info string
}

type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

// login logs user in; notify lists the nodes its caps ask for.
func login(t *testing.T, s *xmpptest.Server, user string, notify ...string) *client {
	t.Helper()
	sess, _ := s.Dial(t, user, "pw")
	c := &client{jid: sess.LocalAddr().String(), sess: sess, in: make(chan string, 1024)}
	c.bare, _, _ = strings.Cut(c.jid, "/")
	c.info = `<identity category='client' name='t' type='pc'/><feature var='http://jabber.org/protocol/caps'/>`
	for _, n := range notify {
		c.info += `<feature var='` + n + `+notify'/>`
	}
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		var buf bytes.Buffer
		e := xml.NewEncoder(&buf)
		if _, err := xmlstream.Copy(e, xmlstream.MultiReader(xmlstream.Token(*start), r)); err != nil {
			return err
		}
		e.Flush()
		raw := xmlnsAttr.ReplaceAllString(buf.String(), "")
		if start.Name.Local == "iq" && attr(start, "type") == "get" && strings.Contains(buf.String(), "disco#info") {
			var q struct {
				Query struct {
					Node string `xml:"node,attr"`
				} `xml:"http://jabber.org/protocol/disco#info query"`
			}
			xml.Unmarshal(buf.Bytes(), &q)
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

// ver is the client's caps verification string (XEP-0115 §5.1).
func (c *client) ver(notify []string) string {
	s := "client/pc//t<http://jabber.org/protocol/caps<"
	for _, n := range notify {
		s += n + "+notify<"
	}
	h := sha1.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

// online sends available presence, with caps when the client has any
// +notify features.
func (c *client) online(t *testing.T, notify ...string) {
	if len(notify) == 0 {
		c.send(t, "<presence/>")
		return
	}
	c.send(t, "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://xmppd.test' ver='"+c.ver(notify)+"'/></presence>")
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
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	if err := c.sess.Send(ctx, rawTokens{xml.NewDecoder(strings.NewReader(s))}); err != nil {
		t.Fatal(err)
	}
}

var ids atomic.Int64

// iq sends an iq with payload and returns the answer's text; the answer
// is checked to be of type want ("result" or "error").
func (c *client) iq(t *testing.T, typ, to, payload, want string) string {
	t.Helper()
	id := "q" + strconv.FormatInt(ids.Add(1), 10)
	toAttr := ""
	if to != "" {
		toAttr = " to='" + to + "'"
	}
	c.send(t, "<iq type='"+typ+"' id='"+id+"'"+toAttr+">"+payload+"</iq>")
	deadline := time.After(timeout)
	for {
		select {
		case raw := <-c.in:
			if strings.HasPrefix(raw, "<iq") && strings.Contains(raw, `id="`+id+`"`) {
				if !strings.Contains(raw, `type="`+want+`"`) {
					t.Fatalf("%s: want %s, got %s", c.jid, want, raw)
				}
				return raw
			}
			c.in <- raw // not ours: keep it for later
			time.Sleep(time.Millisecond)
		case <-deadline:
			t.Fatalf("%s: no answer to %s", c.jid, payload)
		}
	}
}

// expect waits for a stanza containing every part, skipping others.
func (c *client) expect(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case raw := <-c.in:
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(raw, p)
			}
			if ok {
				return raw
			}
		case <-deadline:
			t.Fatalf("%s: nothing with %q", c.jid, parts)
		}
	}
}

// quiet fails when a stanza containing part arrives within a while.
func (c *client) quiet(t *testing.T, part string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case raw := <-c.in:
			if strings.Contains(raw, part) {
				t.Fatalf("%s: unexpected %s", c.jid, raw)
			}
		case <-deadline:
			return
		}
	}
}

// subscribe makes from subscribed to to's presence (to approves).
func subscribe(t *testing.T, from, to *client) {
	t.Helper()
	from.send(t, "<presence to='"+to.bare+"' type='subscribe'/>")
	to.expect(t, `type="subscribe"`)
	to.send(t, "<presence to='"+from.bare+"' type='subscribed'/>")
	from.expect(t, `type="subscribed"`)
}

func users(t *testing.T, s *xmpptest.Server, names ...string) {
	for _, n := range names {
		s.AddUser(t, n, "pw")
	}
}

func form(typ string, fields ...string) string {
	f := "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>" + typ + "</value></field>"
	for i := 0; i+1 < len(fields); i += 2 {
		f += "<field var='" + fields[i] + "'><value>" + fields[i+1] + "</value></field>"
	}
	return f + "</x>"
}
