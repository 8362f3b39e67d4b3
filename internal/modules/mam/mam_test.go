package mam_test

import (
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/stanza"

	"xmppd/internal/modules/mam"
	"xmppd/internal/xmpptest"
)

const timeout = 5 * time.Second

// stanzaID is a XEP-0359 stanza-id.
type stanzaID struct {
	ID string `xml:"id,attr"`
	By string `xml:"by,attr"`
}

// archived is a message as the archive returns it, inside <forwarded/>.
type archived struct {
	From string `xml:"from,attr"`
	To   string `xml:"to,attr"`
	Type string `xml:"type,attr"`
	Body string `xml:"jabber:client body"`
}

// message is any message a test client receives: a live one or an
// archive result.
type message struct {
	From      string     `xml:"from,attr"`
	To        string     `xml:"to,attr"`
	Body      string     `xml:"body"`
	StanzaIDs []stanzaID `xml:"urn:xmpp:sid:0 stanza-id"`
	Result    *struct {
		QueryID   string `xml:"queryid,attr"`
		ID        string `xml:"id,attr"`
		Forwarded struct {
			Delay struct {
				Stamp string `xml:"stamp,attr"`
			} `xml:"urn:xmpp:delay delay"`
			Message archived `xml:"jabber:client message"`
		} `xml:"urn:xmpp:forward:0 forwarded"`
	} `xml:"urn:xmpp:mam:2 result"`
}

// fin is the payload of the iq result that ends a query.
type fin struct {
	XMLName  xml.Name `xml:"urn:xmpp:mam:2 fin"`
	Complete string   `xml:"complete,attr"`
	Set      struct {
		First string `xml:"first"`
		Last  string `xml:"last"`
		Count int    `xml:"count"`
	} `xml:"http://jabber.org/protocol/rsm set"`
}

// client is a logged-in client with available presence whose incoming
// messages are collected.
type client struct {
	sess *xmpp.Session
	msgs chan message
}

func login(t *testing.T, s *xmpptest.Server, user string) *client {
	t.Helper()
	sess, _ := s.Dial(t, user, "pw")
	c := &client{sess: sess, msgs: make(chan message, 1024)}
	go sess.Serve(xmpp.HandlerFunc(func(r xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		if start.Name.Local != "message" {
			return nil
		}
		var m message
		if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), r)).Decode(&m); err != nil {
			return err
		}
		c.msgs <- m
		return nil
	}))
	c.send(t, "<presence/>")
	return c
}

// rawTokens reads XML without resolving namespaces, so that a stanza
// written as text is sent exactly as written.
type rawTokens struct{ d *xml.Decoder }

func (r rawTokens) Token() (xml.Token, error) { return r.d.RawToken() }

func raw(s string) xml.TokenReader { return rawTokens{xml.NewDecoder(strings.NewReader(s))} }

func (c *client) send(t *testing.T, s string) {
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	if err := c.sess.Send(ctx, raw(s)); err != nil {
		t.Fatal(err)
	}
}

// next returns the next message the client receives.
func (c *client) next(t *testing.T) message {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(timeout):
		t.Fatal("no message")
	}
	return message{}
}

