package jid

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

type validCase struct {
	in                      string
	want                    string
	local, domain, resource string
}

// validCases starts with the examples of RFC 7622 §3.5.1, in order.
var validCases = []validCase{
	{"juliet@example.com", "juliet@example.com", "juliet", "example.com", ""},
	{"juliet@example.com/foo", "juliet@example.com/foo", "juliet", "example.com", "foo"},
	{"juliet@example.com/foo bar", "juliet@example.com/foo bar", "juliet", "example.com", "foo bar"},
	{"juliet@example.com/foo@bar", "juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar"},
	{`foo\20bar@example.com`, `foo\20bar@example.com`, `foo\20bar`, "example.com", ""},
	{"fussball@example.com", "fussball@example.com", "fussball", "example.com", ""},
	{"fußball@example.com", "fußball@example.com", "fußball", "example.com", ""},
	{"π@example.com", "π@example.com", "π", "example.com", ""},
	{"Σ@example.com/foo", "σ@example.com/foo", "σ", "example.com", "foo"},
	{"σ@example.com/foo", "σ@example.com/foo", "σ", "example.com", "foo"},
	{"ς@example.com/foo", "ς@example.com/foo", "ς", "example.com", "foo"},
	{"king@example.com/♚", "king@example.com/♚", "king", "example.com", "♚"},
	{"example.com", "example.com", "", "example.com", ""},
	{"example.com/foobar", "example.com/foobar", "", "example.com", "foobar"},
	{"a.example.com/b@example.net", "a.example.com/b@example.net", "", "a.example.com", "b@example.net"},

	// Case mapping applies to the localpart only (RFC 7622 §3.3.2, §3.4.2).
	{"King@example.com/Σ", "king@example.com/Σ", "king", "example.com", "Σ"},
	{"JULIET@EXAMPLE.COM/Balcony", "juliet@example.com/Balcony", "juliet", "example.com", "Balcony"},
	// Width mapping (RFC 8265 §3.2.2) and UTS #46 mapping of the domain.
	{"ｊｕｌｉｅｔ@ｅｘａｍｐｌｅ。ｃｏｍ", "juliet@example.com", "juliet", "example.com", ""},
	// Non-ASCII spaces become U+0020 in the resourcepart (RFC 8265 §4.2.2).
	{"juliet@example.com/foo\u00a0bar", "juliet@example.com/foo bar", "juliet", "example.com", "foo bar"},
	{"juliet@example.com/foo ", "juliet@example.com/foo ", "juliet", "example.com", "foo "},
	// Split rules (RFC 7622 §3.2).
	{"juliet@example.com/a/b@c/", "juliet@example.com/a/b@c/", "juliet", "example.com", "a/b@c/"},
	{"example.com/@", "example.com/@", "", "example.com", "@"},
	{"example.com//", "example.com//", "", "example.com", "/"},
	// One trailing dot is stripped (RFC 7622 §3.2).
	{"example.com.", "example.com", "", "example.com", ""},
	{"juliet@example.com./foo", "juliet@example.com/foo", "juliet", "example.com", "foo"},
	// A-labels are stored as U-labels (RFC 7622 §3.2.1).
	{"juliet@xn--bcher-kva.example", "juliet@bücher.example", "juliet", "bücher.example", ""},
	{"juliet@BÜCHER.example", "juliet@bücher.example", "juliet", "bücher.example", ""},
	{"fußball.example", "fußball.example", "", "fußball.example", ""},
	{"localhost", "localhost", "", "localhost", ""},
	{"a-b.c-d.example", "a-b.c-d.example", "", "a-b.c-d.example", ""},
	{"1.example", "1.example", "", "1.example", ""},
	{"example.123", "example.123", "", "example.123", ""},
	// IP addresses.
	{"192.168.1.1", "192.168.1.1", "", "192.168.1.1", ""},
	{"juliet@10.0.0.1/x", "juliet@10.0.0.1/x", "juliet", "10.0.0.1", "x"},
	{"[::1]", "[::1]", "", "[::1]", ""},
	{"juliet@[2001:DB8::1]/foo", "juliet@[2001:db8::1]/foo", "juliet", "[2001:db8::1]", "foo"},
	{"[2001:0db8:0:0:0:0:0:1]", "[2001:db8::1]", "", "[2001:db8::1]", ""},
	{"[::ffff:192.0.2.1]", "[::ffff:192.0.2.1]", "", "[::ffff:192.0.2.1]", ""},
	{"[::1].", "[::1]", "", "[::1]", ""},
	// Printable ASCII that PRECIS keeps.
	{"!#$%*+-.=?^_`{|}~@example.com", "!#$%*+-.=?^_`{|}~@example.com", "!#$%*+-.=?^_`{|}~", "example.com", ""},
	{"a@example.com/x !\"#&'<>~", "a@example.com/x !\"#&'<>~", "a", "example.com", "x !\"#&'<>~"},
	{"1abc@example.com", "1abc@example.com", "1abc", "example.com", ""},
}

