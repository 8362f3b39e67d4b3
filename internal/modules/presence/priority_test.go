package presence

import (
	"testing"

	"xmppd/internal/stanza"
	"xmppd/internal/xml"
)

// parse reads one stanza as a client stream would carry it.
func parse(t *testing.T, s string) *stanza.Stanza {
	t.Helper()
	r := stanza.NewReader(xml.Limits{MaxStanzaBytes: 1 << 12})
	w := []byte("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" + s)
	for {
		ev, err := r.Next(w)
		if err != nil {
			t.Fatal(err)
		}
		if ev == stanza.EventStanza {
			return r.Stanza()
		}
	}
}

func TestPriority(t *testing.T) {
	for in, want := range map[string]int{
		"<presence/>": 0,
		"<presence><priority>5</priority></presence>":                  5,
		"<presence><priority> -3 </priority></presence>":               -3,
		"<presence><priority>200</priority></presence>":                127,
		"<presence><priority>-1000</priority></presence>":              -128,
		"<presence><priority>high</priority></presence>":               0,
		"<presence><show>away</show><priority>1</priority></presence>": 1,
	} {
		if got := priority(parse(t, in)); got != want {
			t.Errorf("%s: got %d, want %d", in, got, want)
		}
	}
}