// iq sends an iq written as text and decodes its result into v; it returns
// the error condition of an error answer, or "".
func (c *client) iq(t *testing.T, s string, v any) string {
	t.Helper()
	ctx := xmpptest.Context(t, timeout)
	err := c.sess.UnmarshalIQ(ctx, raw(s), v)
	var se stanza.Error
	if errors.As(err, &se) {
		return string(se.Condition)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ""
}

// page is what one query returned.
type page struct {
	items []message
	fin   fin
}

// bodies lists the page's archived bodies in the order they came.
func (p page) bodies() string {
	var out []string
	for _, m := range p.items {
		out = append(out, m.Result.Forwarded.Message.Body)
	}
	return strings.Join(out, " ")
}

// query runs an archive query with the given form fields and RSM set, and
// returns the results that came before the iq result.
func (c *client) query(t *testing.T, fields, set string) page {
	t.Helper()
	var p page
	form := ""
	if fields != "" {
		form = "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>" + fields + "</x>"
	}
	if set != "" {
		set = "<set xmlns='http://jabber.org/protocol/rsm'>" + set + "</set>"
	}
	if cond := c.iq(t, "<iq type='set'><query xmlns='urn:xmpp:mam:2' queryid='q1'>"+form+set+"</query></iq>", &p.fin); cond != "" {
		t.Fatalf("query %s %s: %s", fields, set, cond)
	}
	// The results precede the iq result on the stream, and the client
	// handles its input in order.
	for {
		select {
		case m := <-c.msgs:
			if m.Result == nil {
				t.Fatalf("a message that is not a result among the results: %+v", m)
			}
			if m.Result.QueryID != "q1" {
				t.Fatalf("queryid %q", m.Result.QueryID)
			}
			p.items = append(p.items, m)
		default:
			return p
		}
	}
}

// queryError runs a query written as text and returns its error condition.
func (c *client) queryError(t *testing.T, query string) string {
	t.Helper()
	return c.iq(t, "<iq type='set'>"+query+"</iq>", nil)
}

func field(name, value string) string {
	return "<field var='" + name + "'><value>" + value + "</value></field>"
}

func start(t *testing.T, extra string) *xmpptest.Server {
	t.Helper()
	s := xmpptest.Start(t, extra)
	for _, u := range []string{"juliet", "romeo", "nurse"} {
		s.AddUser(t, u, "pw")
	}
	return s
}

// TestArchiveBothParties: a chat message is in the sender's and in the
// recipient's archive, the recipient's copy carries its archive id as a
// stanza-id, and what is not conversation is not archived.
func TestArchiveBothParties(t *testing.T) {
	s := start(t, "")
	juliet := login(t, s, "juliet")
	romeo := login(t, s, "romeo")

	juliet.send(t, "<message to='romeo@localhost' type='chat' id='m1'><body>hello</body></message>")
	got := romeo.next(t)
	if got.Body != "hello" || len(got.StanzaIDs) != 1 || got.StanzaIDs[0].By != "romeo@localhost" || got.StanzaIDs[0].ID == "" {
		t.Fatalf("delivered %+v, want one stanza-id by romeo@localhost", got)
	}
	// Not archived: a chat state without body, a headline, a no-store
	// hint, an error. Archived: a normal message with a body.
	juliet.send(t, "<message to='romeo@localhost' type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>")
	juliet.send(t, "<message to='romeo@localhost' type='headline'><body>news</body></message>")
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>secret</body><no-store xmlns='urn:xmpp:hints'/></message>")
	juliet.send(t, "<message to='romeo@localhost'><body>normal</body></message>")
	for range 4 {
		m := romeo.next(t)
		if m.Body != "normal" && len(m.StanzaIDs) != 0 {
			t.Fatalf("unarchived message delivered with a stanza-id: %+v", m)
		}
	}

	p := romeo.query(t, "", "")
	if p.fin.Complete != "true" || p.fin.Set.Count != 2 || p.bodies() != "hello normal" {
		t.Fatalf("romeo's archive: %q %+v", p.bodies(), p.fin)
	}
	first := p.items[0]
	if first.Result.ID != got.StanzaIDs[0].ID {
		t.Fatalf("archive id %q, stanza-id %q", first.Result.ID, got.StanzaIDs[0].ID)
	}
	fwd := first.Result.Forwarded
	if !strings.HasPrefix(fwd.Message.From, "juliet@localhost/") || fwd.Message.To != "romeo@localhost" || fwd.Message.Type != "chat" {
		t.Fatalf("archived message %+v", fwd.Message)
	}
	if _, err := time.Parse(time.RFC3339, fwd.Delay.Stamp); err != nil {
		t.Fatalf("delay stamp %q: %v", fwd.Delay.Stamp, err)
	}
	if p.fin.Set.First != p.items[0].Result.ID || p.fin.Set.Last != p.items[1].Result.ID {
		t.Fatalf("first/last %+v", p.fin.Set)
	}

	p = juliet.query(t, "", "")
	if p.fin.Set.Count != 2 || p.bodies() != "hello normal" || p.items[0].Result.Forwarded.Message.To != "romeo@localhost" {
		t.Fatalf("juliet's archive: %q %+v", p.bodies(), p.fin)
	}
	// The nurse has her own, empty archive.
	nurse := login(t, s, "nurse")
	if p := nurse.query(t, "", ""); len(p.items) != 0 || p.fin.Set.Count != 0 || p.fin.Complete != "true" {
		t.Fatalf("nurse's archive: %+v", p)
	}
}

// TestMessageToSelf is archived once.
func TestMessageToSelf(t *testing.T) {
	s := start(t, "")
	juliet := login(t, s, "juliet")
	juliet.send(t, "<message to='juliet@localhost' type='chat'><body>note</body></message>")
	if m := juliet.next(t); m.Body != "note" || len(m.StanzaIDs) != 1 {
		t.Fatalf("delivered %+v", m)
	}
	if p := juliet.query(t, field("with", "juliet@localhost"), ""); p.bodies() != "note" {
		t.Fatalf("with self: %q", p.bodies())
	}
}

// TestForgedStanzaID: a stanza-id the sender wrote in the recipient's name
// is removed; one by another entity is left alone (XEP-0359 §3.1).
func TestForgedStanzaID(t *testing.T) {
	s := start(t, "")
	juliet := login(t, s, "juliet")
	romeo := login(t, s, "romeo")
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>hi</body>"+
		"<stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='romeo@localhost'/>"+
		"<stanza-id xmlns='urn:xmpp:sid:0' id='theirs' by='room@conference.example'/></message>")
	m := romeo.next(t)
	var ours, theirs int
	for _, sid := range m.StanzaIDs {
		switch {
		case sid.ID == "forged":
			t.Fatal("the forged stanza-id was delivered")
		case sid.By == "romeo@localhost":
			ours++
		case sid.ID == "theirs":
			theirs++
		}
	}
	if ours != 1 || theirs != 1 {
		t.Fatalf("stanza-ids %+v", m.StanzaIDs)
	}
	// Without a body nothing is archived, yet the forgery is still removed.
	juliet.send(t, "<message to='romeo@localhost' type='chat'><stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='romeo@localhost'/></message>")
	if m := romeo.next(t); len(m.StanzaIDs) != 0 {
		t.Fatalf("stanza-ids %+v", m.StanzaIDs)
	}
}

