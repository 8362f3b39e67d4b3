package xml

import "unicode/utf8"

// Byte classes for the ASCII fast paths. A byte not marked in a table needs
// the slow path: a delimiter, a control character or the lead byte of a
// multi-byte UTF-8 sequence.
const (
	cText      = 1 << iota // plain character data: no '<', '&', ']', CR is fine
	cAttr                  // plain attribute value byte: no '<', '&', quotes
	cNameStart             // ASCII NameStartChar except ':'
	cName                  // ASCII NameChar (':' included)
	cSpace                 // XML white space (S)
	cCDATA                 // plain CDATA byte: no ']'
)

var class [256]uint8

func init() {
	for b := 0x20; b < 0x80; b++ {
		class[b] |= cText | cAttr | cCDATA
	}
	for _, b := range []byte{'\t', '\n', '\r'} {
		class[b] |= cText | cAttr | cCDATA | cSpace
	}
	class[' '] |= cSpace
	for _, b := range []byte{'<', '&', ']'} {
		class[b] &^= cText
	}
	for _, b := range []byte{'<', '&', '"', '\''} {
		class[b] &^= cAttr
	}
	class[']'] &^= cCDATA
	for b := 'a'; b <= 'z'; b++ {
		class[b] |= cNameStart | cName
		class[b-'a'+'A'] |= cNameStart | cName
	}
	class['_'] |= cNameStart | cName
	for b := '0'; b <= '9'; b++ {
		class[b] |= cName
	}
	class['-'] |= cName
	class['.'] |= cName
	class[':'] |= cName
}

func isSpace(b byte) bool { return class[b]&cSpace != 0 }

// isChar reports whether r may appear in an XML 1.0 document (XML §2.2 Char);
// runes from valid UTF-8 are never surrogates, so only the ends need checks.
func isChar(r rune) bool {
	if r < 0x20 {
		return r == 0x9 || r == 0xA || r == 0xD
	}
	return r <= 0xD7FF || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// isNameStartRune is XML 1.0 fifth edition's NameStartChar beyond ASCII (§2.3).
func isNameStartRune(r rune) bool {
	switch {
	case r < 0x80:
		return r < 0x80 && class[r]&cNameStart != 0
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF,
		r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF, r >= 0x200C && r <= 0x200D,
		r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF,
		r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	}
	return false
}

// isNameRune is NameChar beyond ASCII (§2.3).
func isNameRune(r rune) bool {
	if r < 0x80 {
		return class[r]&cName != 0
	}
	return isNameStartRune(r) || r == 0xB7 || (r >= 0x300 && r <= 0x36F) || (r >= 0x203F && r <= 0x2040)
}

// decodeRune decodes the sequence at p[0]. n == 0 means it is cut short by the
// end of the window; r == utf8.RuneError with n == 1 means it is invalid.
func decodeRune(p []byte) (r rune, n int) {
	if !utf8.FullRune(p) {
		return 0, 0
	}
	return utf8.DecodeRune(p)
}

// validQName checks the colon rule of XML Namespaces §3 on a name whose
// characters are already known to be name characters: at most one colon,
// with a name start character on both sides of it.
func validQName(name []byte) bool {
	colon := -1
	for i, b := range name {
		if b == ':' {
			if colon >= 0 {
				return false
			}
			colon = i
		}
	}
	if colon < 0 {
		return true
	}
	if colon == 0 || colon == len(name)-1 {
		return false
	}
	r, _ := utf8.DecodeRune(name[colon+1:])
	return isNameStartRune(r)
}
