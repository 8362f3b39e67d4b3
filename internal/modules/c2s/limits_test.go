package c2s_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"xmppd/internal/xmpptest"
)

// TestIdleSocketsDoNotLockOut: sockets that never open a stream hold their
// address's handshake slots only until the open timeout; a client behind
// them is served after that instead of being refused.
func TestIdleSocketsDoNotLockOut(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n\toption c2s_open_timeout '1s'\n")
	s.AddUser(t, "juliet", "balcony")
	for range 16 {
		dialRaw(t, s.StartTLS) // says nothing
	}
	r := dialRaw(t, s.StartTLS)
	r.login("juliet", "balcony", "late")
}

// TestPerAddressCap: past c2s_max_per_ip, a connection gets a stream error
// saying why, not a bare close; a connection that ends frees its place.
func TestPerAddressCap(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n\toption c2s_max_per_ip '3'\n")
	s.AddUser(t, "juliet", "balcony")
	a := dialRaw(t, s.StartTLS)
	a.login("juliet", "balcony", "a") // authenticated ones count too
	b := dialRaw(t, s.StartTLS)
	b.send(rawHeader)
	b.expect("</stream:features>")
	c := dialRaw(t, s.StartTLS)
	c.send(rawHeader)
	c.expect("</stream:features>")

	over := dialRaw(t, s.StartTLS)
	over.closed()
	got := over.got.String()
	if !strings.Contains(got, "<stream:stream") || !strings.Contains(got, "<policy-violation ") || !strings.Contains(got, "too many connections from your address") {
		t.Fatalf("refused connection got %q, want a header and policy-violation with a text", got)
	}

	// The server forgets b shortly after its stream ends.
	b.send("</stream:stream>")
	b.closed()
	deadline := time.Now().Add(10 * time.Second)
	for {
		again := dialRaw(t, s.StartTLS)
		again.send(rawHeader)
		if got := again.expect("</stream:"); strings.Contains(got, "<stream:features>") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a connection that ended still counts against the cap")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUnauthenticatedCap: c2s_max_unauth bounds connections that have not
// logged in, from all addresses together; bound sessions do not count.
func TestUnauthenticatedCap(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n\toption c2s_max_unauth '2'\n")
	s.AddUser(t, "juliet", "balcony")
	for _, res := range []string{"a", "b", "c"} {
		dialRaw(t, s.StartTLS).login("juliet", "balcony", res)
	}
	for range 2 {
		dialRaw(t, s.StartTLS).send(rawHeader)
	}
	over := dialRaw(t, s.StartTLS)
	over.closed()
	if got := over.got.String(); !strings.Contains(got, "<policy-violation ") ||
		!strings.Contains(got, "too many connections are logging in; try again later</text>") {
		t.Fatalf("got %q, want policy-violation with the reason", got)
	}
}

// TestSessionLimits: max_resources bounds one account's sessions and
// max_sessions the server's; binding past them is a resource-constraint
// error, and replacing a session with the same resource is not refused.
func TestSessionLimits(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n\toption max_resources '2'\n\toption max_sessions '3'\n")
	for _, u := range []string{"juliet", "romeo", "nurse"} {
		s.AddUser(t, u, "pw")
	}
	dialRaw(t, s.StartTLS).login("juliet", "pw", "one")
	dialRaw(t, s.StartTLS).login("juliet", "pw", "two")
	bindRefused(t, s, "juliet", "three")
	dialRaw(t, s.StartTLS).login("juliet", "pw", "two") // kicks the old "two"

	dialRaw(t, s.StartTLS).login("romeo", "pw", "one")
	bindRefused(t, s, "nurse", "one")
	if n, _ := s.Host("localhost").Count(); n != 3 {
		t.Fatalf("%d sessions bound, want 3", n)
	}
}

// bindRefused logs in as user and expects binding resource to fail with
// resource-constraint.
func bindRefused(t *testing.T, s *xmpptest.Server, user, resource string) {
	t.Helper()
	r := dialRaw(t, s.StartTLS)
	r.send(rawHeader)
	r.expect("</stream:features>")
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00pw")) + "</auth>")
	r.expect("<success")
	r.send(rawHeader)
	r.expect("</stream:features>")
	r.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	got := r.expect("</iq>")
	if !strings.Contains(got, "type='error'") || !strings.Contains(got, "<resource-constraint ") {
		t.Fatalf("bind past the limit got %q", got)
	}
}

// TestRefusalLogLimited: a flood of refused connections writes one warning
// and not one per connection (to flash, on a router).
func TestRefusalLogLimited(t *testing.T) {
	var log logBuffer
	s := xmpptest.StartLogged(t, "\toption c2s_max_per_ip '1'\n", &log)
	dialRaw(t, s.StartTLS).send(rawHeader)
	for range 50 {
		r := dialRaw(t, s.StartTLS)
		r.closed()
		if !strings.Contains(r.got.String(), "<policy-violation ") {
			t.Fatalf("got %q, want policy-violation", r.got.String())
		}
	}
	if n := strings.Count(log.String(), `msg="connection refused"`); n != 1 {
		t.Fatalf("%d warnings for 50 refusals within a minute, want 1:\n%s", n, log.String())
	}
}
