package stanza

import (
	"bytes"
	"errors"
	"testing"

	"xmppd/internal/xml"
)

// TestReaderParking reads the recorded session a byte at a time, parking
// the reader whenever it is idle and going on in a different Reader, and
// requires the same stanzas as one Reader reading it whole.
func TestReaderParking(t *testing.T) {
	in := session(t)
	want := readAll(t, NewReader(xml.Limits{}), in, 0)
	readers := [2]*Reader{NewReader(xml.Limits{}), NewReader(xml.Limits{})}
	cur, parks := 0, 0
	var got []*Stanza
	var window, parked []byte
	for next := 0; ; {
		ev, err := readers[cur].Next(window)
		if err == nil {
			if ev == EventStanza {
				got = append(got, readers[cur].Stanza().Clone())
			}
			continue
		}
		if !errors.Is(err, xml.ErrNeedMore) {
			t.Fatalf("at %d: %v", next, err)
		}
		if next == len(in) {
			break
		}
		n := readers[cur].Retain()
		window = append([]byte(nil), window[n:]...)
		readers[cur].Shift(n)
		if len(window) == 0 {
			if p, ok := readers[cur].Park(parked[:0]); ok {
				parked = p
				cur = 1 - cur
				if err := readers[cur].Unpark(parked); err != nil {
					t.Fatal(err)
				}
				parks++
			}
		}
		window = append(window, in[next])
		next++
	}
	if parks < 30 {
		t.Fatalf("parked %d times", parks)
	}
	if len(got) != len(want) {
		t.Fatalf("%d stanzas, want %d", len(got), len(want))
	}
	for k := range got {
		if !bytes.Equal(got[k].Raw, want[k].Raw) || !bytes.Equal(got[k].To(), want[k].To()) ||
			!bytes.Equal(got[k].Space(), want[k].Space()) || !bytes.Equal(got[k].ChildSpace(), want[k].ChildSpace()) {
			t.Fatalf("stanza %d differs after parking:\n%s\n%s", k, got[k].Raw, want[k].Raw)
		}
	}
}

func TestReparse(t *testing.T) {
	s := one(t, `<presence xml:lang='en'><show>away</show><status>a &amp; b</status><priority>5</priority></presence>`)
	raw := s.AppendStamped(nil, "c@d/e")
	back, err := Reparse(raw, NSClient)
	if err != nil {
		t.Fatal(err)
	}
	if back.Kind != Presence || string(back.From()) != "c@d/e" || !bytes.Equal(back.Raw, raw) {
		t.Fatalf("reparsed %v from %q: %q", back.Kind, back.From(), back.Raw)
	}
	tree, err := back.Tree()
	if err != nil || tree.Child("", "status").Text() != "a & b" || string(back.Space()) != NSClient {
		t.Fatalf("tree %v, err %v", tree, err)
	}
	if _, err := Reparse([]byte("<presence>"), NSClient); err == nil {
		t.Fatal("an unfinished stanza reparsed")
	}
}
