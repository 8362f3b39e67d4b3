package bosh_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"

	"xmppd/internal/jid"
	"xmppd/internal/xmpptest"
)

// TestCreate: the session creation response carries the session's
// parameters (XEP-0124 §7.1, XEP-0206 §4) and the stream features.
func TestCreate(t *testing.T) {
	_, url := start(t, plainOK)
	c := newClient(t, url)
	r := c.create("wait='600' hold='3' ack='1'")
	if c.sid == "" {
		t.Fatalf("no sid: %s", r.raw)
	}
	want := map[string]string{"wait": "60", "hold": "1", "requests": "2", "polling": "2",
		"inactivity": "60", "maxpause": "300", "ver": "1.11", "from": "localhost",
		"ack": strconv.FormatInt(c.rid, 10), "secure": "true"}
	for k, v := range want {
		if got := r.Attr(k); got != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	if r.Attr("authid") == "" {
		t.Error("no authid")
	}
	if v := r.attrNS("urn:xmpp:xbosh", "version"); v != "1.0" {
		t.Errorf("xmpp:version=%q", v)
	}
	if v := r.attrNS("urn:xmpp:xbosh", "restartlogic"); v != "true" {
		t.Errorf("xmpp:restartlogic=%q", v)
	}
	f := r.Child("http://etherx.jabber.org/streams", "features")
	if f == nil || f.Child("urn:ietf:params:xml:ns:xmpp-sasl", "mechanisms") == nil {
		t.Fatalf("no SASL features in the creation response: %s", r.raw)
	}
	if strings.Contains(r.raw, "-PLUS") {
		t.Errorf("channel binding offered where no one TLS channel exists: %s", r.raw)
	}

	// A shorter wait than the bound is kept, and hold='0' makes a polling session.
	p := newClient(t, url)
	r = p.create("wait='5' hold='0'")
	if r.Attr("wait") != "5" || r.Attr("hold") != "0" || r.Attr("requests") != "1" || r.Attr("ack") != "" {
		t.Errorf("polling session: %s", r.raw)
	}

	// An unknown host ends the session at once.
	u := newClient(t, url)
	r = u.post("<body rid='1' to='example.net' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh' xmlns='http://jabber.org/protocol/httpbind'/>")
	if r.Attr("type") != "terminate" || r.Attr("condition") != "host-unknown" {
		t.Errorf("unknown host: %s", r.raw)
	}
}

// TestMessages: a BOSH client logs in with PLAIN (loopback allowed),
// restarts, binds, and exchanges messages with a TCP client.
func TestMessages(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	srv.AddUser(t, "bob", "pw-bob")
	c := newClient(t, url)
	c.login("alice", "pw-alice", "web", "1", "1")
	if c.jid != "alice@localhost/web" {
		t.Fatalf("bound %q", c.jid)
	}
	s := srv.Host("localhost").Session(jid.MustParse(c.jid))
	if s == nil || s.Info().Transport != "bosh" || s.Info().Remote != "127.0.0.1" {
		t.Fatalf("no BOSH session for %s: %+v", c.jid, s)
	}

	bob := xmpptest.Login(t, srv, "bob", "pw-bob", "tcp")
	c.send("<message to='" + bob.JID + "' type='chat' xmlns='jabber:client'><body>from the web</body></message>")
	got := bob.Next(t, "message from BOSH", xmpptest.Message("from the web"))
	if got.Attr("from") != c.jid {
		t.Errorf("from=%q", got.Attr("from"))
	}

	bob.Send(t, "<message to='"+c.jid+"' type='chat'><body>to the web</body></message>")
	m := c.until("message from TCP", func(n *xmpptest.Node) bool {
		return n.XMLName.Local == "message" && n.Child("", "body") != nil && n.Child("", "body").Text == "to the web"
	})
	// Stanzas inside <body/> say their namespace themselves.
	if m.XMLName.Space != "jabber:client" || m.Attr("from") != bob.JID {
		t.Errorf("message %+v", m)
	}

	// A stanza that leaves out jabber:client is read as one all the same.
	c.send("<message to='" + bob.JID + "' type='chat'><body>no namespace</body></message>")
	bob.Next(t, "message without a namespace", xmpptest.Message("no namespace"))
}

// TestSCRAMBehindProxy: behind_tls_proxy makes the endpoint count as
// encrypted, so SCRAM and PLAIN are offered without loopback's leave; the
// session then binds after the restart.
func TestSCRAMBehindProxy(t *testing.T) {
	srv, url := start(t, "config module 'bosh'\n\toption behind_tls_proxy '1'\n")
	srv.AddUser(t, "carol", "pw-carol")
	c := newClient(t, url)
	r := c.create("wait='1' hold='1'")
	if !strings.Contains(r.raw, "<mechanism>SCRAM-SHA-256</mechanism>") || !strings.Contains(r.raw, "<mechanism>PLAIN</mechanism>") {
		t.Fatalf("mechanisms behind a TLS proxy: %s", r.raw)
	}
	cl := sasl.NewClient(sasl.ScramSha256, sasl.Credentials(func() ([]byte, []byte, []byte) {
		return []byte("carol"), []byte("pw-carol"), nil
	}))
	_, first, err := cl.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	r = c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" + b64(first) + "</auth>")
	ch := r.Child("urn:ietf:params:xml:ns:xmpp-sasl", "challenge")
	if ch == nil {
		t.Fatalf("no challenge: %s", r.raw)
	}
	_, final, err := cl.Step(unb64(t, ch.Text))
	if err != nil {
		t.Fatal(err)
	}
	r = c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + b64(final) + "</response>")
	ok := r.Child("urn:ietf:params:xml:ns:xmpp-sasl", "success")
	if ok == nil {
		t.Fatalf("no success: %s", r.raw)
	}
	if _, _, err := cl.Step(unb64(t, ok.Text)); err != nil {
		t.Fatalf("server signature: %v", err)
	}
	c.restartBind("scram")
	if c.jid != "carol@localhost/scram" {
		t.Fatalf("bound %q", c.jid)
	}
}

