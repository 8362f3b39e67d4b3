package xml

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// AppendText appends raw character data decoded: references replaced and line
// ends normalized (XML §2.11). Malformed references, which a tokenizer would
// have rejected, are copied as they stand.
func AppendText(dst, raw []byte) []byte {
	return appendDecoded(dst, raw, false)
}

// AppendAttr appends a raw attribute value decoded and normalized as XML
// §3.3.3 says: literal white space becomes a space, references are replaced.
func AppendAttr(dst, raw []byte) []byte {
	return appendDecoded(dst, raw, true)
}

func appendDecoded(dst, raw []byte, attr bool) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch c {
		case '&':
			r, n := decodeRef(raw[i:])
			if n == 0 {
				dst = append(dst, c)
				i++
				continue
			}
			dst = utf8.AppendRune(dst, r)
			i += n
			continue
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			c = '\n'
		}
		if attr && (c == '\n' || c == '\t') {
			c = ' '
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// appendNewlines appends CDATA content with its line ends normalized.
func appendNewlines(dst, raw []byte) []byte {
	for {
		i := bytes.IndexByte(raw, '\r')
		if i < 0 {
			return append(dst, raw...)
		}
		dst = append(append(dst, raw[:i]...), '\n')
		raw = raw[i+1:]
		if len(raw) > 0 && raw[0] == '\n' {
			raw = raw[1:]
		}
	}
}

// decodeRef decodes the reference at the start of b, returning its character
// and length, or n == 0 when b does not start with a well-formed one.
func decodeRef(b []byte) (r rune, n int) {
	end := bytes.IndexByte(b, ';')
	if end < 2 {
		return 0, 0
	}
	body := b[1:end]
	if body[0] != '#' {
		if c := predefined(body); c != 0 {
			return rune(c), end + 1
		}
		return 0, 0
	}
	body = body[1:]
	base := rune(10)
	if len(body) > 0 && body[0] == 'x' {
		base, body = 16, body[1:]
	}
	if len(body) == 0 {
		return 0, 0
	}
	for _, c := range body {
		var v rune
		switch {
		case c >= '0' && c <= '9':
			v = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			v = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			v = rune(c-'A') + 10
		default:
			return 0, 0
		}
		r = r*base + v
		if r > utf8.MaxRune {
			return 0, 0
		}
	}
	if !isChar(r) {
		return 0, 0
	}
	return r, end + 1
}

// AppendEscapedText appends s escaped for character data. Characters XML
// cannot carry (invalid UTF-8, most control characters) become U+FFFD, so
// whatever a module puts in a stanza cannot break the receiver's stream.
func AppendEscapedText[S ~string | ~[]byte](dst []byte, s S) []byte {
	return appendEscaped(dst, s, false)
}

// AppendEscapedAttr appends s escaped for an attribute value in either kind
// of quotes; white space other than the space is written as references so
// that attribute normalization keeps it.
func AppendEscapedAttr[S ~string | ~[]byte](dst []byte, s S) []byte {
	return appendEscaped(dst, s, true)
}

// EscapeString returns s escaped for an attribute value or character data.
func EscapeString(s string) string {
	return string(AppendEscapedAttr(make([]byte, 0, len(s)+8), s))
}

func appendEscaped[S ~string | ~[]byte](dst []byte, s S, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		n := 1
		switch {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\r':
			esc = "&#xD;"
		case attr && c == '"':
			esc = "&quot;"
		case attr && c == '\'':
			esc = "&apos;"
		case attr && c == '\n':
			esc = "&#xA;"
		case attr && c == '\t':
			esc = "&#x9;"
		case c >= 0x20 && c < utf8.RuneSelf, c == '\n', c == '\t':
			i++
			continue
		case c < 0x20:
			esc = "\uFFFD"
		default:
			var r rune
			r, n = decodeRuneAt(s, i)
			if r != utf8.RuneError && isChar(r) {
				i += n
				continue
			}
			esc = "\uFFFD"
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		i += n
		last = i
	}
	return append(dst, s[last:]...)
}

// decodeRuneAt decodes the UTF-8 sequence at s[i] for either kind of string,
// returning utf8.RuneError for an invalid one, without converting s.
func decodeRuneAt[S ~string | ~[]byte](s S, i int) (rune, int) {
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], s[i:min(i+utf8.UTFMax, len(s))])
	r, size := utf8.DecodeRune(buf[:n])
	if r == utf8.RuneError && size <= 1 {
		return utf8.RuneError, 1
	}
	return r, size
}

// validDecl checks the content of an XML declaration (XML §2.8): version 1.0,
// and where given, encoding UTF-8 (RFC 6120 §11.6) and standalone yes or no.
func validDecl(b []byte) bool {
	v, rest, ok := declAttr(b, "version")
	if !ok || string(v) != "1.0" {
		return false
	}
	if e, r, ok := declAttr(rest, "encoding"); ok {
		if !strings.EqualFold(string(e), "UTF-8") {
			return false
		}
		rest = r
	}
	if s, r, ok := declAttr(rest, "standalone"); ok {
		if string(s) != "yes" && string(s) != "no" {
			return false
		}
		rest = r
	}
	for _, c := range rest {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// declAttr reads ` name = "value"` from the start of b.
func declAttr(b []byte, name string) (val, rest []byte, ok bool) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == 0 || !bytes.HasPrefix(b[i:], []byte(name)) {
		return nil, b, false
	}
	i += len(name)
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) || b[i] != '=' {
		return nil, b, false
	}
	i++
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) || (b[i] != '"' && b[i] != '\'') {
		return nil, b, false
	}
	q := b[i]
	end := bytes.IndexByte(b[i+1:], q)
	if end < 0 {
		return nil, b, false
	}
	return b[i+1 : i+1+end], b[i+2+end:], true
}
