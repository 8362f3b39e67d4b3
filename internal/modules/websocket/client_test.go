package websocket_test

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"xmppd/internal/jid"
	"xmppd/internal/xmpptest"

	_ "xmppd/internal/modules/websocket"
)

// start runs a server whose HTTP routes are served on 127.0.0.1, and
// returns it with the endpoint's ws:// URL; extra is UCI for the main
// section, as xmpptest.Start takes it.
func start(t testing.TB, extra string) (*xmpptest.Server, string) {
	t.Helper()
	srv := xmpptest.Start(t, extra)
	hs := httptest.NewServer(srv.HTTP)
	// The server's stop ends every WebSocket, so that the HTTP server's
	// close does not wait for them.
	t.Cleanup(func() { srv.Stop(); hs.Close() })
	return srv, "ws" + strings.TrimPrefix(hs.URL, "http") + "/xmpp-websocket"
}

// plainOK lets the tests log in without TLS over loopback.
const plainOK = "\toption c2s_plain_on_loopback '1'\n"

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(xmpptest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawClient speaks RFC 7395 by hand over github.com/coder/websocket, so
// that the tests see every message as the server frames it.
type rawClient struct {
	t   testing.TB
	c   *ws.Conn
	jid string
}

// dialRaw opens a WebSocket with the xmpp subprotocol.
func dialRaw(t testing.TB, url string) *rawClient {
	t.Helper()
	return dialRawWith(t, url, &ws.DialOptions{Subprotocols: []string{"xmpp"}})
}

// dialRawWith is dialRaw with the library's options.
func dialRawWith(t testing.TB, url string, opts *ws.DialOptions) *rawClient {
	t.Helper()
	c, resp, err := ws.Dial(xmpptest.Context(t, xmpptest.Timeout), url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "xmpp" {
		t.Fatalf("subprotocol %q, want xmpp", got)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &rawClient{t: t, c: c}
}

// send sends one text message.
func (r *rawClient) send(s string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), xmpptest.Timeout)
	defer cancel()
	if err := r.c.Write(ctx, ws.MessageText, []byte(s)); err != nil {
		r.t.Fatalf("send %q: %v", s, err)
	}
}

// next reads one message, which must be one element, and parses it.
func (r *rawClient) next() (*xmpptest.Node, string) {
	r.t.Helper()
	n, raw, err := r.read()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return n, raw
}

// read reads and parses one message.
func (r *rawClient) read() (*xmpptest.Node, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), xmpptest.Timeout)
	defer cancel()
	typ, b, err := r.c.Read(ctx)
	if err != nil {
		return nil, "", err
	}
	if typ != ws.MessageText {
		r.t.Fatalf("a binary message: %q", b)
	}
	return parseOne(r.t, string(b)), string(b), nil
}

// parseOne parses a message as exactly one element that declares its
// namespaces itself (RFC 7395 §3.3.3).
func parseOne(t testing.TB, s string) *xmpptest.Node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	var n xmpptest.Node
	if err := d.Decode(&n); err != nil {
		t.Fatalf("message %q is not one element: %v", s, err)
	}
	if tok, err := d.Token(); err == nil {
		t.Fatalf("message %q holds more than one element: then %v", s, tok)
	}
	if n.XMLName.Space == "" || strings.HasPrefix(n.XMLName.Space, "stream") && n.XMLName.Space != "http://etherx.jabber.org/streams" {
		t.Fatalf("message %q does not declare its namespace", s)
	}
	return &n
}

// until reads messages until one that ok accepts.
func (r *rawClient) until(what string, ok func(n *xmpptest.Node) bool) (*xmpptest.Node, string) {
	r.t.Helper()
	for {
		n, raw, err := r.read()
		if err != nil {
			r.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok(n) {
			return n, raw
		}
	}
}

// expect reads the next message and checks that it holds want.
func (r *rawClient) expect(want string) string {
	r.t.Helper()
	_, raw := r.next()
	if !strings.Contains(raw, want) {
		r.t.Fatalf("got %q, want %q in it", raw, want)
	}
	return raw
}

// closed reads until the server closes the WebSocket and returns the
// close status.
func (r *rawClient) closed() ws.StatusCode {
	r.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), xmpptest.Timeout)
		_, b, err := r.c.Read(ctx)
		timedOut := ctx.Err() != nil
		cancel()
		if err != nil {
			if timedOut {
				r.t.Fatal("the server did not close the WebSocket")
			}
			return ws.CloseStatus(err)
		}
		r.t.Logf("after the end: %q", b)
	}
}

// open opens (or restarts) the stream and returns the features.
func (r *rawClient) open() string {
	r.t.Helper()
	r.send("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>")
	n, raw := r.next()
	if n.XMLName.Local != "open" || n.XMLName.Space != "urn:ietf:params:xml:ns:xmpp-framing" || n.Attr("from") != "localhost" || n.Attr("version") != "1.0" || n.Attr("id") == "" {
		r.t.Fatalf("open answered with %q", raw)
	}
	_, feats := r.next()
	if !strings.HasPrefix(feats, "<stream:features xmlns:stream='http://etherx.jabber.org/streams'") {
		r.t.Fatalf("features %q", feats)
	}
	return feats
}

// auth opens the stream and authenticates with PLAIN; the stream is to be
// restarted next.
func (r *rawClient) auth(user, pass string) {
	r.t.Helper()
	if f := r.open(); !strings.Contains(f, "<mechanism>PLAIN</mechanism>") {
		r.t.Fatalf("no PLAIN in %q", f)
	}
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>")
	r.expect("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'")
}

// bind restarts the stream and binds resource.
func (r *rawClient) bind(resource string) {
	r.t.Helper()
	if f := r.open(); !strings.Contains(f, "urn:ietf:params:xml:ns:xmpp-bind") {
		r.t.Fatalf("no binding in %q", f)
	}
	r.send("<iq type='set' id='bind' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	n, raw := r.next()
	j := n.Child("urn:ietf:params:xml:ns:xmpp-bind", "bind")
	if n.XMLName.Space != "jabber:client" || n.Attr("type") != "result" || j == nil || j.Child("urn:ietf:params:xml:ns:xmpp-bind", "jid") == nil {
		r.t.Fatalf("bind answered with %q", raw)
	}
	r.jid = j.Child("urn:ietf:params:xml:ns:xmpp-bind", "jid").Text
}

// login authenticates and binds.
func (r *rawClient) login(user, pass, resource string) {
	r.t.Helper()
	r.auth(user, pass)
	r.bind(resource)
}

// bound reports whether full is bound, and whether its session has a link.
func bound(srv *xmpptest.Server, full string) (ok, linked bool) {
	s := srv.Host("localhost").Session(jid.MustParse(full))
	if s == nil {
		return false, false
	}
	return true, s.Link() != nil
}

// get fetches url over plain HTTP with the given headers.
func get(t testing.TB, url string, h map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}
