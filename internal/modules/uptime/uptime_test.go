package uptime_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"xmppd/internal/modules/uptime"
	"xmppd/internal/xmpptest"
)

const header = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

// login authenticates over STARTTLS with PLAIN and binds, by hand.
func login(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	until := func(s string) string {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var got strings.Builder
		for !strings.Contains(got.String(), s) {
			b, err := r.ReadByte()
			if err != nil {
				t.Fatalf("waiting for %q: %v (%s)", s, err, got.String())
			}
			got.WriteByte(b)
		}
		return got.String()
	}
	c.Write([]byte(header))
	until("</stream:features>")
	c.Write([]byte("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"))
	until("<proceed")
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	c, r = tc, bufio.NewReader(tc)
	c.Write([]byte(header))
	until("</stream:features>")
	c.Write([]byte("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + base64.StdEncoding.EncodeToString([]byte("\x00juliet\x00balcony")) + "</auth>"))
	until("<success")
	c.Write([]byte(header))
	until("</stream:features>")
	c.Write([]byte("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"))
	until("</iq>")
	t.Cleanup(func() { c.Close() })
	return c, r
}

func TestUptime(t *testing.T) {
	s := xmpptest.Start(t, "config module 'uptime'\n\toption status 'on a router'\n")
	s.AddUser(t, "juliet", "balcony")
	c, r := login(t, s.StartTLS)
	c.Write([]byte("<iq type='get' id='u1' to='localhost'><query xmlns='jabber:iq:last'/></iq>"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := r.ReadString('>')
	for err == nil && !strings.Contains(got, "</iq>") {
		var more string
		more, err = r.ReadString('>')
		got += more
	}
	if !strings.Contains(got, "type='result'") || !strings.Contains(got, "seconds='") || !strings.Contains(got, "on a router</query>") {
		t.Fatalf("got %s (%v)", got, err)
	}

	// The HTTP route answers through the server's route table.
	w := httptest.NewRecorder()
	s.HTTP.ServeHTTP(w, httptest.NewRequest("GET", "/uptime/", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"seconds":`) {
		t.Fatalf("http: %d %s", w.Code, w.Body.String())
	}
	if !slices.Contains(s.Host("localhost").Features(), uptime.NS) {
		t.Fatal("feature not advertised")
	}

	// Unloading takes away everything the module added.
	s.Stop()
	if len(s.HTTP.Paths()) != 0 || slices.Contains(s.Host("localhost").Features(), uptime.NS) ||
		s.Host("localhost").Events.Has("iq/host/"+uptime.NS+":query") {
		t.Fatal("unload left the module's route, feature or hook behind")
	}
}

func TestUnknownOption(t *testing.T) {
	_, err := xmpptest.StartErr(t, "config module 'uptime'\n\toption bogus '1'\n")
	if err == nil || !strings.Contains(err.Error(), "bogus") || !strings.Contains(err.Error(), "test.uci:") {
		t.Fatalf("got %v, want an error naming the option and its line", err)
	}
}
