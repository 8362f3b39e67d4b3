package config

import (
	"bytes"
	"fmt"
	"strings"
)

// Parse reads a UCI file the way libuci's strict parser does, but reports
// every error it can (up to maxErrors) instead of stopping at the first. name
// is used in errors. When there are errors, the returned File holds what could
// be parsed, and err is an ErrorList.
//
// Statements, one per line or separated by ';':
//
//	config <type> ['<name>']   start a section; no or an empty name: anonymous
//	option <name> '<value>'    set an option of the current section
//	list <name> '<value>'      append an item to a list option
//	package <name>             accepted and ignored, as libuci does for files
//
// libuci's one-letter abbreviations c, o, l and p are accepted too. Section
// and option names are made of [A-Za-z0-9_]; a section type may hold any
// printable ASCII character but space, as in libuci (config my-type is valid
// UCI; the mapping to Config then says which types xmppd reads).
//
// Tokens are split and quoted much as in a POSIX shell: single quotes keep
// everything literally, double quotes and bare words take a backslash as
// escaping the next character, a backslash before a newline joins the lines,
// quotes may span lines and keep the newlines, and pieces without space
// between them form one token. So a single quote inside a single-quoted value
// is written by closing the quotes, adding an escaped quote and reopening:
//
//	option motd 'it'\''s'
//
// libuci differs from a shell in three ways, and this parser follows libuci:
//   - a backslash escapes any character in double quotes, not only $ ` " \
//     and newline, so "a\nb" is "anb", not a, backslash, n, b;
//   - an unquoted # ends the line even inside a word: foo#bar is foo;
//   - there is no expansion of any kind ($VAR, globs, ~).
//
// Semantics follow libuci too:
//   - a second config line with the name of an existing section reopens that
//     section and its options are added to it (a name is unique per file); if
//     the type differs it is an error, as in libuci's strict mode;
//   - option with an empty or missing value does nothing (libuci never stores
//     an empty option), and a repeated option replaces the earlier value;
//   - list after option of the same name turns the option into a list, and
//     option after list replaces the list.
//
// One deviation: a backslash-newline between two tokens is only a line
// continuation, as in a shell, while libuci would see an empty token there.
func Parse(name string, data []byte) (*File, error) {
	p := &parser{name: name, data: data, line: 1, f: &File{Name: name}, named: map[string]*Section{}}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		p.errorf(1+bytes.Count(data[:i], []byte{'\n'}), "NUL byte in the file: it is binary or damaged, not UCI text")
		return p.f, p.errs.err()
	}
	for !p.stop && p.pos < len(p.data) {
		if args := p.statement(); len(args) > 0 && !p.stop {
			p.exec(args)
		}
	}
	return p.f, p.errs.err()
}

type parser struct {
	name  string
	data  []byte
	pos   int
	line  int
	f     *File
	named map[string]*Section
	errs  ErrorList

	// cur is the section options go to; nil before the first config line
	// and after a rejected one.
	cur *Section
	// dropping is set after a rejected config line, so that its options are
	// skipped without one error each: the config line's error says it all.
	dropping bool
	// stop ends parsing: the error limit was reached, or a quote was left open
	// and swallowed the rest of the file.
	stop bool
}

// token is one argument of a statement.
type token struct {
	text string
	line int
	// bare is true when the token had no quotes and no backslashes: only a
	// bare word can be a keyword, as libuci splits the keyword off unparsed.
	bare bool
}

