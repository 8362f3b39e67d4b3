package roster_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	mroster "mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"

	"xmppd/internal/modules/roster"
	"xmppd/internal/xmpptest"
)

const timeout = 5 * time.Second

// pushItem is an item of a roster push as a client reads it.
type pushItem struct {
	JID          string   `xml:"jid,attr"`
	Name         string   `xml:"name,attr"`
	Subscription string   `xml:"subscription,attr"`
	Ask          string   `xml:"ask,attr"`
	Groups       []string `xml:"jabber:iq:roster group"`
}

type pushIQ struct {
	XMLName xml.Name `xml:"iq"`
	ID      string   `xml:"id,attr"`
	Type    string   `xml:"type,attr"`
	From    string   `xml:"from,attr"`
	Query   *struct {
		Ver   *string    `xml:"ver,attr"`
		Items []pushItem `xml:"jabber:iq:roster item"`
	} `xml:"jabber:iq:roster query"`
}

// client is a logged-in real client whose roster pushes are answered and
// collected.
type client struct {
	sess   *xmpp.Session
	conn   net.Conn
	pushes chan pushIQ
}

// login logs user in; the server picks the resource.
func login(t *testing.T, addr, user, pass string) *client {
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := &tls.Config{ServerName: "localhost", InsecureSkipVerify: true}
	sess, err := xmpp.NewClientSession(ctx, jid.MustParse(user+"@localhost"), conn,
		xmpp.StartTLS(tlsCfg), xmpp.SASL("", pass, sasl.ScramSha256), xmpp.BindResource())
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	c := &client{sess: sess, conn: conn, pushes: make(chan pushIQ, 64)}
	t.Cleanup(func() { sess.Close(); conn.Close() })
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		if start.Name.Local != "iq" {
			return nil
		}
		var iq pushIQ
		d := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), r))
		if err := d.Decode(&iq); err != nil || iq.Type != "set" || iq.Query == nil {
			return err
		}
		c.pushes <- iq
		// RFC 6121 §2.1.6: the client acknowledges a push.
		_, err := xmlstream.Copy(r, stanza.IQ{ID: iq.ID, Type: stanza.ResultIQ}.Wrap(nil))
		return err
	}))
	return c
}

