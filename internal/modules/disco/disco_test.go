package disco_test

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/disco/items"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	xdisco "xmppd/internal/modules/disco"
	"xmppd/internal/xmpptest"
)

// client logs user in over direct TLS and serves the session; stanzas that
// are not answers to its own requests go to seen.
type client struct {
	*xmpp.Session
	mu   sync.Mutex
	seen []string
}

func login(t *testing.T, s *xmpptest.Server, user, pass string) *client {
	t.Helper()
	ctx := xmpptest.Context(t, 10*time.Second)
	conn, err := tls.Dial("tcp", s.Direct, &tls.Config{ServerName: "localhost", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := xmpp.NewClientSession(ctx, jid.MustParse(user+"@localhost"), conn,
		xmpp.BindResource(), xmpp.SASL("", pass, sasl.ScramSha256))
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	c := &client{Session: sess}
	go sess.Serve(xmpp.HandlerFunc(func(_ xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		var id, typ string
		for _, a := range start.Attr {
			switch a.Name.Local {
			case "id":
				id = a.Value
			case "type":
				typ = a.Value
			}
		}
		c.mu.Lock()
		c.seen = append(c.seen, start.Name.Local+" "+typ+" "+id)
		c.mu.Unlock()
		return nil
	}))
	t.Cleanup(func() { sess.Close(); conn.Close() })
	return c
}

func (c *client) unsolicited() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

func ctx(t *testing.T) context.Context {
	c := xmpptest.Context(t, 5*time.Second)
	return c
}

func condition(t *testing.T, err error, want stanza.Condition) {
	t.Helper()
	var se stanza.Error
	if !errors.As(err, &se) || se.Condition != want {
		t.Fatalf("got %v, want a stanza error %s", err, want)
	}
}

var server = jid.MustParse("localhost")

func TestServerInfo(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	c := login(t, s, "juliet", "balcony")
	inf, err := disco.GetInfo(ctx(t), "", server, c.Session)
	if err != nil {
		t.Fatal(err)
	}
	want := xdisco.ServerIdentity
	if !slices.ContainsFunc(inf.Identity, func(id info.Identity) bool {
		return id.Category == want.Category && id.Type == want.Type && id.Name == want.Name
	}) {
		t.Errorf("identities %+v lack %+v", inf.Identity, want)
	}
	var got []string
	for _, f := range inf.Features {
		got = append(got, f.Var)
	}
	// Exactly what the host's modules advertise, whichever are linked in.
	if hf := s.Host("localhost").Features(); !slices.Equal(got, hf) {
		t.Errorf("features %q, host advertises %q", got, hf)
	}
	for _, f := range []string{xdisco.NSInfo, xdisco.NSItems} {
		if !slices.Contains(got, f) {
			t.Errorf("features %q lack %s", got, f)
		}
	}
}

func TestServerItems(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	c := login(t, s, "juliet", "balcony")
	got := fetchItems(t, c, "", server)
	// Exactly what the host's modules list, whichever are linked in.
	var want []string
	for _, it := range s.Host("localhost").Items() {
		want = append(want, it.JID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v", got, want)
	}
}

func TestUnknownNode(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	c := login(t, s, "juliet", "balcony")
	self := c.LocalAddr().Bare()
	for _, to := range []jid.JID{server, self} {
		_, err := disco.GetInfo(ctx(t), "urn:example:nothing", to, c.Session)
		condition(t, err, stanza.ItemNotFound)
		iter := disco.FetchItems(ctx(t), items.Item{JID: to, Node: "urn:example:nothing"}, c.Session)
		for iter.Next() {
		}
		condition(t, iter.Err(), stanza.ItemNotFound)
		iter.Close()
	}
}

// XEP-0030 §3.1: the server answers for the account's bare JID.
func TestAccountSelf(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	c := login(t, s, "juliet", "balcony")
	// Both ways of addressing oneself: the bare JID, and no 'to' at all.
	for _, to := range []jid.JID{c.LocalAddr().Bare(), {}} {
		inf, err := disco.GetInfo(ctx(t), "", to, c.Session)
		if err != nil {
			t.Fatalf("to %q: %v", to, err)
		}
		// Modules may add identities of their own (PEP), after this one.
		if len(inf.Identity) == 0 || inf.Identity[0].Category != "account" || inf.Identity[0].Type != "registered" {
			t.Errorf("to %q: identities %+v, want account/registered first", to, inf.Identity)
		}
		if !slices.ContainsFunc(inf.Features, func(f info.Feature) bool { return f.Var == xdisco.NSInfo }) {
			t.Errorf("to %q: features %+v lack disco#info", to, inf.Features)
		}
	}
	// Its items are its connected resources.
	second := login(t, s, "juliet", "balcony")
	got := fetchItems(t, c, "", c.LocalAddr().Bare())
	want := []string{c.LocalAddr().String(), second.LocalAddr().String()}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("items %q, want %q", got, want)
	}
}

// XEP-0030 §8: another account, existing or not, gets service-unavailable,
// so a stranger learns nothing, not even whether the account exists.
func TestOtherAccount(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	c := login(t, s, "juliet", "balcony")
	login(t, s, "romeo", "orchard")
	for _, to := range []string{"romeo@localhost", "nobody@localhost"} {
		_, err := disco.GetInfo(ctx(t), "", jid.MustParse(to), c.Session)
		condition(t, err, stanza.ServiceUnavailable)
		_, err = disco.GetInfo(ctx(t), "some-node", jid.MustParse(to), c.Session)
		condition(t, err, stanza.ServiceUnavailable)
		iter := disco.FetchItems(ctx(t), items.Item{JID: jid.MustParse(to)}, c.Session)
		for iter.Next() {
		}
		condition(t, iter.Err(), stanza.ServiceUnavailable)
		iter.Close()
	}
}

func fetchItems(t *testing.T, c *client, node string, to jid.JID) []string {
	t.Helper()
	iter := disco.FetchItems(ctx(t), items.Item{JID: to, Node: node}, c.Session)
	defer iter.Close()
	var got []string
	for iter.Next() {
		got = append(got, iter.Item().JID.String())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}
