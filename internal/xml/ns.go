package xml

import "bytes"

// Namespace names fixed by XML Namespaces §3.
const (
	NamespaceXML   = "http://www.w3.org/XML/1998/namespace"
	NamespaceXMLNS = "http://www.w3.org/2000/xmlns/"
)

// span locates bytes in the tokenizer's arena.
type span struct{ off, n uint32 }

// nsDecl is one namespace binding in scope; an empty prefix is the default namespace.
type nsDecl struct{ prefix, uri span }

// openElem remembers an open element after its start tag may have left the
// caller's window: its name (for the end tag check), its namespace, and the
// marks to pop back to when it closes.
type openElem struct {
	name, space span
	nsMark      uint32
	arenaMark   uint32
}

// scope holds the names and namespace bindings of the open elements, copied
// into one arena so that they survive the caller dropping old input.
type scope struct {
	arena []byte
	ns    []nsDecl
	open  []openElem
}

const scopeSeed = "xml" + NamespaceXML

func (s *scope) reset() {
	if s.arena == nil {
		s.arena = make([]byte, 0, 256)
		s.ns = make([]nsDecl, 0, 4)
		s.open = make([]openElem, 0, 8)
	}
	s.arena = append(s.arena[:0], scopeSeed...)
	s.ns = append(s.ns[:0], nsDecl{prefix: span{0, 3}, uri: span{3, uint32(len(NamespaceXML))}})
	s.open = s.open[:0]
}

func (s *scope) bytes(sp span) []byte {
	if sp.n == 0 {
		return nil
	}
	return s.arena[sp.off : sp.off+sp.n : sp.off+sp.n]
}

func (s *scope) store(b []byte) span {
	off := uint32(len(s.arena))
	s.arena = append(s.arena, b...)
	return span{off, uint32(len(b))}
}

// lookup finds the innermost binding of prefix.
func (s *scope) lookup(prefix []byte) (span, bool) {
	for i := len(s.ns) - 1; i >= 0; i-- {
		if bytes.Equal(s.bytes(s.ns[i].prefix), prefix) {
			return s.ns[i].uri, true
		}
	}
	return span{}, false
}

func (s *scope) pop() openElem {
	e := s.open[len(s.open)-1]
	s.open = s.open[:len(s.open)-1]
	s.ns = s.ns[:e.nsMark]
	s.arena = s.arena[:e.arenaMark]
	return e
}

// declaredAt returns the index of the open element whose start tag made
// binding i, or -1 for bindings made before the first element.
func (s *scope) declaredAt(i int) int {
	at := -1
	for k := range s.open {
		if int(s.open[k].nsMark) > i {
			break
		}
		at = k
	}
	return at
}