type invalidCase struct {
	in   string
	want string // substring of the error message
}

// invalidCases starts with the examples of RFC 7622 §3.5.2, in order.
var invalidCases = []invalidCase{
	{`"juliet"@example.com`, `forbidden character '"'`},
	{"foo bar@example.com", "invalid localpart"},
	{"juliet@example.com/ foo", "resourcepart begins with a space"},
	{"@example.com/", "empty localpart"},
	{"henry\u2163@example.com", "invalid localpart"}, // ROMAN NUMERAL FOUR
	{"♚@example.com", "invalid localpart"},
	{"juliet@", "empty domainpart"},
	{"/foobar", "empty domainpart"},

	// U+2661 is a symbol, which the IdentifierClass disallows
	// (RFC 8264 §4.2.3).
	{"henry♡@example.com", "invalid localpart"},
	{"", "empty domainpart"},
	{"@example.com", "empty localpart"},
	{"example.com/", "empty resourcepart"},
	{"juliet@example.com/", "empty resourcepart"},
	{"juliet@/foo", "empty domainpart"},
	{".", "empty domainpart"},
	{"juliet@./foo", "empty domainpart"},
	{"/", "empty domainpart"},
	{"@", "empty localpart"},
	{"juliet@example.com/\u3000foo", "resourcepart begins with a space"},
	// RFC 7622 §3.3.1 forbidden characters.
	{`b&d@example.net`, "forbidden character '&'"},
	{`b'd@example.net`, `forbidden character '\''`},
	{`b:d@example.net`, "forbidden character ':'"},
	{`b<d@example.net`, "forbidden character '<'"},
	{`b>d@example.net`, "forbidden character '>'"},
	{"a@b@example.net", "invalid domainpart"},
	// Control characters and bad encodings.
	{"juliet@example.com/foo\x00", "invalid resourcepart"},
	{"juliet@example.com/foo\tbar", "invalid resourcepart"},
	{"ju\x7fliet@example.com", "invalid localpart"},
	{"\xff@example.com", "localpart is not valid utf-8"},
	{"example.com/\xfe", "resourcepart is not valid utf-8"},
	{"ex\xffample.com", "domainpart is not valid utf-8"},
	// Domain labels.
	{"example..com", "empty label"},
	{".example.com", "empty label"},
	{"example.com..", "empty label"},
	{"example.com。", "empty label"},
	{"a_b.example", "invalid domainpart"},
	{"-a.example", "invalid domainpart"},
	{"a-.example", "invalid domainpart"},
	{"ab--cd.example", "invalid domainpart"},
	{"xn--a.example", "invalid domainpart"},
	{"ex ample.com", "invalid domainpart"},
	{"example.com:5222", "invalid domainpart"},
	{strings.Repeat("a", 64) + ".example", "label longer than 63 bytes"},
	{strings.Repeat("ü", 32) + ".example", "label longer than 63 bytes"},
	// The U-label fits in 63 bytes but its A-label does not.
	{strings.Repeat("a", 60) + "é.example", "label longer than 63 bytes"},
	// Numeric names must be IPv4 addresses.
	{"1.2.3", "not an ipv4 address"},
	{"256.1.1.1", "not an ipv4 address"},
	{"01.2.3.4", "not an ipv4 address"},
	{"1234", "not an ipv4 address"},
	// IP literals.
	{"[::1", "malformed ip literal"},
	{"[::1]x", "malformed ip literal"},
	{"[]", "malformed ip literal"},
	{"[example.com]", "malformed ip literal"},
	{"[192.0.2.1]", "not a plain ipv6 address"},
	{"[fe80::1%eth0]", "not a plain ipv6 address"},
	{"juliet@[::1/foo", "malformed ip literal"},
	// Lengths.
	{strings.Repeat("a", 1024) + "@example.com", "localpart longer than 1023 bytes"},
	{strings.Repeat("π", 512) + "@example.com", "localpart longer than 1023 bytes"},
	{strings.Repeat("a", 5000) + "@example.com", "localpart longer than 1023 bytes"},
	{"example.com/" + strings.Repeat("a", 1024), "resourcepart longer than 1023 bytes"},
	{"example.com/" + strings.Repeat("♚", 342), "resourcepart longer than 1023 bytes"},
	{longDomain(1024), "domainpart longer than 1023 bytes"},
	{strings.Repeat("a.", 2100) + "a", "domainpart longer than 1023 bytes"},
}

