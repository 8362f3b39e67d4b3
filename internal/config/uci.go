package config

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

// describe names a section in messages: by name when it has one, else by type
// and line, since an anonymous section has nothing else to go by.
func (s *Section) describe() string {
	if s.Name != "" {
		return "section " + quote(s.Name)
	}
	return "anonymous " + s.Type + " section"
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
