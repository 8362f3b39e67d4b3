package websocket_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	ws "github.com/coder/websocket"

	"xmppd/internal/jid"
	"xmppd/internal/xmpptest"
)

// TestHandshakeRefusals: a request that is no WebSocket handshake, one
// without the xmpp subprotocol and one from a foreign page are refused
// with an HTTP error that says why.
func TestHandshakeRefusals(t *testing.T) {
	_, url := start(t, plainOK)
	httpURL := "http" + strings.TrimPrefix(url, "ws")
	resp, body := get(t, httpURL, nil)
	if resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(body, "RFC 7395") {
		t.Errorf("plain GET: %d %q", resp.StatusCode, body)
	}

	ctx := xmpptest.Context(t, xmpptest.Timeout)
	_, resp, err := ws.Dial(ctx, url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("without the subprotocol: %v %v", resp, err)
	}
	_, resp, err = ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{"mqtt"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("with another subprotocol: %v %v", resp, err)
	}

	evil := http.Header{"Origin": {"https://evil.example"}}
	_, resp, err = ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{"xmpp"}, HTTPHeader: evil})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a foreign origin: %v %v", resp, err)
	}

	// The page's own origin may connect, and so may a client that sends
	// no Origin (dialRaw).
	host := strings.TrimPrefix(strings.TrimSuffix(url, "/xmpp-websocket"), "ws://")
	own := http.Header{"Origin": {"http://" + host}}
	c, _, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{"xmpp"}, HTTPHeader: own})
	if err != nil {
		t.Fatalf("the endpoint's own origin: %v", err)
	}
	c.CloseNow()
	dialRaw(t, url).open()
}

// TestOriginsOption: list origins lets pages of other origins in.
func TestOriginsOption(t *testing.T) {
	_, url := start(t, plainOK+"config module 'websocket'\n\tlist origins 'https://chat.example.org'\n")
	ctx := xmpptest.Context(t, xmpptest.Timeout)
	for origin, want := range map[string]bool{"https://chat.example.org": true, "https://CHAT.example.org": true, "https://evil.example": false} {
		c, resp, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{"xmpp"}, HTTPHeader: http.Header{"Origin": {origin}}})
		switch {
		case want && err != nil:
			t.Errorf("%s refused: %v", origin, err)
		case !want && (err == nil || resp.StatusCode != http.StatusForbidden):
			t.Errorf("%s let in: %v", origin, err)
		}
		if c != nil {
			c.CloseNow()
		}
	}
}

// TestBadOptions: a typo in the module's options is a configuration error
// that names the option.
func TestBadOptions(t *testing.T) {
	for uci, name := range map[string]string{
		"config module 'websocket'\n\tlist origins 'chat.example.org'\n": "origins",
		"config module 'websocket'\n\toption keepalive '10ms'\n":         "keepalive",
		"config module 'websocket'\n\toption keepalive 'often'\n":        "keepalive",
		"config module 'websocket'\n\toption keep_alive '30s'\n":         "keep_alive",
	} {
		_, err := xmpptest.StartErr(t, uci)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%q: %v", uci, err)
		}
	}
}