// TestPaging pages through 25 messages forwards with <after/> and
// backwards from the end with <before/>, in chronological order within
// each page, with count and complete right on each.
func TestPaging(t *testing.T) {
	s := start(t, "")
	juliet := login(t, s, "juliet")
	romeo := login(t, s, "romeo")
	var want []string
	for i := range 25 {
		juliet.send(t, fmt.Sprintf("<message to='romeo@localhost' type='chat'><body>%d</body></message>", i))
		want = append(want, fmt.Sprint(i))
		romeo.next(t)
	}
	span := func(from, to int) string { return strings.Join(want[from:to], " ") }

	check := func(p page, bodies, complete string) {
		t.Helper()
		if p.bodies() != bodies || p.fin.Complete != complete || p.fin.Set.Count != 25 {
			t.Fatalf("page %q complete=%s count=%d; want %q complete=%s count=25", p.bodies(), p.fin.Complete, p.fin.Set.Count, bodies, complete)
		}
	}
	p := romeo.query(t, "", "<max>10</max>")
	check(p, span(0, 10), "false")
	p = romeo.query(t, "", "<max>10</max><after>"+p.fin.Set.Last+"</after>")
	check(p, span(10, 20), "false")
	p = romeo.query(t, "", "<max>10</max><after>"+p.fin.Set.Last+"</after>")
	check(p, span(20, 25), "true")

	p = romeo.query(t, "", "<max>10</max><before/>")
	check(p, span(15, 25), "false")
	p = romeo.query(t, "", "<max>10</max><before>"+p.fin.Set.First+"</before>")
	check(p, span(5, 15), "false")
	p = romeo.query(t, "", "<max>10</max><before>"+p.fin.Set.First+"</before>")
	check(p, span(0, 5), "true")

	// <max>0</max> counts without sending anything.
	p = romeo.query(t, "", "<max>0</max>")
	if len(p.items) != 0 || p.fin.Set.Count != 25 {
		t.Fatalf("max 0: %d items, count %d", len(p.items), p.fin.Set.Count)
	}
}

// TestPageCap: a page never holds more than max_page, whatever the client
// asks, and without <max> it holds max_page.
func TestPageCap(t *testing.T) {
	s := start(t, "config module 'mam'\n\toption max_page '3'\n")
	juliet := login(t, s, "juliet")
	for i := range 5 {
		juliet.send(t, fmt.Sprintf("<message to='romeo@localhost' type='chat'><body>%d</body></message>", i))
	}
	for _, set := range []string{"", "<max>50</max>"} {
		if p := juliet.query(t, "", set); p.bodies() != "0 1 2" || p.fin.Complete != "false" {
			t.Fatalf("set %q: %q complete=%s", set, p.bodies(), p.fin.Complete)
		}
	}
}

