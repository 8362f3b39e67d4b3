package xmpptest

import (
	"bytes"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"
)

// RawHeader opens a client stream to localhost.
const RawHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

// RawClient speaks XMPP by hand over plain TCP, for what no client library
// does (stream management, client state) and to see exactly what arrives
// and when. Logging in needs c2s_plain_on_loopback.
type RawClient struct {
	T   testing.TB
	C   net.Conn
	Got bytes.Buffer // what was read and not yet taken
}

// DialRaw connects to s's STARTTLS listener; the connection closes when the
// test ends.
func DialRaw(t testing.TB, s *Server) *RawClient {
	t.Helper()
	c, err := net.Dial("tcp", s.StartTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &RawClient{T: t, C: c}
}

// Send writes s.
func (r *RawClient) Send(s string) {
	r.T.Helper()
	if _, err := r.C.Write([]byte(s)); err != nil {
		r.T.Fatalf("write: %v", err)
	}
}

// Expect reads until want has arrived and returns everything read so far.
func (r *RawClient) Expect(want string) string {
	r.T.Helper()
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.Got.String(), want) {
		r.C.SetReadDeadline(deadline)
		n, err := r.C.Read(buf)
		r.Got.Write(buf[:n])
		if err != nil {
			r.T.Fatalf("waiting for %q: %v; got %q", want, err, r.Got.String())
		}
	}
	return r.Got.String()
}

// Quiet reads for d and returns what came; it is for checking that
// something does not arrive.
func (r *RawClient) Quiet(d time.Duration) string {
	buf := make([]byte, 4096)
	r.C.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := r.C.Read(buf)
		r.Got.Write(buf[:n])
		if err != nil {
			return r.Got.String()
		}
	}
}

// Closed waits for the server to close the connection and returns what
// came before.
func (r *RawClient) Closed() string {
	r.T.Helper()
	buf := make([]byte, 4096)
	r.C.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, err := r.C.Read(buf)
		r.Got.Write(buf[:n])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				r.T.Fatalf("connection not closed; got %q", r.Got.String())
			}
			return r.Got.String()
		}
	}
}

// Auth authenticates with PLAIN and restarts the stream: resource binding
// or resumption comes next. It returns the features after authentication.
func (r *RawClient) Auth(user, pass string) string {
	r.T.Helper()
	r.Send(RawHeader)
	r.Expect("</stream:features>")
	r.Send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>")
	r.Expect("<success")
	r.Got.Reset()
	r.Send(RawHeader)
	f := r.Expect("</stream:features>")
	r.Got.Reset()
	return f
}

// Bind binds resource.
func (r *RawClient) Bind(resource string) {
	r.T.Helper()
	r.Send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	r.Expect("</iq>")
	r.Got.Reset()
}

// Login authenticates and binds.
func (r *RawClient) Login(user, pass, resource string) {
	r.T.Helper()
	r.Auth(user, pass)
	r.Bind(resource)
}

// Take returns what was read and forgets it.
func (r *RawClient) Take() string {
	s := r.Got.String()
	r.Got.Reset()
	return s
}
