package bosh_test

import (
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

// start runs a server whose HTTP routes are served on 127.0.0.1, and
// returns it with the BOSH endpoint's URL; extra is UCI for the main
// section, as xmpptest.Start takes it.
func start(t testing.TB, extra string) (*xmpptest.Server, string) {
	t.Helper()
	srv := xmpptest.Start(t, extra)
	hs := httptest.NewServer(srv.HTTP)
	// The server's stop answers held requests, so that the HTTP server's
	// close does not wait for them.
	t.Cleanup(func() { srv.Stop(); hs.Close() })
	return srv, hs.URL + "/http-bind"
}

// plainOK lets the tests log in with PLAIN over loopback HTTP.
const plainOK = "\toption c2s_plain_on_loopback '1'\n"

// client is a hand-written BOSH client: the tests write the bodies
// themselves, so that every attribute is seen as the server sends it.
type client struct {
	t   testing.TB
	url string
	sid string
	rid int64
	jid string
	hc  *http.Client
}

func newClient(t testing.TB, url string) *client {
	return &client{t: t, url: url, rid: 1000 + time.Now().UnixNano()%1000, hc: &http.Client{Timeout: 30 * time.Second}}
}

// response is a parsed response body.
type response struct {
	xmpptest.Node
	raw    string
	header http.Header
}

// attrNS returns the attribute local in namespace space.
func (r *response) attrNS(space, local string) string {
	for _, a := range r.Attrs {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// post sends body as it is and parses the answer.
func (c *client) post(body string) *response {
	c.t.Helper()
	resp, err := c.hc.Post(c.url, "text/xml; charset=utf-8", strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		c.t.Errorf("Content-Type %q", ct)
	}
	r := &response{raw: string(b), header: resp.Header}
	if err := xml.Unmarshal(b, &r.Node); err != nil {
		c.t.Fatalf("response %q: %v", b, err)
	}
	if r.XMLName.Space != "http://jabber.org/protocol/httpbind" || r.XMLName.Local != "body" {
		c.t.Fatalf("response is no <body/>: %s", b)
	}
	return r
}

// create opens a session with extra attributes on the creation body.
func (c *client) create(extra string) *response {
	c.t.Helper()
	r := c.post("<body rid='" + strconv.FormatInt(c.rid, 10) + "' to='localhost' xml:lang='en' ver='1.11' " +
		"xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh' xmlns='http://jabber.org/protocol/httpbind' " + extra + "/>")
	c.sid = r.Attr("sid")
	return r
}

// body is a request body of the session, with extra attributes and the
// payload.
func (c *client) body(extra, payload string) string {
	c.rid++
	return "<body rid='" + strconv.FormatInt(c.rid, 10) + "' sid='" + c.sid + "' " + extra +
		" xmlns='http://jabber.org/protocol/httpbind'>" + payload + "</body>"
}

// send posts payload in the session's next request.
func (c *client) send(payload string) *response {
	c.t.Helper()
	return c.post(c.body("", payload))
}

// until polls until a response has a child that ok accepts.
func (c *client) until(what string, ok func(n *xmpptest.Node) bool) *xmpptest.Node {
	c.t.Helper()
	for range 10 {
		r := c.send("")
		for i := range r.Nodes {
			if ok(&r.Nodes[i]) {
				return &r.Nodes[i]
			}
		}
		if r.Attr("type") == "terminate" {
			c.t.Fatalf("session ended waiting for %s: %s", what, r.raw)
		}
	}
	c.t.Fatalf("no %s", what)
	return nil
}

// login creates a session, authenticates with PLAIN, restarts and binds
// resource; the session has wait and hold as given.
func (c *client) login(user, pass, resource, wait, hold string) {
	c.t.Helper()
	r := c.create("wait='" + wait + "' hold='" + hold + "'")
	if r.Child("", "features") == nil {
		r = c.send("")
	}
	if !strings.Contains(r.raw, "<mechanism>PLAIN</mechanism>") {
		c.t.Fatalf("PLAIN not offered: %s", r.raw)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	r = c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + auth + "</auth>")
	if r.Child("urn:ietf:params:xml:ns:xmpp-sasl", "success") == nil {
		c.t.Fatalf("no SASL success: %s", r.raw)
	}
	c.restartBind(resource)
}

// restartBind restarts the stream after SASL and binds resource.
func (c *client) restartBind(resource string) {
	c.t.Helper()
	r := c.post(c.body("to='localhost' xml:lang='en' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'", ""))
	if f := r.Child("", "features"); f == nil || f.Child("urn:ietf:params:xml:ns:xmpp-bind", "bind") == nil {
		c.t.Fatalf("no bind feature after the restart: %s", r.raw)
	}
	r = c.send("<iq type='set' id='bind1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	iq := r.Child("jabber:client", "iq")
	if iq == nil || iq.Attr("type") != "result" {
		c.t.Fatalf("bind failed: %s", r.raw)
	}
	c.jid = iq.Child("", "bind").Child("", "jid").Text
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
