package jid

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// checkParse holds the properties every input must have; the fuzz target
// and the randomized tests share it.
func checkParse(t *testing.T, s string) {
	t.Helper()
	j, err := Parse(s)
	ref, refErr := parse(s, false)
	if (err == nil) != (refErr == nil) || (err != nil && err.Error() != refErr.Error()) {
		t.Fatalf("Parse(%q) error %v, full preparation error %v", s, err, refErr)
	}
	if err != nil {
		if !j.IsZero() {
			t.Fatalf("Parse(%q) returned %q with error %v", s, j, err)
		}
		return
	}
	if j != ref {
		t.Fatalf("Parse(%q) = %#v, full preparation gives %#v", s, j, ref)
	}

	// The canonical string is a fixed point.
	again, err := Parse(j.String())
	if err != nil || again != j {
		t.Fatalf("Parse(%q) = %q, and parsing that gives %#v, %v", s, j, again, err)
	}

	// The parts and the offsets agree with each other.
	want := j.Domain()
	if j.Local() != "" {
		want = j.Local() + "@" + want
	}
	if j.IsFull() {
		want += "/" + j.Resource()
	}
	if want != j.String() || j.Domain() == "" || (j.IsFull() && j.Resource() == "") {
		t.Fatalf("Parse(%q) = %q splits into %q, %q, %q", s, j, j.Local(), j.Domain(), j.Resource())
	}
	if n, err := New(j.Local(), j.Domain(), j.Resource()); err != nil || n != j {
		t.Fatalf("New from the parts of %q = %q, %v", j, n, err)
	}
	if n, err := build(j.Local(), j.Domain(), j.Resource(), false); err != nil || n != j {
		t.Fatalf("full preparation of the parts of %q = %q, %v", j, n, err)
	}
	for _, p := range []string{j.Local(), j.Domain(), j.Resource()} {
		if len(p) > maxPart {
			t.Fatalf("Parse(%q) has a part of %d bytes", s, len(p))
		}
	}

	// The views are themselves canonical.
	if b := j.Bare(); b != MustParse(b.String()) || !b.IsBare() {
		t.Fatalf("%q.Bare() = %#v", j, b)
	}
	if d := j.DomainJID(); d != MustParse(j.Domain()) || !d.IsDomain() {
		t.Fatalf("%q.DomainJID() = %#v", j, d)
	}
	if j.IsFull() {
		if w, err := j.Bare().WithResource(j.Resource()); err != nil || w != j {
			t.Fatalf("%q rebuilt with WithResource = %q, %v", j, w, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	// The engine spends up to a minute minimizing each new input, in time
	// that grows fast with its length, so kilobyte inputs stall fuzzing;
	// TestLengthLimits and the tables cover the long cases instead.
	const maxLen = 256
	for _, tc := range validCases {
		if len(tc.in) <= maxLen {
			f.Add(tc.in)
		}
	}
	for _, tc := range invalidCases {
		if len(tc.in) <= maxLen {
			f.Add(tc.in)
		}
	}
	for _, s := range []string{
		"a@b@c/d@e/f",
		"xn--nxasmq6b.example",
		"XN--BCHER-KVA.example",
		"ab--cd.example",
		"\u05d0@example.com",
		"1\u05d0@example.com",
		"\u05d0.example",
		"a\u00adb.example",
		"a\u200db.example",
		"ǅ@example.com",
		"İ@example.com",
		"K@example.com",
		"ﬀ@example.com",
		"e\u0301@example.com/e\u0301",
		"example.com/\u2000x",
		"[::ffff:1.2.3.4]",
		"[0:0:0:0:0:0:0:1]",
		"1.2.3.4.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxLen {
			t.Skip()
		}
		checkParse(t, s)
	})
}

// TestShortcutMatchesPrecis checks the ASCII shortcut in both directions on
// every ASCII string of up to two bytes and on some of three: whatever it
// accepts, full preparation returns unchanged, and whatever full preparation
// returns unchanged, it accepts (or the common case would allocate).
func TestShortcutMatchesPrecis(t *testing.T) {
	check := func(s string) {
		if p, err := prepLocal(s, false); isPreparedLocal(s) != (err == nil && p == s) {
			t.Errorf("localpart %q: shortcut %v, full preparation %q, %v", s, isPreparedLocal(s), p, err)
		}
		if p, err := prepResource(s, false); isPreparedResource(s) != (err == nil && p == s) {
			t.Errorf("resourcepart %q: shortcut %v, full preparation %q, %v", s, isPreparedResource(s), p, err)
		}
		if s[0] != '[' {
			if p, err := prepDomain(s, false); isPreparedDomain(s) != (err == nil && p == s) {
				t.Errorf("domainpart %q: shortcut %v, full preparation %q, %v", s, isPreparedDomain(s), p, err)
			}
		}
	}
	for a := range 128 {
		check(string(rune(a)))
		for b := range 128 {
			check(string([]byte{byte(a), byte(b)}))
			if testing.Short() {
				continue
			}
			for _, c := range ".-a0 Z~" {
				check(string([]byte{byte(a), byte(b), byte(c)}))
			}
		}
	}
}

// TestRandomJIDs runs checkParse on JID-shaped strings, mostly ASCII, so
// that the shortcut and full preparation meet on inputs that are valid more
// often than fuzzing from scratch would make them.
func TestRandomJIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(7622, 8265))
	// Each part draws mostly from characters that keep it valid, so that
	// a good share of the inputs parse.
	type alphabet struct{ clean, odd string }
	var (
		local    = alphabet{"abcxyz0129._-+!~\\", "ABZ\"&'/:<> \t\x7f"}
		label    = alphabet{"abcxyz019-", "ABZ_.- :"}
		resource = alphabet{"abcABZ019 @/.!~", " \x00\x1f"}
		ip6      = alphabet{"0123456789abcdef:", "ABCDEF:.%"}
		ip4      = alphabet{"0123456789.", "0."}
		unicode  = []string{"é", "ß", "Σ", "ς", "π", "♚", "\u00a0", "\u3000", "。", "ｊ", "\u0301", "\u05d0", "\u00ad", "\u2163", "\xff"}
	)
	pick := func(a alphabet, n int) string {
		var b strings.Builder
		for range n {
			switch r.IntN(40) {
			case 0:
				b.WriteString(unicode[r.IntN(len(unicode))])
			case 1:
				b.WriteByte(a.odd[r.IntN(len(a.odd))])
			default:
				b.WriteByte(a.clean[r.IntN(len(a.clean))])
			}
		}
		return b.String()
	}
	n := 50000
	if testing.Short() {
		n = 5000
	}
	for range n {
		var s string
		if r.IntN(3) > 0 {
			s = pick(local, r.IntN(6)) + "@"
		}
		switch r.IntN(8) {
		case 0:
			s += "[" + pick(ip6, r.IntN(12)) + "]"
		case 1:
			s += pick(ip4, r.IntN(14))
		default:
			for i := range 1 + r.IntN(3) {
				if i > 0 {
					s += "."
				}
				s += pick(label, 1+r.IntN(6))
			}
		}
		if r.IntN(2) == 0 {
			s += "/" + pick(resource, r.IntN(8))
		}
		checkParse(t, s)
	}
}
