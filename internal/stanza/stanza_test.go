package stanza

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"xmppd/internal/xml"
)

func session(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("../xml/testdata/session.xml")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// readAll feeds in to a Reader in reads of the given size (0: all at once),
// compacting before each read, and returns clones of the stanzas.
func readAll(tb testing.TB, r *Reader, in []byte, size int) []*Stanza {
	tb.Helper()
	var out []*Stanza
	var window []byte
	next := 0
	for {
		ev, err := r.Next(window)
		if err == nil {
			if ev == EventStanza {
				out = append(out, r.Stanza().Clone())
			}
			continue
		}
		if !errors.Is(err, xml.ErrNeedMore) {
			tb.Fatalf("at %d: %v", next, err)
		}
		if next == len(in) {
			return out
		}
		n := r.Retain()
		old := window
		window = append([]byte(nil), window[n:]...)
		for i := range old {
			old[i] = 0xff
		}
		r.Shift(n)
		end := len(in)
		if size > 0 {
			end = min(next+size, len(in))
		}
		window = append(window, in[next:end]...)
		next = end
	}
}

func TestReaderIndex(t *testing.T) {
	in := session(t)
	st := readAll(t, NewReader(xml.Limits{}), in, 0)
	if len(st) != 18 {
		t.Fatalf("%d stanzas", len(st))
	}
	for _, s := range st {
		if !bytes.Contains(in, s.Raw) || s.Raw[0] != '<' || s.Raw[len(s.Raw)-1] != '>' {
			t.Errorf("raw %q is not a run of the input", s.Raw)
		}
	}
	type want struct {
		kind                    Kind
		name, space             string
		to, from, typ, id, lang string
		childName, childSpace   string
	}
	check := func(i int, w want) {
		t.Helper()
		s := st[i]
		got := want{s.Kind, string(s.Name()), string(s.Space()), string(s.To()), string(s.From()), string(s.Type()),
			string(s.ID()), string(s.Lang()), string(s.ChildName()), string(s.ChildSpace())}
		if got != w {
			t.Errorf("stanza %d %q:\n got  %+v\n want %+v", i, s.Raw[:min(60, len(s.Raw))], got, w)
		}
	}
	check(0, want{IQ, "iq", NSClient, "", "", "set", "bind_1", "", "bind", NSBind})
	check(2, want{IQ, "iq", NSClient, "juliet@example.org/balcony", "", "result", "roster_1", "", "query", "jabber:iq:roster"})
	check(3, want{Presence, "presence", NSClient, "", "", "", "", "", "show", NSClient})
	check(4, want{Message, "message", NSClient, "romeo@example.net", "juliet@example.org/balcony", "chat", "ktx72v49", "en", "body", NSClient})
	check(11, want{Message, "message", NSClient, "romeo@example.net", "", "normal", "", "", "note", "urn:example:prefixed"})
	check(17, want{Message, "message", NSClient, "romeo@example.net", "", "chat", "ws1", "", "body", NSClient})
	if len(st[11].Outer()) != 0 {
		t.Errorf("outer bindings %v for a self-contained stanza", st[11].Outer())
	}
}

func TestReaderSplitEveryOffset(t *testing.T) {
	in := session(t)
	want := readAll(t, NewReader(xml.Limits{}), in, 0)
	r := NewReader(xml.Limits{})
	step := 1
	if testing.Short() {
		step = 11
	}
	for i := 1; i < len(in); i += step {
		r.Reset()
		var got []*Stanza
		// Two reads: the first i bytes, then the rest.
		got = append(got, readAll(t, r, in, i)...)
		if len(got) != len(want) {
			t.Fatalf("split at %d: %d stanzas", i, len(got))
		}
		for k := range got {
			if !bytes.Equal(got[k].Raw, want[k].Raw) || string(got[k].To()) != string(want[k].To()) ||
				string(got[k].ChildSpace()) != string(want[k].ChildSpace()) {
				t.Fatalf("split at %d: stanza %d differs", i, k)
			}
		}
	}
}

func TestReaderEvents(t *testing.T) {
	r := NewReader(xml.Limits{})
	w := []byte("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='" + NSStream + "' to='example.org' version='1.0'>")
	ev, err := r.Next(w)
	if err != nil || ev != EventHeader {
		t.Fatalf("%v %v", ev, err)
	}
	if v, _ := r.Header().Attr("to"); string(v) != "example.org" {
		t.Fatalf("header to %q", v)
	}
	w = append(w, "<stream:error><not-well-formed xmlns='"+NSStreams+"'/></stream:error></stream:stream>"...)
	ev, err = r.Next(w)
	if err != nil || ev != EventStanza {
		t.Fatalf("%v %v", ev, err)
	}
	s := r.Stanza()
	if s.Kind != Other || string(s.Space()) != NSStream || string(s.ChildName()) != "not-well-formed" {
		t.Fatalf("stream error indexed as %v %q %q", s.Kind, s.Space(), s.ChildName())
	}
	if len(s.Outer()) != 1 || string(s.Outer()[0].Prefix) != "stream" {
		t.Fatalf("outer %v", s.Outer())
	}
	tree, err := s.Tree()
	if err != nil || tree.Space != NSStream || tree.FirstChild().Space != NSStreams {
		t.Fatalf("tree %v %v", tree, err)
	}
	if ev, err = r.Next(w); err != nil || ev != EventEnd {
		t.Fatalf("%v %v", ev, err)
	}
}

func TestReaderErrorsCarryClass(t *testing.T) {
	r := NewReader(xml.Limits{MaxStanzaBytes: 200})
	w := []byte("<stream:stream xmlns='jabber:client' xmlns:stream='" + NSStream + "'>")
	r.Next(w)
	w = append(w, "<message><body>"+strings.Repeat("x", 300)+"</body></message>"...)
	if _, err := r.Next(w); xml.ClassOf(err) != xml.LimitExceeded {
		t.Fatalf("got %v", err)
	}
}

func TestAppendWithAddrs(t *testing.T) {
	tests := []struct {
		raw, from, to, want string
		nilFrom, nilTo      bool
	}{
		{raw: `<message to='a@b' type='chat'><body>x</body></message>`, from: "c@d/r",
			want: `<message from='c@d/r' to='a@b' type='chat'><body>x</body></message>`, nilTo: true},
		{raw: `<message from="spoof@x" to='a@b'/>`, from: "c@d/r", to: "a@b/res",
			want: `<message from="c@d/r" to='a@b/res'/>`},
		{raw: `<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`, from: "c@d/r", to: "d",
			want: `<iq from='c@d/r' to='d' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`},
		{raw: `<presence/>`, from: "o'neil@d/<r>", want: `<presence from='o&apos;neil@d/&lt;r&gt;'/>`, nilTo: true},
		{raw: `<presence to='x' from='y'/>`, want: `<presence to='x' from='y'/>`, nilFrom: true, nilTo: true},
	}
	for _, tc := range tests {
		s := one(t, tc.raw)
		var from, to []byte
		if !tc.nilFrom {
			from = []byte(tc.from)
		}
		if !tc.nilTo {
			to = []byte(tc.to)
		}
		got := string(s.AppendWithAddrs(nil, from, to))
		if got != tc.want {
			t.Errorf("%s:\n got  %s\n want %s", tc.raw, got, tc.want)
		}
		again := one(t, got)
		if !tc.nilFrom && string(again.From()) != tc.from {
			t.Errorf("from reads back as %q", again.From())
		}
	}
}

// one reads a single stanza written on a client stream.
func one(tb testing.TB, raw string) *Stanza {
	tb.Helper()
	in := "<stream:stream xmlns='jabber:client' xmlns:stream='" + NSStream + "'>" + raw
	st := readAll(tb, NewReader(xml.Limits{}), []byte(in), 0)
	if len(st) != 1 {
		tb.Fatalf("%d stanzas in %q", len(st), raw)
	}
	return st[0]
}

// TestTreeRoundTrip: every stanza of the session parses into a tree whose
// serialization parses back into the same tree, and serializes identically.
func TestTreeRoundTrip(t *testing.T) {
	for _, s := range readAll(t, NewReader(xml.Limits{}), session(t), 0) {
		tree, err := s.Tree()
		if err != nil {
			t.Fatalf("%q: %v", s.Raw, err)
		}
		if tree.Local != string(s.Name()) || tree.Space != string(s.Space()) {
			t.Fatalf("tree root %s %s", tree.Space, tree.Local)
		}
		out := tree.AppendXML(nil, NSClient)
		tree2, err := Parse(out, []byte(NSClient), nil)
		if err != nil {
			t.Fatalf("reparse %q: %v", out, err)
		}
		if !reflect.DeepEqual(tree, tree2) {
			t.Fatalf("round trip changed the tree:\n%s\n%s", s.Raw, out)
		}
		if out2 := tree2.AppendXML(nil, NSClient); !bytes.Equal(out, out2) {
			t.Fatalf("serialization is not stable:\n%s\n%s", out, out2)
		}
	}
}

func TestTreeContent(t *testing.T) {
	s := one(t, `<message xml:lang='en' xmlns:x='urn:x'><body>a &amp; b<![CDATA[ <c>]]></body><x:y x:z='1' w='2'/></message>`)
	tree, err := s.Tree()
	if err != nil {
		t.Fatal(err)
	}
	if got := tree.Child(NSClient, "body").Text(); got != "a & b <c>" {
		t.Errorf("body %q", got)
	}
	if v, ok := tree.AttrNS(xml.NamespaceXML, "lang"); !ok || v != "en" {
		t.Errorf("xml:lang %q", v)
	}
	y := tree.Child("urn:x", "y")
	if y == nil || y.Attr("w") != "2" {
		t.Fatalf("y %v", y)
	}
	if v, _ := y.AttrNS("urn:x", "z"); v != "1" {
		t.Errorf("x:z %q", v)
	}
	if got := tree.String(); !strings.Contains(got, `<y xmlns='urn:x' xmlns:ns1='urn:x' ns1:z='1' w='2'/>`) {
		t.Errorf("serialized %s", got)
	}
	if _, err := Parse([]byte("<a/><b/>"), nil, nil); !errors.Is(err, ErrNotOneElement) {
		t.Errorf("two roots: %v", err)
	}
	if _, err := Parse([]byte("<a>"), nil, nil); xml.ClassOf(err) != xml.NotWellFormed {
		t.Errorf("truncated: %v", err)
	}
}

func TestBuilder(t *testing.T) {
	var b Builder
	out := b.Reset(nil).Start("iq").Attr("type", "result").Attr("id", "a'1").Attr("to", "x@y/z").
		Start("query").Attr("xmlns", "jabber:iq:version").
		Start("name").Text("xmppd <dev>").End().
		Start("version").Text("1.0").End().
		Start("os").End().
		Bytes()
	want := `<iq type='result' id='a&apos;1' to='x@y/z'><query xmlns='jabber:iq:version'><name>xmppd &lt;dev&gt;</name><version>1.0</version><os/></query></iq>`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	s := one(t, string(out))
	if string(s.ID()) != "a'1" || string(s.ChildSpace()) != "jabber:iq:version" {
		t.Fatalf("reads back %q %q", s.ID(), s.ChildSpace())
	}
	e := NewElement("urn:xmpp:ping", "ping")
	out = b.Reset(out).Start("iq").Attr("type", "get").Element(e, NSClient).Bytes()
	if string(out) != `<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>` {
		t.Fatalf("got %s", out)
	}
}

func TestNoAllocs(t *testing.T) {
	in := session(t)
	r := NewReader(xml.Limits{})
	run := func() {
		r.Reset()
		for {
			_, err := r.Next(in)
			if err != nil {
				return
			}
		}
	}
	run()
	if a := testing.AllocsPerRun(5, run); a != 0 {
		t.Errorf("reader: %v allocs per session", a)
	}
	s := one(t, `<message to='a@b' type='chat'><body>hello</body></message>`)
	dst := make([]byte, 0, 256)
	from := []byte("romeo@example.net/orchard")
	if a := testing.AllocsPerRun(100, func() { dst = s.AppendWithAddrs(dst[:0], from, nil) }); a != 0 {
		t.Errorf("rewrite: %v allocs", a)
	}
	var b Builder
	b.Reset(dst)
	b.Start("iq").Attr("type", "result").Attr("id", "x").Start("ping").Attr("xmlns", "urn:xmpp:ping").Bytes()
	if a := testing.AllocsPerRun(100, func() {
		b.Reset(dst).Start("iq").Attr("type", "result").AttrBytes("id", from).Start("ping").Attr("xmlns", "urn:xmpp:ping").Bytes()
	}); a != 0 {
		t.Errorf("builder: %v allocs", a)
	}
}

func benchStream(tb testing.TB) []byte {
	s := session(tb)
	first := bytes.IndexByte(s, '\n') + 1
	last := bytes.LastIndex(s, []byte("</stream:stream>"))
	out := append([]byte(nil), s[:first]...)
	for i := 0; len(out) < 100<<10; i++ {
		out = append(out, bytes.ReplaceAll(s[first:last], []byte("id='"), []byte("id='"+strconv.Itoa(i)))...)
	}
	return append(out, s[last:]...)
}

func BenchmarkReader(b *testing.B) {
	in := benchStream(b)
	r := NewReader(xml.Limits{})
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		r.Reset()
		for {
			ev, err := r.Next(in)
			if err != nil {
				break
			}
			if ev == EventStanza {
				n++
			}
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "stanzas/op")
}

func BenchmarkAppendWithAddrs(b *testing.B) {
	s := one(b, `<message to='juliet@example.org' type='chat' id='x1'><body>Art thou not Romeo?</body></message>`)
	dst := make([]byte, 0, 512)
	from := []byte("romeo@example.net/orchard")
	b.SetBytes(int64(len(s.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		dst = s.AppendWithAddrs(dst[:0], from, nil)
	}
}

func BenchmarkTree(b *testing.B) {
	s := one(b, `<iq type='set' id='pub1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmppd:monitor:load'><item id='current'><load xmlns='urn:xmppd:monitor:0' avg1='0.42' avg5='0.37'/></item></publish></pubsub></iq>`)
	b.SetBytes(int64(len(s.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		s.tree = nil
		if _, err := s.Tree(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuilder(b *testing.B) {
	var bl Builder
	dst := make([]byte, 0, 512)
	id := []byte("ping_42")
	b.ReportAllocs()
	for b.Loop() {
		dst = bl.Reset(dst).Start("iq").Attr("type", "result").AttrBytes("id", id).Attr("to", "juliet@example.org/balcony").Bytes()
	}
}

func TestAppendStamped(t *testing.T) {
	s := one(t, `<message to='a@b'><body>x</body></message>`)
	dst := make([]byte, 0, 128)
	if got := string(s.AppendStamped(dst, "c@d/e")); got != `<message from='c@d/e' to='a@b'><body>x</body></message>` {
		t.Fatal(got)
	}
	if a := testing.AllocsPerRun(100, func() { dst = s.AppendStamped(dst[:0], "c@d/e") }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

// TestSelfContained: prefixes bound on the stream header are declared on
// the stanza, so that its bytes mean the same on another stream.
func TestSelfContained(t *testing.T) {
	r := NewReader(xml.Limits{})
	w := []byte("<stream:stream xmlns='jabber:client' xmlns:stream='" + NSStream + "' xmlns:x='urn:example:x' xmlns:y='urn:example:&amp;y'>" +
		"<message to='romeo@example.net'><x:evil y:a='1'/><body>hi</body></message>")
	var s *Stanza
	for s == nil {
		ev, err := r.Next(w)
		if err != nil {
			t.Fatal(err)
		}
		if ev == EventStanza {
			s = r.Stanza()
		}
	}
	if len(s.Outer()) != 2 {
		t.Fatalf("outer %v", s.Outer())
	}
	c, err := s.SelfContained(NSClient)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Outer()) != 0 || string(c.To()) != "romeo@example.net" || c.Kind != Message {
		t.Fatalf("self-contained stanza: outer %v, to %q, kind %v", c.Outer(), c.To(), c.Kind)
	}
	// Read on a stream that binds neither prefix, the bytes must parse to
	// the same names.
	tree, err := Parse(c.Raw, []byte(NSClient), nil)
	if err != nil {
		t.Fatalf("%s: %v", c.Raw, err)
	}
	evil := tree.Child("urn:example:x", "evil")
	if evil == nil {
		t.Fatalf("no {urn:example:x}evil in %s", c.Raw)
	}
	if v, ok := evil.AttrNS("urn:example:&y", "a"); !ok || v != "1" {
		t.Fatalf("attribute y:a lost in %s", c.Raw)
	}
	// A stanza with nothing borrowed is returned as it is.
	if c2, _ := c.SelfContained(NSClient); c2 != c {
		t.Fatal("a self-contained stanza was copied again")
	}
}

// TestReparseShort: a kept stanza shorter than the stream header Reparse
// puts in front of it reads back (the limit once counted the header too).
func TestReparseShort(t *testing.T) {
	for _, raw := range []string{"<presence/>", "<presence from='a@b/c'><show>away</show></presence>"} {
		s, err := Reparse([]byte(raw), NSClient)
		if err != nil || s.Kind != Presence || string(s.Raw) != raw {
			t.Fatalf("Reparse(%s): %v %v", raw, s, err)
		}
	}
}
