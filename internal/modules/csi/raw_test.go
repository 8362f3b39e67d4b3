package csi_test

import (
	"bytes"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

// rawClient speaks XMPP by hand, to see exactly what arrives and when.
type rawClient struct {
	t   testing.TB
	c   net.Conn
	got bytes.Buffer
}

// plainUCI lets PLAIN run without TLS on loopback, for raw clients.
const plainUCI = "\toption c2s_plain_on_loopback '1'\n"

const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

func dial(t testing.TB, s *xmpptest.Server) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", s.StartTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c}
}

func (r *rawClient) send(s string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// expect reads until want has arrived and returns everything read so far.
func (r *rawClient) expect(want string) string {
	r.t.Helper()
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.got.String(), want) {
		r.c.SetReadDeadline(deadline)
		n, err := r.c.Read(buf)
		r.got.Write(buf[:n])
		if err != nil {
			r.t.Fatalf("waiting for %q: %v; got %q", want, err, r.got.String())
		}
	}
	return r.got.String()
}

// auth authenticates with PLAIN and restarts the stream: resource binding
// or resumption comes next. It returns the features after authentication.
func (r *rawClient) auth(user, pass string) string {
	r.t.Helper()
	r.send(header)
	r.expect("</stream:features>")
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>")
	r.expect("<success")
	r.got.Reset()
	r.send(header)
	f := r.expect("</stream:features>")
	r.got.Reset()
	return f
}

// bind binds resource.
func (r *rawClient) bind(resource string) {
	r.t.Helper()
	r.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	r.expect("</iq>")
	r.got.Reset()
}

// login authenticates and binds.
func (r *rawClient) login(user, pass, resource string) {
	r.t.Helper()
	r.auth(user, pass)
	r.bind(resource)
}

// take returns what was read and forgets it.
func (r *rawClient) take() string {
	s := r.got.String()
	r.got.Reset()
	return s
}
