package smacks_test

import (
	"regexp"
	"strings"
	"testing"

	"xmppd/internal/xmpptest"
)

// rawClient is xmpptest's hand-speaking client: no Go client library has XEP-0198.
type rawClient struct{ *xmpptest.RawClient }

// plainUCI lets PLAIN run without TLS on loopback, for raw clients.
const plainUCI = "\toption c2s_plain_on_loopback '1'\n"

const header = xmpptest.RawHeader

func dial(t testing.TB, s *xmpptest.Server) *rawClient {
	t.Helper()
	return &rawClient{xmpptest.DialRaw(t, s)}
}

var enabledID = regexp.MustCompile(`<enabled xmlns='urn:xmpp:sm:3' id='([^']+)'`)

// enable enables stream management with resumption and returns the id.
func (r *rawClient) enable() string {
	r.T.Helper()
	r.Send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	got := r.Expect("<enabled")
	r.Expect("/>")
	m := enabledID.FindStringSubmatch(r.Got.String())
	if m == nil {
		r.T.Fatalf("no resumption id in %q", got)
	}
	r.Got.Reset()
	return m[1]
}

// stanzas counts the top-level stanzas in s, as a client counts them for
// XEP-0198's h: the tests' stanzas nest no other stanza.
func stanzas(s string) int {
	return strings.Count(s, "<message") + strings.Count(s, "<presence") + strings.Count(s, "<iq ")
}
