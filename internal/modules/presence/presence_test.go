package presence_test

import (
	"crypto/tls"
	"encoding/xml"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	mroster "mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"

	"xmppd/internal/core"
	xjid "xmppd/internal/jid"
	_ "xmppd/internal/modules/presence"
	"xmppd/internal/modules/roster"
	xstanza "xmppd/internal/stanza"
	"xmppd/internal/xmpptest"
)

const timeout = 5 * time.Second

// pres is a presence stanza as a client reads it.
type pres struct {
	XMLName xml.Name `xml:"presence"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	Type    string   `xml:"type,attr"`
	Status  string   `xml:"status"`
	Nick    string   `xml:"http://jabber.org/protocol/nick nick"`
	Error   *struct {
		Type  string `xml:"type,attr"`
		Conds []struct {
			XMLName xml.Name
		} `xml:",any"`
	} `xml:"error"`
}

// condition returns the type and defined condition of an error presence.
func (p pres) condition() (typ, cond string) {
	if p.Error == nil {
		return "", ""
	}
	for _, c := range p.Error.Conds {
		if c.XMLName.Space == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.XMLName.Local != "text" {
			cond = c.XMLName.Local
		}
	}
	return p.Error.Type, cond
}

type pushItem struct {
	JID          string `xml:"jid,attr"`
	Subscription string `xml:"subscription,attr"`
	Ask          string `xml:"ask,attr"`
	Approved     string `xml:"approved,attr"`
}

type pushIQ struct {
	XMLName xml.Name `xml:"iq"`
	ID      string   `xml:"id,attr"`
	Type    string   `xml:"type,attr"`
	Query   *struct {
		Items []pushItem `xml:"jabber:iq:roster item"`
	} `xml:"jabber:iq:roster query"`
}

// client is a logged-in real client; what it receives is collected.
type client struct {
	jid      string
	sess     *xmpp.Session
	conn     net.Conn
	presence chan pres
	pushes   chan pushItem
}

// login logs user in; the server picks the resource.
func login(t *testing.T, s *xmpptest.Server, user string) *client {
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	conn, err := net.Dial("tcp", s.StartTLS)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := &tls.Config{ServerName: "localhost", InsecureSkipVerify: true}
	sess, err := xmpp.NewClientSession(ctx, jid.MustParse(user+"@localhost"), conn,
		xmpp.StartTLS(tlsCfg), xmpp.SASL("", "pw", sasl.ScramSha256), xmpp.BindResource())
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	c := &client{jid: sess.LocalAddr().String(), sess: sess, conn: conn,
		presence: make(chan pres, 64), pushes: make(chan pushItem, 64)}
	t.Cleanup(func() { sess.Close(); conn.Close() })
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		d := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), r))
		switch start.Name.Local {
		case "presence":
			var p pres
			if err := d.Decode(&p); err != nil {
				return err
			}
			c.presence <- p
		case "iq":
			var iq pushIQ
			if err := d.Decode(&iq); err != nil || iq.Type != "set" || iq.Query == nil {
				return err
			}
			for _, it := range iq.Query.Items {
				c.pushes <- it
			}
			_, err := xmlstream.Copy(r, stanza.IQ{ID: iq.ID, Type: stanza.ResultIQ}.Wrap(nil))
			return err
		}
		return nil
	}))
	return c
}

// online logs in, asks for the roster (so that pushes come) and sends
// initial presence, whose echo it waits for.
func online(t *testing.T, s *xmpptest.Server, user string) *client {
	t.Helper()
	c := login(t, s, user)
	c.roster(t)
	c.send(t, "<presence><status>here</status></presence>")
	c.expect(t, c.jid, "")
	return c
}

type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

// send sends a stanza written as text.
func (c *client) send(t *testing.T, s string) {
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	if err := c.sess.Send(ctx, rawTokens{xml.NewDecoder(strings.NewReader(s))}); err != nil {
		t.Fatal(err)
	}
}

// roster returns the roster as subscription states by JID.
func (c *client) roster(t *testing.T) map[string]string {
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	it := mroster.Fetch(ctx, c.sess)
	out := map[string]string{}
	for it.Next() {
		out[it.Item().JID.String()] = it.Item().Subscription
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	it.Close()
	return out
}

// expect waits for presence of type typ from 'from', passing over others.
func (c *client) expect(t *testing.T, from, typ string) pres {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case p := <-c.presence:
			if p.From == from && p.Type == typ {
				return p
			}
		case <-deadline:
			t.Fatalf("%s: no presence type %q from %s", c.jid, typ, from)
		}
	}
}

// quiet fails on any presence from 'from' arriving within a short while.
func (c *client) quiet(t *testing.T, from string) {
	t.Helper()
	deadline := time.After(200 * time.Millisecond)
	for {
		select {
		case p := <-c.presence:
			if p.From == from {
				t.Fatalf("%s: unexpected presence %+v", c.jid, p)
			}
		case <-deadline:
			return
		}
	}
}

// push waits for a roster push of jid, passing over others.
func (c *client) push(t *testing.T, jid, sub, ask string) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case it := <-c.pushes:
			if it.JID == jid && it.Subscription == sub && it.Ask == ask {
				return
			}
		case <-deadline:
			t.Fatalf("%s: no push of %s subscription=%s ask=%q", c.jid, jid, sub, ask)
		}
	}
}

func users(t *testing.T, s *xmpptest.Server, names ...string) {
	for _, n := range names {
		s.AddUser(t, n, "pw")
	}
}

// subscribe runs the handshake by which a gets a subscription to b's
// presence, both online.
func subscribe(t *testing.T, a, b *client, aSub, bSub string) {
	t.Helper()
	aBare, bBare := bare(a.jid), bare(b.jid)
	a.send(t, "<presence to='"+bBare+"' type='subscribe'/>")
	if aSub == "none" || aSub == "from" {
		a.push(t, bBare, aSub, "subscribe")
	}
	b.expect(t, aBare, "subscribe")
	b.send(t, "<presence to='"+aBare+"' type='subscribed'/>")
	b.push(t, aBare, bSub, "")
	a.push(t, bBare, map[string]string{"none": "to", "from": "both"}[aSub], "")
	a.expect(t, bBare, "subscribed")
	a.expect(t, b.jid, "") // b's presence follows the approval
}

func bare(full string) string { b, _, _ := strings.Cut(full, "/"); return b }

func TestSubscriptionHandshake(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet", "romeo")
	j := online(t, s, "juliet")
	r := online(t, s, "romeo")

	subscribe(t, j, r, "none", "from")
	subscribe(t, r, j, "from", "both")
	if got := j.roster(t); got["romeo@localhost"] != "both" {
		t.Fatalf("juliet's roster %v", got)
	}
	if got := r.roster(t); got["juliet@localhost"] != "both" {
		t.Fatalf("romeo's roster %v", got)
	}

	// A presence update reaches the contact.
	r.send(t, "<presence><status>sighing</status></presence>")
	if p := j.expect(t, r.jid, ""); p.Status != "sighing" {
		t.Fatalf("update %+v", p)
	}

	// Logout: unavailable to the contact.
	r.sess.Close()
	j.expect(t, r.jid, "unavailable")

	// Login: the contact sees the new resource, which gets the contact's
	// presence by probe.
	r = login(t, s, "romeo")
	r.send(t, "<presence/>")
	j.expect(t, r.jid, "")
	if p := r.expect(t, j.jid, ""); p.Status != "here" {
		t.Fatalf("probe answer %+v", p)
	}

	// A dropped connection: unavailable all the same.
	r.conn.Close()
	j.expect(t, r.jid, "unavailable")

	// Explicit unavailable presence.
	r = online(t, s, "romeo")
	j.expect(t, r.jid, "")
	r.send(t, "<presence type='unavailable'><status>gone</status></presence>")
	if p := j.expect(t, r.jid, "unavailable"); p.Status != "gone" {
		t.Fatalf("unavailable %+v", p)
	}
	// No second unavailable when the stream then ends.
	r.sess.Close()
	j.quiet(t, r.jid)
}

func TestOwnResources(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet")
	a := online(t, s, "juliet")
	b := login(t, s, "juliet")
	b.send(t, "<presence/>")
	a.expect(t, b.jid, "")
	b.expect(t, b.jid, "")
	b.expect(t, a.jid, "") // the other resource, as by probe
	b.conn.Close()
	a.expect(t, b.jid, "unavailable")
}

func TestPendingRequestAtLogin(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet", "romeo")
	j := online(t, s, "juliet")
	j.send(t, "<presence to='romeo@localhost' type='subscribe'><nick xmlns='http://jabber.org/protocol/nick'>Jules</nick></presence>")
	j.push(t, "romeo@localhost", "none", "subscribe")

	// RFC 6121 §3.1.3: kept, with its content, until romeo is available;
	// not on his roster meanwhile.
	r := login(t, s, "romeo")
	if got := r.roster(t); len(got) != 0 {
		t.Fatalf("romeo's roster before answering: %v", got)
	}
	r.send(t, "<presence/>")
	if p := r.expect(t, "juliet@localhost", "subscribe"); p.Nick != "Jules" {
		t.Fatalf("request %+v", p)
	}
	// Still pending: again at the next login.
	r.sess.Close()
	r = login(t, s, "romeo")
	r.roster(t)
	r.send(t, "<presence/>")
	r.expect(t, "juliet@localhost", "subscribe")

	r.send(t, "<presence to='juliet@localhost' type='subscribed'/>")
	r.push(t, "juliet@localhost", "from", "")
	j.push(t, "romeo@localhost", "to", "")
	j.expect(t, "romeo@localhost", "subscribed")
	j.expect(t, r.jid, "")

	// Answered: not delivered again.
	r.sess.Close()
	j.expect(t, r.jid, "unavailable")
	r = login(t, s, "romeo")
	r.send(t, "<presence/>")
	r.quiet(t, "juliet@localhost")
}

func TestDeniedRequest(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet", "tybalt")
	j := online(t, s, "juliet")
	ty := online(t, s, "tybalt")
	ty.send(t, "<presence to='juliet@localhost' type='subscribe'/>")
	ty.push(t, "juliet@localhost", "none", "subscribe")
	j.expect(t, "tybalt@localhost", "subscribe")
	j.send(t, "<presence to='tybalt@localhost' type='unsubscribed'/>")
	ty.push(t, "juliet@localhost", "none", "")
	ty.expect(t, "juliet@localhost", "unsubscribed")
	if got := j.roster(t); len(got) != 0 {
		t.Fatalf("juliet's roster after denying: %v", got)
	}
	// The request is gone: a new login does not see it.
	j.sess.Close()
	j = login(t, s, "juliet")
	j.send(t, "<presence/>")
	j.quiet(t, "tybalt@localhost")
}

func TestSubscribeToNobody(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet")
	j := online(t, s, "juliet")
	j.send(t, "<presence to='ghost@localhost' type='subscribe'/>")
	j.push(t, "ghost@localhost", "none", "subscribe")
	j.push(t, "ghost@localhost", "none", "")
	j.expect(t, "ghost@localhost", "unsubscribed")
}

func TestRemoveCancelsSubscriptions(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet", "romeo")
	j := online(t, s, "juliet")
	r := online(t, s, "romeo")
	subscribe(t, j, r, "none", "from")
	subscribe(t, r, j, "from", "both")

	ctx := xmpptest.Context(t, timeout)
	if err := mroster.Delete(ctx, j.sess, jid.MustParse("romeo@localhost")); err != nil {
		t.Fatal(err)
	}
	j.push(t, "romeo@localhost", "remove", "")
	// RFC 6121 §2.5.2: romeo loses both subscriptions.
	r.expect(t, "juliet@localhost", "unsubscribe")
	r.expect(t, "juliet@localhost", "unsubscribed")
	r.push(t, "juliet@localhost", "none", "")
	r.expect(t, j.jid, "unavailable")
	j.expect(t, r.jid, "unavailable")
	if got := r.roster(t); got["juliet@localhost"] != "none" {
		t.Fatalf("romeo's roster %v", got)
	}
	// Nothing flows any more.
	j.send(t, "<presence><status>alone</status></presence>")
	r.quiet(t, j.jid)
}

func TestDirectedPresence(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet", "nurse", "friar")
	j := online(t, s, "juliet")
	n := online(t, s, "nurse")
	f := online(t, s, "friar")

	// To a bare JID, and to a full JID, without any subscription.
	j.send(t, "<presence to='nurse@localhost'><status>psst</status></presence>")
	if p := n.expect(t, j.jid, ""); p.Status != "psst" {
		t.Fatalf("directed %+v", p)
	}
	j.send(t, "<presence to='"+f.jid+"'/>")
	f.expect(t, j.jid, "")

	// Directed unavailable takes the friar off the list.
	j.send(t, "<presence type='unavailable' to='"+f.jid+"'/>")
	f.expect(t, j.jid, "unavailable")

	// A dropped connection: unavailable to the nurse only.
	j.conn.Close()
	n.expect(t, j.jid, "unavailable")
	f.quiet(t, j.jid)

	// An error for a full JID reaches that resource.
	f.send(t, "<presence type='error' to='"+n.jid+"'><error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>")
	n.expect(t, f.jid, "error")

	// To a user that does not exist: dropped without an answer.
	n.send(t, "<presence to='ghost@localhost'/>")
	n.quiet(t, "ghost@localhost")
}

// nowhere is a session's output that goes nowhere.
type nowhere struct{}

func (nowhere) Queue([]byte) error  { return nil }
func (nowhere) Flush()              {}
func (nowhere) Close(_, _ string)   {}
func (nowhere) Info() core.LinkInfo { return core.LinkInfo{} }

func TestReplacedResource(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet", "romeo")
	j := online(t, s, "juliet")
	r := online(t, s, "romeo")
	subscribe(t, j, r, "none", "from")
	// A new session binds the same resource: the old one is replaced
	// (c2s_resource_conflict kick_old) and its contacts see it go.
	h := s.Host("localhost")
	_, resource, _ := strings.Cut(r.jid, "/")
	if _, err := h.Bind(s.NewSession(h, xjid.MustParse("romeo@localhost"), nowhere{}), resource, core.ConflictKickOld); err != nil {
		t.Fatal(err)
	}
	j.expect(t, r.jid, "unavailable")
}

// next returns the next presence c receives, whatever it is.
func (c *client) next(t *testing.T) pres {
	t.Helper()
	select {
	case p := <-c.presence:
		return p
	case <-time.After(timeout):
		t.Fatalf("%s: no presence", c.jid)
	}
	return pres{}
}

// drain forgets the presence received so far, once none has come for a
// short while.
func (c *client) drain() {
	for {
		select {
		case <-c.presence:
		case <-time.After(200 * time.Millisecond):
			return
		}
	}
}

// RFC 6121 §4.5.2: unavailable presence goes to all of the user's available
// resources, the one that sent it included, with its content.
func TestUnavailableEcho(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet", "romeo")
	a := online(t, s, "juliet")
	r := online(t, s, "romeo")
	subscribe(t, r, a, "none", "from")
	b := online(t, s, "juliet")
	a.expect(t, b.jid, "")
	r.expect(t, b.jid, "")

	a.send(t, "<presence type='unavailable'><status>gone to Mantua</status></presence>")
	for _, c := range []*client{a, b, r} {
		if p := c.expect(t, a.jid, "unavailable"); p.Status != "gone to Mantua" {
			t.Fatalf("%s got %+v", c.jid, p)
		}
	}
	// Once: not again when the stream ends.
	a.sess.Close()
	b.quiet(t, a.jid)
	r.quiet(t, a.jid)
}

// RFC 6121 §2.5.2, §3.2.2, §3.3.2: removing a contact sends it 'unsubscribe'
// and 'unsubscribed', then unavailable presence from each of the user's
// available resources, and nothing more.
func TestRemoveSendsUnavailable(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet", "romeo")
	j := online(t, s, "juliet")
	r := online(t, s, "romeo")
	subscribe(t, j, r, "none", "from")
	subscribe(t, r, j, "from", "both")
	j2 := online(t, s, "juliet")
	idle := login(t, s, "juliet") // connected, never available: nothing to retract
	r.expect(t, j2.jid, "")
	r.drain()

	ctx := xmpptest.Context(t, timeout)
	if err := mroster.Delete(ctx, j.sess, jid.MustParse("romeo@localhost")); err != nil {
		t.Fatal(err)
	}
	j.push(t, "romeo@localhost", "remove", "")
	j2.push(t, "romeo@localhost", "remove", "")
	for _, want := range []pres{
		{From: "juliet@localhost", Type: "unsubscribe"},
		{From: "juliet@localhost", Type: "unsubscribed"},
	} {
		if p := r.next(t); p.From != want.From || p.Type != want.Type {
			t.Fatalf("romeo got %+v, want %+v", p, want)
		}
	}
	gone := map[string]bool{}
	for range 2 {
		p := r.next(t)
		if p.Type != "unavailable" || (p.From != j.jid && p.From != j2.jid) || gone[p.From] {
			t.Fatalf("romeo got %+v, want unavailable from %s and %s", p, j.jid, j2.jid)
		}
		gone[p.From] = true
	}
	r.quiet(t, idle.jid)
	r.quiet(t, j.jid)
}

// stored returns the records of user's roster as the store holds them,
// pending requests from people not on it included.
func stored(t *testing.T, s *xmpptest.Server, user string) []roster.Item {
	t.Helper()
	items, err := roster.For(s.Host("localhost")).Items(user)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// set sends a roster set of one item written as text and returns the
// error condition of the answer, or "".
func (c *client) set(t *testing.T, item string) string {
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	err := c.sess.UnmarshalIQ(ctx, rawTokens{xml.NewDecoder(strings.NewReader(
		"<iq type='set'><query xmlns='jabber:iq:roster'>" + item + "</query></iq>"))}, nil)
	var se stanza.Error
	if errors.As(err, &se) {
		return string(se.Condition)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ""
}

// A request that would add an item to the sender's full roster is refused
// with the error a roster set gets, and adds nothing.
func TestSubscribeFromFullRoster(t *testing.T) {
	s := xmpptest.Start(t, "config module 'roster'\n\toption max_items '3'\n")
	users(t, s, "juliet", "romeo")
	// Requests to users that do not exist each leave an item
	// (RFC 6121 §8.5.1), until the roster is full.
	j := online(t, s, "juliet")
	for i := range 5 {
		ghost := "ghost" + strconv.Itoa(i) + "@localhost"
		j.send(t, "<presence to='"+ghost+"' type='subscribe'/>")
		if i < 3 {
			j.expect(t, ghost, "unsubscribed")
			continue
		}
		p := j.expect(t, ghost, "error")
		if typ, cond := p.condition(); typ != "cancel" || cond != "policy-violation" {
			t.Fatalf("request %d from a full roster: %s %s", i, typ, cond)
		}
	}
	if n := len(stored(t, s, "juliet")); n != 3 {
		t.Fatalf("juliet's roster holds %d records", n)
	}
	if cond := j.set(t, "<item jid='romeo@localhost'/>"); cond != "policy-violation" {
		t.Fatalf("roster set to a full roster: %q", cond)
	}
	// A request to a contact already there adds nothing: still allowed.
	j.send(t, "<presence to='ghost0@localhost' type='subscribe'/>")
	j.push(t, "ghost0@localhost", "none", "subscribe")
	if n := len(stored(t, s, "juliet")); n != 3 {
		t.Fatalf("juliet's roster holds %d records", n)
	}
}

// Requests from people not on a roster are kept in hidden records, which
// count towards max_items: past it, the requester gets an error and the
// roster does not grow.
func TestSubscribeToFullRoster(t *testing.T) {
	s := xmpptest.Start(t, "config module 'roster'\n\toption max_items '3'\n")
	users(t, s, "romeo", "nurse", "friar", "tybalt", "paris")
	var askers []*client
	for _, u := range []string{"nurse", "friar", "tybalt", "paris"} {
		c := online(t, s, u)
		c.send(t, "<presence to='romeo@localhost' type='subscribe'/>")
		// The push comes once romeo's side is done too.
		c.push(t, "romeo@localhost", "none", "subscribe")
		askers = append(askers, c)
	}
	p := askers[3].expect(t, "romeo@localhost", "error")
	if typ, cond := p.condition(); typ != "wait" || cond != "resource-constraint" {
		t.Fatalf("request to a full roster: %s %s", typ, cond)
	}
	if n := len(stored(t, s, "romeo")); n != 3 {
		t.Fatalf("romeo's roster holds %d records", n)
	}
	r := login(t, s, "romeo")
	r.roster(t)
	if cond := r.set(t, "<item jid='mercutio@localhost'/>"); cond != "policy-violation" {
		t.Fatalf("roster set to a roster full of requests: %q", cond)
	}
	r.send(t, "<presence/>")
	got := map[string]bool{}
	for len(got) < 3 {
		if p := r.next(t); p.Type == "subscribe" {
			got[p.From] = true
		}
	}
	if !got["nurse@localhost"] || !got["friar@localhost"] || !got["tybalt@localhost"] {
		t.Fatalf("requests delivered at login: %v", got)
	}
	r.quiet(t, "paris@localhost")

	// Neither adding a requester nor approving it adds a record: both
	// allowed while full.
	if cond := r.set(t, "<item jid='tybalt@localhost' name='Tybalt'/>"); cond != "" {
		t.Fatalf("roster set of a requester: %q", cond)
	}
	r.send(t, "<presence to='nurse@localhost' type='subscribed'/>")
	askers[0].expect(t, "romeo@localhost", "subscribed")
	// Denying one makes room, and the request sent again gets through.
	r.send(t, "<presence to='friar@localhost' type='unsubscribed'/>")
	askers[1].expect(t, "romeo@localhost", "unsubscribed")
	askers[3].send(t, "<presence to='romeo@localhost' type='subscribe'/>")
	r.expect(t, "paris@localhost", "subscribe")
	if n := len(stored(t, s, "romeo")); n != 3 {
		t.Fatalf("romeo's roster holds %d records", n)
	}
}

// recorder is a session output that logs, for the sessions that share its
// log, what each is sent, in the order the server queues it: over sockets,
// the order between two connections cannot be seen.
type recorder struct {
	name string
	mu   *sync.Mutex
	log  *[]string
}

func (r recorder) Queue(p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	// One quote style, whichever the stanza was written with.
	*r.log = append(*r.log, r.name+": "+strings.ReplaceAll(string(p), `"`, "'"))
	return nil
}
func (recorder) Flush()              {}
func (recorder) Close(_, _ string)   {}
func (recorder) Info() core.LinkInfo { return core.LinkInfo{} }