// TestFilters: with (bare matching full), start and end, after-id and
// before-id, ids, and flip-page.
func TestFilters(t *testing.T) {
	s := start(t, "")
	juliet := login(t, s, "juliet")
	romeo := login(t, s, "romeo")
	nurse := login(t, s, "nurse")
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>j1</body></message>")
	romeo.next(t)
	nurse.send(t, "<message to='romeo@localhost' type='chat'><body>n1</body></message>")
	romeo.next(t)
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>j2</body></message>")
	romeo.next(t)
	romeo.send(t, "<message to='juliet@localhost' type='chat'><body>r1</body></message>")
	juliet.next(t)

	all := romeo.query(t, "", "")
	if all.bodies() != "j1 n1 j2 r1" {
		t.Fatalf("all: %q", all.bodies())
	}
	id := func(i int) string { return all.items[i].Result.ID }
	stampOf := func(i int) string { return all.items[i].Result.Forwarded.Delay.Stamp }
	for _, c := range []struct{ fields, want string }{
		{field("with", "juliet@localhost"), "j1 j2 r1"},
		{field("with", "nurse@localhost"), "n1"},
		{field("with", "juliet@localhost/nowhere"), ""},
		{field("start", stampOf(1)), "n1 j2 r1"},
		{field("end", stampOf(1)), "j1 n1"},
		{field("start", stampOf(1)) + field("end", stampOf(2)), "n1 j2"},
		{field("after-id", id(0)), "n1 j2 r1"},
		{field("before-id", id(3)), "j1 n1 j2"},
		{field("after-id", id(0)) + field("before-id", id(3)), "n1 j2"},
		{field("with", "juliet@localhost") + field("after-id", id(0)), "j2 r1"},
		{"<field var='ids'><value>" + id(3) + "</value><value>" + id(1) + "</value></field>", "n1 r1"},
	} {
		if got := romeo.query(t, c.fields, "").bodies(); got != c.want {
			t.Errorf("%s: got %q, want %q", c.fields, got, c.want)
		}
	}
	with := romeo.query(t, field("with", "juliet@localhost"), "")
	if with.fin.Set.Count != 3 {
		t.Errorf("with: count %d", with.fin.Set.Count)
	}
	// flip-page sends the same page newest first.
	var p page
	if cond := romeo.iq(t, "<iq type='set'><query xmlns='urn:xmpp:mam:2' queryid='q1'><set xmlns='http://jabber.org/protocol/rsm'><max>3</max></set><flip-page/></query></iq>", &p.fin); cond != "" {
		t.Fatal(cond)
	}
	var bodies []string
	for range 3 {
		bodies = append(bodies, romeo.next(t).Result.Forwarded.Message.Body)
	}
	if got := strings.Join(bodies, " "); got != "j2 n1 j1" || p.fin.Set.First != id(0) || p.fin.Set.Last != id(2) {
		t.Fatalf("flipped: %q %+v", got, p.fin.Set)
	}
}