// TestNoPlainWithoutTLS: plain HTTP that is neither loopback-allowed nor
// behind a TLS proxy offers no mechanism, and refuses authentication.
func TestNoPlainWithoutTLS(t *testing.T) {
	srv, url := start(t, "")
	srv.AddUser(t, "dave", "pw-dave")
	c := newClient(t, url)
	r := c.create("wait='1' hold='1'")
	if strings.Contains(r.raw, "mechanism") {
		t.Fatalf("mechanisms offered over plain HTTP: %s", r.raw)
	}
	r = c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + b64([]byte("\x00dave\x00pw-dave")) + "</auth>")
	if f := r.Child("urn:ietf:params:xml:ns:xmpp-sasl", "failure"); f == nil || f.Child("", "encryption-required") == nil {
		t.Fatalf("authentication over plain HTTP: %s", r.raw)
	}
}

// TestWaitEmpty: a request with nothing to carry is answered empty once
// the session's wait is over.
func TestWaitEmpty(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "erin", "pw-erin")
	c := newClient(t, url)
	c.login("erin", "pw-erin", "w", "1", "1")
	r := c.send("")
	if len(r.Nodes) != 0 || r.Attr("type") != "" {
		t.Fatalf("not an empty response: %s", r.raw)
	}
}

// TestPolling: with hold='0' every request is answered at once, and what
// arrived meanwhile comes with the next poll.
func TestPolling(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "fay", "pw-fay")
	srv.AddUser(t, "gus", "pw-gus")
	c := newClient(t, url)
	// A long wait: a polling session answers at once regardless.
	c.login("fay", "pw-fay", "poll", "60", "0")
	r := c.send("")
	if len(r.Nodes) != 0 {
		t.Fatalf("poll: %s", r.raw)
	}
	gus := xmpptest.Login(t, srv, "gus", "pw-gus", "tcp")
	gus.Send(t, "<message to='"+c.jid+"'><body>polled</body></message>")
	gus.Sync(t)
	r = c.send("")
	if m := r.Child("jabber:client", "message"); m == nil || m.Child("", "body").Text != "polled" {
		t.Fatalf("poll after a message: %s", r.raw)
	}
}

// TestRIDOutOfWindow: a rid beyond the window ends the session with
// item-not-found (XEP-0124 §14.3).
func TestRIDOutOfWindow(t *testing.T) {
	_, url := start(t, plainOK)
	c := newClient(t, url)
	c.create("wait='1' hold='1'")
	c.rid += 5
	r := c.send("")
	if r.Attr("type") != "terminate" || r.Attr("condition") != "item-not-found" {
		t.Fatalf("rid out of window: %s", r.raw)
	}
	c.rid -= 6
	if r := c.send(""); r.Attr("condition") != "item-not-found" {
		t.Fatalf("the session lives on: %s", r.raw)
	}
}