// RFC 6121 §3.2.2, §3.3.2: removing a contact routes 'unsubscribe' and
// 'unsubscribed' to it, then pushes the removal to the user's interested
// resources, then sends the contact unavailable presence.
func TestRemoveOrder(t *testing.T) {
	s := xmpptest.Start(t, "")
	users(t, s, "juliet", "romeo")
	j := online(t, s, "juliet")
	r := online(t, s, "romeo")
	subscribe(t, j, r, "none", "from")
	subscribe(t, r, j, "from", "both")

	// Watchers: another interested resource of juliet's, and an available
	// one of romeo's, writing to one log.
	var mu sync.Mutex
	var log []string
	h := s.Host("localhost")
	jw := s.NewSession(h, xjid.MustParse("juliet@localhost"), recorder{"juliet", &mu, &log})
	if _, err := h.Bind(jw, "watch", core.ConflictKickOld); err != nil {
		t.Fatal(err)
	}
	jw.SetInterested()
	rw := s.NewSession(h, xjid.MustParse("romeo@localhost"), recorder{"romeo", &mu, &log})
	if _, err := h.Bind(rw, "watch", core.ConflictKickOld); err != nil {
		t.Fatal(err)
	}
	st, err := xstanza.Reparse([]byte("<presence/>"), xstanza.NSClient)
	if err != nil {
		t.Fatal(err)
	}
	s.Route(rw, st)
	rw.FlushTouched()
	j.expect(t, rw.JID.String(), "")
	mu.Lock()
	log = nil
	mu.Unlock()

	ctx := xmpptest.Context(t, timeout)
	if err := mroster.Delete(ctx, j.sess, jid.MustParse("romeo@localhost")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	find := func(who string, parts ...string) int {
		for i, l := range log {
			if !strings.HasPrefix(l, who+": ") {
				continue
			}
			all := true
			for _, p := range parts {
				all = all && strings.Contains(l, p)
			}
			if all {
				return i
			}
		}
		t.Fatalf("%s was not sent %q; log:\n%s", who, parts, strings.Join(log, "\n"))
		return -1
	}
	steps := []int{
		find("romeo", "<presence", "type='unsubscribe'"),
		find("romeo", "<presence", "type='unsubscribed'"),
		find("juliet", "<iq", "subscription='remove'"),
		find("romeo", "<presence", "from='"+j.jid+"'", "type='unavailable'"),
	}
	if !slices.IsSorted(steps) {
		t.Fatalf("order %v; log:\n%s", steps, strings.Join(log, "\n"))
	}
}
