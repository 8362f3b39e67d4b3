package c2s_test

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"net"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"xmppd/internal/clientstream"
	"xmppd/internal/core"
	"xmppd/internal/xmpptest"
)

// client logs in with a real XMPP client library over STARTTLS (or direct
// TLS) and binds a resource.
func client(t *testing.T, s *xmpptest.Server, user, pass string, direct bool, mechs ...sasl.Mechanism) (*xmpp.Session, error) {
	t.Helper()
	ctx := xmpptest.Context(t, 10*time.Second)
	addr := s.StartTLS
	if direct {
		addr = s.Direct
	}
	var conn net.Conn
	var err error
	tlsCfg := &tls.Config{ServerName: "localhost", InsecureSkipVerify: true}
	if direct {
		conn, err = tls.Dial("tcp", addr, tlsCfg)
	} else {
		conn, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	features := []xmpp.StreamFeature{xmpp.BindResource(), xmpp.SASL("", pass, mechs...)}
	if !direct {
		features = append(features, xmpp.StartTLS(tlsCfg))
	}
	sess, err := xmpp.NewClientSession(ctx, jid.MustParse(user+"@localhost"), conn, features...)
	if err != nil {
		conn.Close()
		return nil, err
	}
	t.Cleanup(func() { sess.Close(); conn.Close() })
	return sess, nil
}

func TestLoginMechanisms(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	for _, tc := range []struct {
		name   string
		direct bool
		mech   sasl.Mechanism
	}{
		{"SCRAM-SHA-256", false, sasl.ScramSha256},
		{"SCRAM-SHA-1", false, sasl.ScramSha1},
		{"SCRAM-SHA-256-PLUS", false, sasl.ScramSha256Plus},
		{"PLAIN over TLS", false, sasl.Plain},
		{"direct TLS", true, sasl.ScramSha256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := client(t, s, "juliet", "balcony", tc.direct, tc.mech)
			if err != nil {
				t.Fatal(err)
			}
			if local := sess.LocalAddr(); local.Bare().String() != "juliet@localhost" || local.Resourcepart() == "" {
				t.Fatalf("bound to %s", local)
			}
		})
	}
}

func TestWrongPassword(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	_, err := client(t, s, "juliet", "wrong", false, sasl.ScramSha256)
	if err == nil || !strings.Contains(err.Error(), "not-authorized") {
		t.Fatalf("got %v, want not-authorized", err)
	}
	_, err = client(t, s, "nobody", "x", false, sasl.ScramSha256)
	if err == nil || !strings.Contains(err.Error(), "not-authorized") {
		t.Fatalf("unknown user: got %v", err)
	}
}

type bodyMessage struct {
	stanza.Message
	Body string `xml:"body"`
}

// receive serves sess and forwards message bodies to the returned channel.
func receive(sess *xmpp.Session) <-chan bodyMessage {
	ch := make(chan bodyMessage, 16)
	go sess.Serve(xmpp.HandlerFunc(func(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		if start.Name.Local != "message" {
			return nil
		}
		var m bodyMessage
		// The handler's reader starts after the start element.
		d := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t))
		if err := d.Decode(&m); err == nil {
			ch <- m
		}
		return nil
	}))
	return ch
}

func TestMessageToFullJID(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	j, err := client(t, s, "juliet", "balcony", false, sasl.ScramSha256)
	if err != nil {
		t.Fatal(err)
	}
	r, err := client(t, s, "romeo", "orchard", false, sasl.ScramSha256)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(r)
	receive(j)
	msg := bodyMessage{Message: stanza.Message{To: r.LocalAddr(), Type: stanza.ChatMessage}, Body: "Wherefore art thou? <3 & é"}
	if err := j.Encode(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Body != msg.Body || m.From.String() != j.LocalAddr().String() {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("message not delivered")
	}
}

// TestMessageToBareJID: a message to a bare JID reaches the account's
// available resources, both ways.
func TestMessageToBareJID(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	j, err := client(t, s, "juliet", "balcony", false, sasl.ScramSha256)
	if err != nil {
		t.Fatal(err)
	}
	r, err := client(t, s, "romeo", "orchard", false, sasl.ScramSha256)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	inJ, inR := receive(j), receive(r)
	for _, sess := range []*xmpp.Session{j, r} {
		if err := sess.Send(ctx, stanza.Presence{}.Wrap(nil)); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the server has both as available.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		avail := 0
		for _, u := range []string{"juliet", "romeo"} {
			s.Host("localhost").Sessions(u, func(sess *core.Session) {
				if sess.Available() {
					avail++
				}
			})
		}
		if avail == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("initial presence not processed")
		}
	}
	for _, c := range []struct {
		from *xmpp.Session
		to   jid.JID
		in   <-chan bodyMessage
	}{{j, r.LocalAddr().Bare(), inR}, {r, j.LocalAddr().Bare(), inJ}} {
		msg := bodyMessage{Message: stanza.Message{To: c.to, Type: stanza.ChatMessage}, Body: "to " + c.to.String()}
		if err := c.from.Encode(ctx, msg); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-c.in:
			if m.Body != msg.Body || !m.From.Equal(c.from.LocalAddr()) {
				t.Fatalf("got %+v", m)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message to %s not delivered", c.to)
		}
	}
}

// TestSharedService: the stream service is offered to the other client
// transports, with the certificates of every host.
func TestSharedService(t *testing.T) {
	s := xmpptest.Start(t, "")
	svc, ok := core.ServiceOf[*clientstream.Service](s.Host("localhost"), clientstream.ServiceName)
	if !ok || svc == nil {
		t.Fatal("no clientstream service on localhost")
	}
	if c, _ := svc.Certs().Certificate("localhost"); c == nil {
		t.Error("the service's certificates lack localhost")
	}
}
