package xml

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func loadSession(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/session.xml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSessionTokens(t *testing.T) {
	toks, err := feed(NewTokenizer(Limits{}, true), loadSession(t))
	if err != nil {
		t.Fatalf("session corpus rejected: %v", err)
	}
	want := []string{
		`decl@0 " version='1.0'"`,
		`stream-start@0 stream:stream {http://etherx.jabber.org/streams} xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="example.org" from="juliet@example.org" version="1.0" xml:lang="en"`,
		`start@1 iq {jabber:client} type="set" id="bind_1"`,
		`start@2 bind {urn:ietf:params:xml:ns:xmpp-bind} xmlns="urn:ietf:params:xml:ns:xmpp-bind"`,
		`start@3 resource {urn:ietf:params:xml:ns:xmpp-bind}`,
		`text@4 "balcony"`,
	}
	if !slices.Equal(toks[:len(want)], want) {
		t.Errorf("first tokens:\n%s\nwant:\n%s", strings.Join(toks[:len(want)], "\n"), strings.Join(want, "\n"))
	}
	for _, w := range []string{
		`start@3 item {jabber:iq:roster} jid="benvolio@example.net" name="Bénvolio & co" subscription="to" ask="subscribe"`,
		`text@3 "Привет, Ромео! 你好 🌹 — ¿Qué tal? naïve café"`,
		`start@2 x:note {urn:example:prefixed} x:lang="fr" priority="high"`,
		`cdata@3 "if (a < b && c > d) { return \"]] >\"; }"`,
		`text@3 "Gone!!"`,
		`start@1 message {jabber:client} to="romeo@example.net" type="chat" id="ws1"`,
		`text@3 "Line one\r\nline two\n\ttabbed"`,
		`start@4 message {jabber:client} xmlns="jabber:client" from="witch@shakespeare.lit" to="macbeth@shakespeare.lit" type="chat"`,
		`stream-end@0 stream:stream {http://etherx.jabber.org/streams}`,
	} {
		if !slices.Contains(toks, w) {
			t.Errorf("missing token %s", w)
		}
	}
}

// TestSplitEveryOffset cuts the recorded session in two at every byte and
// requires the same tokens as the whole.
func TestSplitEveryOffset(t *testing.T) {
	in := loadSession(t)
	want, err := feed(NewTokenizer(Limits{}, true), in)
	if err != nil {
		t.Fatal(err)
	}
	step := 1
	if testing.Short() {
		step = 7
	}
	tz := NewTokenizer(Limits{}, true)
	for i := 0; i < len(in); i += step {
		tz.Reset()
		got, err := feed(tz, in, i, len(in))
		if err != nil {
			t.Fatalf("split at %d: %v", i, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("split at %d: tokens differ:\n%s", i, firstDiff(got, want))
		}
	}
}

func TestByteByByte(t *testing.T) {
	in := loadSession(t)
	want, _ := feed(NewTokenizer(Limits{}, true), in)
	for _, chunk := range []int{1, 2, 3, 5, 13, 64} {
		got, err := feed(NewTokenizer(Limits{}, true), in, chunk)
		if err != nil {
			t.Fatalf("chunks of %d: %v", chunk, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("chunks of %d:\n%s", chunk, firstDiff(got, want))
		}
	}
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return "token " + strconv.Itoa(i) + ":\n got  " + got[i] + "\n want " + want[i]
		}
	}
	return "lengths " + strconv.Itoa(len(got)) + " and " + strconv.Itoa(len(want))
}

const hdr = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`

// TestErrors covers every way the tokenizer rejects input, and the class
// (hence stream error) each one maps to.
func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		stream bool
		class  Class
		msg    string
	}{
		{"invalid utf8 text", "<a>\xff</a>", false, NotWellFormed, MsgInvalidUTF8},
		{"invalid utf8 name", "<a\xc3\x28/>", false, NotWellFormed, MsgInvalidUTF8},
		{"surrogate", "<a>\xed\xa0\x80</a>", false, NotWellFormed, MsgInvalidUTF8},
		{"control char", "<a>\x01</a>", false, NotWellFormed, MsgInvalidChar},
		{"U+FFFE", "<a>\xef\xbf\xbe</a>", false, NotWellFormed, MsgInvalidChar},
		{"control in attr", "<a b='\x00'/>", false, NotWellFormed, MsgInvalidChar},
		{"text outside root", "hello<a/>", false, NotWellFormed, MsgTextOutsideRoot},
		{"text between stanzas", hdr + "hello", true, BadFormat, MsgTextAtStreamLevel},
		{"cdata between stanzas", hdr + "<![CDATA[x]]>", true, BadFormat, MsgTextAtStreamLevel},
		{"cdata end in text", "<a>x]]>y</a>", false, NotWellFormed, MsgCDATAEnd},
		{"lt in attr", "<a b='<'/>", false, NotWellFormed, MsgLtInAttr},
		{"bad name start", "<1a/>", false, NotWellFormed, MsgBadNameStart},
		{"bad attr name start", "<a -b='1'/>", false, NotWellFormed, MsgBadNameStart},
		{"colon start", "<:a/>", false, NotWellFormed, MsgBadQName},
		{"two colons", "<a:b:c xmlns:a='u'/>", false, NotWellFormed, MsgBadQName},
		{"trailing colon", "<a: xmlns:a='u'/>", false, NotWellFormed, MsgBadQName},
		{"junk in tag", "<a $/>", false, NotWellFormed, MsgBadNameStart},
		{"attr without space", "<a b='1'c='2'/>", false, NotWellFormed, MsgBadTag},
		{"attr without value", "<a b/>", false, NotWellFormed, MsgExpectedEq},
		{"unquoted value", "<a b=1/>", false, NotWellFormed, MsgExpectedQuote},
		{"slash not closing", "<a/ >", false, NotWellFormed, MsgExpectedGt},
		{"junk in end tag", "<a></a b>", false, NotWellFormed, MsgExpectedGt},
		{"duplicate attr", "<a b='1' b='2'/>", false, NotWellFormed, MsgDuplicateAttr},
		{"duplicate expanded attr", "<a xmlns:p='u' xmlns:q='u' p:b='1' q:b='2'/>", false, NotWellFormed, MsgDuplicateAttr},
		{"mismatched end", "<a></b>", false, NotWellFormed, MsgEndMismatch},
		{"end without start", "</a>", false, NotWellFormed, MsgUnexpectedEnd},
		{"bad ref", "<a>&;</a>", false, NotWellFormed, MsgBadRef},
		{"ref without semicolon", "<a>&amp </a>", false, NotWellFormed, MsgBadRef},
		{"empty char ref", "<a>&#;</a>", false, NotWellFormed, MsgBadRef},
		{"bad hex ref", "<a>&#xZ;</a>", false, NotWellFormed, MsgBadRef},
		{"char ref to NUL", "<a>&#0;</a>", false, NotWellFormed, MsgBadCharRef},
		{"char ref too big", "<a>&#x110000;</a>", false, NotWellFormed, MsgBadCharRef},
		{"char ref huge", "<a b='&#99999999999999999999;'/>", false, NotWellFormed, MsgBadCharRef},
		{"undeclared prefix", "<p:a/>", false, NotWellFormed, MsgUndeclaredPrefix},
		{"undeclared attr prefix", "<a p:b='1'/>", false, NotWellFormed, MsgUndeclaredPrefix},
		{"xmlns prefix on element", "<xmlns:a/>", false, NotWellFormed, MsgUndeclaredPrefix},
		{"empty prefixed ns", "<a xmlns:p=''/>", false, NotWellFormed, MsgBadNSDecl},
		{"rebinding xml", "<a xmlns:xml='urn:x'/>", false, NotWellFormed, MsgBadNSDecl},
		{"binding xmlns", "<a xmlns:xmlns='urn:x'/>", false, NotWellFormed, MsgBadNSDecl},
		{"bad markup", "<a><!FOO></a>", false, NotWellFormed, MsgBadMarkup},
		{"bad cdata keyword", "<a><![CDATX[x]]></a>", false, NotWellFormed, MsgBadMarkup},
		{"bad version", "<?xml version='1.1'?><a/>", false, NotWellFormed, MsgBadDecl},
		{"bad encoding", "<?xml version='1.0' encoding='ISO-8859-1'?><a/>", false, NotWellFormed, MsgBadDecl},
		{"decl without version", "<?xml encoding='UTF-8'?><a/>", false, NotWellFormed, MsgBadDecl},
		{"decl not first", "<a><?xml version='1.0'?></a>", false, NotWellFormed, MsgDeclNotFirst},
		{"eof in element", "<a><b>", false, NotWellFormed, MsgUnexpectedEOF},
		{"eof in tag", "<a b='1", false, NotWellFormed, MsgUnexpectedEOF},
		{"after stream end", hdr + "</stream:stream><a/>", true, NotWellFormed, MsgAfterStreamEnd},
		// RFC 6120 §11.1: restricted XML.
		{"doctype", "<!DOCTYPE a [<!ENTITY x 'y'>]><a/>", false, Restricted, MsgDTD},
		{"doctype in stream", hdr + "<!DOCTYPE x>", true, Restricted, MsgDTD},
		{"comment", "<a><!-- hi --></a>", false, Restricted, MsgComment},
		{"comment in stream", hdr + "<!-- hi -->", true, Restricted, MsgComment},
		{"pi", "<?php echo 1 ?><a/>", false, Restricted, MsgPI},
		{"pi xml-stylesheet", "<?xml-stylesheet href='a'?><a/>", false, Restricted, MsgPI},
		{"pi in element", "<a><?foo?></a>", false, Restricted, MsgPI},
		{"entity ref", "<a>&nbsp;</a>", false, Restricted, MsgEntityRef},
		{"entity ref in attr", "<a b='&x;'/>", false, Restricted, MsgEntityRef},
		{"billion laughs", "<!DOCTYPE lolz [<!ENTITY lol 'lol'>]><lolz>&lol;</lolz>", false, Restricted, MsgDTD},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1} {
				var err error
				if chunk == 0 {
					_, err = feed(NewTokenizer(Limits{}, tc.stream), []byte(tc.in))
				} else {
					_, err = feed(NewTokenizer(Limits{}, tc.stream), []byte(tc.in), chunk)
				}
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("chunk %d: got %v, want %s error %q", chunk, err, tc.class, tc.msg)
				}
				if se.Class != tc.class || se.Msg != tc.msg {
					t.Fatalf("chunk %d: got %s %q, want %s %q", chunk, se.Class, se.Msg, tc.class, tc.msg)
				}
			}
		})
	}
}

func TestErrorIsSticky(t *testing.T) {
	tz := NewTokenizer(Limits{}, false)
	tz.Next([]byte("<a><!-- x --></a>"))
	_, err1 := tz.Next([]byte("<a><!-- x --></a>"))
	_, err2 := tz.Next([]byte("<a><!-- x --></a><b/>"))
	if err1 == nil || err1 != err2 || ClassOf(err2) != Restricted {
		t.Fatalf("errors %v then %v", err1, err2)
	}
	if !strings.Contains(err1.Error(), "restricted-xml") || !strings.Contains(err1.Error(), "offset 3") {
		t.Fatalf("message %q lacks class or offset", err1)
	}
}

func TestLimits(t *testing.T) {
	big := "<message><body>" + strings.Repeat("x", 2000) + "</body></message>"
	tests := []struct {
		name string
		lim  Limits
		in   string
		msg  string
	}{
		{"stanza size", Limits{MaxStanzaBytes: 1024}, hdr + big, MsgStanzaTooLarge},
		{"stanza size in one tag", Limits{MaxStanzaBytes: 1024}, hdr + "<a b='" + strings.Repeat("y", 2000) + "'/>", MsgStanzaTooLarge},
		{"header size", Limits{MaxStanzaBytes: 64}, hdr, MsgStanzaTooLarge},
		{"depth", Limits{MaxDepth: 3}, hdr + "<a><b><c/></b></a>", MsgTooDeep},
		{"attrs", Limits{MaxAttrs: 3}, hdr + "<a b='' c='' d='' e=''/>", MsgTooManyAttrs},
		{"element name", Limits{MaxNameBytes: 8}, hdr + "<abcdefghij/>", MsgNameTooLong},
		{"attr name", Limits{MaxNameBytes: 8}, hdr + "<a abcdefghij=''/>", MsgNameTooLong},
		{"end name", Limits{MaxNameBytes: 8}, hdr + "<a></abcdefghij>", MsgNameTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 100} {
				var err error
				if chunk == 0 {
					_, err = feed(NewTokenizer(tc.lim, true), []byte(tc.in))
				} else {
					_, err = feed(NewTokenizer(tc.lim, true), []byte(tc.in), chunk)
				}
				var se *SyntaxError
				if !errors.As(err, &se) || se.Class != LimitExceeded || se.Msg != tc.msg {
					t.Fatalf("chunk %d: got %v, want policy-violation %q", chunk, err, tc.msg)
				}
			}
		})
	}
	// Many stanzas each under the limit: the limit is per stanza, not per stream.
	in := hdr + strings.Repeat("<message><body>hello</body></message>", 200)
	if _, err := feed(NewTokenizer(Limits{MaxStanzaBytes: 100}, true), []byte(in+"</stream:stream>"), 100); err != nil {
		t.Fatalf("small stanzas rejected: %v", err)
	}
}

// TestBufferedBytesBounded checks the promise behind the stanza limit: a
// peer trickling an endless stanza never makes the caller hold more than the
// limit plus one read.
func TestBufferedBytesBounded(t *testing.T) {
	const limit, read = 4096, 512
	tz := NewTokenizer(Limits{MaxStanzaBytes: limit}, true)
	window := []byte(hdr)
	chunk := bytes.Repeat([]byte("a"), read)
	window = append(window, "<message><body>"...)
	for i := 0; i < 100; i++ {
		_, err := tz.Next(window)
		for err == nil {
			_, err = tz.Next(window)
		}
		if errors.Is(err, ErrNeedMore) {
			r := tz.Retain()
			window = window[r:]
			tz.Shift(r)
			if len(window) > limit+read+len("<message><body>") {
				t.Fatalf("holding %d bytes", len(window))
			}
			window = append(window, chunk...)
			continue
		}
		if ClassOf(err) != LimitExceeded {
			t.Fatalf("got %v", err)
		}
		return
	}
	t.Fatal("endless stanza never hit the limit")
}

func TestWhitespaceKeepaliveNotRetained(t *testing.T) {
	tz := NewTokenizer(Limits{}, true)
	w := []byte(hdr)
	if tok, err := tz.Next(w); err != nil || tok.Kind != KindStreamStart {
		t.Fatalf("%v %v", tok, err)
	}
	w = append(w, " \n\t "...)
	if _, err := tz.Next(w); !errors.Is(err, ErrNeedMore) {
		t.Fatal(err)
	}
	if tz.Retain() != len(w) {
		t.Fatalf("retains %d of %d bytes of keepalive", len(w)-tz.Retain(), len(w))
	}
}

func TestStreamRestart(t *testing.T) {
	tz := NewTokenizer(Limits{}, true)
	in := []byte("<?xml version='1.0'?>" + hdr + "<presence/>")
	// The input ends with the stream open: Finish says so.
	toks, err := feed(tz, in)
	if ClassOf(err) != NotWellFormed || len(toks) != 4 {
		t.Fatalf("%v %v", toks, err)
	}
	tz.Reset()
	toks2, err2 := feed(tz, in)
	if err2.Error() != err.Error() || !slices.Equal(toks, toks2) {
		t.Fatalf("after reset: %v %v", toks2, err)
	}
}

func TestTokenAccessors(t *testing.T) {
	tz := NewTokenizer(Limits{}, false)
	tok, err := tz.Next([]byte(`<p:a xmlns:p='urn:p' b='x&amp;y' c="1"/>`))
	if err != nil {
		t.Fatal(err)
	}
	if string(tok.Prefix()) != "p" || string(tok.Local()) != "a" || string(tok.Space) != "urn:p" {
		t.Fatalf("names %q %q %q", tok.Prefix(), tok.Local(), tok.Space)
	}
	if v, ok := tok.Attr("b"); !ok || string(v) != "x&amp;y" {
		t.Fatalf("attr b = %q %v", v, ok)
	}
	if _, ok := tok.Attr("zz"); ok {
		t.Fatal("found missing attr")
	}
	if ns, ok := tz.LookupPrefix([]byte("p")); !ok || string(ns) != "urn:p" {
		t.Fatalf("lookup %q", ns)
	}
	if ns, ok := tz.LookupPrefix([]byte("xml")); !ok || string(ns) != NamespaceXML {
		t.Fatalf("lookup xml %q", ns)
	}
	if tz.Depth() != 1 {
		t.Fatalf("depth %d", tz.Depth())
	}
}

func TestDeclareAndDepth(t *testing.T) {
	tz := NewTokenizer(Limits{}, false)
	tz.Declare(nil, []byte("jabber:client"))
	tz.Declare([]byte("stream"), []byte("http://etherx.jabber.org/streams"))
	toks, err := feed(tz, []byte(`<stream:error><x xmlns:p='urn:p'><p:y/></x></stream:error>`))
	if err != nil {
		t.Fatal(err)
	}
	if toks[0] != "start@0 stream:error {http://etherx.jabber.org/streams}" || toks[1] != "start@1 x {jabber:client} xmlns:p=\"urn:p\"" {
		t.Fatalf("%q", toks)
	}
	tz.Reset()
	buf := []byte(`<a xmlns:p='urn:p'><b xmlns:q='urn:q'>`)
	tz.Next(buf)
	tz.Next(buf)
	for _, c := range []struct {
		prefix string
		depth  int
	}{{"p", 0}, {"q", 1}, {"xml", -1}} {
		if _, d, ok := tz.LookupPrefixDepth([]byte(c.prefix)); !ok || d != c.depth {
			t.Errorf("%s: depth %d %v, want %d", c.prefix, d, ok, c.depth)
		}
	}
	if _, _, ok := tz.LookupPrefixDepth([]byte("zz")); ok {
		t.Error("found unbound prefix")
	}
}
