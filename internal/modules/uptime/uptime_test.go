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

	// The HTTP route answers through the server's route table, for the
	// module's host.
	if code, body := get(s, "localhost", "/uptime/"); code != 200 || !strings.Contains(body, `"seconds":`) {
		t.Fatalf("http: %d %s", code, body)
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

// get requests path from the server's HTTP routes as for host.
func get(s *xmpptest.Server, host, path string) (int, string) {
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", path, nil)
	req.Host = host
	s.HTTP.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// TestRoutePerHost: two hosts running the module have a route each, chosen
// by the request's host, and unloading it from one host leaves the other's.
func TestRoutePerHost(t *testing.T) {
	other := "config host 'other'\n\toption domain 'other.example'\n"
	s := xmpptest.Start(t, other)
	for _, host := range []string{"localhost", "other.example:5280", "OTHER.example."} {
		if code, body := get(s, host, "/uptime/"); code != 200 || !strings.Contains(body, `"seconds":`) {
			t.Errorf("%s: %d %s", host, code, body)
		}
	}
	if code, _ := get(s, "stranger.example", "/uptime/"); code != 404 {
		t.Errorf("a host the server does not serve got %d", code)
	}
	if want := []string{"localhost/uptime/", "other.example/uptime/"}; !slices.Equal(uptimePaths(s), want) {
		t.Errorf("paths %q, want %q", uptimePaths(s), want)
	}

	uci := strings.Replace(s.UCI, other, other+"\tlist modules_disabled 'uptime'\n", 1)
	if _, err := s.Reload(t, uci); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(s, "other.example", "/uptime/"); code != 404 {
		t.Errorf("other.example, which unloaded the module, still answers: %d", code)
	}
	if code, _ := get(s, "localhost", "/uptime/"); code != 200 {
		t.Errorf("localhost lost its route when other.example unloaded the module: %d", code)
	}
}

// uptimePaths returns the module's routes among the server's, which other
// modules loaded by default share.
func uptimePaths(s *xmpptest.Server) []string {
	var out []string
	for _, p := range s.HTTP.Paths() {
		if strings.HasSuffix(p, "/uptime/") {
			out = append(out, p)
		}
	}
	return out
}
