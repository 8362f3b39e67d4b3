package c2s_test

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

// failer is the part of testing.TB a raw client needs; goroutines use a
// panicking one, since only the test's goroutine may call Fatal.
type failer interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

type panicker struct{}

func (panicker) Helper()                           {}
func (panicker) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (panicker) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// rawClient speaks XMPP by hand, for inputs no library would send.
type rawClient struct {
	t   failer
	c   net.Conn
	got bytes.Buffer
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c}
}

const rawHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

func (r *rawClient) send(s string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// expect reads until want has arrived, and returns everything read so far.
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

// closed waits for the server to close the connection.
func (r *rawClient) closed() {
	r.t.Helper()
	buf := make([]byte, 4096)
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, err := r.c.Read(buf)
		r.got.Write(buf[:n])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				r.t.Fatal("connection not closed")
			}
			return
		}
	}
}

// login authenticates with PLAIN in the clear (loopback only, when the
// configuration allows it) and binds resource.
func (r *rawClient) login(user, pass, resource string) {
	r.t.Helper()
	r.loginWithHeader(user, pass, resource, rawHeader)
}

func TestStreamErrors(t *testing.T) {
	s := xmpptest.Start(t, "")
	for _, tc := range []struct{ name, in, cond string }{
		{"malformed", "<message><body></message>", "not-well-formed"},
		{"doctype", "<!DOCTYPE x [<!ENTITY a 'b'>]>", "restricted-xml"},
		{"comment", "<!-- hello -->", "restricted-xml"},
		{"entity", "<message><body>&nbsp;</body></message>", "restricted-xml"},
		{"huge stanza", "<message><body>" + strings.Repeat("x", 1<<20) + "</body></message>", "policy-violation"},
		{"text between stanzas", "hello", "bad-format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, s.StartTLS)
			r.send(rawHeader)
			r.expect("</stream:features>")
			go r.c.Write([]byte(tc.in)) // the server may close before it has read everything
			r.closed()
			want := "<" + tc.cond + " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
			if got := r.got.String(); !strings.Contains(got, want) || !strings.HasSuffix(got, "</stream:stream>") {
				t.Fatalf("got %q, want %s and the stream's end", got, want)
			}
		})
	}
	// The server keeps serving others after all of that.
	r := dialRaw(t, s.StartTLS)
	r.send(rawHeader)
	r.expect("<starttls")
}

func TestHeaderErrors(t *testing.T) {
	s := xmpptest.Start(t, "")
	for _, tc := range []struct{ in, cond string }{
		{`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='elsewhere.example' version='1.0'>`, "host-unknown"},
		{`<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`, "invalid-namespace"},
		{`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost'>`, "unsupported-version"},
	} {
		r := dialRaw(t, s.StartTLS)
		r.send(tc.in)
		r.closed()
		if !strings.Contains(r.got.String(), "<"+tc.cond) {
			t.Errorf("%s: got %q", tc.cond, r.got.String())
		}
	}
}

func TestAuthRequiresTLS(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	r := dialRaw(t, s.StartTLS)
	r.send(rawHeader)
	feats := r.expect("</stream:features>")
	if strings.Contains(feats, "<mechanisms") || !strings.Contains(feats, "<required/>") {
		t.Fatalf("features before TLS: %s", feats)
	}
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + base64.StdEncoding.EncodeToString([]byte("\x00juliet\x00balcony")) + "</auth>")
	r.expect("<encryption-required/>")
}

// quietModules turns off archiving and keeps offline storage to one
// message: the floods of the slow-reader tests are about the output bound,
// and a store write per message (once the reader is cut off, a synced
// one) would only slow them down, under qemu past their deadlines.
const quietModules = "config module 'mam'\n\toption default_policy 'never'\nconfig module 'offline'\n\toption max_offline '1'\n"

// TestSlowReader: a client that stops reading while it is sent messages is
// disconnected, and what the server holds for it stays bounded.
func TestSlowReader(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n\toption c2s_queue_size '64k'\n"+quietModules)
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	slow := dialRaw(t, s.StartTLS)
	slow.c.(*net.TCPConn).SetReadBuffer(4096)
	slow.login("juliet", "balcony", "slow")
	sender := dialRaw(t, s.StartTLS)
	sender.login("romeo", "orchard", "fast")

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	msg := "<message to='juliet@localhost/slow' type='chat'><body>" + strings.Repeat("x", 4000) + "</body></message>"
	var peak uint64
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		if sessions, _ := s.Host("localhost").Count(); sessions == 1 {
			break // the slow reader is gone
		}
		if time.Now().After(deadline) {
			t.Fatal("slow reader never disconnected")
		}
		sender.c.SetWriteDeadline(time.Now().Add(time.Second))
		sender.c.Write([]byte(msg))
		if i%64 == 0 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	if grown := int64(peak) - int64(before.HeapInuse); grown > 16<<20 {
		t.Fatalf("heap grew by %d bytes while a reader was slow", grown)
	}
}