func (p *parser) errorf(line int, format string, args ...any) {
	if p.stop {
		return
	}
	if len(p.errs) == maxErrors {
		p.errs = append(p.errs, &Error{File: p.name, Line: line, Msg: "too many errors; fix the ones above and check again"})
		p.stop = true
		return
	}
	p.errs = append(p.errs, &Error{File: p.name, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// isBlank reports the characters that separate tokens within a statement:
// C isspace without the newline. A carriage return is one, so CRLF files parse.
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

// statement reads the tokens of one statement: up to a newline, a ';', a
// comment or the end of the input.
func (p *parser) statement() []token {
	var args []token
	for !p.stop {
		for p.pos < len(p.data) && isBlank(p.data[p.pos]) {
			p.pos++
		}
		if p.pos >= len(p.data) {
			return args
		}
		switch p.data[p.pos] {
		case '\n':
			p.pos++
			p.line++
			return args
		case ';':
			p.pos++
			return args
		case '#':
			for p.pos < len(p.data) && p.data[p.pos] != '\n' {
				p.pos++
			}
			return args
		}
		if t, ok := p.token(); ok {
			args = append(args, t)
		}
	}
	return args
}

// token reads one token. It stops before the character that ends it, and ok is
// false when it read nothing but line continuations.
func (p *parser) token() (t token, ok bool) {
	t = token{line: p.line, bare: true}
	var b strings.Builder
	for p.pos < len(p.data) && !p.stop {
		c := p.data[p.pos]
		switch {
		case c == '\'':
			t.bare, ok = false, true
			p.singleQuoted(&b)
		case c == '"':
			t.bare, ok = false, true
			p.doubleQuoted(&b)
		case c == '\\':
			t.bare = false
			p.pos++
			if p.continuation() {
				continue
			}
			b.WriteByte(p.data[p.pos])
			p.pos++
			ok = true
		case isBlank(c) || c == '\n' || c == ';' || c == '#':
			t.text = b.String()
			return t, ok
		default:
			b.WriteByte(c)
			p.pos++
			ok = true
		}
	}
	t.text = b.String()
	return t, ok
}

// continuation consumes a newline (LF or CRLF) right after a backslash and
// reports whether there was one. A backslash at the very end of the input is
// dropped, as libuci does.
func (p *parser) continuation() bool {
	switch {
	case p.pos >= len(p.data):
		return true
	case p.data[p.pos] == '\n':
		p.pos++
		p.line++
		return true
	case p.data[p.pos] == '\r' && p.pos+1 < len(p.data) && p.data[p.pos+1] == '\n':
		p.pos += 2
		p.line++
		return true
	}
	return false
}

func (p *parser) singleQuoted(b *strings.Builder) {
	open := p.line
	p.pos++
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		p.pos++
		if c == '\'' {
			return
		}
		if c == '\n' {
			p.line++
		}
		b.WriteByte(c)
	}
	p.unterminated(open, '\'')
}

func (p *parser) doubleQuoted(b *strings.Builder) {
	open := p.line
	p.pos++
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		p.pos++
		switch c {
		case '"':
			return
		case '\\':
			if p.continuation() {
				continue
			}
			c = p.data[p.pos]
			p.pos++
		}
		if c == '\n' {
			p.line++
		}
		b.WriteByte(c)
	}
	p.unterminated(open, '"')
}

func (p *parser) unterminated(line int, q byte) {
	p.errorf(line, "the %c opened on this line is never closed: add the closing %c (write a %c inside a value as %s)",
		q, q, q, map[byte]string{'\'': `'\''`, '"': `\"`}[q])
	p.stop = true
}

// exec runs one statement. libuci reads the arguments a statement takes
// and then one more, which must be empty; whatever follows that is the next
// statement of the line: option a b, an empty quoted argument, then
// config c is two statements.
func (p *parser) exec(args []token) {
	if len(args) > 4 && args[0].bare && args[3].text == "" && (args[0].text != "package" && args[0].text != "p") {
		defer p.exec(args[4:])
		args = args[:4]
	} else if len(args) > 3 && args[0].bare && args[2].text == "" && (args[0].text == "package" || args[0].text == "p") {
		defer p.exec(args[3:])
		args = args[:3]
	}
	kw := args[0]
	if !kw.bare {
		p.errorf(kw.line, "a statement starts with a bare config, option, list or package, not %s", quote(kw.text))
		return
	}
	switch kw.text {
	case "config", "c":
		p.config(args)
	case "option", "o":
		p.option(args, false)
	case "list", "l":
		p.option(args, true)
	case "package", "p":
		if len(args) < 2 || len(args) > 3 || len(args) == 3 && args[2].text != "" || !validPackage(args[1].text) {
			p.errorf(kw.line, "package takes one name made of letters, digits, _ and -, as in package xmppd")
		}
	default:
		hint := ""
		if near := closest(kw.text, []string{"config", "option", "list", "package"}); near != "" {
			hint = " (did you mean " + near + "?)"
		} else if p.cur != nil && len(args) == 2 && validName(kw.text) {
			hint = " (did you mean option " + kw.text + " " + quote(args[1].text) + "?)"
		}
		p.errorf(kw.line, "unknown statement %s: a line starts with config, option, list or package%s", quote(kw.text), hint)
	}
}

func (p *parser) config(args []token) {
	p.cur, p.dropping = nil, true
	kw := args[0]
	if len(args) < 2 || args[1].text == "" {
		p.errorf(kw.line, "config needs a section type, as in config host 'example'")
		return
	}
	typ, name := args[1], ""
	if !validType(typ.text) {
		p.errorf(typ.line, "invalid section type %s: use printable characters without spaces, as in %s", quote(typ.text), quote(nameLike(typ.text)))
		return
	}
	if len(args) > 2 {
		name = args[2].text
		if name != "" && !validName(name) {
			p.errorf(args[2].line, "invalid section name %s: use only letters, digits and _, as in %s", quote(name), quote(nameLike(name)))
			return
		}
	}
	if len(args) > 3 && args[3].text != "" {
		p.errorf(args[3].line, "too many words after config: it takes a type and an optional name; quote a name that contains spaces (and then replace them with _)")
		return
	}
	if name == "" {
		p.open(&Section{Type: typ.text, Line: kw.line})
		return
	}
	if s := p.named[name]; s != nil {
		if s.Type != typ.text {
			p.errorf(kw.line, "section %s is already a %s section (line %d): a name belongs to one section only, rename one of them", quote(name), s.Type, s.Line)
			return
		}
		// libuci reopens the section, and so does the shell library init scripts use.
		p.cur, p.dropping = s, false
		return
	}
	s := &Section{Type: typ.text, Name: name, Line: kw.line}
	p.named[name] = s
	p.open(s)
}

func (p *parser) open(s *Section) {
	p.f.Sections = append(p.f.Sections, s)
	s.seq = len(p.f.Sections)
	p.cur, p.dropping = s, false
}

func (p *parser) option(args []token, list bool) {
	kw := args[0]
	stmt := "option"
	if list {
		stmt = "list"
	}
	if p.cur == nil {
		if !p.dropping {
			p.errorf(kw.line, "%s before the first config line: start a section first, as in config xmppd 'main'", stmt)
		}
		return
	}
	if len(args) < 2 || args[1].text == "" {
		p.errorf(kw.line, "%s needs a name and a value, as in %s name 'value'", stmt, stmt)
		return
	}
	name := args[1].text
	if !validName(name) {
		p.errorf(args[1].line, "invalid option name %s: use only letters, digits and _, as in %s", quote(name), quote(nameLike(name)))
		return
	}
	if len(args) > 3 && args[3].text != "" {
		p.errorf(args[3].line, "too many values for %s %s: quote a value that contains spaces, as in %s %s 'a b'", stmt, name, stmt, name)
		return
	}
	value := ""
	if len(args) >= 3 {
		value = args[2].text
	}
	s, line := p.cur, kw.line
	o := s.Option(name)
	switch {
	case !list && value == "":
		// libuci never stores an empty option; the line changes nothing.
	case !list && o == nil:
		s.Options = append(s.Options, &Option{Name: name, Values: []string{value}, Line: line})
	case !list:
		o.Values, o.List, o.Line, o.lines = []string{value}, false, line, nil
	case o == nil:
		s.Options = append(s.Options, &Option{Name: name, Values: []string{value}, List: true, Line: line, lines: []int{line}})
	case !o.List:
		o.Values = []string{o.Values[0], value}
		o.List, o.lines = true, []int{o.Line, line}
	default:
		o.Values = append(o.Values, value)
		o.lines = append(o.lines, line)
	}
}

// validPackage reports whether s is a package name as libuci accepts it.
func validPackage(s string) bool {
	return s != "" && validName(strings.ReplaceAll(s, "-", "_"))
}

// nameLike suggests a valid name for s, so the error can show what to write.
func nameLike(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x80 && validName(string(r)) {
			return r
		}
		return '_'
	}, s)
	if s == "" {
		return "name"
	}
	return s
}
