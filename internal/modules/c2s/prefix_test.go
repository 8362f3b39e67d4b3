package c2s_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"xmppd/internal/stanza"
	"xmppd/internal/xmpptest"
)

// loginWithHeader is login with a stream header of the test's own for the
// stream after authentication, the one stanzas are sent on.
func (r *rawClient) loginWithHeader(user, pass, resource, header string) {
	r.t.Helper()
	r.send(rawHeader)
	r.expect("</stream:features>")
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>")
	r.expect("<success")
	r.got.Reset()
	r.send(header)
	r.expect("</stream:features>")
	r.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource + "</resource></bind></iq>")
	r.expect("</iq>")
	r.got.Reset()
}

// TestStreamPrefixNotLeaked: a prefix the sender bound on its stream header
// reaches recipients declared, in routed messages and in presence the
// server keeps and sends again later.
func TestStreamPrefixNotLeaked(t *testing.T) {
	s := xmpptest.Start(t, "\toption c2s_plain_on_loopback '1'\n")
	s.AddUser(t, "juliet", "balcony")
	s.AddUser(t, "romeo", "orchard")
	header := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:example:x' to='localhost' version='1.0'>`

	romeo := dialRaw(t, s.StartTLS)
	romeo.login("romeo", "orchard", "r")
	juliet := dialRaw(t, s.StartTLS)
	juliet.loginWithHeader("juliet", "balcony", "one", header)

	juliet.send("<message to='romeo@localhost/r' type='chat'><x:evil/><body>hi</body></message>")
	got := romeo.expect("</message>")
	checkDeclared(t, got[strings.Index(got, "<message"):strings.Index(got, "</message>")+len("</message>")])

	// Juliet's other resource gets the stored presence of the first.
	juliet.send("<presence><x:evil/></presence>")
	juliet.expect("</presence>")
	other := dialRaw(t, s.StartTLS)
	other.login("juliet", "balcony", "two")
	other.send("<presence/>")
	other.expect("from='juliet@localhost/one'")
	got = other.expect("</presence>")
	at := strings.Index(got, "from='juliet@localhost/one'")
	start := strings.LastIndex(got[:at], "<presence")
	end := at + strings.Index(got[at:], "</presence>") + len("</presence>")
	checkDeclared(t, got[start:end])
}

// checkDeclared parses raw on its own, as a stream that bound no prefix
// but the default namespace would.
func checkDeclared(t *testing.T, raw string) {
	t.Helper()
	tree, err := stanza.Parse([]byte(raw), []byte(stanza.NSClient), nil)
	if err != nil {
		t.Fatalf("%s does not parse on a stream of its own: %v", raw, err)
	}
	if tree.Child("urn:example:x", "evil") == nil {
		t.Fatalf("%s lost {urn:example:x}evil", raw)
	}
}