// TestQueryErrors: every bad query gets its specific error, and nobody
// reads another account's archive or preferences.
func TestQueryErrors(t *testing.T) {
	s := start(t, "")
	juliet := login(t, s, "juliet")
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>x</body></message>")
	known := juliet.query(t, "", "").fin.Set.First
	if known == "" {
		t.Fatal("the message was not archived")
	}
	// An id that could be ours but is not in this archive.
	unknown := known[:len(known)-1] + map[bool]string{true: "1", false: "0"}[known[len(known)-1] == '0']
	form := func(fields string) string {
		return "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>" + fields + "</x>"
	}
	rsm := func(s string) string { return "<set xmlns='http://jabber.org/protocol/rsm'>" + s + "</set>" }
	q := func(s string) string { return "<query xmlns='urn:xmpp:mam:2'>" + s + "</query>" }
	for _, c := range []struct{ query, want string }{
		{q(rsm("<after>" + unknown + "</after>")), "item-not-found"},
		{q(rsm("<before>" + unknown + "</before>")), "item-not-found"},
		{q(rsm("<after>not-an-id</after>")), "item-not-found"},
		{q(form(field("after-id", unknown))), "item-not-found"},
		{q(form(field("before-id", "nonsense"))), "item-not-found"},
		{q(form("<field var='ids'><value>" + unknown + "</value></field>")), "item-not-found"},
		{q(form(field("start", "yesterday"))), "bad-request"},
		{q(form(field("with", "@@"))), "jid-malformed"},
		{q(form(field("{urn:example}fulltext", "x"))), "feature-not-implemented"},
		{q(rsm("<max>-1</max>")), "bad-request"},
		{q(rsm("<max>ten</max>")), "bad-request"},
		{q(rsm("<index>3</index>")), "feature-not-implemented"},
		{"<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:1</value></field></x></query>", "bad-request"},
		{"<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='form'/></query>", "bad-request"},
	} {
		if got := juliet.queryError(t, c.query); got != c.want {
			t.Errorf("%s: got %q, want %q", c.query, got, c.want)
		}
	}
	// Another account's archive and preferences are not for us.
	for _, iq := range []string{
		"<iq type='set' to='romeo@localhost'><query xmlns='urn:xmpp:mam:2'/></iq>",
		"<iq type='get' to='romeo@localhost'><prefs xmlns='urn:xmpp:mam:2'/></iq>",
		"<iq type='get' to='romeo@localhost'><metadata xmlns='urn:xmpp:mam:2'/></iq>",
	} {
		if got := juliet.iq(t, iq, nil); got != "forbidden" {
			t.Errorf("%s: got %q, want forbidden", iq, got)
		}
	}
	// The query still works after all that.
	if p := juliet.query(t, "", ""); p.bodies() != "x" {
		t.Fatalf("after errors: %q", p.bodies())
	}
}

// TestFormAndMetadata: the query form lists the fields, and the metadata
// names the oldest and newest items.
func TestFormAndMetadata(t *testing.T) {
	s := start(t, "")
	juliet := login(t, s, "juliet")
	var form struct {
		Fields []struct {
			Var  string `xml:"var,attr"`
			Type string `xml:"type,attr"`
		} `xml:"x>field"`
	}
	if cond := juliet.iq(t, "<iq type='get'><query xmlns='urn:xmpp:mam:2'/></iq>", &form); cond != "" {
		t.Fatal(cond)
	}
	var vars []string
	for _, f := range form.Fields {
		vars = append(vars, f.Var)
	}
	if got := strings.Join(vars, " "); got != "FORM_TYPE with start end before-id after-id ids" {
		t.Fatalf("form fields %q", got)
	}

	type meta struct {
		Start *stanzaID `xml:"start"`
		End   *stanzaID `xml:"end"`
	}
	var empty meta
	if cond := juliet.iq(t, "<iq type='get'><metadata xmlns='urn:xmpp:mam:2'/></iq>", &empty); cond != "" || empty.Start != nil || empty.End != nil {
		t.Fatalf("empty archive's metadata: %q %+v", cond, empty)
	}
	for i := range 3 {
		juliet.send(t, fmt.Sprintf("<message to='romeo@localhost' type='chat'><body>%d</body></message>", i))
	}
	all := juliet.query(t, "", "")
	var m meta
	if cond := juliet.iq(t, "<iq type='get'><metadata xmlns='urn:xmpp:mam:2'/></iq>", &m); cond != "" || m.Start == nil || m.End == nil {
		t.Fatalf("metadata: %q %+v", cond, m)
	}
	if m.Start.ID != all.items[0].Result.ID || m.End.ID != all.items[2].Result.ID {
		t.Fatalf("metadata %+v, archive %q..%q", m, all.items[0].Result.ID, all.items[2].Result.ID)
	}
}