// longDomain returns a valid domainpart of exactly n bytes: a short first
// label followed by ten-letter ones.
func longDomain(n int) string {
	k := (n - 1) / 11
	return strings.Repeat("a", n-11*k) + strings.Repeat(".bbbbbbbbbb", k)
}

func TestLongDomain(t *testing.T) {
	for _, n := range []int{1, 63, 64, 65, 1023, 1024} {
		d := longDomain(n)
		if len(d) != n || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
			t.Errorf("longDomain(%d) = %q", n, d)
		}
	}
}

func TestParseValid(t *testing.T) {
	for _, tc := range validCases {
		j, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if j.String() != tc.want || j.Local() != tc.local || j.Domain() != tc.domain || j.Resource() != tc.resource {
			t.Errorf("Parse(%q) = %q (%q, %q, %q), want %q (%q, %q, %q)",
				tc.in, j, j.Local(), j.Domain(), j.Resource(), tc.want, tc.local, tc.domain, tc.resource)
		}
		slow, err := parse(tc.in, false)
		if err != nil || slow != j {
			t.Errorf("parse(%q, false) = %q, %v; want %q", tc.in, slow, err, j)
		}
		b, err := ParseBytes([]byte(tc.in))
		if err != nil || b != j {
			t.Errorf("ParseBytes(%q) = %q, %v; want %q", tc.in, b, err, j)
		}
		n, err := New(tc.local, tc.domain, tc.resource)
		if err != nil || n != j {
			t.Errorf("New(%q, %q, %q) = %q, %v; want %q", tc.local, tc.domain, tc.resource, n, err, j)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidCases {
		name := tc.in
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		j, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want error containing %q", name, j, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error %q, want it to contain %q", name, err, tc.want)
		}
		if !strings.HasPrefix(err.Error(), "jid: ") {
			t.Errorf("Parse(%q) error %q lacks the package prefix", name, err)
		}
		if !j.IsZero() {
			t.Errorf("Parse(%q) returned %q along with an error", name, j)
		}
		_, slowErr := parse(tc.in, false)
		if slowErr == nil || slowErr.Error() != err.Error() {
			t.Errorf("parse(%q, false) error %v, want %v", name, slowErr, err)
		}
	}
}

func TestLengthLimits(t *testing.T) {
	local := strings.Repeat("a", 1023)
	domain := longDomain(1023)
	resource := strings.Repeat("r", 1023)
	full := local + "@" + domain + "/" + resource
	j, err := Parse(full)
	if err != nil {
		t.Fatalf("Parse of maximal JID: %v", err)
	}
	if j.Local() != local || j.Domain() != domain || j.Resource() != resource {
		t.Fatal("maximal JID split wrongly")
	}
	if j.Bare().String() != local+"@"+domain || j.DomainJID().String() != domain {
		t.Fatal("maximal JID views wrong")
	}
	// Multi-byte parts are limited by bytes, not code points.
	pi := strings.Repeat("π", 511) + "a"
	if j, err := Parse(pi + "@example.com/" + strings.Repeat("♚", 341)); err != nil || j.Local() != pi {
		t.Fatalf("Parse of 1023-byte non-ASCII parts: %v", err)
	}
	// Width mapping shrinks the input, and the limit applies afterwards
	// (RFC 7622 §3.3).
	wide := strings.Repeat("ａ", 1023)
	if j, err := Parse(wide + "@example.com"); err != nil || j.Local() != local {
		t.Fatalf("Parse of 3069-byte full-width localpart: %v", err)
	}
	if _, err := Parse(strings.Repeat("ａ", 1024) + "@example.com"); err == nil || err.Error() != "jid: localpart longer than 1023 bytes" {
		t.Fatalf("Parse of 1024 full-width letters: %v", err)
	}
	if _, err := Parse(strings.Repeat("a", 63) + ".example"); err != nil {
		t.Fatalf("63-byte label: %v", err)
	}
}

