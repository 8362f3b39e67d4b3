package stanza

import "testing"

func TestTagHasAttr(t *testing.T) {
	for _, tc := range []struct {
		tag, attr string
		want      bool
	}{
		{"<message to='a'/>", "xmlns", false},
		{"<message xmlns='jabber:client'>", "xmlns", true},
		{"<message\n\txmlns=\"jabber:client\">", "xmlns", true},
		{"<stream:features xmlns:stream='x'>", "xmlns", false},
		{"<stream:features xmlns:stream='x'>", "xmlns:stream", true},
		{"<iq id='xmlns=\"a\"' type='get'/>", "xmlns", false}, // inside a value
		{"<iq id='>' xmlns='b'>", "xmlns", true},              // '>' quoted
		{"<presence a='", "xmlns", false},                     // cut short
		{"<iq>", "xmlns", false},
	} {
		p := []byte(tc.tag)
		n := TagNameEnd(p)
		if n == 0 {
			t.Fatalf("%q: no name", tc.tag)
		}
		if got := TagHasAttr(p[n:], tc.attr); got != tc.want {
			t.Errorf("TagHasAttr(%q, %q) = %v", tc.tag, tc.attr, got)
		}
	}
	for _, s := range []string{"", "<", "text", "<message"} {
		if n := TagNameEnd([]byte(s)); n != 0 {
			t.Errorf("TagNameEnd(%q) = %d", s, n)
		}
	}
}