// TestDuplicateRID: a request sent again gets the response it had
// (XEP-0124 §14.3), and the session goes on.
func TestDuplicateRID(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "hal", "pw-hal")
	c := newClient(t, url)
	c.login("hal", "pw-hal", "dup", "1", "1")
	first := c.send("<iq type='get' id='v1' to='localhost' xmlns='jabber:client'><query xmlns='jabber:iq:version'/></iq>")
	if first.Child("jabber:client", "iq") == nil {
		t.Fatalf("no answer to the iq: %s", first.raw)
	}
	c.rid--
	again := c.send("<iq type='get' id='v1' to='localhost' xmlns='jabber:client'><query xmlns='jabber:iq:version'/></iq>")
	if again.raw != first.raw {
		t.Fatalf("resent %q, first %q", again.raw, first.raw)
	}
	if r := c.send(""); r.Attr("type") == "terminate" {
		t.Fatalf("the session ended: %s", r.raw)
	}
}

// TestTerminate: a client's terminate ends the session and unbinds it.
func TestTerminate(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "ida", "pw-ida")
	c := newClient(t, url)
	c.login("ida", "pw-ida", "bye", "1", "1")
	full := jid.MustParse(c.jid)
	if srv.Host("localhost").Session(full) == nil {
		t.Fatal("not bound")
	}
	r := c.post(c.body("type='terminate'", "<presence type='unavailable' xmlns='jabber:client'/>"))
	if r.Attr("type") != "terminate" || r.Attr("condition") != "" {
		t.Fatalf("terminate: %s", r.raw)
	}
	if srv.Host("localhost").Session(full) != nil {
		t.Fatal("still bound after terminate")
	}
	if r := c.send(""); r.Attr("condition") != "item-not-found" {
		t.Fatalf("after terminate: %s", r.raw)
	}
}

// TestInactivity: a session without requests for its inactivity time
// ends; its resource is unbound, and its sid is forgotten.
func TestInactivity(t *testing.T) {
	srv, url := start(t, plainOK+"config module 'bosh'\n\toption inactivity '1s'\n")
	srv.AddUser(t, "jo", "pw-jo")
	c := newClient(t, url)
	c.login("jo", "pw-jo", "idle", "1", "1")
	full := jid.MustParse(c.jid)
	deadline := time.Now().Add(20 * time.Second)
	for srv.Host("localhost").Session(full) != nil {
		if time.Now().After(deadline) {
			t.Fatal("an inactive session is still bound")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := c.send(""); r.Attr("condition") != "item-not-found" {
		t.Fatalf("after inactivity: %s", r.raw)
	}
}

// TestCORS: preflight and posts from an allowed origin get the CORS
// headers; another origin gets none, and its preflight is refused.
func TestCORS(t *testing.T) {
	_, url := start(t, plainOK+"config module 'bosh'\n\tlist cors_origins 'https://chat.example'\n")
	pre := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, url, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := pre("https://chat.example")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://chat.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "content-type") {
		t.Fatalf("preflight of an allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp = pre("https://evil.example")
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight of another origin: %d %v", resp.StatusCode, resp.Header)
	}

	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("<body rid='1' to='localhost' wait='1' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh' xmlns='http://jabber.org/protocol/httpbind'/>"))
	req.Header.Set("Origin", "https://chat.example")
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://chat.example" {
		t.Fatalf("post from an allowed origin: %v", resp.Header)
	}
}

// TestBadXML: a body that is not well-formed ends the session with
// bad-request.
func TestBadXML(t *testing.T) {
	_, url := start(t, plainOK)
	c := newClient(t, url)
	c.create("wait='1' hold='1'")
	r := c.post(c.body("", "<message><body>unclosed</message>"))
	if r.Attr("type") != "terminate" || r.Attr("condition") != "bad-request" {
		t.Fatalf("bad XML: %s", r.raw)
	}
	if r := c.send(""); r.Attr("condition") != "item-not-found" {
		t.Fatalf("the session lives on: %s", r.raw)
	}
	// Not a <body/> at all.
	if r := c.post("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>"); r.Attr("condition") != "bad-request" {
		t.Fatalf("not a body: %s", r.raw)
	}
}

// TestOversize: a body over stanza_size_limit ends the session with
// policy-violation.
func TestOversize(t *testing.T) {
	_, url := start(t, plainOK+"\toption stanza_size_limit '10000'\n")
	c := newClient(t, url)
	c.create("wait='1' hold='1'")
	big := "<message to='x@localhost' xmlns='jabber:client'><body>" + strings.Repeat("x", 12000) + "</body></message>"
	r := c.post(c.body("", big))
	if r.Attr("type") != "terminate" || r.Attr("condition") != "policy-violation" {
		t.Fatalf("oversize body: %s", r.raw[:min(len(r.raw), 300)])
	}
	if r := c.send(""); r.Attr("condition") != "item-not-found" {
		t.Fatalf("the session lives on: %s", r.raw)
	}
}
