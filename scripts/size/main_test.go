package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestModuleOf(t *testing.T) {
	mods := []string{"xmppd", "github.com/cockroachdb/pebble/v2", "github.com/cockroachdb/errors", "golang.org/x/text", "gopkg.in/yaml.v3"}
	for _, c := range []struct{ sym, want string }{
		{"runtime.main", "std"},
		{"crypto/tls.(*Conn).Read", "std"},
		{"crypto/internal/entropy/v1%2e0%2e0.Seed", "std"},
		{"vendor/golang.org/x/text/unicode/norm.decomps", "std"},
		{"golang.org/x/text/unicode/norm.decomps", "golang.org/x/text"},
		{"main.main", "xmppd"},
		{"xmppd/internal/storage.Open", "xmppd"},
		{"github.com/cockroachdb/pebble/v2.Open", "github.com/cockroachdb/pebble/v2"},
		{"github.com/cockroachdb/pebble/v2/internal/base.(*InternalKey).String", "github.com/cockroachdb/pebble/v2"},
		// A promoted method names the embedded type's package after the
		// first dot; the symbol is the outer package's.
		{"github.com/cockroachdb/pebble/v2.WALFailoverOptions.github.com/cockroachdb/pebble/v2/wal.FailoverOptions.EnsureDefaults", "github.com/cockroachdb/pebble/v2"},
		{"github.com/cockroachdb/errors.Wrap", "github.com/cockroachdb/errors"},
		{"github.com/cockroachdb/errorsx.Wrap", "std"}, // not the module: looks like a path
		{"gopkg.in/yaml.v3.Marshal", "gopkg.in/yaml.v3"},
		{"type:.eq.[10]github.com/cockroachdb/pebble/v2.mergingIterLevel", "github.com/cockroachdb/pebble/v2"},
		{"type:*github.com/cockroachdb/pebble/v2.DB", "github.com/cockroachdb/pebble/v2"},
		{"go:itab.*bufio.Reader,github.com/cockroachdb/pebble/v2/internal/manifest.byteReader", "std"},
		{"go:itab.*xmppd/internal/storage.slogLogger,github.com/cockroachdb/pebble/v2.Logger", "xmppd"},
		{"slices.Sort[go.shape.int]", "std"},
		{".gcmask.github.com/cockroachdb/pebble/v2/wal", "github.com/cockroachdb/pebble/v2"},
		{"go:func.*", ""},
		{"go:string.*", ""},
		{"type:.eq.struct { a int }", ""},
		{"type:*", ""},
	} {
		if got := moduleOf(c.sym, mods, "xmppd"); got != c.want {
			t.Errorf("moduleOf(%q) = %q, want %q", c.sym, got, c.want)
		}
	}
}

func TestParseNM(t *testing.T) {
	out := []byte(`  d86b40   33554432 D crypto/internal/fips140/drbg.memory
  5e4064        168 T type:.eq.[10]interface {}
                  0 U runtime.unknown
   11000         44 t runtime.text

`)
	syms, err := parseNM(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []symbol{
		{0xd86b40, 33554432, 'D', "crypto/internal/fips140/drbg.memory"},
		{0x5e4064, 168, 'T', "type:.eq.[10]interface {}"},
		{0x11000, 44, 't', "runtime.text"},
	}
	if len(syms) != len(want) {
		t.Fatalf("parseNM = %+v", syms)
	}
	for i := range want {
		if syms[i] != want[i] {
			t.Errorf("symbol %d = %+v, want %+v", i, syms[i], want[i])
		}
	}
	if _, err := parseNM([]byte("garbage line\n")); err == nil {
		t.Error("parseNM accepted a line that is not nm's")
	}
}

func TestBudgets(t *testing.T) {
	b, err := parseBudgets(`
# comment
linux-mipsle 14_500_000 3300000  # raw and xz
linux-arm64  13000000
linux-armv7  -        3000000
`)
	if err != nil {
		t.Fatal(err)
	}
	if b["linux-mipsle"] != (budget{14500000, 3300000}) || b["linux-arm64"] != (budget{13000000, 0}) || b["linux-armv7"] != (budget{0, 3000000}) {
		t.Errorf("parseBudgets = %+v", b)
	}
	for _, bad := range []string{"linux-mipsle", "linux-mipsle 1 2 3", "linux-mipsle ten", "linux-mipsle 0", "a 1\na 2"} {
		if _, err := parseBudgets(bad); err == nil {
			t.Errorf("parseBudgets(%q) accepted it", bad)
		}
	}

	limit := budget{raw: 100, xz: 50}
	if shown, over := limit.check(sizes{raw: 100, xz: 50}); len(over) != 0 || !strings.Contains(shown, "≤ 100") {
		t.Errorf("at the limit: %q, %q", shown, over)
	}
	if shown, over := limit.check(sizes{raw: 101, xz: 10}); len(over) != 1 || !strings.Contains(shown, "OVER") || !strings.Contains(over[0], "101 > 100") {
		t.Errorf("over the limit: %q, %q", shown, over)
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 13959361: "13,959,361", -1234: "-1,234"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestTableBudget runs the table on small files: within budget it passes,
// beyond it the error says so, and a budgeted target that was not measured
// also fails.
func TestTableBudget(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("no xz (Debian: xz-utils)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "xmppd-linux-mipsle")
	if err := os.WriteFile(bin, bytes.Repeat([]byte("xmppd "), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	budgetFile := filepath.Join(dir, "budget")
	write := func(s string) {
		if err := os.WriteFile(budgetFile, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var out bytes.Buffer
	write("linux-mipsle 6000 1000\n")
	if err := runTable([]string{"-budget", budgetFile, bin}, &out); err != nil {
		t.Fatalf("within budget: %v\n%s", err, &out)
	}
	if !strings.Contains(out.String(), "linux-mipsle") || !strings.Contains(out.String(), "6,000") {
		t.Errorf("table:\n%s", &out)
	}

	out.Reset()
	write("linux-mipsle 5999\n")
	if err := runTable([]string{"-budget", budgetFile, bin}, &out); !errors.Is(err, errOverBudget) || !strings.Contains(out.String(), "6,000 > 5,999") {
		t.Errorf("over budget: %v\n%s", err, &out)
	}

	out.Reset()
	write("linux-mipsle 6000\nlinux-arm64 6000\n")
	if err := runTable([]string{"-budget", budgetFile, bin}, &out); !errors.Is(err, errOverBudget) || !strings.Contains(out.String(), "linux-arm64: has a budget but was not measured") {
		t.Errorf("unmeasured target: %v\n%s", err, &out)
	}
}

// TestModulesOfProgram builds a small program with symbols and breaks it
// down.
func TestModulesOfProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(greeting()) }\n\n//go:noinline\nfunc greeting() string { return \"hello\" }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exe := filepath.Join(dir, "hello")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-w", "-o", exe, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	r, err := breakdown(exe)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.modules) != 2 || r.modules[0].name != "std" || r.modules[1].name != "example.com/hello" || r.modules[1].code == 0 {
		t.Fatalf("modules = %+v; want std, then example.com/hello with code", r.modules)
	}
	var sum int64
	for _, m := range r.modules {
		sum += m.total()
	}
	if sum+r.other+r.rest != r.loaded || r.rest < 0 || r.loaded > r.file {
		t.Errorf("modules %d + other %d + rest %d != loaded %d (file %d)", sum, r.other, r.rest, r.loaded, r.file)
	}
	var out bytes.Buffer
	r.write(&out, 1)
	if !strings.Contains(out.String(), "(1 more module)") {
		t.Errorf("report with -top 1:\n%s", &out)
	}
}
