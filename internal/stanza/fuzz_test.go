package stanza

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"xmppd/internal/xml"
)

// FuzzReader feeds arbitrary input after a stream header. Whatever the
// Reader accepts as a stanza must build a tree that survives serializing and
// parsing again, and must survive having its addresses rewritten.
func FuzzReader(f *testing.F) {
	for _, line := range bytes.Split(session(f), []byte("\n")) {
		f.Add(line)
	}
	f.Add([]byte(`<message xmlns:p='urn:p'><p:x p:y='1'/></message><stream:error/>`))
	hdr := []byte("<stream:stream xmlns='jabber:client' xmlns:stream='" + NSStream + "'>")
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(xml.Limits{MaxStanzaBytes: 4096})
		window := append(append([]byte(nil), hdr...), data...)
		for {
			ev, err := r.Next(window)
			if err != nil {
				if !errors.Is(err, xml.ErrNeedMore) && xml.ClassOf(err) == 0 {
					t.Fatalf("error without class: %v", err)
				}
				return
			}
			if ev != EventStanza {
				continue
			}
			s := r.Stanza()
			tree, err := s.Tree()
			if err != nil {
				t.Fatalf("accepted stanza %q has no tree: %v", s.Raw, err)
			}
			out := tree.AppendXML(nil, NSClient)
			again, err := Parse(out, []byte(NSClient), nil)
			if err != nil || !reflect.DeepEqual(tree, again) {
				t.Fatalf("round trip of %q via %q: %v", s.Raw, out, err)
			}
			if len(s.Outer()) > 0 {
				continue
			}
			fwd := s.AppendWithAddrs(nil, []byte("a@b/c"), []byte("d@e"))
			st, err := Parse(fwd, []byte(NSClient), nil)
			if err != nil || st.Attr("from") != "a@b/c" || st.Attr("to") != "d@e" {
				t.Fatalf("rewrite of %q gave %q: %v", s.Raw, fwd, err)
			}
		}
	})
}
