package main

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// The generator reads with a splitter instead of encoding/xml: it only has
// to find where each top-level element ends and pick a few attributes out
// of it, and at tens of thousands of stanzas a second a full decoder would
// cost more CPU than the server under test. It accepts any well-formed
// stream whatever the quoting, prefixes or whitespace, which differ between
// servers, and trusts the server for the rest.

// Kinds of what next returns.
const (
	kindStanza = iota // a complete child of the stream root
	kindOpen          // a stream header (the root's start tag)
	kindClose         // the root's end tag
)

// maxElement bounds one top-level element; a server sending more is broken.
const maxElement = 1 << 20

var errTooLarge = errors.New("element larger than 1 MiB")

// splitter cuts the bytes of an XMPP stream into top-level elements.
type splitter struct {
	r          io.Reader
	buf        []byte
	start, end int // unread bytes are buf[start:end]
	pos        int // buf[start:pos] has been scanned; pos is at a tag or at end
	depth      int // open elements inside the root, at pos
	// beforeRead, when set, runs before next blocks on a read: a reader
	// answering a batch of stanzas answers them together there.
	beforeRead func()
	// bytes counts what was read, for the framing cost per stanza; others
	// read it while the reader runs.
	bytes atomic.Int64
}

func newSplitter(r io.Reader) *splitter {
	return &splitter{r: r, buf: make([]byte, 4096)}
}

// reset reads from r from now on, forgetting buffered bytes: after
// STARTTLS the plaintext that came before is of no further use.
func (s *splitter) reset(r io.Reader) {
	s.r, s.start, s.end, s.pos, s.depth = r, 0, 0, 0, 0
}