// TestConcurrentLogins: 200 clients from one address log in at once on the
// default limits and all succeed: the handshakes over
// c2s_max_unauth_per_ip wait their turn instead of being refused (a
// gateway behind NAT reconnecting its devices after an outage).
func TestConcurrentLogins(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 50
	}
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	for i := range 20 {
		s.AddUser(t, fmt.Sprintf("user%d", i), "pw")
	}
	var wg sync.WaitGroup
	errs := make(chan string, n)
	conns := make(chan net.Conn, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errs <- fmt.Sprint(p)
				}
			}()
			c, err := net.Dial("tcp", s.StartTLS)
			if err != nil {
				errs <- err.Error()
				return
			}
			conns <- c
			r := &rawClient{t: panicker{}, c: c}
			r.login(fmt.Sprintf("user%d", i%20), "pw", fmt.Sprintf("r%d", i))
		}()
	}
	wg.Wait()
	close(errs)
	close(conns)
	defer func() {
		for c := range conns {
			c.Close()
		}
	}()
	for e := range errs {
		t.Error(e)
	}
	if sessions, _ := s.Host("localhost").Count(); sessions != n {
		t.Fatalf("%d sessions bound, want %d", sessions, n)
	}
}

// TestLoginThrottle: after repeated failures further attempts are refused
// for a while. All attempts here come from one address, so this covers the
// per-address throttle; the per-account one uses the same sasl.Throttle.
func TestLoginThrottle(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	s.AddUser(t, "juliet", "balcony")
	var last string
	for range 7 {
		r := dialRaw(t, s.StartTLS)
		r.send(rawHeader)
		r.expect("</stream:features>")
		r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + base64.StdEncoding.EncodeToString([]byte("\x00juliet\x00wrong")) + "</auth>")
		last = r.expect("</failure>")
	}
	if !strings.Contains(last, "<temporary-auth-failure/>") {
		t.Fatalf("no throttling after repeated failures: %s", last)
	}
}

// TestWhitespaceKeepalive: an idle bound session gets a space every interval.
func TestWhitespaceKeepalive(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n\toption c2s_keepalive '1s'\n")
	s.AddUser(t, "juliet", "balcony")
	r := dialRaw(t, s.StartTLS)
	r.login("juliet", "balcony", "idle")
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	if n, err := r.c.Read(b); err != nil || n != 1 || b[0] != ' ' {
		t.Fatalf("got %q %v", b[:n], err)
	}
}

// TestDowngradeRefusalNotThrottled: SCRAM with gs2 flag y after -PLUS was
// offered is refused (RFC 5802 §6), but no password was tried, so clients
// that then fall back to another mechanism are not locked out.
func TestDowngradeRefusalNotThrottled(t *testing.T) {
	// On TLS 1.3 y is refused only on request (see TestDowngradeFlagY).
	s := xmpptest.Start(t, "\toption sasl_channel_binding_downgrade 'refuse'\n")
	s.AddUser(t, "juliet", "balcony")
	for i := range 8 {
		r := dialRaw(t, s.StartTLS)
		r.startTLS()
		r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" +
			base64.StdEncoding.EncodeToString([]byte("y,,n=juliet,r=abcdefgh"+fmt.Sprint(i))) + "</auth>")
		if got := r.expect("</failure>"); !strings.Contains(got, "<not-authorized/>") {
			t.Fatalf("downgrade attempt %d: %s", i, got)
		}
		r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
			base64.StdEncoding.EncodeToString([]byte("\x00juliet\x00balcony")) + "</auth>")
		r.expect("<success")
	}
}

// startTLS upgrades the stream and opens the next one.
func (r *rawClient) startTLS() {
	r.t.Helper()
	r.send(rawHeader)
	r.expect("</stream:features>")
	r.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	r.expect("<proceed")
	tc := tls.Client(r.c, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		r.t.Fatal(err)
	}
	r.c = tc
	r.got.Reset()
	r.send(rawHeader)
	r.expect("</stream:features>")
}
