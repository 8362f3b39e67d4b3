package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tables lists every option table with the section heading README.md uses
// and a function that applies the table to a fresh value, returning that value.
var tables = []struct {
	heading string
	opts    func() []option
	read    func(r *Reader) any
}{
	{"config xmppd 'main'", func() []option { return mainOptions(&Config{}) },
		func(r *Reader) any { c := &Config{}; apply(r, mainOptions(c)); return c }},
	{"config host", func() []option { return hostOptions(&Host{}) },
		func(r *Reader) any { h := &Host{}; apply(r, hostOptions(h)); return h }},
	{"config listener", func() []option { return listenerOptions(&Listener{}) },
		func(r *Reader) any { l := &Listener{}; apply(r, listenerOptions(l)); return l }},
	{"config module", func() []option { return moduleOptions(&moduleMeta{}) },
		func(r *Reader) any { m := &moduleMeta{}; apply(r, moduleOptions(m)); return m }},
}

// TestOptionTables checks each table entry: a valid unique name, a field of
// the right type, documentation, and a default that parses, lies within the
// bounds and is what an absent option gives.
func TestOptionTables(t *testing.T) {
	dstTypes := map[kind][]any{
		kindString: {new(string)}, kindPath: {new(string)}, kindEnum: {new(string)}, kindBool: {new(bool)},
		kindInt: {new(int)}, kindDuration: {new(time.Duration)}, kindSize: {new(int64), new(int)}, kindList: {new([]string)},
	}
	for _, tab := range tables {
		t.Run(tab.heading, func(t *testing.T) {
			seen := map[string]bool{}
			explicit := &Section{Type: "t", Name: "s"}
			for _, o := range tab.opts() {
				if !validName(o.name) || seen[o.name] {
					t.Errorf("option %q: invalid or repeated name", o.name)
				}
				seen[o.name] = true
				if !hasType(dstTypes[o.kind], o.dst) {
					t.Errorf("option %s: field of type %T for a %s", o.name, o.dst, kindNames[o.kind])
				}
				if o.doc == "" || !strings.HasSuffix(o.doc, ".") {
					t.Errorf("option %s: doc %q is not a sentence", o.name, o.doc)
				}
				if o.kind == kindEnum && len(o.allowed) == 0 || o.kind != kindEnum && o.allowed != nil {
					t.Errorf("option %s: allowed values %q do not fit a %s", o.name, o.allowed, kindNames[o.kind])
				}
				if o.required && (o.example == "" || o.def != "") {
					t.Errorf("option %s: a required option has an example and no default", o.name)
				}
				if o.def != "" && o.defDoc != "" {
					t.Errorf("option %s: both def and defDoc", o.name)
				}
				value := o.def
				if o.required {
					value = o.example
				}
				if value != "" {
					explicit.Options = append(explicit.Options, &Option{Name: o.name, Values: []string{value}})
				}
			}
			// Every default written out must read back without error and
			// give the same as leaving the options out.
			r := NewReader("table", explicit)
			fromExplicit := tab.read(r)
			r.Unknown()
			if err := r.Err(); err != nil {
				t.Fatalf("the table's defaults do not read back: %v", err)
			}
			// Required options have no default, so both sides get them.
			empty := &Section{Type: "t", Name: "s"}
			for _, o := range tab.opts() {
				if o.required {
					empty.Options = append(empty.Options, explicit.Option(o.name))
				}
			}
			fromEmpty := tab.read(NewReader("table", empty))
			if !reflect.DeepEqual(fromExplicit, fromEmpty) {
				t.Errorf("written-out defaults give %+v, absent options give %+v", fromExplicit, fromEmpty)
			}
		})
	}
}

// hasType reports whether v has the type of one of types.
func hasType(types []any, v any) bool {
	for _, x := range types {
		if reflect.TypeOf(x) == reflect.TypeOf(v) {
			return true
		}
	}
	return false
}

const (
	readmeBegin = "<!-- options: generated from options.go by `go test -run TestReadme -update`; do not edit -->\n"
	readmeEnd   = "<!-- end of options -->\n"
)

// optionReference renders the option tables as the Markdown README.md holds.
func optionReference() string {
	var b strings.Builder
	for i, tab := range tables {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "### `%s`\n\n", tab.heading)
		b.WriteString("| Option | Type | Default | Values | Description |\n|---|---|---|---|---|\n")
		for _, o := range tab.opts() {
			def := "none"
			switch {
			case o.required:
				def = "required"
			case o.def != "":
				def = "`" + o.def + "`"
			case o.defDoc != "":
				def = o.defDoc
			}
			values := ""
			switch {
			case o.kind == kindEnum:
				values = "`" + strings.Join(o.allowed, "`, `") + "`"
			case o.min != "" && o.max != "":
				values = o.min + " to " + o.max
			case o.min != "":
				values = o.min + " or more"
			}
			kindText := kindNames[o.kind]
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", o.name, kindText, def, values, o.doc)
		}
	}
	return b.String()
}

