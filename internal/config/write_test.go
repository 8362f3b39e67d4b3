package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// shape writes f without line numbers: what Bytes has to preserve.
func shape(f *File) string {
	var b strings.Builder
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "%s %q\n", s.Type, s.Name)
		for _, o := range s.Options {
			fmt.Fprintf(&b, "  %s list=%v %q\n", o.Name, o.List, o.Values)
		}
	}
	return b.String()
}

// roundTrip checks that f survives Bytes and Parse, and that Bytes is stable.
func roundTrip(t testing.TB, f *File) {
	t.Helper()
	out := f.Bytes()
	g, err := Parse("rewritten", out)
	if err != nil {
		t.Fatalf("Bytes() does not parse: %v\n%s", err, out)
	}
	if a, b := shape(f), shape(g); a != b {
		t.Fatalf("Parse(Bytes()) differs:\nbefore:\n%s\nafter:\n%s\nbytes:\n%s", a, b, out)
	}
	if again := g.Bytes(); !bytes.Equal(again, out) {
		t.Fatalf("Bytes() is not stable:\n%s\nthen:\n%s", out, again)
	}
}

func TestRoundTripFiles(t *testing.T) {
	inputs := map[string][]byte{"default": Default()}
	paths, _ := filepath.Glob("testdata/*.uci")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs[p] = data
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			f, err := Parse(name, data)
			if err != nil && !strings.Contains(name, "syntax") {
				t.Fatal(err)
			}
			roundTrip(t, f)
			if c1, err := FromFile(f); err == nil {
				g, _ := Parse("rewritten", f.Bytes())
				c2, err := FromFile(g)
				if err != nil {
					t.Fatalf("the rewritten file does not load: %v", err)
				}
				c1.File, c1.Raw, c2.File, c2.Raw = "", nil, "", nil
				if a, b := withoutLines(render(c1)), withoutLines(render(c2)); a != b {
					t.Errorf("the model changed on rewriting:\n%s\nthen:\n%s", a, b)
				}
			}
		})
	}
}

// withoutLines drops line numbers from a rendered model, which rewriting changes.
func withoutLines(s string) string {
	return lineField.ReplaceAllString(s, "")
}

var lineField = regexp.MustCompile(`(?m)^.*\.Line: \d+\n| line \d+`)

func TestRoundTripAwkwardValues(t *testing.T) {
	values := []string{
		"it's", "'", "''", `\`, `a\'b`, "\"", "#", "a # b", ";", "a;b", "new\nline", "\r\n", "\ttab",
		" lead", "trail ", "$HOME", "`x`", "grüße ☃", "\x01\x7f", "\xff\xfe", "}{", "config t", "\\\n",
	}
	f := &File{Sections: []*Section{
		{Type: "t", Name: "x"},
		{Type: "t"},
	}}
	for i, v := range values {
		f.Sections[0].Options = append(f.Sections[0].Options, &Option{Name: fmt.Sprintf("o%d", i), Values: []string{v}})
	}
	f.Sections[1].Options = append(f.Sections[1].Options, &Option{Name: "l", Values: append([]string{""}, values...), List: true})
	roundTrip(t, f)
}

func TestBytesFormat(t *testing.T) {
	f := &File{Sections: []*Section{
		{Type: "xmppd", Name: "main", Options: []*Option{
			{Name: "a", Values: []string{"it's"}},
			{Name: "empty", Values: []string{""}},
			{Name: "none"},
			{Name: "l", Values: []string{"1", "2"}, List: true},
			{Name: "m", Values: []string{"3", "4"}},
		}},
		{Type: "host"},
	}}
	want := "\nconfig xmppd 'main'\n\toption a 'it'\\''s'\n\tlist l '1'\n\tlist l '2'\n\tlist m '3'\n\tlist m '4'\n\nconfig host\n\n"
	if got := string(f.Bytes()); got != want {
		t.Errorf("Bytes() =\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "xmppd")

	if err := WriteFileAtomic(path, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, "one\n", 0o600)

	// Replacing sets the new mode and leaves no temporary file behind.
	if err := WriteFileAtomic(path, []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, "two\n", 0o644)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries after two writes, want 1", len(entries))
	}

	// A symbolic link stays a link; the file it points to is replaced.
	link := filepath.Join(dir, "link")
	if err := os.Symlink("xmppd", link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if err := WriteFileAtomic(link, []byte("three\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file (%v, %v)", fi, err)
	}
	checkFile(t, path, "three\n", 0o600)
}

func TestWriteFileAtomicFails(t *testing.T) {
	dir := t.TempDir()
	err := WriteFileAtomic(filepath.Join(dir, "missing", "xmppd"), []byte("x"), 0o600)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("writing into a missing directory: %v, want a not-exist error", err)
	}
	// A directory where the file should be: the rename fails and the
	// temporary file is removed.
	if err := os.Mkdir(filepath.Join(dir, "xmppd"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "xmppd"), []byte("x"), 0o600); err == nil {
		t.Fatal("replacing a directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed write left %d entries, want only the directory", len(entries))
	}
}

func checkFile(t *testing.T, path, want string, perm os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || string(data) != want {
		t.Fatalf("%s holds %q (%v), want %q", path, data, err, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != perm {
		t.Errorf("%s has mode %v (%v), want %v", path, fi.Mode().Perm(), err, perm)
	}
}

// TestCommit checks the file uci commit would leave: the mode of the file
// it replaces, 0600 for a new one, the link kept, no temporary file left.
func TestCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "xmppd")
	f, err := Parse("x", []byte("config xmppd 'main'\noption a b\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := string(f.Bytes())
	if err := Commit(path, f); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, want, 0o600)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("xmppd", link); err != nil {
		t.Fatal(err)
	}
	f.Sections[0].Options[0].Values[0] = "c"
	if err := Commit(link, f); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, string(f.Bytes()), 0o640)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file (%v, %v)", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("directory holds %d entries, want the file and the link", len(entries))
	}
}
