package message_test

import (
	"encoding/xml"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"xmppd/internal/core"
	xjid "xmppd/internal/jid"
	xstanza "xmppd/internal/stanza"
	"xmppd/internal/xmpptest"
)

// TestConcurrentDeliver: module goroutines (an archive, offline delivery)
// deliver to a client's session through core.Server.Deliver while another
// client's messages are routed to it over the network; run with -race, and
// every message arrives whole.
func TestConcurrentDeliver(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	juliet, _ := s.Dial(t, "juliet", "balcony")
	var got atomic.Int64
	go juliet.Serve(xmpp.HandlerFunc(func(_ xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		if start.Name.Local == "message" {
			got.Add(1)
		}
		return nil
	}))
	romeo, _ := s.Dial(t, "romeo", "orchard")
	go romeo.Serve(nil)

	var session *core.Session
	s.Host("localhost").Sessions("juliet", func(x *core.Session) { session = x })
	if session == nil {
		t.Fatal("juliet has no session")
	}
	to := session.JID.String()
	from := xjid.MustParse("archive@localhost")
	raw := "<message type='chat' to='" + to + "'><body>from the archive</body></message>"
	st, err := xstanza.Reparse([]byte(raw), xstanza.NSClient)
	if err != nil {
		t.Fatal(err)
	}

	const goroutines, each = 4, 100
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				s.Deliver(nil, session, st, from)
			}
		})
	}
	wg.Go(func() {
		ctx := xmpptest.Context(t, 10*time.Second)
		msg := stanza.Message{To: jid.MustParse(to), Type: stanza.ChatMessage}
		for range each {
			if err := romeo.Send(ctx, msg.Wrap(nil)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	want := int64(goroutines*each + each)
	for deadline := time.Now().Add(10 * time.Second); got.Load() < want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := got.Load(); n != want {
		t.Fatalf("juliet received %d messages, want %d", n, want)
	}
}