// fetch returns the roster as a client sees it.
func (c *client) fetch(t *testing.T) []mroster.Item {
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	it := mroster.Fetch(ctx, c.sess)
	var out []mroster.Item
	for it.Next() {
		out = append(out, it.Item())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	it.Close()
	return out
}

func (c *client) push(t *testing.T) pushItem {
	t.Helper()
	select {
	case iq := <-c.pushes:
		if iq.From != "" {
			t.Fatalf("push from %q", iq.From)
		}
		if len(iq.Query.Items) != 1 {
			t.Fatalf("push with %d items", len(iq.Query.Items))
		}
		return iq.Query.Items[0]
	case <-time.After(timeout):
		t.Fatal("no roster push")
	}
	return pushItem{}
}

func (c *client) noPush(t *testing.T) {
	t.Helper()
	select {
	case iq := <-c.pushes:
		t.Fatalf("unexpected push %+v", iq.Query.Items)
	case <-time.After(200 * time.Millisecond):
	}
}

// rawTokens reads XML without resolving namespaces, so that a stanza
// written as text is sent exactly as written.
type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

func raw(s string) xml.TokenReader { return rawTokens{xml.NewDecoder(strings.NewReader(s))} }

// set sends a roster set written as text and returns the error condition
// of the answer, or "".
func (c *client) set(t *testing.T, query string) string {
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	err := c.sess.UnmarshalIQ(ctx, raw("<iq type='set'>"+query+"</iq>"), nil)
	var se stanza.Error
	if errors.As(err, &se) {
		return string(se.Condition)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ""
}

func TestRosterSetGetRemove(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	a := login(t, s.StartTLS, "juliet", "balcony")
	b := login(t, s.StartTLS, "juliet", "balcony")
	idle := login(t, s.StartTLS, "juliet", "balcony") // never asks for the roster
	if items := a.fetch(t); len(items) != 0 {
		t.Fatalf("new roster: %+v", items)
	}
	b.fetch(t)

	ctx := context.Background()
	romeo := jid.MustParse("romeo@localhost")
	if err := mroster.Set(ctx, a.sess, mroster.Item{JID: romeo, Name: "Romeo", Group: []string{"Friends", "Montague"}}); err != nil {
		t.Fatal(err)
	}
	want := pushItem{JID: "romeo@localhost", Name: "Romeo", Subscription: "none", Groups: []string{"Friends", "Montague"}}
	for _, c := range []*client{a, b} {
		if got := c.push(t); !equalItem(got, want) {
			t.Fatalf("push %+v, want %+v", got, want)
		}
	}
	items := b.fetch(t)
	if len(items) != 1 || items[0].JID.String() != "romeo@localhost" || items[0].Name != "Romeo" ||
		items[0].Subscription != "none" || !slices.Equal(items[0].Group, want.Groups) {
		t.Fatalf("roster %+v", items)
	}

	// A set replaces name and groups (RFC 6121 §2.4).
	if err := mroster.Set(ctx, b.sess, mroster.Item{JID: romeo, Group: []string{"Lovers"}}); err != nil {
		t.Fatal(err)
	}
	want = pushItem{JID: "romeo@localhost", Subscription: "none", Groups: []string{"Lovers"}}
	for _, c := range []*client{a, b} {
		if got := c.push(t); !equalItem(got, want) {
			t.Fatalf("push %+v, want %+v", got, want)
		}
	}
	// A client may not set a subscription; the value is ignored.
	if cond := a.set(t, "<query xmlns='jabber:iq:roster'><item jid='romeo@localhost' subscription='both'><group>Lovers</group></item></query>"); cond != "" {
		t.Fatalf("set with subscription: %s", cond)
	}
	if items := a.fetch(t); len(items) != 1 || items[0].Subscription != "none" {
		t.Fatalf("roster %+v", items)
	}

	if err := mroster.Delete(ctx, a.sess, romeo); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{a, b} {
		if got := c.push(t); got.JID != "romeo@localhost" || got.Subscription != "remove" {
			t.Fatalf("removal push %+v", got)
		}
	}
	if items := b.fetch(t); len(items) != 0 {
		t.Fatalf("roster after removal: %+v", items)
	}
	idle.noPush(t)
}

func equalItem(a, b pushItem) bool {
	return a.JID == b.JID && a.Name == b.Name && a.Subscription == b.Subscription && a.Ask == b.Ask &&
		slices.Equal(a.Groups, b.Groups)
}

func TestRosterSetErrors(t *testing.T) {
	s := xmpptest.Start(t, "config module 'roster'\n\toption max_items '2'\n\toption max_name_bytes '16'\n")
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	c := login(t, s.StartTLS, "juliet", "balcony")
	const q = "<query xmlns='jabber:iq:roster'>"
	for _, tc := range []struct {
		name, query, want string
	}{
		{"two items", q + "<item jid='a@localhost'/><item jid='b@localhost'/></query>", "bad-request"},
		{"no item", q + "</query>", "bad-request"},
		{"no jid", q + "<item name='x'/></query>", "bad-request"},
		{"malformed jid", q + "<item jid='a@b@localhost'/></query>", "jid-malformed"},
		{"full jid", q + "<item jid='a@localhost/r'/></query>", "bad-request"},
		{"own jid", q + "<item jid='juliet@localhost'/></query>", "not-allowed"},
		{"empty group", q + "<item jid='a@localhost'><group></group></item></query>", "not-acceptable"},
		{"long group", q + "<item jid='a@localhost'><group>" + strings.Repeat("g", 17) + "</group></item></query>", "not-acceptable"},
		{"duplicate group", q + "<item jid='a@localhost'><group>x</group><group>x</group></item></query>", "bad-request"},
		{"long name", q + "<item jid='a@localhost' name='" + strings.Repeat("n", 17) + "'/></query>", "not-acceptable"},
		{"remove missing", q + "<item jid='a@localhost' subscription='remove'/></query>", "item-not-found"},
		{"first", q + "<item jid='a@localhost' name='" + strings.Repeat("n", 16) + "'/></query>", ""},
		{"second", q + "<item jid='b@localhost'/></query>", ""},
		{"update when full", q + "<item jid='b@localhost' name='b'/></query>", ""},
		{"full", q + "<item jid='c@localhost'/></query>", "policy-violation"},
	} {
		if got := c.set(t, tc.query); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if items := c.fetch(t); len(items) != 2 {
		t.Fatalf("roster %+v", items)
	}

	// RFC 6121 §2.3.3: another user's roster is forbidden.
	ctx := xmpptest.Context(t, timeout)
	err := c.sess.UnmarshalIQ(ctx, raw("<iq type='get' to='romeo@localhost'><query xmlns='jabber:iq:roster'/></iq>"), nil)
	var se stanza.Error
	if !errors.As(err, &se) || se.Condition != "forbidden" {
		t.Fatalf("get of another roster: %v", err)
	}
}

func TestRosterVersion(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	c := login(t, s.StartTLS, "juliet", "balcony")
	ctx := xmpptest.Context(t, timeout)
	// An empty ver asks for the whole roster with its version (RFC 6121 §2.6.3).
	it := mroster.FetchIQ(ctx, mroster.IQ{}, c.sess)
	for it.Next() {
	}
	ver := it.Version()
	it.Close()
	if ver == "" {
		t.Fatal("no version in the roster result")
	}
	if err := mroster.Set(ctx, c.sess, mroster.Item{JID: jid.MustParse("romeo@localhost")}); err != nil {
		t.Fatal(err)
	}
	var push pushIQ
	select {
	case push = <-c.pushes:
	case <-time.After(timeout):
		t.Fatal("no push")
	}
	if push.Query.Ver == nil || *push.Query.Ver == ver {
		t.Fatalf("push version %v after %q", push.Query.Ver, ver)
	}
	newVer := *push.Query.Ver

	// The current version gets an empty result; an old one the roster.
	var iq mroster.IQ
	iq.Query.Ver = newVer
	it = mroster.FetchIQ(ctx, iq, c.sess)
	n := 0
	for it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	it.Close()
	if n != 0 {
		t.Fatalf("%d items for a current version", n)
	}
	iq.Query.Ver = ver
	it = mroster.FetchIQ(ctx, iq, c.sess)
	n = 0
	for it.Next() {
		n++
	}
	got := it.Version()
	it.Close()
	if n != 1 || got != newVer {
		t.Fatalf("%d items, version %q; want 1 and %q", n, got, newVer)
	}
}

func TestRosterSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	srv := xmpptest.StartIn(t, dir, "")
	srv.AddUser(t, "juliet", "balcony")
	c := login(t, srv.StartTLS, "juliet", "balcony")
	ctx := context.Background()
	if err := mroster.Set(ctx, c.sess, mroster.Item{JID: jid.MustParse("romeo@localhost"), Name: "Romeo", Group: []string{"Friends"}}); err != nil {
		t.Fatal(err)
	}
	c.sess.Close()
	c.conn.Close()
	srv.Stop()

	srv = xmpptest.StartIn(t, dir, "")
	r := roster.For(srv.Host("localhost"))
	if r == nil {
		t.Fatal("no roster on the host")
	}
	it, found, err := r.Get("juliet", "romeo@localhost")
	if err != nil || !found || it.Name != "Romeo" {
		t.Fatalf("stored item %+v, %v, %v", it, found, err)
	}
	c = login(t, srv.StartTLS, "juliet", "balcony")
	items := c.fetch(t)
	if len(items) != 1 || items[0].Name != "Romeo" || !slices.Equal(items[0].Group, []string{"Friends"}) {
		t.Fatalf("roster after restart: %+v", items)
	}
}

// rosterResult is the payload of a roster get's result, nil for an empty
// result.
type rosterResult struct {
	XMLName xml.Name   `xml:"jabber:iq:roster query"`
	Ver     *string    `xml:"ver,attr"`
	Items   []pushItem `xml:"jabber:iq:roster item"`
}

// getVer sends a roster get with ver and returns whether the result had a
// query, its version and its items.
func (c *client) getVer(t *testing.T, ver string) (hasQuery bool, cur string, items []pushItem) {
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	var res rosterResult
	if err := c.sess.UnmarshalIQ(ctx, raw("<iq type='get'><query xmlns='jabber:iq:roster' ver='"+ver+"'/></iq>"), &res); err != nil {
		t.Fatal(err)
	}
	if res.XMLName.Local == "" {
		return false, "", nil
	}
	if res.Ver == nil {
		t.Fatal("versioned roster result without ver")
	}
	return true, *res.Ver, res.Items
}

// TestRosterVersionEveryChange checks RFC 6121 §2.6 / XEP-0237 versioning
// over a roster's life: the empty roster's version differs from the one
// after the first write (a client that cached the empty roster must not
// miss the first item), every visible change yields a new version, the
// current version gets an empty result, a stale one the whole roster with
// the current version, and versions carry across a restart.
func TestRosterVersionEveryChange(t *testing.T) {
	dir := t.TempDir()
	srv := xmpptest.StartIn(t, dir, "")
	srv.AddUser(t, "juliet", "balcony")
	srv.AddUser(t, "romeo", "orchard")
	c := login(t, srv.StartTLS, "juliet", "balcony")
	ctx := context.Background()

	ok, v0, items := c.getVer(t, "")
	if !ok || v0 == "" || len(items) != 0 {
		t.Fatalf("empty roster: query %v ver %q items %v", ok, v0, items)
	}
	if ok, _, _ := c.getVer(t, v0); ok {
		t.Fatal("current version of the empty roster: not an empty result")
	}
	seen := map[string]string{v0: "empty"}
	step := func(what string, change func()) string {
		t.Helper()
		change()
		var push pushIQ
		select {
		case push = <-c.pushes:
		case <-time.After(timeout):
			t.Fatalf("%s: no push", what)
		}
		if push.Query.Ver == nil {
			t.Fatalf("%s: push without ver", what)
		}
		v := *push.Query.Ver
		if prev, dup := seen[v]; dup {
			t.Fatalf("%s: version %q already used for %s", what, v, prev)
		}
		seen[v] = what
		// The push's version is the current one: no items for it.
		if ok, _, _ := c.getVer(t, v); ok {
			t.Fatalf("%s: current version %q did not get an empty result", what, v)
		}
		return v
	}
	romeo := jid.MustParse("romeo@localhost")
	v1 := step("first item", func() {
		if err := mroster.Set(ctx, c.sess, mroster.Item{JID: romeo}); err != nil {
			t.Fatal(err)
		}
	})
	// The client that cached the empty roster gets the first item.
	if ok, cur, items := c.getVer(t, v0); !ok || cur != v1 || len(items) != 1 {
		t.Fatalf("stale empty version: query %v ver %q items %v, want %q and 1 item", ok, cur, items, v1)
	}
	step("rename", func() {
		if err := mroster.Set(ctx, c.sess, mroster.Item{JID: romeo, Name: "Romeo"}); err != nil {
			t.Fatal(err)
		}
	})
	step("group", func() {
		if err := mroster.Set(ctx, c.sess, mroster.Item{JID: romeo, Name: "Romeo", Group: []string{"Friends"}}); err != nil {
			t.Fatal(err)
		}
	})
	// A subscription state change (ask='subscribe') is a change too.
	step("ask", func() {
		if err := c.sess.Send(ctx, raw("<presence to='romeo@localhost' type='subscribe'/>")); err != nil {
			t.Fatal(err)
		}
	})
	vRm := step("remove", func() {
		if err := mroster.Delete(ctx, c.sess, romeo); err != nil {
			t.Fatal(err)
		}
	})
	// Empty again, but not the empty roster's version: a stale version
	// gets the (empty) roster with the current version.
	if vRm == v0 {
		t.Fatal("the emptied roster reuses the empty roster's version")
	}
	if ok, cur, items := c.getVer(t, v1); !ok || cur != vRm || len(items) != 0 {
		t.Fatalf("stale version after removal: query %v ver %q items %v", ok, cur, items)
	}
	vLast := step("again", func() {
		if err := mroster.Set(ctx, c.sess, mroster.Item{JID: romeo}); err != nil {
			t.Fatal(err)
		}
	})

	c.sess.Close()
	c.conn.Close()
	srv.Stop()
	srv = xmpptest.StartIn(t, dir, "")
	c = login(t, srv.StartTLS, "juliet", "balcony")
	if ok, _, _ := c.getVer(t, vLast); ok {
		t.Fatal("the version cached before a restart is not current after it")
	}
	step("after restart", func() {
		if err := mroster.Set(ctx, c.sess, mroster.Item{JID: romeo, Name: "R"}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRosterVerFeature: the features after authentication offer roster
// versioning (RFC 6121 §2.6.1).
func TestRosterVerFeature(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	s.AddUser(t, "juliet", "balcony")
	if f := featuresAfterAuth(t, s.StartTLS, "juliet", "balcony"); !strings.Contains(f, "<ver xmlns='urn:xmpp:features:rosterver'/>") {
		t.Fatalf("no roster versioning feature: %s", f)
	}
}

// featuresAfterAuth authenticates user with PLAIN over a raw stream and
// returns the stream features that follow.
func featuresAfterAuth(t *testing.T, addr, user, pass string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	const header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
	var got strings.Builder
	buf := make([]byte, 4096)
	expect := func(want string) string {
		for !strings.Contains(got.String(), want) {
			n, err := c.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				t.Fatalf("waiting for %q: %v; got %q", want, err, got.String())
			}
		}
		s := got.String()
		got.Reset()
		return s
	}
	c.Write([]byte(header))
	expect("</stream:features>")
	c.Write([]byte("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>"))
	expect("<success")
	c.Write([]byte(header))
	return expect("</stream:features>")
}
