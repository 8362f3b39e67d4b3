package config

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden and README.md from the current code")

// render writes c as one `path: value` line per field, which diffs well in a
// golden file. Raw is left out: the parser tests cover it.
func render(c *Config) string {
	var b strings.Builder
	renderValue(&b, "", reflect.ValueOf(*c))
	return b.String()
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	sectionType  = reflect.TypeFor[*Section]()
)

func renderValue(b *strings.Builder, path string, v reflect.Value) {
	switch {
	case v.Type() == durationType:
		fmt.Fprintf(b, "%s: %v\n", path, time.Duration(v.Int()))
		return
	case v.Type() == sectionType:
		if v.IsNil() {
			fmt.Fprintf(b, "%s: nil\n", path)
			return
		}
		s := v.Interface().(*Section)
		fmt.Fprintf(b, "%s: %s %q line %d\n", path, s.Type, s.Name, s.Line)
		for _, o := range s.Options {
			fmt.Fprintf(b, "%s.%s: list=%v %q line %d\n", path, o.Name, o.List, o.Values, o.Line)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			name := v.Type().Field(i).Name
			if name == "Raw" {
				continue
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			renderValue(b, p, v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			fmt.Fprintf(b, "%s: []\n", path)
		}
		for i := range v.Len() {
			renderValue(b, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 {
			fmt.Fprintf(b, "%s: {}\n", path)
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			renderValue(b, fmt.Sprintf("%s[%q]", path, k.String()), v.MapIndex(k))
		}
	case reflect.Pointer:
		if v.IsNil() {
			fmt.Fprintf(b, "%s: nil\n", path)
			return
		}
		renderValue(b, path, v.Elem())
	case reflect.String:
		fmt.Fprintf(b, "%s: %s\n", path, strconv.Quote(v.String()))
	default:
		fmt.Fprintf(b, "%s: %v\n", path, v.Interface())
	}
}

// TestGolden loads each testdata/*.uci and the embedded default and compares
// the model, or the errors, with the .golden file next to it.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.uci")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata/*.uci (%v)", err)
	}
	for _, path := range append(paths, "") {
		golden := strings.TrimSuffix(path, ".uci") + ".golden"
		if path == "" {
			golden = "testdata/default.golden"
		}
		t.Run(golden, func(t *testing.T) {
			var got string
			c, err := Load(path)
			if err != nil {
				got = "error:\n" + err.Error() + "\n"
			} else {
				got = render(c)
			}
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, golden, got, want)
			}
		})
	}
}

func TestThreeMistakesThreeErrors(t *testing.T) {
	errs := CheckFile("testdata/mistakes.uci")
	var lines []int
	for _, err := range errs {
		var e *Error
		if !errors.As(err, &e) || e.File != "testdata/mistakes.uci" {
			t.Fatalf("error %v is not an *Error of the file", err)
		}
		lines = append(lines, e.Line)
	}
	if want := []int{4, 7, 10}; !slices.Equal(lines, want) {
		t.Errorf("errors at lines %v, want %v:\n%v", lines, want, errs)
	}
}

