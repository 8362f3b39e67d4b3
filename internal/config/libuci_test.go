package config

import (
	"fmt"
	"strings"
	"testing"
)

// The vectors below are the list of docs/OPENWRT.md §2.7, each checked
// against what libuci's file.c and list.c do with the same input. A vector
// with an empty want must be refused; err names a part of the message.

// dumpIDs is dump with each section's libuci name (ID) in front.
func dumpIDs(f *File) string {
	var b strings.Builder
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "%s=%s", f.ID(s), s.Type)
		for _, o := range s.Options {
			if o.List {
				fmt.Fprintf(&b, " %s=%q", o.Name, o.Values)
			} else {
				fmt.Fprintf(&b, " %s=%q", o.Name, o.Values[0])
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestLibuciVectors(t *testing.T) {
	for _, tc := range []struct {
		n        int // the number of the vector in OPENWRT.md §2.7
		name, in string
		want     string // dumpIDs of the result; "" when the file is refused
		err      string
	}{
		{1, "named and anonymous sections, options and lists",
			"config xmppd 'main'\n\toption a '1'\n\tlist l 'x'\n\tlist l 'y'\nconfig host\n\toption domain 'd'\n",
			"main=xmppd a=\"1\" l=[\"x\" \"y\"]\ncfg02fe63=host domain=\"d\"\n", ""},
		{2, "one-letter keywords", "p xmppd\nc t 'x'\no a 1\nl b 2\n", "x=t a=\"1\" b=[\"2\"]\n", ""},
		{2, "commands separated by ;", "config t 'x'; option a 1; list b 2\n", "x=t a=\"1\" b=[\"2\"]\n", ""},
		{3, "unquoted # ends the line", "config t 'x'\noption a foo#bar\n", "x=t a=\"foo\"\n", ""},
		{3, "quoted # is kept", "config t 'x'\noption a 'foo#bar'\n", "x=t a=\"foo#bar\"\n", ""},
		{4, "export escaping of '", "config t 'x'\noption a 'it'\\''s'\n", "x=t a=\"it's\"\n", ""},
		{5, "double-quote escapes", "config t 'x'\noption a \"a\\\"b\\\\c\\n\"\n", "x=t a=\"a\\\"b\\\\cn\"\n", ""},
		{5, "single quotes keep backslashes", "config t 'x'\noption a 'a\\b\\n'\n", "x=t a=\"a\\\\b\\\\n\"\n", ""},
		{6, "multi-line single quotes keep newlines", "config t 'x'\noption a 'one\ntwo'\n", "x=t a=\"one\\ntwo\"\n", ""},
		{6, "multi-line double quotes keep newlines", "config t 'x'\noption a \"one\ntwo\"\n", "x=t a=\"one\\ntwo\"\n", ""},
		{6, "get_multiline.data of libuci's tests", "config t 'x'\noption a \"\\\"Hello, \\\nWorld.\n\\'\"\n", "x=t a=\"\\\"Hello, World.\\n'\"\n", ""},
		{6, "backslash-newline joins lines", "config t 'x'\noption a foo\\\nbar\n", "x=t a=\"foobar\"\n", ""},
		{7, "unterminated single quote", "config t 'x'\noption a 'open\n", "", "never closed"},
		{7, "unterminated double quote", "config t 'x'\noption a \"open\n", "", "never closed"},
		{7, "option before config", "option a b\n", "", "before the first config"},
		{7, "config without a type", "config\n", "", "needs a section type"},
		{7, "invalid option name", "config t 'x'\noption my-opt x\n", "", "invalid option name"},
		{7, "invalid section name", "config t 'my-sec'\n", "", "invalid section name"},
		{7, "too many arguments", "config t 'x'\noption a b c\n", "", "too many values"},
		{7, "one more empty argument is not too many", "config t 'x' ''\noption a b ''\n", "x=t a=\"b\"\n", ""},
		{7, "after the empty argument a new statement starts", "config t 'x'\noption a b '' option c d\n", "x=t a=\"b\" c=\"d\"\n", ""},
		{7, "a type is any printable character but space", "config my-type.v2\n", "cfg0128b0=my-type.v2\n", ""},
		{7, "a type with a space", "config 'my type'\n", "", "invalid section type"},
		{8, "empty option is absent", "config t 'x'\noption a ''\n", "x=t\n", ""},
		{8, "empty option keeps the value before", "config t 'x'\noption a 'a'\noption a ''\n", "x=t a=\"a\"\n", ""},
		{8, "empty list item is kept", "config t 'x'\nlist a ''\n", "x=t a=[\"\"]\n", ""},
		{9, "list after option makes a list", "config t 'x'\noption a a\nlist a b\n", "x=t a=[\"a\" \"b\"]\n", ""},
		{9, "option after list replaces it", "config t 'x'\nlist a a\noption a b\n", "x=t a=\"b\"\n", ""},
		{9, "a repeated option keeps its place", "config t 'x'\noption a 1\noption b 2\noption a 3\n", "x=t a=\"3\" b=\"2\"\n", ""},
		{10, "the same name and type again merges", "config t 'x'\noption a 1\nconfig u\nconfig t 'x'\noption b 2\n",
			"x=t a=\"1\" b=\"2\"\ncfg02b61a=u\n", ""},
		{10, "the same name with another type", "config t 'x'\nconfig u 'x'\n", "", "already a t section"},
		{11, "anonymous names as on a device (firewall, dhcp)", "config defaults\nconfig zone\nconfig zone\n",
			"cfg01e63d=defaults\ncfg02dc81=zone\ncfg03dc81=zone\n", ""},
		{11, "named sections count too", "config dnsmasq\nconfig t 'x'\nconfig t 'x'\nconfig host\n",
			"cfg01411c=dnsmasq\nx=t\ncfg03fe63=host\n", ""},
		{12, "CRLF line endings", "config t 'x'\r\n\toption a 'b'\r\n\toption c d\r\n", "x=t a=\"b\" c=\"d\"\n", ""},
		{12, "CR inside quotes is kept", "config t 'x'\r\n\toption a 'b\r\nc'\r\n", "x=t a=\"b\\r\\nc\"\n", ""},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.n, tc.name), func(t *testing.T) {
			f, err := Parse("v.uci", []byte(tc.in))
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := dumpIDs(f); got != tc.want {
				t.Errorf("Parse(%q):\ngot:\n%s\nwant:\n%s", tc.in, got, tc.want)
			}
		})
	}
}

