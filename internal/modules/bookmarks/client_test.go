package bookmarks_test

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

	_ "xmppd/internal/modules/bookmarks"
	"xmppd/internal/xmpptest"
)

const (
	timeout  = 5 * time.Second
	nsPubsub = "http://jabber.org/protocol/pubsub"
	node     = "urn:xmpp:bookmarks:1"
	legacyNS = "storage:bookmarks"
)

// xmlnsAttr matches the declarations encoding/xml writes on every
// element; the tests match text without them.
var xmlnsAttr = regexp.MustCompile(` xmlns="[^"]*"`)

// client is a logged-in client that keeps what it receives as text and
// answers the server's caps queries with its +notify features.
type client struct {
	jid, bare string
	sess      *xmpp.Session
	in        chan string
	info      string
}

type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

func attr(start *xml.StartElement, name string) string {
	for _, a := range start.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// login logs user in; notify lists the PEP nodes its caps ask for.
func login(t testing.TB, s *xmpptest.Server, user string, notify ...string) *client {
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
		c.in <- xmlnsAttr.ReplaceAllString(buf.String(), "")
		return nil
	}))
	return c
}

// online sends available presence with caps naming the +notify nodes, and
// waits until the server has asked for them.
func (c *client) online(t testing.TB, notify ...string) {
	t.Helper()
	s := "client/pc//t<http://jabber.org/protocol/caps<"
	for _, n := range notify {
		s += n + "+notify<"
	}
	h := sha1.Sum([]byte(s))
	c.send(t, "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://xmppd.test' ver='"+
		base64.StdEncoding.EncodeToString(h[:])+"'/></presence>")
	time.Sleep(300 * time.Millisecond) // the caps query and its answer
}

func (c *client) send(t testing.TB, s string) {
	t.Helper()
	if err := c.sess.Send(xmpptest.Context(t, timeout), rawTokens{xml.NewDecoder(strings.NewReader(s))}); err != nil {
		t.Fatal(err)
	}
}

var ids atomic.Int64

// iq sends an iq with payload and returns the answer, which must be of
// type want unless want is "".
func (c *client) iq(t testing.TB, typ, payload, want string) string {
	t.Helper()
	return c.iqTo(t, typ, "", payload, want)
}

// iqTo is iq to the address to ("": the account).
func (c *client) iqTo(t testing.TB, typ, to, payload, want string) string {
	t.Helper()
	id := "b" + strconv.FormatInt(ids.Add(1), 10)
	if to != "" {
		to = " to='" + to + "'"
	}
	c.send(t, "<iq type='"+typ+"' id='"+id+"'"+to+">"+payload+"</iq>")
	deadline := time.After(timeout)
	var other []string
	defer func() {
		for _, o := range other {
			c.in <- o
		}
	}()
	for {
		select {
		case raw := <-c.in:
			if strings.HasPrefix(raw, "<iq") && strings.Contains(raw, `id="`+id+`"`) {
				if want != "" && !strings.Contains(raw, `type="`+want+`"`) {
					t.Fatalf("%s: want %s, got %s", c.jid, want, raw)
				}
				return raw
			}
			other = append(other, raw)
		case <-deadline:
			t.Fatalf("%s: no answer to %s", c.jid, payload)
		}
	}
}

// expect waits for a stanza containing every part, dropping others.
func (c *client) expect(t testing.TB, parts ...string) string {
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

// quiet fails when a stanza containing part arrives within d.
func (c *client) quiet(t testing.TB, part string, d time.Duration) {
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

// privateGet reads the XEP-0048 bookmarks through private storage.
func (c *client) privateGet(t testing.TB) string {
	t.Helper()
	return c.iq(t, "get", "<query xmlns='jabber:iq:private'><storage xmlns='"+legacyNS+"'/></query>", "result")
}

// privateSet stores a XEP-0048 list through private storage and returns
// the answer, of type want.
func (c *client) privateSet(t testing.TB, storage, want string) string {
	t.Helper()
	return c.iq(t, "set", "<query xmlns='jabber:iq:private'><storage xmlns='"+legacyNS+"'>"+storage+"</storage></query>", want)
}

// items reads the XEP-0402 node.
func (c *client) items(t testing.TB) string {
	t.Helper()
	return c.iq(t, "get", "<pubsub xmlns='"+nsPubsub+"'><items node='"+node+"'/></pubsub>", "result")
}

func form(typ string, fields ...string) string {
	f := "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>" + typ + "</value></field>"
	for i := 0; i+1 < len(fields); i += 2 {
		f += "<field var='" + fields[i] + "'><value>" + fields[i+1] + "</value></field>"
	}
	return f + "</x>"
}

// publish publishes a XEP-0402 bookmark as XEP-0402 §3 shows.
func (c *client) publish(t testing.TB, room, conference string) {
	t.Helper()
	opts := "<publish-options>" + form(nsPubsub+"#publish-options", "pubsub#persist_items", "true",
		"pubsub#access_model", "whitelist", "pubsub#max_items", "max", "pubsub#send_last_published_item", "never") + "</publish-options>"
	c.iq(t, "set", "<pubsub xmlns='"+nsPubsub+"'><publish node='"+node+"'><item id='"+room+"'>"+conference+"</item></publish>"+opts+"</pubsub>", "result")
}

// retract retracts a XEP-0402 bookmark, notifying (XEP-0402 §3).
func (c *client) retract(t testing.TB, room string) {
	t.Helper()
	c.iq(t, "set", "<pubsub xmlns='"+nsPubsub+"'><retract node='"+node+"' notify='true'><item id='"+room+"'/></retract></pubsub>", "result")
}
