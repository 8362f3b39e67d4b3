package time_test

import (
	"encoding/xml"
	"regexp"
	"slices"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/xtime"

	xtimemod "xmppd/internal/modules/time"
	"xmppd/internal/xmpptest"
)

func login(t *testing.T, s *xmpptest.Server, user, pass string) *xmpp.Session {
	t.Helper()
	sess, _ := s.Dial(t, user, pass)
	go sess.Serve(nil)
	return sess
}

// XEP-0202 §2: tzo as ±hh:mm and utc in the DateTime profile of XEP-0082 §3.2.
func TestTime(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	sess := login(t, s, "juliet", "balcony")
	if !slices.Contains(s.Host("localhost").Features(), xtimemod.NS) {
		t.Errorf("features %q lack %s", s.Host("localhost").Features(), xtimemod.NS)
	}
	server := jid.MustParse("localhost")
	ctx := xmpptest.Context(t, 5*time.Second)

	before := time.Now()
	got, err := xtime.Get(ctx, sess, server)
	if err != nil {
		t.Fatal(err)
	}
	if got.Before(before.Add(-time.Second)) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("server time %v, test clock %v", got, before)
	}
	if _, off := got.Zone(); off != offset(before) {
		t.Errorf("offset %d s, want %d s", off, offset(before))
	}

	// The text itself, which xtime.Get parses leniently.
	payload := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: xtimemod.NS, Local: "time"}})
	resp, err := sess.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: server}.Wrap(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	var iq struct {
		stanza.IQ
		TZO string `xml:"urn:xmpp:time time>tzo"`
		UTC string `xml:"urn:xmpp:time time>utc"`
	}
	if err := xml.NewTokenDecoder(resp).Decode(&iq); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[+-]\d\d:\d\d$`).MatchString(iq.TZO) {
		t.Errorf("tzo %q", iq.TZO)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`).MatchString(iq.UTC) {
		t.Errorf("utc %q", iq.UTC)
	}
}

func offset(t time.Time) int {
	_, off := t.Zone()
	return off
}