// TestPrefs: preferences are stored and decide what is archived: never,
// roster (no roster, nothing), and lists that override the default.
func TestPrefs(t *testing.T) {
	s := start(t, "")
	juliet := login(t, s, "juliet")
	romeo := login(t, s, "romeo")

	type prefs struct {
		Default string   `xml:"default,attr"`
		Always  []string `xml:"urn:xmpp:mam:2 always>jid"`
		Never   []string `xml:"urn:xmpp:mam:2 never>jid"`
	}
	var got struct{ Prefs prefs }
	if cond := romeo.iq(t, "<iq type='get'><prefs xmlns='urn:xmpp:mam:2'/></iq>", &got.Prefs); cond != "" || got.Prefs.Default != mam.Always {
		t.Fatalf("default prefs: %q %+v", cond, got)
	}
	set := func(p string) string {
		return romeo.iq(t, "<iq type='set'>"+p+"</iq>", nil)
	}
	say := func(body string) {
		juliet.send(t, "<message to='romeo@localhost' type='chat'><body>"+body+"</body></message>")
		romeo.next(t)
	}
	if cond := set("<prefs xmlns='urn:xmpp:mam:2' default='sometimes'/>"); cond != "bad-request" {
		t.Fatalf("bad default: %q", cond)
	}
	if cond := set("<prefs xmlns='urn:xmpp:mam:2' default='always'><never><jid>@@</jid></never></prefs>"); cond != "jid-malformed" {
		t.Fatalf("bad jid: %q", cond)
	}

	if cond := set("<prefs xmlns='urn:xmpp:mam:2' default='never'/>"); cond != "" {
		t.Fatal(cond)
	}
	say("unarchived")
	if cond := set("<prefs xmlns='urn:xmpp:mam:2' default='roster'/>"); cond != "" {
		t.Fatal(cond)
	}
	say("not-a-contact")
	if cond := set("<prefs xmlns='urn:xmpp:mam:2' default='never'><always><jid>juliet@localhost</jid></always></prefs>"); cond != "" {
		t.Fatal(cond)
	}
	say("always-juliet")
	if cond := set("<prefs xmlns='urn:xmpp:mam:2' default='always'><never><jid>juliet@localhost</jid></never></prefs>"); cond != "" {
		t.Fatal(cond)
	}
	say("never-juliet")

	if cond := romeo.iq(t, "<iq type='get'><prefs xmlns='urn:xmpp:mam:2'/></iq>", &got.Prefs); cond != "" ||
		got.Prefs.Default != "always" || len(got.Prefs.Always) != 0 || strings.Join(got.Prefs.Never, ",") != "juliet@localhost" {
		t.Fatalf("stored prefs: %q %+v", cond, got)
	}
	if p := romeo.query(t, "", ""); p.bodies() != "always-juliet" {
		t.Fatalf("romeo's archive: %q", p.bodies())
	}
	// Juliet's own preferences still archive every one of them.
	if p := juliet.query(t, "", ""); p.fin.Set.Count != 4 {
		t.Fatalf("juliet's archive: %q", p.bodies())
	}
}

// TestPrefsGoWithTheAccount: an account deleted and registered again
// starts with the default preferences, not the old account's 'never'.
func TestPrefsGoWithTheAccount(t *testing.T) {
	s := start(t, "")
	romeo := login(t, s, "romeo")
	if cond := romeo.iq(t, "<iq type='set'><prefs xmlns='urn:xmpp:mam:2' default='never'/></iq>", nil); cond != "" {
		t.Fatal(cond)
	}
	romeo.sess.Close()
	if err := s.Accounts.Delete("localhost", "romeo"); err != nil {
		t.Fatal(err)
	}
	s.AddUser(t, "romeo", "pw")
	romeo = login(t, s, "romeo")
	juliet := login(t, s, "juliet")
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>kept</body></message>")
	romeo.next(t)
	if p := romeo.query(t, "", ""); p.bodies() != "kept" {
		t.Fatalf("the new account's archive: %q", p.bodies())
	}
}

// TestRosterPolicy: with default 'roster', messages with a contact are
// archived and others are not.
func TestRosterPolicy(t *testing.T) {
	s := start(t, "config module 'mam'\n\toption default_policy 'roster'\n")
	juliet := login(t, s, "juliet")
	romeo := login(t, s, "romeo")
	nurse := login(t, s, "nurse")
	if cond := romeo.iq(t, "<iq type='set'><query xmlns='jabber:iq:roster'><item jid='juliet@localhost'/></query></iq>", nil); cond != "" {
		t.Fatal(cond)
	}
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>contact</body></message>")
	nurse.send(t, "<message to='romeo@localhost' type='chat'><body>stranger</body></message>")
	for range 2 {
		for m := romeo.next(t); m.Body == ""; m = romeo.next(t) {
		}
	}
	if p := romeo.query(t, "", ""); p.bodies() != "contact" {
		t.Fatalf("romeo's archive: %q", p.bodies())
	}
}

// TestExpiry: items older than archive_expires go.
func TestExpiry(t *testing.T) {
	s := start(t, "config module 'mam'\n\toption archive_expires '2s'\n")
	juliet := login(t, s, "juliet")
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>old</body></message>")
	if p := juliet.query(t, "", ""); p.bodies() != "old" {
		t.Fatalf("archive: %q", p.bodies())
	}
	deadline := time.Now().Add(20 * time.Second)
	for juliet.query(t, "", "").fin.Set.Count != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the archived message never expired")
		}
		time.Sleep(200 * time.Millisecond)
	}
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>new</body></message>")
	if p := juliet.query(t, "", ""); p.bodies() != "new" {
		t.Fatalf("archive after expiry: %q", p.bodies())
	}
}