// TestRestart: the stream opens with <open/>, every message is one element
// that declares its namespaces, and after SASL success the stream restarts
// with a new <open/> (RFC 7395 §3.4, §3.7). The session is an ordinary
// session of the router.
func TestRestart(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	c := dialRaw(t, url)
	c.auth("alice", "pw-alice")
	c.bind("web")
	if c.jid != "alice@localhost/web" {
		t.Fatalf("bound %q", c.jid)
	}
	s := srv.Host("localhost").Session(jid.MustParse(c.jid))
	if s == nil || s.Info().Transport != "websocket" || s.Info().Remote != "127.0.0.1" || s.Info().Secure {
		t.Fatalf("session of %s: %+v", c.jid, s)
	}
	// Stanzas sent go out with jabber:client.
	c.send("<iq type='get' id='p1' xmlns='jabber:client'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.expect("<iq xmlns='jabber:client'")
	// One that leaves the namespace out is read as a client stanza.
	c.send("<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.expect("id='p2'")
}

// TestRestartRequired: after SASL success the next element must be an
// <open/>; a second <open/> on an open stream is an error too.
func TestRestartRequired(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	c := dialRaw(t, url)
	c.auth("alice", "pw-alice")
	c.send("<iq type='set' id='bind' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
	c.expect("<not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
	c.expect("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
	c.closed()

	d := dialRaw(t, url)
	d.open()
	d.send("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>")
	d.expect("<not-well-formed")
}

// TestOpenErrors: an unknown host and a wrong version end the stream with
// the stream error after our <open/>, then <close/>.
func TestOpenErrors(t *testing.T) {
	_, url := start(t, plainOK)
	c := dialRaw(t, url)
	c.send("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.net' version='1.0'/>")
	c.expect("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'")
	c.expect("<stream:error xmlns:stream='http://etherx.jabber.org/streams'><host-unknown")
	c.expect("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
	c.closed()

	d := dialRaw(t, url)
	d.send("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost'/>")
	d.expect("<open")
	d.expect("<unsupported-version")

	// A stanza before <open/>: our <open/> comes first all the same.
	e := dialRaw(t, url)
	e.send("<message to='bob@localhost'><body>hi</body></message>")
	e.expect("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'")
	e.expect("<not-well-formed")
}

// TestClose: <close/> is answered with <close/>, the WebSocket closes
// normally, and the session ends: a client that leaves means to leave.
func TestClose(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	c := dialRaw(t, url)
	c.login("alice", "pw-alice", "web")
	c.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
	c.expect("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
	if st := c.closed(); st != ws.StatusNormalClosure {
		t.Errorf("close status %v", st)
	}
	waitFor(t, "the session's end", func() bool { ok, _ := bound(srv, c.jid); return !ok })
}

// TestMalformed: XML that is not well-formed ends the stream with a
// stream error, then <close/>, then the WebSocket's close.
func TestMalformed(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	for name, bad := range map[string]string{
		"mismatched tags": "<message to='bob@localhost'><body>hi</message>",
		"old framing end": "</stream:stream>",
		"binary message":  "",
		"restricted XML":  "<!-- a comment -->",
	} {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, url)
			c.login("alice", "pw-alice", "r-"+strings.ReplaceAll(name, " ", "-"))
			if bad == "" {
				if err := c.c.Write(context.Background(), ws.MessageBinary, []byte("<presence/>")); err != nil {
					t.Fatal(err)
				}
			} else {
				c.send(bad)
			}
			raw := c.expect("<stream:error xmlns:stream='http://etherx.jabber.org/streams'>")
			if !regexp.MustCompile(`<(not-well-formed|bad-format|restricted-xml) xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>`).MatchString(raw) {
				t.Errorf("stream error %q", raw)
			}
			c.expect("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
			c.closed()
		})
	}
}

// TestTooBig: a message over stanza_size_limit ends the stream with
// policy-violation, whether it is one big stanza or not XML at all.
func TestTooBig(t *testing.T) {
	srv, url := start(t, plainOK+"\toption stanza_size_limit '10000'\n")
	srv.AddUser(t, "alice", "pw-alice")
	c := dialRaw(t, url)
	c.login("alice", "pw-alice", "web")
	c.send("<message to='alice@localhost' xmlns='jabber:client'><body>" + strings.Repeat("x", 20000) + "</body></message>")
	c.expect("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
	c.expect("<close")
	if st := c.closed(); st != ws.StatusPolicyViolation {
		t.Errorf("close status %v", st)
	}

	// A stanza split over messages is bounded the same.
	d := dialRaw(t, url)
	d.login("alice", "pw-alice", "split")
	d.send("<message to='alice@localhost' xmlns='jabber:client'><body>")
	for range 3 {
		d.send(strings.Repeat("y", 4000))
	}
	d.expect("<policy-violation")
}

// TestSplitAndJoined: an element split over two messages and two elements
// in one message are read as the client meant them.
func TestSplitAndJoined(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	c := dialRaw(t, url)
	c.login("alice", "pw-alice", "web")
	c.send("<iq type='get' id='s1' xmlns='jabber:client'><ping xmlns=")
	c.send("'urn:xmpp:ping'/></iq>")
	c.expect("id='s1'")
	c.send("<iq type='get' id='j1'><ping xmlns='urn:xmpp:ping'/></iq> <iq type='get' id='j2'><ping xmlns='urn:xmpp:ping'/></iq>")
	c.expect("id='j1'")
	c.expect("id='j2'")
}

// TestPlainRules: without TLS, SASL is offered only where c2s offers it
// (loopback with c2s_plain_on_loopback) or when behind_tls_proxy says a
// proxy encrypts; there the session counts as secure.
func TestPlainRules(t *testing.T) {
	_, url := start(t, "")
	if f := dialRaw(t, url).open(); strings.Contains(f, "<mechanism>") {
		t.Errorf("mechanisms offered without TLS: %q", f)
	}
	srv, url := start(t, "config module 'websocket'\n\toption behind_tls_proxy '1'\n")
	srv.AddUser(t, "alice", "pw-alice")
	c := dialRaw(t, url)
	if f := c.open(); !strings.Contains(f, "<mechanism>SCRAM-SHA-256</mechanism>") || strings.Contains(f, "-PLUS") {
		t.Errorf("mechanisms behind a TLS proxy: %q", f)
	}
	c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3LWFsaWNl</auth>")
	c.expect("<success")
	c.bind("proxied")
	if s := srv.Host("localhost").Session(jid.MustParse(c.jid)); s == nil || !s.Info().Secure {
		t.Errorf("session behind the proxy: %+v", s)
	}
}

// TestDroppedSocket: a WebSocket that drops without <close/> detaches the
// session as a lost TCP connection does: stream management keeps it, and
// a new WebSocket resumes it with what was sent meanwhile.
func TestDroppedSocket(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	srv.AddUser(t, "bob", "pw-bob")
	c := dialRaw(t, url)
	c.login("alice", "pw-alice", "phone")
	c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	_, raw := c.next()
	m := regexp.MustCompile(`<enabled xmlns='urn:xmpp:sm:3' id='([^']+)'`).FindStringSubmatch(raw)
	if m == nil {
		t.Fatalf("enable answered with %q", raw)
	}
	c.c.CloseNow()
	waitFor(t, "the session to be detached", func() bool { ok, linked := bound(srv, c.jid); return ok && !linked })

	bob := xmpptest.Login(t, srv, "bob", "pw-bob", "tcp")
	bob.Send(t, "<message to='alice@localhost/phone' type='chat'><body>while away</body></message>")
	bob.Sync(t)

	d := dialRaw(t, url)
	d.auth("alice", "pw-alice")
	d.open()
	d.send("<resume xmlns='urn:xmpp:sm:3' previd='" + m[1] + "' h='0'/>")
	d.expect("<resumed xmlns='urn:xmpp:sm:3' previd='" + m[1] + "'")
	d.until("the message sent while away", func(n *xmpptest.Node) bool {
		return xmpptest.Message("while away")(n) && n.XMLName.Space == "jabber:client"
	})
	if ok, linked := bound(srv, c.jid); !ok || !linked {
		t.Errorf("after resumption: bound %v, linked %v", ok, linked)
	}
}

// TestDroppedSocketUnavailable: without stream management a dropped
// WebSocket ends the session, and its contacts see it go.
func TestDroppedSocketUnavailable(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	c := dialRaw(t, url)
	c.login("alice", "pw-alice", "phone")
	c.c.CloseNow()
	waitFor(t, "the session's end", func() bool { ok, _ := bound(srv, c.jid); return !ok })
}

// TestPingTimeout: a client that stops answering pings loses its
// connection after the keepalive interval, and its session its link.
func TestPingTimeout(t *testing.T) {
	srv, url := start(t, plainOK+"config module 'websocket'\n\toption keepalive '1s'\n")
	srv.AddUser(t, "alice", "pw-alice")
	live := dialRaw(t, url)
	live.login("alice", "pw-alice", "live")
	// A reading client answers pings and stays.
	go func() {
		for {
			if _, _, err := live.c.Read(context.Background()); err != nil {
				return
			}
		}
	}()

	c := dialRaw(t, url)
	c.login("alice", "pw-alice", "deaf")
	// Pongs are sent only by a client that reads: this one stops.
	waitFor(t, "the deaf client's session to end", func() bool { ok, linked := bound(srv, c.jid); return !ok || !linked })
	if ok, linked := bound(srv, live.jid); !ok || !linked {
		t.Errorf("the live client lost its session: %v %v", ok, linked)
	}
}

// TestOutputBound: a client that does not read while others send to it
// is cut off at c2s_queue_size with policy-violation, as on TCP.
func TestOutputBound(t *testing.T) {
	if testing.Short() {
		// Filling the loopback buffers takes megabytes of frames, minutes
		// under an emulator; the bound itself is the session's, the same
		// on every architecture.
		t.Skip("sends megabytes; run without -short")
	}
	srv, url := start(t, plainOK+"\toption c2s_queue_size '16k'\n")
	srv.AddUser(t, "alice", "pw-alice")
	srv.AddUser(t, "bob", "pw-bob")
	// A small receive buffer, so that the kernel does not take tens of
	// megabytes before the server's queue fills.
	c := dialRawWith(t, url, &ws.DialOptions{Subprotocols: []string{"xmpp"}, HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				nc.(*net.TCPConn).SetReadBuffer(16 << 10)
			}
			return nc, err
		}}}})
	c.login("alice", "pw-alice", "slow")
	bob := dialRaw(t, url)
	bob.login("bob", "pw-bob", "fast")
	// The sockets' buffers fill first, then the server's queue.
	msg := []byte("<message to='" + c.jid + "' xmlns='jabber:client'><body>" + strings.Repeat("z", 8000) + "</body></message>")
	for i := 0; i < 20000; i++ {
		if ok, linked := bound(srv, c.jid); !ok || !linked {
			break
		}
		if err := bob.c.Write(context.Background(), ws.MessageText, msg); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the slow client's session to end", func() bool { ok, linked := bound(srv, c.jid); return !ok || !linked })
	// What the client finds when it reads at last ends with the reason.
	for {
		_, raw, err := c.read()
		if err != nil {
			t.Fatalf("no policy-violation before the end: %v", err)
		}
		if strings.Contains(raw, "<policy-violation") {
			break
		}
	}
	// The sender goes on.
	bob.send("<iq type='get' id='after'><ping xmlns='urn:xmpp:ping'/></iq>")
	bob.until("the answer", func(n *xmpptest.Node) bool { return n.Attr("id") == "after" })
}

// TestRequestFlood: a client that sends requests faster than it reads the
// answers is slowed down, not cut off: every answer comes.
func TestRequestFlood(t *testing.T) {
	srv, url := start(t, plainOK+"\toption c2s_queue_size '4k'\n")
	srv.AddUser(t, "alice", "pw-alice")
	c := dialRaw(t, url)
	c.login("alice", "pw-alice", "web")
	const n = 2000
	go func() {
		for i := range n {
			ping := "<iq type='get' id='f" + strconv.Itoa(i) + "'><ping xmlns='urn:xmpp:ping'/></iq>"
			if c.c.Write(context.Background(), ws.MessageText, []byte(ping)) != nil {
				return
			}
		}
	}()
	for i := range n {
		c.until("answer "+strconv.Itoa(i), func(n *xmpptest.Node) bool { return n.Attr("id") == "f"+strconv.Itoa(i) })
	}
}

// TestShutdown: the server's stop ends WebSockets with system-shutdown.
func TestShutdown(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	c := dialRaw(t, url)
	c.login("alice", "pw-alice", "web")
	stopped := make(chan struct{})
	go func() { srv.Stop(); close(stopped) }()
	// The data directory goes at the test's end: the stop must be over.
	defer func() { <-stopped }()
	c.until("system-shutdown", func(n *xmpptest.Node) bool {
		return n.Child("urn:ietf:params:xml:ns:xmpp-streams", "system-shutdown") != nil
	})
	c.expect("<close")
	if st := c.closed(); st != ws.StatusGoingAway {
		t.Errorf("close status %v", st)
	}
}

// TestPipelinedOpen: an <open/> sent with the handshake, before the
// server's answer, is read all the same.
func TestPipelinedOpen(t *testing.T) {
	_, url := start(t, plainOK)
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/xmpp-websocket")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	open := textFrame("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>")
	if _, err := nc.Write(append([]byte(handshake(addr)), open...)); err != nil {
		t.Fatal(err)
	}
	c := &thinClient{b: t, nc: nc, br: bufio.NewReader(nc)}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	c.until("</stream:features>")
}

// TestReadmeExamples: the README's UCI examples start a server.
func TestReadmeExamples(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := regexp.MustCompile("(?s)```uci\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(examples) == 0 {
		t.Fatal("no examples")
	}
	for _, ex := range examples {
		if _, err := xmpptest.StartErr(t, ex[1]); err != nil {
			t.Errorf("example %q: %v", ex[1], err)
		}
	}
}

// TestOrdinarySession: modules that work on sessions see a WebSocket one
// as any other: offline storage delivers to it, carbons copy to it.
func TestOrdinarySession(t *testing.T) {
	srv, url := start(t, plainOK)
	srv.AddUser(t, "alice", "pw-alice")
	srv.AddUser(t, "bob", "pw-bob")
	bob := xmpptest.Login(t, srv, "bob", "pw-bob", "tcp")
	bob.Send(t, "<message to='alice@localhost' type='chat'><body>stored</body></message>")
	bob.Sync(t)

	c := dialRaw(t, url)
	c.login("alice", "pw-alice", "web")
	c.send("<iq type='set' id='carbons'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	c.until("carbons enabled", func(n *xmpptest.Node) bool { return n.Attr("id") == "carbons" && n.Attr("type") == "result" })
	c.send("<presence/>")
	c.until("the offline message", xmpptest.Message("stored"))

	phone := xmpptest.Login(t, srv, "alice", "pw-alice", "phone")
	bob.Send(t, "<message to='"+phone.JID+"' type='chat'><body>to the phone</body></message>")
	phone.Next(t, "the message", xmpptest.Message("to the phone"))
	c.until("the carbon copy", func(n *xmpptest.Node) bool {
		r := n.Child("urn:xmpp:carbons:2", "received")
		return n.XMLName.Space == "jabber:client" && r != nil
	})
}

// TestRateLimit: input over c2s_rate is read more slowly, not refused,
// and the pongs that wait meanwhile do not end the connection.
func TestRateLimit(t *testing.T) {
	srv, url := start(t, plainOK+"\toption c2s_rate '4k'\n\toption c2s_rate_burst '1k'\nconfig module 'websocket'\n\toption keepalive '1s'\n")
	srv.AddUser(t, "alice", "pw-alice")
	c := dialRaw(t, url)
	c.login("alice", "pw-alice", "web")
	body := strings.Repeat("r", 3000)
	for i := range 3 {
		c.send("<iq type='get' id='r" + strconv.Itoa(i) + "'><ping xmlns='urn:xmpp:ping'/><x xmlns='urn:x'>" + body + "</x></iq>")
	}
	for i := range 3 {
		c.until("answer "+strconv.Itoa(i), func(n *xmpptest.Node) bool { return n.Attr("id") == "r"+strconv.Itoa(i) })
	}
	if ok, linked := bound(srv, c.jid); !ok || !linked {
		t.Errorf("the session after the pauses: bound %v, linked %v", ok, linked)
	}
}

// TestConnectionLimits: c2s_max_per_ip bounds the connections of an
// address, and c2s_max_unauth those not logged in yet; a bound session
// no longer counts against the second.
func TestConnectionLimits(t *testing.T) {
	srv, url := start(t, plainOK+"\toption c2s_max_unauth '2'\n")
	srv.AddUser(t, "alice", "pw-alice")
	a := dialRaw(t, url)
	dialRaw(t, url)
	ctx := xmpptest.Context(t, xmpptest.Timeout)
	if _, resp, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{"xmpp"}}); err == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third connection logging in: %v", err)
	}
	a.login("alice", "pw-alice", "web")
	dialRaw(t, url).open()

	_, url = start(t, plainOK+"\toption c2s_max_per_ip '1'\n")
	dialRaw(t, url)
	if _, resp, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{"xmpp"}}); err == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a second connection from the address: %v", err)
	}
}

// TestWSS: over wss: the session is secure, and SCRAM may bind to the
// connection's TLS channel: the -PLUS mechanisms are offered.
func TestWSS(t *testing.T) {
	srv := xmpptest.Start(t, "")
	hs := httptest.NewTLSServer(srv.HTTP)
	t.Cleanup(func() { srv.Stop(); hs.Close() })
	url := "wss" + strings.TrimPrefix(hs.URL, "https") + "/xmpp-websocket"
	c := dialRawWith(t, url, &ws.DialOptions{Subprotocols: []string{"xmpp"}, HTTPClient: hs.Client()})
	if f := c.open(); !strings.Contains(f, "<mechanism>SCRAM-SHA-256-PLUS</mechanism>") || !strings.Contains(f, "<mechanism>PLAIN</mechanism>") {
		t.Errorf("mechanisms over wss: %q", f)
	}
}
