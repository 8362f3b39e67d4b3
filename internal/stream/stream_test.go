package stream

import (
	"errors"
	"strings"
	"testing"
	"time"

	"xmppd/internal/stanza"
	"xmppd/internal/xml"
)

func header(t *testing.T, in string) (Header, *Error) {
	t.Helper()
	tz := xml.NewTokenizer(xml.Limits{}, true)
	tok, err := tz.Next([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return ParseHeader(tok, stanza.NSClient)
}

func TestParseHeader(t *testing.T) {
	h, e := header(t, `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0' xml:lang='en'>`)
	if e != nil || h.To != "example.org" || h.Lang != "en" || h.Version != "1.0" {
		t.Fatalf("%+v %v", h, e)
	}
	for _, c := range []struct{ in, cond string }{
		{`<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`, InvalidNamespace},
		{`<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong' version='1.0'>`, InvalidNamespace},
		{`<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams' version='1.0'>`, BadNamespacePrefix},
		{`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`, UnsupportedVersion},
		{`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='2.0'>`, UnsupportedVersion},
	} {
		if _, e := header(t, c.in); e == nil || e.Condition != c.cond {
			t.Errorf("%s: got %v, want %s", c.in, e, c.cond)
		}
	}
}

func TestAppend(t *testing.T) {
	open := string(AppendOpen(nil, Header{Space: stanza.NSClient, From: "example.org", ID: "abc", Lang: "en"}))
	want := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='example.org' id='abc' version='1.0' xml:lang='en'>`
	if open != want {
		t.Fatalf("got  %s\nwant %s", open, want)
	}
	e := string(AppendError(nil, &Error{PolicyViolation, "too big"}))
	if e != `<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>too big</text></stream:error></stream:stream>` {
		t.Fatal(e)
	}
	// An error after a header keeps the header (RFC 6120 §4.9.1.1): a
	// client that got no header cannot parse the error.
	both := string(AppendError([]byte(open), &Error{PolicyViolation, "too big"}))
	if both != open+e {
		t.Fatalf("header and error: got %s", both)
	}
	// The whole exchange parses as one stream.
	tz := xml.NewTokenizer(xml.Limits{}, true)
	buf := []byte(both)
	for {
		tok, err := tz.Next(buf)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Kind == xml.KindStreamEnd {
			break
		}
	}
}

func TestFromSyntax(t *testing.T) {
	for in, cond := range map[string]string{"<a><!-- c --></a>": RestrictedXML, "<a></b>": NotWellFormed} {
		tz := xml.NewTokenizer(xml.Limits{}, false)
		var err error
		for err == nil {
			_, err = tz.Next([]byte(in))
		}
		if got := FromSyntax(err); got.Condition != cond {
			t.Errorf("%s: %s", in, got.Condition)
		}
	}
	if FromSyntax(errors.New("x")).Condition != InternalServerError {
		t.Error("unknown error")
	}
	if a, b := NewID(), NewID(); len(a) < 16 || a == b || strings.ContainsAny(a, "'\"<&") {
		t.Error("ids")
	}
}

func TestRateLimiter(t *testing.T) {
	if NewRateLimiter(0, 0).Take(1<<20, time.Now()) != 0 {
		t.Fatal("unlimited limiter paused")
	}
	r := NewRateLimiter(1000, 2000)
	now := time.Unix(0, 0)
	if r.Take(1500, now) != 0 {
		t.Fatal("burst not allowed")
	}
	if d := r.Take(1500, now); d != time.Second {
		t.Fatalf("pause %v", d)
	}
	if d := r.Take(0, now.Add(2*time.Second)); d != 0 {
		t.Fatalf("after refill: %v", d)
	}
}
