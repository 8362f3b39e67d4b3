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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
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