// TestArchiveSurvivesRestart: the archive and preferences are on disk.
func TestArchiveSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := xmpptest.StartIn(t, dir, "")
	s.AddUser(t, "juliet", "pw")
	s.AddUser(t, "romeo", "pw")
	juliet := login(t, s, "juliet")
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>kept</body></message>")
	juliet.query(t, "", "") // the message was handled
	s.Stop()

	s = xmpptest.StartIn(t, dir, "")
	juliet = login(t, s, "juliet")
	if p := juliet.query(t, "", ""); p.bodies() != "kept" {
		t.Fatalf("after restart: %q", p.bodies())
	}
}

// TestAccountFeatures: MAM is advertised on the account's bare JID
// (XEP-0313 §7.1).
func TestAccountFeatures(t *testing.T) {
	s := start(t, "")
	juliet := login(t, s, "juliet")
	var info struct {
		Features []struct {
			Var string `xml:"var,attr"`
		} `xml:"feature"`
	}
	if cond := juliet.iq(t, "<iq type='get' to='juliet@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", &info); cond != "" {
		t.Fatal(cond)
	}
	var have []string
	for _, f := range info.Features {
		have = append(have, f.Var)
	}
	for _, want := range []string{mam.NS, mam.NSExtended, mam.NSSID} {
		if !slices.Contains(have, want) {
			t.Errorf("account features %v lack %s", have, want)
		}
	}
}

// TestOfflineCopyHasStanzaID: a message kept for an offline recipient is
// archived at once and handed over later with its stanza-id.
func TestOfflineCopyHasStanzaID(t *testing.T) {
	s := start(t, "")
	juliet := login(t, s, "juliet")
	juliet.send(t, "<message to='romeo@localhost' type='chat'><body>while you were out</body></message>")
	juliet.query(t, "", "") // handled
	romeo := login(t, s, "romeo")
	m := romeo.next(t)
	p := romeo.query(t, "", "")
	if m.Body != "while you were out" || len(m.StanzaIDs) != 1 || len(p.items) != 1 || m.StanzaIDs[0].ID != p.items[0].Result.ID {
		t.Fatalf("delivered %+v, archive %q", m, p.bodies())
	}
}

// TestQueryAfterBurstInOneRead: a query that arrives in the same read as a
// burst of messages sees all of them, and every copy the recipient gets
// names an item already in its archive; a change that defers archive
// writes (to batch them) must keep both.
func TestQueryAfterBurstInOneRead(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	s.AddUser(t, "romeo", "pw")
	s.AddUser(t, "juliet", "pw")
	romeo := dialRaw(t, s.StartTLS, "romeo", "a")
	juliet := dialRaw(t, s.StartTLS, "juliet", "b")
	const n = 30
	var burst strings.Builder
	for i := range n {
		fmt.Fprintf(&burst, "<message to='juliet@localhost/b' type='chat' id='m%d'><body>line %d</body></message>", i, i)
	}
	burst.WriteString("<iq type='set' id='q1'><query xmlns='urn:xmpp:mam:2' queryid='f'/></iq>")
	romeo.send(burst.String())
	romeo.expect("</fin>")
	if got := romeo.got.String(); !strings.Contains(got, fmt.Sprintf("<count>%d</count>", n)) || !strings.Contains(got, fmt.Sprintf("line %d<", n-1)) {
		t.Fatalf("romeo's query in the read of his messages: %s", got)
	}
	juliet.expect(fmt.Sprintf("line %d<", n-1))
	// Each delivered copy carries its archive id, and the item is there.
	store := s.DB.Archive("mam", false)
	ids := regexp.MustCompile(`<stanza-id[^>]*\sid=['"]([^'"]+)['"]`).FindAllStringSubmatch(juliet.got.String(), -1)
	if len(ids) != n {
		t.Fatalf("%d stanza-ids in what juliet got: %s", len(ids), juliet.got.String())
	}
	for _, m := range ids {
		if _, found, err := store.Get("localhost", "juliet", m[1]); err != nil || !found {
			t.Fatalf("juliet's archive item %s: found %v, %v", m[1], found, err)
		}
	}
}
