package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// File is a parsed UCI file: its sections in file order, comments dropped.
// Named sections are unique: a second `config` line with the same name
// reopened the first one while parsing (see Parse).
type File struct {
	Name     string // where the file came from, used in errors
	Sections []*Section
}

// Section is one `config <type> ['<name>']` block.
type Section struct {
	Type    string
	Name    string // "" for an anonymous section
	Line    int    // line of the first `config` statement that opened it
	Options []*Option

	// seq is the section's number in the order sections were opened, from 1,
	// which libuci puts in the name it gives an anonymous section; 0 for a
	// section built by hand.
	seq int
}

// Option is one option or list of a section.
type Option struct {
	Name string
	// Values holds exactly one value for a plain option and the items, in
	// order, for a list.
	Values []string
	List   bool
	Line   int // the statement that set the value, or the first item of a list

	// lines holds the line of each item of a list, so a bad item can be
	// reported where it is; nil for options built by hand.
	lines []int
}

// Section returns the section of type typ called name, or nil. Section names
// are unique in a file, so typ only guards against finding a section of
// another kind; an empty typ matches any type.
func (f *File) Section(typ, name string) *Section {
	if name == "" {
		return nil
	}
	for _, s := range f.Sections {
		if s.Name == name && (typ == "" || s.Type == typ) {
			return s
		}
	}
	return nil
}

// SectionsOf returns the sections of type typ, named and anonymous, in file order.
func (f *File) SectionsOf(typ string) []*Section {
	var out []*Section
	for _, s := range f.Sections {
		if s.Type == typ {
			out = append(out, s)
		}
	}
	return out
}

// Option returns the option called name, or nil.
func (s *Section) Option(name string) *Option {
	if s == nil {
		return nil
	}
	for _, o := range s.Options {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// LineOf returns the line of item i of a list, or o.Line when it is not known.
func (o *Option) LineOf(i int) int {
	if i >= 0 && i < len(o.lines) {
		return o.lines[i]
	}
	return o.Line
}

// ID returns the name libuci gives section s of f: its own name, or for an
// anonymous section cfg, the section's number (from 1, among all sections
// of the file, two hex digits at least) and four hex digits of the djb2 hash
// of its type, as in cfg01e63d. uci show -X prints these names, and LuCI and
// the uci command address anonymous sections by them.
//
// libuci hashes the options too, but names a section when it opens it,
// before it has any, so only the type counts for a file that is read.
func (f *File) ID(s *Section) string {
	if s.Name != "" {
		return s.Name
	}
	n := s.seq
	if n == 0 {
		n = slices.Index(f.Sections, s) + 1
	}
	return fmt.Sprintf("cfg%02x%04x", n, djb2(s.Type)%(1<<16))
}

// djb2 is the string hash libuci names anonymous sections with, masked to
// 31 bits as libuci does.
func djb2(s string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = h*33 + uint32(s[i])
	}
	return h & 0x7fffffff
}

// Lookup finds a section the ways the uci command and LuCI address one: by
// name, by the cfgXXXXXX name of an anonymous section (see ID), or by an
// extended reference @type[N], the N-th section of that type in file order
// from 0, or counted from the end when N is negative (@type[-1] is the
// last); @[N] counts sections of every type. It returns nil when no section
// matches, and an error when ref is not a valid reference.
func (f *File) Lookup(ref string) (*Section, error) {
	if !strings.HasPrefix(ref, "@") {
		if !validName(ref) {
			return nil, fmt.Errorf("invalid section reference %s: give a name of letters, digits and _, or @type[N]", quote(ref))
		}
		for _, s := range f.Sections {
			if f.ID(s) == ref {
				return s, nil
			}
		}
		return nil, nil
	}
	typ, rest, ok := strings.Cut(ref[1:], "[")
	idx, ok2 := strings.CutSuffix(rest, "]")
	n, err := strconv.Atoi(idx)
	if !ok || !ok2 || err != nil || typ != "" && !validType(typ) {
		return nil, fmt.Errorf("invalid section reference %s: write @type[N], as in @host[0] or @listener[-1]", quote(ref))
	}
	var of []*Section
	for _, s := range f.Sections {
		if typ == "" || s.Type == typ {
			of = append(of, s)
		}
	}
	if n < 0 {
		n += len(of)
	}
	if n < 0 || n >= len(of) {
		return nil, nil
	}
	return of[n], nil
}

// describe names a section in messages: by name when it has one, else by type
// and line, since an anonymous section has nothing else to go by.
func (s *Section) describe() string {
	if s.Name != "" {
		return "section " + quote(s.Name)
	}
	return "anonymous " + s.Type + " section"
}

// validType reports whether s is a section type as libuci accepts it: any
// printable ASCII character but space.
func validType(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

// validName reports whether s is a UCI section or option name. libuci allows
// only these characters so that names can be shell variables in init scripts.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
