package config

import (
	"fmt"
	"strings"
	"testing"
)

// dump writes f compactly with line numbers, for comparing parse results.
func dump(f *File) string {
	var b strings.Builder
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "%s %q @%d\n", s.Type, s.Name, s.Line)
		for _, o := range s.Options {
			kw := "option"
			if o.List {
				kw = "list"
			}
			fmt.Fprintf(&b, "  %s %s=%q @%d", kw, o.Name, o.Values, o.Line)
			if o.List {
				fmt.Fprintf(&b, " %v", o.lines)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"named and anonymous",
			"config xmppd 'main'\n\toption a '1'\nconfig host\n\toption domain 'x'\n",
			"xmppd \"main\" @1\n  option a=[\"1\"] @2\nhost \"\" @3\n  option domain=[\"x\"] @4\n"},
		{"empty name is anonymous", "config host ''\n", "host \"\" @1\n"},
		{"bare, single and double quoted", "config t\n option a b\n option c 'd e'\n option f \"g h\"\n",
			"t \"\" @1\n  option a=[\"b\"] @2\n  option c=[\"d e\"] @3\n  option f=[\"g h\"] @4\n"},
		{"single quote escape", `config t; option a 'it'\''s'`, "t \"\" @1\n  option a=[\"it's\"] @1\n"},
		{"single quotes keep backslashes", `config t; option a 'a\nb\\c'`, "t \"\" @1\n  option a=[\"a\\\\nb\\\\\\\\c\"] @1\n"},
		{"double quote escapes", `config t; option a "a\"b\\c\n\'"`, "t \"\" @1\n  option a=[\"a\\\"b\\\\cn'\"] @1\n"},
		{"unquoted backslash escapes", `config t; option a a\ b\'c`, "t \"\" @1\n  option a=[\"a b'c\"] @1\n"},
		{"concatenation", `config t; option a 'a'"b"c; option d foo'bar baz'`,
			"t \"\" @1\n  option a=[\"abc\"] @1\n  option d=[\"foobar baz\"] @1\n"},
		{"empty quoted value is a no-op", "config t\noption a ''\noption b \"\"\noption c\n", "t \"\" @1\n"},
		{"empty value keeps the earlier one", "config t\noption a 'x'\noption a ''\n", "t \"\" @1\n  option a=[\"x\"] @2\n"},
		{"comments", "# top\n\n  # indented\nconfig t # after config\n\toption a b#c\n\toption d 'e#f' # tail\n\toption g \"h#i\"#j\n#config u\n",
			"t \"\" @4\n  option a=[\"b\"] @5\n  option d=[\"e#f\"] @6\n  option g=[\"h#i\"] @7\n"},
		{"hash at the start of a value ends the line", "config t\noption a #b\n", "t \"\" @1\n"},
		{"semicolons", "config t 'x'; option a 1;option b 2 ; list c 3;;\n",
			"t \"x\" @1\n  option a=[\"1\"] @1\n  option b=[\"2\"] @1\n  list c=[\"3\"] @1 [1]\n"},
		{"abbreviations and package", "package xmppd\nc t 'x'\no a 1\nl b 2\np other-name\n",
			"t \"x\" @2\n  option a=[\"1\"] @3\n  list b=[\"2\"] @4 [4]\n"},
		{"lists", "config t\nlist a 1\nlist a '2 3'\n\nlist a ''\n",
			"t \"\" @1\n  list a=[\"1\" \"2 3\" \"\"] @2 [2 3 5]\n"},
		{"option then list makes a list", "config t\noption a 1\nlist a 2\n", "t \"\" @1\n  list a=[\"1\" \"2\"] @2 [2 3]\n"},
		{"list then option replaces the list", "config t\nlist a 1\nlist a 2\noption a 3\n", "t \"\" @1\n  option a=[\"3\"] @4\n"},
		{"repeated option replaces in place", "config t\noption a 1\noption b 2\noption a 3\n",
			"t \"\" @1\n  option a=[\"3\"] @4\n  option b=[\"2\"] @3\n"},
		{"named section reopened merges", "config t 'x'\noption a 1\nconfig u\nconfig t 'x'\noption b 2\noption a 3\n",
			"t \"x\" @1\n  option a=[\"3\"] @6\n  option b=[\"2\"] @5\nu \"\" @3\n"},
		{"multi-line quotes keep newlines and count lines", "config t\noption a 'x\ny'\noption b \"p\nq\"\noption c 1\n",
			"t \"\" @1\n  option a=[\"x\\ny\"] @2\n  option b=[\"p\\nq\"] @4\n  option c=[\"1\"] @6\n"},
		{"continuations", "config t\noption a foo\\\nbar\noption b \"x\\\ny\"\noption \\\n  c \\\n  'z'\noption d 1\n",
			"t \"\" @1\n  option a=[\"foobar\"] @2\n  option b=[\"xy\"] @4\n  option c=[\"z\"] @6\n  option d=[\"1\"] @9\n"},
		{"CRLF", "config t 'x'\r\n\toption a 'b'\r\n\toption c d\\\r\ne\r\n", "t \"x\" @1\n  option a=[\"b\"] @2\n  option c=[\"de\"] @3\n"},
		{"carriage return inside quotes is kept", "config t\noption a 'b\r\nc'\n", "t \"\" @1\n  option a=[\"b\\r\\nc\"] @2\n"},
		{"backslash at end of input is dropped", "config t\noption a b\\", "t \"\" @1\n  option a=[\"b\"] @2\n"},
		{"leading white space and no final newline", "   \t config\tt  'x'\n\t\t  option  a   b", "t \"x\" @1\n  option a=[\"b\"] @2\n"},
		{"blank file", "\n\n  \n# nothing\n", ""},
		{"utf-8 values", "config t\noption a 'grüße ☃'\n", "t \"\" @1\n  option a=[\"grüße ☃\"] @2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("test.uci", []byte(tc.in))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := dump(f); got != tc.want {
				t.Errorf("Parse(%q):\ngot:\n%s\nwant:\n%s", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	type want struct {
		line int
		msg  string // a part of the message
	}
	for _, tc := range []struct {
		name string
		in   string
		want []want
		dump string // what was parsed around the errors
	}{
		{"option before config", "\noption a b\nlist c d\n", []want{{2, "option before the first config line"}, {3, "list before the first config line"}}, ""},
		{"config without type", "config\nconfig ''\n", []want{{1, "config needs a section type"}, {2, "config needs a section type"}}, ""},
		{"invalid type", "config 'my type'\n", []want{{1, "invalid section type 'my type': use printable characters without spaces, as in 'my_type'"}}, ""},
		{"invalid section name", "config t 'my-sec'\n\toption a b\n", []want{{1, "invalid section name 'my-sec'"}}, ""},
		{"too many words after config", "config t a b\n", []want{{1, "too many words after config"}}, ""},
		{"invalid option name", "config t\noption my-opt x\nlist 'a b' c\n", []want{{2, "invalid option name 'my-opt'"}, {3, "invalid option name 'a b'"}}, "t \"\" @1\n"},
		{"too many values", "config t\noption a b c\n", []want{{2, "too many values for option a: quote a value that contains spaces"}}, "t \"\" @1\n"},
		{"option without name", "config t\noption\nlist ''\n", []want{{2, "option needs a name and a value"}, {3, "list needs a name and a value"}}, "t \"\" @1\n"},
		{"unknown statement", "config t\n\toptoin a b\n", []want{{2, "unknown statement 'optoin'"}}, "t \"\" @1\n"},
		{"quoted keyword", "'config' t\n", []want{{1, "a statement starts with a bare config"}}, ""},
		{"unterminated single quote", "config t\noption a 'b\n\noption c d\n", []want{{2, "the ' opened on this line is never closed"}}, "t \"\" @1\n"},
		{"unterminated double quote", "config t\noption a \"b\\\"\n", []want{{2, "the \" opened on this line is never closed"}}, "t \"\" @1\n"},
		{"NUL byte", "config t\noption a '\x00'\n", []want{{2, "NUL byte"}}, ""},
		{"same name, other type", "config t 'x'\nconfig u 'x'\noption a b\n", []want{{2, "section 'x' is already a t section (line 1)"}}, "t \"x\" @1\n"},
		{"package", "package\npackage a b\npackage 'a.b'\n", []want{{1, "package takes one name"}, {2, "package takes one name"}, {3, "package takes one name"}}, ""},
		{"options of a rejected section are dropped quietly",
			"config t 'bad-name'\noption a b\nlist c d\nconfig t 'good'\noption e f\n",
			[]want{{1, "invalid section name 'bad-name'"}}, "t \"good\" @4\n  option e=[\"f\"] @5\n"},
		{"errors in one file, each at its line",
			"config xmppd 'main'\n\toption a 'ok'\n\toption b c d\n\tfoo\nconfig 'x y'\n\toption q 1\nconfig host 'h'\n\toption my.opt 1\n\toption z 2\n",
			[]want{{3, "too many values"}, {4, "unknown statement 'foo'"}, {5, "invalid section type 'x y'"}, {8, "invalid option name 'my.opt'"}},
			"xmppd \"main\" @1\n  option a=[\"ok\"] @2\nhost \"h\" @7\n  option z=[\"2\"] @9\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("test.uci", []byte(tc.in))
			list, ok := err.(ErrorList)
			if !ok {
				t.Fatalf("Parse(%q) = %v, want an ErrorList", tc.in, err)
			}
			if len(list) != len(tc.want) {
				t.Fatalf("Parse(%q): %d errors, want %d:\n%v", tc.in, len(list), len(tc.want), err)
			}
			for i, w := range tc.want {
				e := list[i]
				if e.Line != w.line || !strings.Contains(e.Msg, w.msg) || e.File != "test.uci" {
					t.Errorf("error %d = %q, want line %d containing %q", i, e.Error(), w.line, w.msg)
				}
				if prefix := fmt.Sprintf("test.uci:%d: ", w.line); !strings.HasPrefix(e.Error(), prefix) {
					t.Errorf("error %d prints as %q, want the prefix %q", i, e.Error(), prefix)
				}
			}
			if got := dump(f); got != tc.dump {
				t.Errorf("Parse(%q) kept:\n%s\nwant:\n%s", tc.in, got, tc.dump)
			}
		})
	}
}

func TestParseStopsAfterMaxErrors(t *testing.T) {
	in := "config t\n" + strings.Repeat("bad\n", 50)
	_, err := Parse("x.uci", []byte(in))
	list := err.(ErrorList)
	if len(list) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d", len(list), maxErrors+1)
	}
	if last := list[maxErrors]; last.Line != maxErrors+2 || !strings.Contains(last.Msg, "too many errors") {
		t.Errorf("last error = %q, want the too-many note at line %d", last.Error(), maxErrors+2)
	}
}

