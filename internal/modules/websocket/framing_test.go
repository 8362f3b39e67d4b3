package websocket

import (
	"testing"

	"xmppd/internal/stanza"
	"xmppd/internal/stream"
)

// TestAppendFramed: every element the server sends declares what a
// WebSocket message cannot take from a stream header, and nothing else is
// touched.
func TestAppendFramed(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"<message to='a@b'><body>x</body></message>", "<message xmlns='jabber:client' to='a@b'><body>x</body></message>"},
		{"<presence/>", "<presence xmlns='jabber:client'/>"},
		{"<iq\ttype='result' id='1'/>", "<iq xmlns='jabber:client'\ttype='result' id='1'/>"},
		{"<message xmlns='jabber:client'/>", "<message xmlns='jabber:client'/>"},
		{"<message xmlns=\"jabber:client\" to='x'/>", "<message xmlns=\"jabber:client\" to='x'/>"},
		// An attribute whose value holds xmlns is not a declaration.
		{"<message id='xmlns'/>", "<message xmlns='jabber:client' id='xmlns'/>"},
		{"<message id='a>b' xmlns='jabber:client'/>", "<message id='a>b' xmlns='jabber:client'/>"},
		{"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
			"<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"},
		{"<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>", "<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>"},
		{"<r xmlns='urn:xmpp:sm:3'/>", "<r xmlns='urn:xmpp:sm:3'/>"},
		{"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"},
		{"", ""},
		{"<", "<"},
		{"<message", "<message"},
	} {
		if got := string(appendFramed(nil, []byte(c.in))); got != c.want {
			t.Errorf("appendFramed(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFramingElements: <open/>, the stream error and <close/> as RFC 7395
// writes them.
func TestFramingElements(t *testing.T) {
	got := string(appendOpen(nil, stream.Header{From: "example.org", ID: "abc", Lang: "en"}))
	want := "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='example.org' id='abc' version='1.0' xml:lang='en'/>"
	if got != want {
		t.Errorf("open %q, want %q", got, want)
	}
	got = string(appendError([]byte("x"), stream.PolicyViolation, "too <big>"))
	want = "x<stream:error xmlns:stream='http://etherx.jabber.org/streams'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
		"<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>too &lt;big&gt;</text></stream:error>"
	if got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}

// FuzzAppendFramed: whatever an element looks like, framing only ever
// inserts a declaration after its name.
func FuzzAppendFramed(f *testing.F) {
	for _, s := range []string{"<message to='a'/>", "<stream:features/>", "<iq id='\"' xmlns='x'/>", "<presence a='"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(appendFramed(nil, []byte(s)))
		if len(got) < len(s) {
			t.Fatalf("appendFramed(%q) lost bytes: %q", s, got)
		}
		n := stanza.TagNameEnd([]byte(s))
		if got[:n] != s[:n] || got[len(got)-(len(s)-n):] != s[n:] {
			t.Fatalf("appendFramed(%q) = %q changes more than a declaration", s, got)
		}
	})
}
