package xmpptest

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// Dial logs user in with a real client library (mellium.im/xmpp) over
// direct TLS with SCRAM-SHA-256 and binds a resource; the session and its
// connection close when the test ends. The caller serves the session.
func (s *Server) Dial(t testing.TB, user, pass string) (*xmpp.Session, net.Conn) {
	t.Helper()
	ctx := Context(t, 10*time.Second)
	conn, err := tls.Dial("tcp", s.Direct, &tls.Config{ServerName: s.Domain, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := xmpp.NewClientSession(ctx, jid.MustParse(user+"@"+s.Domain), conn,
		xmpp.BindResource(), xmpp.SASL("", pass, sasl.ScramSha256))
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close(); conn.Close() })
	return sess, conn
}

// Context returns a context that times out after d and is cancelled only
// when the test ends. mellium.im/xmpp watches a call's context on a
// goroutine that may still see it cancelled after the call returned, and
// then sets the connection's deadline in the past for a moment, failing the
// next read or write with "i/o timeout"; a context that outlives the call
// never triggers that.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
