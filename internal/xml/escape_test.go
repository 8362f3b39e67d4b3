package xml

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendEscaped(t *testing.T) {
	tests := []struct{ in, text, attr string }{
		{"plain", "plain", "plain"},
		{`a<b>&"c'`, `a&lt;b&gt;&amp;"c'`, `a&lt;b&gt;&amp;&quot;c&apos;`},
		{"l1\nl2\tx\r", "l1\nl2\tx&#xD;", "l1&#xA;l2&#x9;x&#xD;"},
		{"bad\x00\xff end", "bad\uFFFD\uFFFD end", "bad\uFFFD\uFFFD end"},
		{"é🌹\uFFFE", "é🌹\uFFFD", "é🌹\uFFFD"},
		{"", "", ""},
	}
	for _, tc := range tests {
		if got := string(AppendEscapedText(nil, tc.in)); got != tc.text {
			t.Errorf("text %q: got %q, want %q", tc.in, got, tc.text)
		}
		if got := string(AppendEscapedAttr(nil, []byte(tc.in))); got != tc.attr {
			t.Errorf("attr %q: got %q, want %q", tc.in, got, tc.attr)
		}
	}
	if EscapeString("<'>") != "&lt;&apos;&gt;" {
		t.Error("EscapeString")
	}
}

func TestAppendDecoded(t *testing.T) {
	tests := []struct{ raw, text, attr string }{
		{"a&amp;b&lt;&gt;&quot;&apos;", `a&b<>"'`, `a&b<>"'`},
		{"&#65;&#x42;&#x1F339;", "AB🌹", "AB🌹"},
		{"a\r\nb\rc\nd\te", "a\nb\nc\nd\te", "a b c d e"},
		{"&#10;&#13;&#9;", "\n\r\t", "\n\r\t"},
		{"&bogus; &#xZZ; &", "&bogus; &#xZZ; &", "&bogus; &#xZZ; &"},
	}
	for _, tc := range tests {
		if got := string(AppendText(nil, []byte(tc.raw))); got != tc.text {
			t.Errorf("text %q: got %q, want %q", tc.raw, got, tc.text)
		}
		if got := string(AppendAttr(nil, []byte(tc.raw))); got != tc.attr {
			t.Errorf("attr %q: got %q, want %q", tc.raw, got, tc.attr)
		}
	}
}

func TestEscapeNoAllocs(t *testing.T) {
	dst := make([]byte, 0, 256)
	s := "Romeo & Juliet <3 \"balcony\" é"
	if a := testing.AllocsPerRun(100, func() { dst = AppendEscapedAttr(dst[:0], s) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

// FuzzEscapeRoundTrip: whatever a module puts in an attribute or text, the
// escaped form tokenizes, and decodes back to it (characters XML cannot
// carry having become U+FFFD).
func FuzzEscapeRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "x\r\ny\tz", "\x00\xff", "🌹 ]]> '\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc := "<a v='" + string(AppendEscapedAttr(nil, s)) + "'>" + string(AppendEscapedText(nil, s)) + "</a>"
		tz := NewTokenizer(Limits{MaxStanzaBytes: 1 << 20}, false)
		buf := []byte(doc)
		start, err := tz.Next(buf)
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		want := sanitize(s)
		if got := string(start.Attrs[0].AppendValue(nil)); got != want {
			t.Fatalf("attr: got %q, want %q", got, want)
		}
		if s == "" {
			return
		}
		text, err := tz.Next(buf)
		if err != nil || text.Kind != KindText {
			t.Fatalf("%q: %v %v", doc, text, err)
		}
		if got := string(text.AppendText(nil)); got != want {
			t.Fatalf("text: got %q, want %q", got, want)
		}
	})
}

func sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || !isChar(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}