func TestViews(t *testing.T) {
	for _, tc := range []struct {
		in                       string
		bare, domain             string
		isBare, isFull, isDomain bool
		hasLocal                 bool
		withRes                  string
	}{
		{"juliet@example.com/balcony", "juliet@example.com", "example.com", false, true, false, true, "juliet@example.com/orchard"},
		{"juliet@example.com", "juliet@example.com", "example.com", true, false, false, true, "juliet@example.com/orchard"},
		{"example.com/balcony", "example.com", "example.com", false, true, false, false, "example.com/orchard"},
		{"example.com", "example.com", "example.com", true, false, true, false, "example.com/orchard"},
		{"σ@bücher.example/♚", "σ@bücher.example", "bücher.example", false, true, false, true, "σ@bücher.example/orchard"},
	} {
		j := MustParse(tc.in)
		if got := j.Bare(); got.String() != tc.bare || got.Local() != j.Local() || got.Domain() != j.Domain() || got.Resource() != "" {
			t.Errorf("%q.Bare() = %q", tc.in, got)
		}
		if got := j.Bare(); got != MustParse(tc.bare) {
			t.Errorf("%q.Bare() differs from Parse(%q)", tc.in, tc.bare)
		}
		if got := j.DomainJID(); got != MustParse(tc.domain) || got.Domain() != tc.domain || got.Local() != "" || got.Resource() != "" {
			t.Errorf("%q.DomainJID() = %q", tc.in, got)
		}
		if j.IsBare() != tc.isBare || j.IsFull() != tc.isFull || j.IsDomain() != tc.isDomain || j.IsZero() {
			t.Errorf("%q: IsBare %v IsFull %v IsDomain %v IsZero %v", tc.in, j.IsBare(), j.IsFull(), j.IsDomain(), j.IsZero())
		}
		if (j.Local() != "") != tc.hasLocal {
			t.Errorf("%q: Local() = %q", tc.in, j.Local())
		}
		if !j.Bare().IsBare() || j.Bare().IsFull() || !j.DomainJID().IsDomain() {
			t.Errorf("%q: views have the wrong kind", tc.in)
		}
		w, err := j.WithResource("orchard")
		if err != nil || w.String() != tc.withRes || w != MustParse(tc.withRes) || w.Resource() != "orchard" {
			t.Errorf("%q.WithResource(orchard) = %q, %v", tc.in, w, err)
		}
		if w, err := j.WithResource(""); err != nil || w != j.Bare() {
			t.Errorf("%q.WithResource(\"\") = %q, %v", tc.in, w, err)
		}
		if w, err := j.WithResource("Σ\u00a0x"); err != nil || w.Resource() != "Σ x" {
			t.Errorf("%q.WithResource(Σ\\u00a0x) = %q, %v", tc.in, w, err)
		}
		if _, err := j.WithResource(" x"); err == nil {
			t.Errorf("%q.WithResource(\" x\") succeeded", tc.in)
		}
		if got := string(j.AppendTo([]byte("to="))); got != "to="+j.String() {
			t.Errorf("%q.AppendTo = %q", tc.in, got)
		}
	}
}

func TestZero(t *testing.T) {
	var j JID
	if !j.IsZero() || j.IsBare() || j.IsFull() || j.IsDomain() {
		t.Error("zero JID has the wrong kind")
	}
	if j.String() != "" || j.Local() != "" || j.Domain() != "" || j.Resource() != "" {
		t.Error("zero JID has non-empty parts")
	}
	if !j.Bare().IsZero() || !j.DomainJID().IsZero() {
		t.Error("views of the zero JID are not zero")
	}
	if _, err := j.WithResource("r"); !errors.Is(err, errEmptyDomain) {
		t.Errorf("zero.WithResource: %v", err)
	}
	if got := j.AppendTo(nil); len(got) != 0 {
		t.Errorf("zero.AppendTo(nil) = %q", got)
	}
	if !j.Equal(JID{}) || j.Equal(MustParse("example.com")) {
		t.Error("Equal on the zero JID")
	}
}

