package config

import (
	"strconv"
	"strings"
)

// maxErrors bounds how many errors one pass reports: past that, the rest are
// usually echoes of the first mistakes (a quote left open, a file that is not UCI).
const maxErrors = 20

// Error is one problem in a configuration file, located at a line.
type Error struct {
	File string
	Line int // 1-based; 0 when the problem concerns the file as a whole
	Msg  string
}

// Error formats e as file:line: msg, the form editors and compilers use, so the
// location can be clicked in a terminal.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in one file, in the order of their lines.
type ErrorList []*Error

// Error prints one error per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap exposes the single errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// err returns l as an error, or a true nil when l is empty: a nil ErrorList
// stored in an error interface would compare unequal to nil.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// quote shows a name or value in a message the way a UCI file writes it, and
// falls back to Go quoting when single quotes would hide what is in it.
func quote(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f || c == '\'' || c >= 0x80 {
			return strconv.Quote(s)
		}
	}
	return "'" + s + "'"
}
