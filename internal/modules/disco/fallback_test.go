package disco_test

import (
	"encoding/xml"
	"testing"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"xmppd/internal/xmpptest"
)

// The core's fallback, end to end: a get or set nobody handles gets
// service-unavailable (RFC 6120 §8.2.3, §8.4) from the address it was sent
// to, and a result or an error is never answered, whoever it was sent to
// (RFC 6120 §8.2.3), else two servers could bounce errors forever.
func TestFallback(t *testing.T) {
	s := xmpptest.Start(t, "")
	s.AddUser(t, "juliet", "balcony")
	c := login(t, s, "juliet", "balcony")
	unknown := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: "urn:example:unknown", Local: "query"}})

	for _, to := range []jid.JID{server, {}, c.LocalAddr().Bare()} {
		for _, typ := range []stanza.IQType{stanza.GetIQ, stanza.SetIQ} {
			resp, err := c.SendIQ(ctx(t), stanza.IQ{Type: typ, To: to}.Wrap(unknown))
			if err != nil {
				t.Fatal(err)
			}
			var iq struct {
				stanza.IQ
				Err stanza.Error `xml:"error"`
			}
			err = xml.NewTokenDecoder(resp).Decode(&iq)
			resp.Close()
			if err != nil {
				t.Fatal(err)
			}
			if iq.Type != stanza.ErrorIQ || iq.Err.Condition != stanza.ServiceUnavailable || iq.Err.Type != stanza.Cancel {
				t.Errorf("%s to %q: got type %s, error %+v; want cancel/service-unavailable", typ, to, iq.Type, iq.Err)
			}
			// From the address written, or the account's bare JID for none
			// (RFC 6120 §8.1.2.1); mellium clears a 'from' equal to the
			// account's bare JID, so that reads as none.
			want := to
			if to.Equal(c.LocalAddr().Bare()) {
				want = jid.JID{}
			}
			if !iq.From.Equal(want) {
				t.Errorf("%s to %q: error from %q, want %q", typ, to, iq.From, want)
			}
		}
	}

	// Answers nobody asked for, to every kind of address.
	targets := []jid.JID{server, {}, c.LocalAddr().Bare(), jid.MustParse("romeo@localhost"),
		jid.MustParse("romeo@localhost/gone"), jid.MustParse("localhost/x")}
	for i, to := range targets {
		id := string(rune('a' + i))
		if _, err := c.SendIQ(ctx(t), stanza.IQ{ID: "result-" + id, Type: stanza.ResultIQ, To: to}.Wrap(nil)); err != nil {
			t.Fatal(err)
		}
		errPayload := stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}.TokenReader()
		if _, err := c.SendIQ(ctx(t), stanza.IQ{ID: "error-" + id, Type: stanza.ErrorIQ, To: to}.Wrap(errPayload)); err != nil {
			t.Fatal(err)
		}
	}
	// The server handles a stream's stanzas in order: once this answer is
	// in, any answer to the ones above would have come before it.
	if _, err := disco.GetInfo(ctx(t), "", server, c.Session); err != nil {
		t.Fatal(err)
	}
	if got := c.unsolicited(); len(got) != 0 {
		t.Fatalf("the server answered results or errors: %q", got)
	}
}