// TestLibuciLookup is vector 1's second half: @type[N] and names as the
// uci command resolves them.
func TestLibuciLookup(t *testing.T) {
	f, err := Parse("v.uci", []byte("config host 'a'\nconfig listener\nconfig host\nconfig host 'c'\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref  string
		want string // the found section's ID, "" for none, "error" for an invalid reference
	}{
		{"a", "a"}, {"c", "c"}, {"cfg02a28b", "cfg02a28b"}, {"cfg03fe63", "cfg03fe63"}, {"nothere", ""},
		{"@host[0]", "a"}, {"@host[1]", "cfg03fe63"}, {"@host[2]", "c"}, {"@host[3]", ""},
		{"@host[-1]", "c"}, {"@host[-3]", "a"}, {"@host[-4]", ""},
		{"@listener[0]", "cfg02a28b"}, {"@[1]", "cfg02a28b"}, {"@[-1]", "c"}, {"@zone[0]", ""},
		{"@host[1]x", "error"}, {"@host[x]", "error"}, {"@host", "error"}, {"my-name", "error"},
	} {
		s, err := f.Lookup(tc.ref)
		got := ""
		switch {
		case err != nil:
			got = "error"
		case s != nil:
			got = f.ID(s)
		}
		if got != tc.want {
			t.Errorf("Lookup(%q) = %q (%v), want %q", tc.ref, got, err, tc.want)
		}
	}
}

// TestCommitFormat checks the writer against the bytes `uci commit` writes
// for the same package: a blank line before each section and one at the
// end, tab-indented options, bare types and option names, quoted values.
func TestCommitFormat(t *testing.T) {
	in := "package xmppd\nconfig xmppd main\n option log_level \"debug\" # comment\nconfig listener\n option port 5222\n list x a;list x \"b'c\"\n"
	want := "\nconfig xmppd 'main'\n\toption log_level 'debug'\n\nconfig listener\n\toption port '5222'\n\tlist x 'a'\n\tlist x 'b'\\''c'\n\n"
	f, err := Parse("v.uci", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.Bytes()); got != want {
		t.Errorf("Bytes() = %q, want %q", got, want)
	}
	if got := string((&File{}).Bytes()); got != "\n" {
		t.Errorf("an empty package is written as %q, want one newline as uci commit writes", got)
	}
}