// next returns the next element; its bytes are valid until the next call.
func (s *splitter) next() (kind int, el []byte, err error) {
	for {
		if kind, el, ok := s.scan(); ok {
			return kind, el, nil
		}
		if err := s.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// fill reads more, moving the unread bytes to the front or growing the
// buffer when it is full.
func (s *splitter) fill() error {
	if s.start > 0 && (s.end == len(s.buf) || s.start == s.end) {
		n := copy(s.buf, s.buf[s.start:s.end])
		s.pos -= s.start
		s.start, s.end = 0, n
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= maxElement {
			return errTooLarge
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	if s.beforeRead != nil {
		s.beforeRead()
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	s.bytes.Add(int64(n))
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// scan advances over complete tags and reports an element when one ends.
func (s *splitter) scan() (int, []byte, bool) {
	b := s.buf[:s.end]
	for {
		i := bytes.IndexByte(b[s.pos:], '<')
		if i < 0 {
			s.pos = s.end
			if s.depth == 0 {
				s.start = s.end // whitespace between stanzas
			}
			return 0, nil, false
		}
		lt := s.pos + i
		if s.depth == 0 {
			s.start = lt
		}
		s.pos = lt
		gt, ok := tagEnd(b, lt)
		if !ok {
			return 0, nil, false
		}
		s.pos = gt + 1
		tag := b[lt : gt+1]
		switch {
		case len(tag) > 1 && (tag[1] == '?' || tag[1] == '!'):
			// The XML declaration, a comment or a doctype: nothing to count.
			if s.depth == 0 {
				s.start = s.pos
			}
		case tag[1] == '/':
			if s.depth == 0 {
				s.start = s.pos
				return kindClose, tag, true
			}
			s.depth--
			if s.depth == 0 {
				el := b[s.start:s.pos]
				s.start = s.pos
				return kindStanza, el, true
			}
		case tag[len(tag)-2] == '/':
			if s.depth == 0 {
				s.start = s.pos
				return kindStanza, tag, true
			}
		default:
			if s.depth == 0 && localName(tagName(tag)) == "stream" {
				s.start = s.pos
				return kindOpen, tag, true
			}
			s.depth++
		}
	}
}

// tagEnd finds the '>' that closes the tag starting at b[lt], skipping
// quoted attribute values (which may hold '>'), and comments and CDATA
// sections whole.
func tagEnd(b []byte, lt int) (int, bool) {
	rest := b[lt:]
	for _, p := range [...]struct{ open, close string }{{"<!--", "-->"}, {"<![CDATA[", "]]>"}} {
		if bytes.HasPrefix(rest, []byte(p.open)) {
			j := bytes.Index(rest[len(p.open):], []byte(p.close))
			if j < 0 {
				return 0, false
			}
			return lt + len(p.open) + j + len(p.close) - 1, true
		}
	}
	var quote byte
	for j := lt + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '>':
			return j, true
		}
	}
	return 0, false
}

// tagName returns the qualified name of the start or end tag el begins with.
func tagName(el []byte) []byte {
	i := 1
	if len(el) > 1 && el[1] == '/' {
		i = 2
	}
	j := i
	for j < len(el) && !isSpace(el[j]) && el[j] != '>' && el[j] != '/' {
		j++
	}
	return el[i:j]
}

// localName strips a namespace prefix.
func localName(name []byte) string {
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return string(name)
}

// nameIs reports whether el's element has the local name want, without
// allocating.
func nameIs(el []byte, want string) bool {
	name := tagName(el)
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return string(name) == want
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// attr returns the raw value of attribute name on el's start tag, and
// whether it is there. Entities are left as sent; the values read here
// (ids, types, JIDs of the bench accounts) have none. It stops at the end
// of the start tag, so a child's attributes are never taken for el's.
func attr(el []byte, name string) ([]byte, bool) {
	i := len(tagName(el)) + 1
	for i < len(el) {
		for i < len(el) && (isSpace(el[i]) || el[i] == '/') {
			i++
		}
		if i >= len(el) || el[i] == '>' {
			break
		}
		ns := i
		for i < len(el) && el[i] != '=' && el[i] != '>' && !isSpace(el[i]) {
			i++
		}
		an := el[ns:i]
		for i < len(el) && (isSpace(el[i]) || el[i] == '=') {
			i++
		}
		if i >= len(el) {
			break
		}
		q := el[i]
		if q != '\'' && q != '"' {
			break
		}
		j := bytes.IndexByte(el[i+1:], q)
		if j < 0 {
			break
		}
		v := el[i+1 : i+1+j]
		i += j + 2
		if string(an) == name {
			return v, true
		}
	}
	return nil, false
}

// attrOf is attr for an element that may be missing.
func attrOf(el []byte, name string) []byte {
	if el == nil {
		return nil
	}
	v, _ := attr(el, name)
	return v
}

// quoted writes an attribute value in whichever quote it does not hold.
func quoted(v []byte) string {
	if bytes.IndexByte(v, '\'') >= 0 {
		return `"` + string(v) + `"`
	}
	return "'" + string(v) + "'"
}

// attrString is attr as a string, "" when absent.
func attrString(el []byte, name string) string {
	v, _ := attr(el, name)
	return string(v)
}

// child returns the first element below el (at any depth) with local name
// want, whole, or nil.
func child(el []byte, want string) []byte {
	first := true
	for i := 0; i < len(el); {
		j := bytes.IndexByte(el[i:], '<')
		if j < 0 {
			return nil
		}
		lt := i + j
		gt, ok := tagEnd(el, lt)
		if !ok {
			return nil
		}
		i = gt + 1
		tag := el[lt : gt+1]
		if first {
			first = false
			continue
		}
		if tag[1] == '/' || tag[1] == '?' || tag[1] == '!' || !nameIs(tag, want) {
			continue
		}
		if tag[len(tag)-2] == '/' {
			return tag
		}
		if end := elementEnd(el, gt+1); end > 0 {
			return el[lt:end]
		}
		return nil
	}
	return nil
}

// elementEnd returns the offset just past the end tag that closes the
// element whose content starts at from, or 0.
func elementEnd(el []byte, from int) int {
	depth := 1
	for i := from; i < len(el); {
		j := bytes.IndexByte(el[i:], '<')
		if j < 0 {
			return 0
		}
		lt := i + j
		gt, ok := tagEnd(el, lt)
		if !ok {
			return 0
		}
		i = gt + 1
		tag := el[lt : gt+1]
		switch {
		case tag[1] == '?' || tag[1] == '!':
		case tag[1] == '/':
			depth--
			if depth == 0 {
				return i
			}
		case tag[len(tag)-2] != '/':
			depth++
		}
	}
	return 0
}

// text returns the character data directly inside el when it has no
// child elements, as sent (the values read here are base64 and numbers).
func text(el []byte) []byte {
	gt, ok := tagEnd(el, 0)
	if !ok || el[gt-1] == '/' {
		return nil
	}
	body := el[gt+1:]
	if i := bytes.LastIndexByte(body, '<'); i >= 0 {
		body = body[:i]
	}
	return bytes.TrimSpace(body)
}

// children returns el's direct child elements, whole.
func children(el []byte) [][]byte {
	var out [][]byte
	gt, ok := tagEnd(el, 0)
	if !ok || el[gt-1] == '/' {
		return nil
	}
	for i := gt + 1; i < len(el); {
		j := bytes.IndexByte(el[i:], '<')
		if j < 0 {
			break
		}
		lt := i + j
		e, ok := tagEnd(el, lt)
		if !ok {
			break
		}
		tag := el[lt : e+1]
		i = e + 1
		if tag[1] == '/' || tag[1] == '?' || tag[1] == '!' {
			continue
		}
		if tag[len(tag)-2] != '/' {
			end := elementEnd(el, e+1)
			if end == 0 {
				break
			}
			i = end
		}
		out = append(out, el[lt:i])
	}
	return out
}

// childNames lists the local names of el's direct children, for reading
// stream features and error conditions.
func childNames(el []byte) []string {
	var names []string
	for _, c := range children(el) {
		names = append(names, localName(tagName(c)))
	}
	return names
}

// errorCondition names the condition of a stanza of type error, or says
// why it has none.
func errorCondition(el []byte) string {
	e := child(el, "error")
	if e == nil {
		return "error without <error/>"
	}
	for _, n := range childNames(e) {
		if n != "text" {
			return n
		}
	}
	return "error without a condition"
}

// stamp is a moment as the generator writes it into stanzas: nanoseconds
// since the process started, read back by the receiving client of the same
// process, so the monotonic clock serves both ends.
type stamp int64

var epoch = time.Now()

func now() stamp { return stamp(time.Since(epoch)) }

// parseStamp reads a decimal stamp, possibly after a one-letter prefix.
func parseStamp(b []byte) (stamp, bool) {
	if len(b) > 0 && (b[0] < '0' || b[0] > '9') {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return stamp(v), true
}

func (t stamp) append(b []byte) []byte { return strconv.AppendInt(b, int64(t), 10) }