// base is a valid file that the validation cases add to.
const base = "config host 'h'\n\toption domain 'example.org'\n"

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // each error as line: part of the message
	}{
		{"valid", base, nil},
		{"unknown section type", base + "config hots 'x'\n", []string{"3: unknown section type 'hots': xmppd reads xmppd, host, listener, module (did you mean host?)"}},
		{"unknown section type far from any", base + "config frobnicate\n", []string{"3: unknown section type 'frobnicate': xmppd reads xmppd, host, listener, module"}},
		{"unknown option with a suggestion", base + "\toption enabeld '1'\n", []string{"3: unknown option 'enabeld' in section 'h' (did you mean 'enabled'?)"}},
		{"unknown option far from any", "config xmppd\n\toption zzzzzz 1\n" + base, []string{"2: unknown option 'zzzzzz' in anonymous xmppd section (known: "}},
		{"second xmppd section", "config xmppd 'a'\nconfig xmppd 'b'\n" + base, []string{"2: second xmppd section: global settings belong in one, move these options to the section at line 1"}},
		{"no host", "config xmppd 'main'\n", []string{"no enabled host"}},
		{"no enabled host", base + "\toption enabled '0'\n", []string{"no enabled host"}},
		{"host without domain", base + "config host\n\toption enabled 1\n", []string{"3: anonymous host section has no option domain: add one, as in option domain 'example.org'"}},
		{"uppercase domain", "config host\n\toption domain 'Example.ORG'\n", []string{"2: domain 'Example.ORG' must be lowercase: write 'example.org'"}},
		{"domain with a user", "config host\n\toption domain 'me@example.org'\n", []string{"2: domain 'me@example.org' contains '@'"}},
		{"domain with a space", "config host\n\toption domain 'a b'\n", []string{"2: domain 'a b' contains ' '"}},
		{"domain with a trailing dot", "config host\n\toption domain 'example.org.'\n", []string{"2: ends with a dot"}},
		{"domain with an empty label", "config host\n\toption domain 'a..b'\n", []string{"2: empty label"}},
		{"domain label with dash", "config host\n\toption domain '-a.b'\n", []string{"2: starts or ends with '-'"}},
		{"domain too long", "config host\n\toption domain '" + strings.Repeat("a.", 127) + "aa'\n", []string{"2: a domain has at most 253"}},
		{"domain label too long", "config host\n\toption domain '" + strings.Repeat("a", 64) + ".b'\n", []string{"2: longer than 63"}},
		{"duplicate domain", base + "config host 'again'\n\toption domain 'example.org'\n", []string{"4: domain 'example.org' is already served by the host section at line 1"}},
		{"cert without key", base + "\toption cert '/c.pem'\n", []string{"3: option cert is set but key is not"}},
		{"key without cert", base + "\toption key '/k.pem'\n", []string{"3: option key is set but cert is not"}},
		{"listener without port", base + "config listener 'l'\n\toption tls 'direct'\n", []string{"3: section 'l' has no option port: add one, as in option port '5222'"}},
		{"port out of range", base + "config listener 'l'\n\toption port '65536'\n", []string{"4: option port: '65536' is out of range: use 1 to 65535"}},
		{"port not a number", base + "config listener 'l'\n\toption port '52x22'\n", []string{"4: option port: '52x22' is not a whole number: use 1 to 65535"}},
		{"port overflowing int", base + "config listener 'l'\n\toption port '99999999999999999999'\n", []string{"4: option port: '99999999999999999999' is out of range"}},
		{"bad tls", base + "config listener 'l'\n\toption port 1\n\toption tls 'ssl'\n", []string{"5: option tls: 'ssl' is not one of starttls, direct, none"}},
		{"bad type", base + "config listener 'l'\n\toption port 1\n\toption type 's2s'\n", []string{"5: option type: 's2s' is not one of c2s"}},
		{"bad address", base + "config listener 'l'\n\toption port 1\n\toption address 'localhost'\n", []string{"5: 'localhost' is not an IP address"}},
		{"same port twice", base + "config listener 'a'\n\toption port 5222\nconfig listener 'b'\n\toption port 5222\n", []string{"6: port 5222 is also used by the listener at line 3"}},
		{"same port, all and one address", base + "config listener 'a'\n\toption port 5222\n\toption address '10.0.0.1'\nconfig listener 'b'\n\toption port 5222\n", []string{"7: port 5222 is also used by the listener at line 3"}},
		{"same port, unspecified address", base + "config listener 'a'\n\toption port 5222\n\toption address '::'\nconfig listener 'b'\n\toption port 5222\n\toption address '10.0.0.1'\n", []string{"7: port 5222 is also used"}},
		{"same port, different addresses", base + "config listener 'a'\n\toption port 5222\n\toption address '10.0.0.1'\nconfig listener 'b'\n\toption port 5222\n\toption address '::1'\n", nil},
		{"a list where one value is expected", base + "\tlist enabled 1\n\tlist enabled 0\n", []string{"3: option enabled: takes one value, not a list"}},
		{"bad module names", "config xmppd\n\tlist modules_enabled 'ping'\n\tlist modules_enabled 'Ping'\n\tlist modules_enabled 'mod-x'\n" + base + "\toption modules_disabled 'ok 9bad'\n",
			[]string{"3: option modules_enabled: 'Ping' is not a module name", "4: option modules_enabled: 'mod-x' is not a module name", "7: option modules_disabled: '9bad' is not a module name"}},
		{"bad values in main", "config xmppd\n\toption log_level 'verbose'\n\toption c2s_open_timeout 'soon'\n\toption c2s_auth_timeout '0s'\n\toption storage_cache_size 'lots'\n\toption c2s_plain_on_loopback 'maybe'\n\toption data_dir 'a\nb'\n" + base,
			[]string{"2: option log_level: 'verbose' is not one of debug, info, warn, error", "3: option c2s_open_timeout: 'soon' is not a duration: use 1s to 10m", "4: option c2s_auth_timeout: '0s' is out of range: use 1s to 10m", "5: option storage_cache_size: 'lots' is not a size: use 0 to 1G", "6: option c2s_plain_on_loopback: 'maybe' is not a boolean", "7: option data_dir: \"a\\nb\" contains a control character"}},
		{"admin socket too long", "config xmppd\n\toption data_dir '/" + strings.Repeat("d", 100) + "'\n" + base, []string{"2: the admin socket path '/ddd"}},
		{"module without a name", base + "config module\n\toption x 1\n", []string{"3: anonymous module section without option module"}},
		{"module with a bad name", base + "config module 'Ping'\nconfig module\n\toption module 'a-b'\n", []string{"3: 'Ping' is not a module name", "5: 'a-b' is not a module name"}},
		{"module for an unknown host", base + "config module 'p'\n\toption module 'ping'\n\toption host 'other.org'\n", []string{"5: host 'other.org' is not configured"}},
		{"module twice", base + "config module 'ping'\nconfig module\n\toption module 'ping'\n", []string{"4: module 'ping' already has a section for all hosts at line 3: merge the two"}},
		{"module twice for a host", base + "config module 'a'\n\toption module 'ping'\n\toption host 'example.org'\nconfig module 'b'\n\toption module 'ping'\n\toption host 'example.org'\n",
			[]string{"8: module 'ping' already has a section for host 'example.org' at line 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("v.uci", []byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = FromFile(f)
			var got []string
			if err != nil {
				for _, e := range err.(ErrorList) {
					got = append(got, e.Error())
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				prefix := "v.uci: "
				if line, msg, ok := strings.Cut(w, ": "); ok && strings.Trim(line, "0123456789") == "" {
					prefix, w = "v.uci:"+line+": ", msg
				}
				if !strings.HasPrefix(got[i], prefix) || !strings.Contains(got[i], w) {
					t.Errorf("error %d = %q, want %q%q", i, got[i], prefix, w)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatalf("the embedded default does not load: %v", err)
	}
	if c.File != "" || c.Raw == nil || len(c.Hosts) == 0 || c.AdminSocket != "./var/xmppd.sock" {
		t.Errorf("Load(\"\") = %+v", c)
	}

	_, err = Load(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Load(missing) = %v, want a not-exist error naming the file", err)
	}

	_, err = Load("testdata/mistakes.uci")
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 3 {
		t.Errorf("Load(mistakes) = %v, want an ErrorList of 3", err)
	}

	c, err = Load("testdata/rich.uci")
	if err != nil || c.File != "testdata/rich.uci" {
		t.Fatalf("Load(rich) = %v, %v", c, err)
	}
}

func TestCheckFile(t *testing.T) {
	if errs := CheckFile(""); errs != nil {
		t.Errorf("CheckFile(\"\") = %v", errs)
	}
	if errs := CheckFile("testdata/rich.uci"); errs != nil {
		t.Errorf("CheckFile(rich) = %v", errs)
	}
	errs := CheckFile("testdata/syntax.uci")
	if len(errs) != 3 {
		t.Fatalf("CheckFile(syntax) = %v, want 3 errors", errs)
	}
	for i, line := range []int{3, 5, 9} {
		if prefix := fmt.Sprintf("testdata/syntax.uci:%d: ", line); !strings.HasPrefix(errs[i].Error(), prefix) {
			t.Errorf("error %d = %q, want the prefix %q", i, errs[i], prefix)
		}
	}
	errs = CheckFile(filepath.Join(t.TempDir(), "missing"))
	if len(errs) != 1 || !errors.Is(errs[0], fs.ErrNotExist) {
		t.Errorf("CheckFile(missing) = %v", errs)
	}
}

func TestModuleSection(t *testing.T) {
	c, err := Load("testdata/rich.uci")
	if err != nil {
		t.Fatal(err)
	}
	values := func(s *Section) string {
		if s == nil {
			return "nil"
		}
		var parts []string
		for _, o := range s.Options {
			parts = append(parts, fmt.Sprintf("%s=%q@%d", o.Name, o.Values, o.Line))
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct{ module, host, want string }{
		{"ping", "", `interval=["5m"]@53 note=["it's \"quoted\" # not a comment"]@54`},
		{"ping", "example.org", `interval=["1m"]@59 note=["it's \"quoted\" # not a comment"]@54 peers=["a" "b"]@60`},
		{"ping", "chat.example.org", `interval=["5m"]@53 note=["it's \"quoted\" # not a comment"]@54`},
		{"muc", "example.org", `persistent=["1"]@64`},
		{"none", "", "nil"},
	} {
		s := c.ModuleSection(tc.module, tc.host)
		if got := values(s); got != tc.want {
			t.Errorf("ModuleSection(%q, %q) = %s, want %s", tc.module, tc.host, got, tc.want)
		}
		if s != nil && (s.Type != "module" || s.Name != tc.module) {
			t.Errorf("ModuleSection(%q, %q) is %s %q", tc.module, tc.host, s.Type, s.Name)
		}
	}
	// A module reads its options with a Reader, and its Unknown does not
	// trip over module and host.
	r := NewReader(c.File, c.ModuleSection("ping", "example.org"))
	if d := r.Duration("interval", time.Minute, time.Second, time.Hour); d != time.Minute {
		t.Errorf("interval = %v", d)
	}
	r.List("peers")
	r.Unknown("note")
	if err := r.Err(); err != nil {
		t.Error(err)
	}
}

func TestModulesFor(t *testing.T) {
	c, err := Load("testdata/rich.uci")
	if err != nil {
		t.Fatal(err)
	}
	for domain, want := range map[string][]string{
		"example.org":      {"ping", "muc"},
		"chat.example.org": {"ping", "version", "vcard", "time"},
		"other.org":        nil,
	} {
		if got := c.ModulesFor(domain); !slices.Equal(got, want) {
			t.Errorf("ModulesFor(%q) = %q, want %q", domain, got, want)
		}
	}
	if h := c.Host("chat.example.org"); h == nil || h.Enabled || h.Line != 35 {
		t.Errorf("Host(chat.example.org) = %+v", h)
	}
}
