package config

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// readerFor parses "config t 'sec'" followed by lines and returns a Reader
// over the section.
func readerFor(t *testing.T, lines string) *Reader {
	t.Helper()
	f, err := Parse("r.uci", []byte("config t 'sec'\n"+lines))
	if err != nil {
		t.Fatal(err)
	}
	return NewReader("r.uci", f.Sections[0])
}

// checkErr fails unless r recorded exactly the errors want (line: message part).
func checkErr(t *testing.T, r *Reader, want ...string) {
	t.Helper()
	var got []string
	for _, e := range r.errs {
		got = append(got, e.Error())
	}
	if len(got) != len(want) {
		t.Fatalf("errors = %q, want %d matching %q", got, len(want), want)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], "r.uci:"+w[:strings.Index(w, ":")]+":") || !strings.Contains(got[i], w[strings.Index(w, ":")+2:]) {
			t.Errorf("error %d = %q, want %q", i, got[i], w)
		}
	}
}

func TestReaderValues(t *testing.T) {
	r := readerFor(t, `
option s 'text'
option p '/etc/x'
option i '42'
option b1 'yes'
option b2 'Disabled'
option d1 '90'
option d2 '1h30m'
option z1 '64k'
option z2 '2MiB'
option z3 '1G'
option z4 '100b'
option e 'b'
option l 'a  b c'
list l2 'x y'
list l2 'z'
`)
	if got := r.String("s", "def"); got != "text" {
		t.Errorf("String = %q", got)
	}
	if got := r.String("missing", "def"); got != "def" {
		t.Errorf("String(missing) = %q", got)
	}
	if got := r.Path("p", ""); got != "/etc/x" {
		t.Errorf("Path = %q", got)
	}
	if got := r.Int("i", 0, 0, 100); got != 42 {
		t.Errorf("Int = %d", got)
	}
	if got := r.Int("missing", 7, 0, 100); got != 7 {
		t.Errorf("Int(missing) = %d", got)
	}
	if !r.Bool("b1", false) || r.Bool("b2", true) || !r.Bool("missing", true) {
		t.Error("Bool")
	}
	if got := r.Duration("d1", 0, 0, time.Hour); got != 90*time.Second {
		t.Errorf("Duration(plain seconds) = %v", got)
	}
	if got := r.Duration("d2", 0, 0, 2*time.Hour); got != 90*time.Minute {
		t.Errorf("Duration = %v", got)
	}
	for name, want := range map[string]int64{"z1": 64 << 10, "z2": 2 << 20, "z3": 1 << 30, "z4": 100} {
		if got := r.Size(name, 0, 0, math.MaxInt64); got != want {
			t.Errorf("Size(%s) = %d, want %d", name, got, want)
		}
	}
	if got := r.Enum("e", "a", "a", "b"); got != "b" {
		t.Errorf("Enum = %q", got)
	}
	if got := r.List("l"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("List(option) = %q", got)
	}
	if got := r.List("l2"); !slices.Equal(got, []string{"x y", "z"}) {
		t.Errorf("List(list) = %q", got)
	}
	if got := r.List("missing"); got != nil {
		t.Errorf("List(missing) = %q", got)
	}
	r.Unknown()
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

func TestReaderErrors(t *testing.T) {
	r := readerFor(t, `option i 'x'
option i2 '500'
option i3 '-1'
option b 'maybe'
option d 'soon'
option d2 '2h'
option d3 '-5s'
option d4 '99999999999999999999'
option z '3 k'
option z2 '2G'
option z3 '99999999999999999999k'
option e 'c'
option p 'a	b'
list s 'a'
list s 'b'
option typo 'x'
`)
	// Each bad value gives the default.
	if r.Int("i", 1, 0, 10) != 1 || r.Int("i2", 2, 0, 10) != 2 || r.Int("i3", 3, 0, math.MaxInt) != 3 {
		t.Error("Int did not fall back to the default")
	}
	if !r.Bool("b", true) {
		t.Error("Bool did not fall back to the default")
	}
	r.Duration("d", time.Second, 0, time.Hour)
	r.Duration("d2", time.Second, 0, time.Hour)
	r.Duration("d3", time.Second, 0, time.Hour)
	r.Duration("d4", time.Second, 0, math.MaxInt64)
	r.Size("z", 0, 0, 1<<30)
	r.Size("z2", 0, 0, 1<<30)
	r.Size("z3", 0, 1024, math.MaxInt64)
	if r.Enum("e", "a", "a", "b") != "a" {
		t.Error("Enum did not fall back to the default")
	}
	r.Path("p", "")
	if r.String("s", "def") != "def" {
		t.Error("String of a list did not fall back to the default")
	}
	r.Unknown("known_elsewhere")
	checkErr(t, r,
		"2: option i: 'x' is not a whole number: use 0 to 10",
		"3: option i2: '500' is out of range: use 0 to 10",
		"4: option i3: '-1' is out of range: use 0 or more",
		"5: option b: 'maybe' is not a boolean",
		"6: option d: 'soon' is not a duration: use 0 to 1h",
		"7: option d2: '2h' is out of range: use 0 to 1h",
		"8: option d3: '-5s' is out of range: use 0 to 1h",
		"9: option d4: '99999999999999999999' is out of range: use 0 or more",
		"10: option z: '3 k' is not a size: use 0 to 1G",
		"11: option z2: '2G' is out of range: use 0 to 1G",
		"12: option z3: '99999999999999999999k' is out of range: use 1k or more",
		"13: option e: 'c' is not one of a, b",
		"14: option p: \"a\\tb\" contains a control character (byte 2)",
		"15: option s: takes one value, not a list",
		"17: unknown option 'typo' in section 'sec' (known: b, d, d2, d3, d4, e, i, i2, i3, known_elsewhere, p, s, z, z2, z3)",
	)
	if err, ok := r.Err().(ErrorList); !ok || len(err) != 15 {
		t.Errorf("Err() = %v", r.Err())
	}
}

func TestReaderErrorf(t *testing.T) {
	r := readerFor(t, "option a 1\n")
	r.Errorf("a", "a is %s", "wrong")
	r.Errorf("absent", "absent is missing")
	checkErr(t, r, "2: a is wrong", "1: absent is missing")

	r = NewReader("r.uci", nil)
	if r.String("x", "d") != "d" || r.List("x") != nil || r.Int("x", 3, 0, 5) != 3 {
		t.Error("a nil section must read as empty")
	}
	r.Unknown()
	r.Errorf("x", "no section")
	if got := r.Err().Error(); got != "r.uci: no section" {
		t.Errorf("Errorf on a nil section = %q", got)
	}
}

func TestParseSizeAndDuration(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1": 1, "1024": 1024, "1k": 1024, "1K": 1024, "1kb": 1024, "1KiB": 1024, "1kib": 1024,
		"3m": 3 << 20, "3MB": 3 << 20, "2g": 2 << 30, "2GiB": 2 << 30, "5b": 5, "5B": 5, "007": 7,
		"8589934591G": 8589934591 << 30,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "b", "ib", "1i", "1 k", " 1", "-1", "+1", "1.5M", "1T", "1kk", "0x10", "1e3", "8589934592G", "9223372036854775808"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
	for in, want := range map[string]time.Duration{
		"0": 0, "30": 30 * time.Second, "30s": 30 * time.Second, "5m": 5 * time.Minute, "1h": time.Hour,
		"1h30m": 90 * time.Minute, "250ms": 250 * time.Millisecond, "1.5h": 90 * time.Minute,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "s", "5 m", "5d", "soon", "9223372037", "1e3s"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
	for n, want := range map[int64]string{0: "0", 1: "1", 1000: "1000", 1024: "1k", 1536: "1536", 1 << 20: "1M", 3 << 30: "3G", math.MaxInt64: "9223372036854775807"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "0", time.Second: "1s", 90 * time.Second: "90s", time.Hour: "1h", 90 * time.Minute: "90m", 1500 * time.Millisecond: "1.5s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for _, tc := range []struct {
		in   string
		want bool
	}{{"1", true}, {"on", true}, {"TRUE", true}, {"Yes", true}, {"enabled", true}, {"0", false}, {"off", false}, {"No", false}, {"false", false}, {"disabled", false}} {
		if got, ok := parseBool(tc.in); !ok || got != tc.want {
			t.Errorf("parseBool(%q) = %v, %v", tc.in, got, ok)
		}
	}
	for _, in := range []string{"", "2", "y", "enable", " 1"} {
		if _, ok := parseBool(in); ok {
			t.Errorf("parseBool(%q) accepted", in)
		}
	}
}
