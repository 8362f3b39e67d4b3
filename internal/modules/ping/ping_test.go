package ping_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/ping"
	"mellium.im/xmpp/stanza"

	"xmppd/internal/config"
	"xmppd/internal/core"
	xping "xmppd/internal/modules/ping"
	"xmppd/internal/xmpptest"
)

// login logs user in over direct TLS without serving the session; it
// returns the TLS connection too, for reading what the server sends.
func login(t *testing.T, s *xmpptest.Server, user, pass string) (*xmpp.Session, net.Conn) {
	t.Helper()
	return s.Dial(t, user, pass)
}

// sendPing pings to and fails on anything but a result: ping.Send takes
// service-unavailable for success, which would hide a missing module.
func sendPing(ctx context.Context, sess *xmpp.Session, to jid.JID) error {
	return sess.UnmarshalIQ(ctx, ping.IQ{IQ: stanza.IQ{Type: stanza.GetIQ, To: to}}.TokenReader(), nil)
}

// XEP-0199 §4.2.
func TestPingServer(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	sess, _ := login(t, s, "juliet", "balcony")
	go sess.Serve(nil)
	if !slices.Contains(s.Host("localhost").Features(), xping.NS) {
		t.Errorf("features %q lack %s", s.Host("localhost").Features(), xping.NS)
	}
	for _, to := range []jid.JID{jid.MustParse("localhost"), {}, sess.LocalAddr().Bare()} {
		err := sendPing(xmpptest.Context(t, 5*time.Second), sess, to)
		if err != nil {
			t.Errorf("ping to %q: %v", to, err)
		}
	}
}

// bound reports whether user has a bound session.
func bound(s *xmpptest.Server, user string) bool {
	n := 0
	s.Host("localhost").Sessions(user, func(*core.Session) { n++ })
	return n > 0
}

// XEP-0199 §4.1: with a keepalive, a client that answers stays, whether it
// answers with a result or with an error, and one that does not is closed
// with connection-timeout after at most two intervals.
func TestKeepalive(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few keepalive rounds")
	}
	s := xmpptest.Start(t, "\nconfig module 'ping'\n\toption keepalive '1s'\n")
	for _, u := range []string{"juliet", "nurse", "romeo"} {
		s.AddUser(t, u, "secret")
	}
	// Juliet answers with a result.
	juliet, _ := login(t, s, "juliet", "secret")
	go juliet.Serve(mux.New(stanza.NSClient, ping.Handle()))
	// The nurse does not know pings: mellium answers service-unavailable.
	nurse, _ := login(t, s, "nurse", "secret")
	go nurse.Serve(nil)
	// Romeo reads nothing, so he answers nothing.
	_, romeo := login(t, s, "romeo", "secret")

	deadline := time.Now().Add(10 * time.Second)
	for bound(s, "romeo") {
		if time.Now().After(deadline) {
			t.Fatal("romeo, who never answers, is still bound")
		}
		time.Sleep(50 * time.Millisecond)
	}
	romeo.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(romeo)
	for _, want := range []string{"<ping xmlns='" + xping.NS + "'/>", "connection-timeout"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("romeo received %q, which lacks %q", got, want)
		}
	}
	// Another round or two: the clients that answer stay.
	time.Sleep(1500 * time.Millisecond)
	for _, u := range []string{"juliet", "nurse"} {
		if !bound(s, u) {
			t.Errorf("%s answered the pings but was disconnected", u)
		}
	}
}

// A keepalive shorter than MinKeepalive is refused at start, with the file
// and line of the option.
func TestKeepaliveTooShort(t *testing.T) {
	uci := "config xmppd 'main'\n\toption data_dir '" + t.TempDir() + "'\n" +
		"config host 'localhost'\n\toption domain 'localhost'\n" +
		"config module 'ping'\n\toption keepalive '500ms'\n"
	f, err := config.Parse("test.uci", []byte(uci))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := core.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Start()
	if err == nil {
		srv.Stop()
		t.Fatal("started with keepalive 500ms")
	}
	if msg := err.Error(); !strings.Contains(msg, "test.uci:6") || !strings.Contains(msg, "keepalive") {
		t.Fatalf("error %q does not point at the option", msg)
	}
}