func TestEqual(t *testing.T) {
	groups := [][]string{
		{"juliet@example.com/balcony", "Juliet@EXAMPLE.com/balcony", "JULIET@example.com./balcony", "ｊｕｌｉｅｔ@example.com/balcony"},
		{"juliet@example.com/Balcony"},
		{"juliet@example.com"},
		{"example.com/balcony"},
		{"σ@bücher.example", "Σ@xn--bcher-kva.example", "σ@BÜCHER.EXAMPLE."},
		{"ς@bücher.example"},
		{"[2001:db8::1]", "[2001:DB8:0::1]", "[2001:db8:0:0:0:0:0:1]."},
		{"fußball@example.com"},
		{"fussball@example.com"},
	}
	for i, g := range groups {
		for _, a := range g {
			ja := MustParse(a)
			for k, h := range groups {
				for _, b := range h {
					jb := MustParse(b)
					if ja.Equal(jb) != (i == k) || (ja == jb) != (i == k) {
						t.Errorf("Equal(%q, %q) = %v, want %v", a, b, ja.Equal(jb), i == k)
					}
				}
			}
		}
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		local, domain, resource string
		want                    string
	}{
		{"Juliet", "Example.com", "balcony", "juliet@example.com/balcony"},
		{"", "example.com", "", "example.com"},
		{"", "example.com.", "r", "example.com/r"},
		{"juliet", "example.com", "", "juliet@example.com"},
		{"", "[::1]", "a/b@c", "[::1]/a/b@c"},
	} {
		j, err := New(tc.local, tc.domain, tc.resource)
		if err != nil || j.String() != tc.want || j != MustParse(tc.want) {
			t.Errorf("New(%q, %q, %q) = %q, %v; want %q", tc.local, tc.domain, tc.resource, j, err, tc.want)
		}
	}
	for _, tc := range []struct {
		local, domain, resource string
		want                    string
	}{
		{"juliet", "", "", "empty domainpart"},
		{"a@b", "example.com", "", "forbidden character '@'"},
		{"a/b", "example.com", "", "forbidden character '/'"},
		{"juliet", "example.com/x", "", "invalid domainpart"},
		{"juliet", "a@example.com", "", "invalid domainpart"},
		{"juliet", ".", "", "empty domainpart"},
		{"juliet", "example.com", " x", "begins with a space"},
	} {
		j, err := New(tc.local, tc.domain, tc.resource)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q, %q) = %q, %v; want error containing %q", tc.local, tc.domain, tc.resource, j, err, tc.want)
		}
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse of an invalid JID did not panic")
		}
	}()
	MustParse("juliet@")
}

// TestShortcutSharesInput guards the point of the ASCII shortcut: a
// canonical input is kept, not copied.
func TestShortcutSharesInput(t *testing.T) {
	for _, s := range []string{"juliet@example.com/balcony", "example.com", "π@example.com/♚", "[2001:db8::1]"} {
		j := MustParse(s)
		if j.String() != s {
			t.Fatalf("Parse(%q) = %q", s, j)
		}
		if unsafe.StringData(j.String()) != unsafe.StringData(s) {
			t.Errorf("Parse(%q) copied its input", s)
		}
	}
}

func TestAllocs(t *testing.T) {
	const full = "juliet@example.com/balcony"
	j := MustParse(full)
	var sink JID
	var str string
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Parse prepared full JID", func() { sink, _ = Parse(full) }},
		{"Parse prepared domain", func() { sink, _ = Parse("example.com") }},
		{"Parse prepared IPv6 literal", func() { sink, _ = Parse("juliet@[2001:db8::1]/r") }},
		{"Parse prepared IPv4", func() { sink, _ = Parse("juliet@192.168.1.1/r") }},
		{"Bare", func() { sink = j.Bare() }},
		{"DomainJID", func() { sink = j.DomainJID() }},
		{"Domain", func() { str = j.Domain() }},
		{"Local", func() { str = j.Local() }},
		{"Resource", func() { str = j.Resource() }},
		{"String", func() { str = j.String() }},
		{"Equal", func() { _ = j.Equal(sink) }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", tc.name, n)
		}
	}
	_, _ = sink, str
}

// TestConcurrentParse gives the race detector something to look at: the
// PRECIS and IDNA profiles are shared by every caller.
func TestConcurrentParse(t *testing.T) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, tc := range validCases {
				if j, err := Parse(tc.in); err != nil || j.String() != tc.want {
					t.Errorf("Parse(%q) = %q, %v", tc.in, j, err)
				}
			}
		})
	}
	wg.Wait()
}