// TestReadme checks that README.md lists the options as the tables define them.
func TestReadme(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	begin, end := strings.Index(text, readmeBegin), strings.Index(text, readmeEnd)
	if begin < 0 || end < begin {
		t.Fatalf("README.md lacks the markers %q and %q", readmeBegin, readmeEnd)
	}
	want := text[:begin+len(readmeBegin)] + "\n" + optionReference() + "\n" + text[end:]
	if text == want {
		return
	}
	if *update {
		if err := os.WriteFile("README.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("README.md's option reference is out of date: run go test -run TestReadme -update")
}

// uncommentOptions turns the `# option ...` examples of a file into options.
var uncommentOptions = regexp.MustCompile(`(?m)^(\s*)#\s?((?:config|option|list)\s)`)

// TestDefaultDocumentsEveryOption checks that default.uci shows every option,
// that the defaults it shows are the real ones, and that uncommenting all of
// it still gives a valid configuration.
func TestDefaultDocumentsEveryOption(t *testing.T) {
	all := uncommentOptions.ReplaceAllString(string(Default()), "$1$2")
	f, err := Parse("default.uci, uncommented", []byte(all))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromFile(f); err != nil {
		t.Fatalf("default.uci with every example uncommented does not load: %v", err)
	}
	for _, tab := range tables {
		typ := strings.Fields(tab.heading)[1]
		for _, o := range tab.opts() {
			var found *Option
			for _, s := range f.SectionsOf(typ) {
				if found = s.Option(o.name); found != nil {
					break
				}
			}
			switch {
			case found == nil:
				t.Errorf("default.uci does not show option %s of %s", o.name, tab.heading)
			case typ == "xmppd" && o.def != "" && strings.Join(found.Values, " ") != o.def:
				t.Errorf("default.uci shows %s as %q, but its default is %q", o.name, found.Values, o.def)
			}
		}
	}
}

const (
	configDocPath  = "../../docs/config.md"
	configDocBegin = "<!-- reference: generated from internal/config/options.go and default.uci by `go test ./internal/config -run TestConfigDoc -update`; do not edit -->\n"
	configDocEnd   = "<!-- end of reference -->\n"
)

// examples returns, for each section type and option, the line default.uci
// shows for it (uncommented), so that every example in docs/config.md is
// one TestDefaultDocumentsEveryOption has seen load.
func examples(t *testing.T) map[string]map[string]string {
	all := uncommentOptions.ReplaceAllString(string(Default()), "$1$2")
	f, err := Parse("default.uci, uncommented", []byte(all))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, s := range f.Sections {
		if out[s.Type] == nil {
			out[s.Type] = map[string]string{}
		}
		for _, o := range s.Options {
			if _, ok := out[s.Type][o.Name]; ok {
				continue
			}
			kw := "option"
			if o.List {
				kw = "list"
			}
			out[s.Type][o.Name] = kw + " " + o.Name + " " + strings.TrimSpace(string(writeQuotedString(o.Values[0])))
		}
	}
	return out
}

func writeQuotedString(v string) string {
	var b strings.Builder
	writeQuoted(&b, v)
	return b.String()
}

// configReference renders the option tables for docs/config.md: every
// option with its type, default, allowed values, an example line and what
// it does.
func configReference(t *testing.T) string {
	ex := examples(t)
	var b strings.Builder
	for i, tab := range tables {
		if i > 0 {
			b.WriteByte('\n')
		}
		typ := strings.Fields(tab.heading)[1]
		fmt.Fprintf(&b, "### `%s`\n\n", tab.heading)
		b.WriteString("| Option | Type | Default | Example | Description |\n|---|---|---|---|---|\n")
		for _, o := range tab.opts() {
			def := "none"
			switch {
			case o.required:
				def = "required"
			case o.def != "":
				def = "`" + o.def + "`"
			case o.defDoc != "":
				def = o.defDoc
			}
			kindText := kindNames[o.kind]
			switch {
			case o.kind == kindEnum:
				kindText += ": `" + strings.Join(o.allowed, "`, `") + "`"
			case o.min != "" && o.max != "":
				kindText += ", " + o.min + " to " + o.max
			case o.min != "":
				kindText += ", " + o.min + " or more"
			}
			example := ex[typ][o.name]
			if o.required {
				example = "option " + o.name + " " + writeQuotedString(o.example)
			}
			if example == "" {
				t.Errorf("option %s of %s has no example: show it in default.uci", o.name, tab.heading)
			}
			example = strings.ReplaceAll(example, "|", `\|`)
			fmt.Fprintf(&b, "| `%s` | %s | %s | `%s` | %s |\n", o.name, kindText, def, example, strings.ReplaceAll(o.doc, "|", `\|`))
		}
	}
	return b.String()
}

// TestConfigDoc checks that docs/config.md documents every option as the
// tables define it, so the reference cannot drift from the code.
func TestConfigDoc(t *testing.T) {
	data, err := os.ReadFile(configDocPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	begin, end := strings.Index(text, configDocBegin), strings.Index(text, configDocEnd)
	if begin < 0 || end < begin {
		t.Fatalf("docs/config.md lacks the markers %q and %q", configDocBegin, configDocEnd)
	}
	want := text[:begin+len(configDocBegin)] + "\n" + configReference(t) + "\n" + text[end:]
	if text == want {
		return
	}
	if *update {
		if err := os.WriteFile(configDocPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("docs/config.md's reference is out of date: run go test ./internal/config -run TestConfigDoc -update")
}