func TestErrorList(t *testing.T) {
	list := ErrorList{{File: "a", Line: 1, Msg: "x"}, {File: "a", Msg: "y"}}
	if got, want := list.Error(), "a:1: x\na: y"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if u := list.Unwrap(); len(u) != 2 || u[1] != error(list[1]) {
		t.Errorf("Unwrap() = %v", u)
	}
	if ErrorList(nil).err() != nil {
		t.Error("an empty ErrorList must become a nil error")
	}
}

func TestFileLookups(t *testing.T) {
	f, err := Parse("x", []byte("config a 'one'\nconfig b\noption o 1\nconfig b 'two'\nconfig a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Section("a", "one"); s == nil || s.Line != 1 {
		t.Errorf("Section(a, one) = %v", s)
	}
	if s := f.Section("", "two"); s == nil || s.Type != "b" {
		t.Errorf("Section('', two) = %v", s)
	}
	if s := f.Section("b", "one"); s != nil {
		t.Errorf("Section(b, one) = %v, want nil: the type differs", s)
	}
	if s := f.Section("a", ""); s != nil {
		t.Errorf("Section(a, '') = %v, want nil", s)
	}
	if got := f.SectionsOf("b"); len(got) != 2 || got[0].Option("o") == nil || got[1].Name != "two" {
		t.Errorf("SectionsOf(b) = %v", got)
	}
	var nilSection *Section
	if nilSection.Option("x") != nil {
		t.Error("Option on a nil section must be nil")
	}
}
