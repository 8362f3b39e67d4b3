// Package stanza holds XMPP stanzas as the bytes they arrived in plus a small
// index of what routing needs (addresses, type, id, language, first child),
// and builds element trees only for the modules that ask for one.
package stanza

import "xmppd/internal/xml"

// Kind says which of the three stanza kinds (RFC 6120 §8) a top-level
// element is; anything else on a stream (SASL, TLS, stream management) is Other.
type Kind uint8

// The kinds of top-level elements.
const (
	Other Kind = iota
	Message
	Presence
	IQ
)

var kindNames = [...]string{"other", "message", "presence", "iq"}

// String returns the element name of the kind.
func (k Kind) String() string { return kindNames[k] }

// span locates bytes in Raw; off < 0 means absent.
type span struct{ off, n int32 }

func (s span) ok() bool { return s.off >= 0 }

var none = span{-1, 0}

// attrRef is an indexed attribute: its value's place in Raw and whether it
// holds references that need decoding.
type attrRef struct {
	span
	refs bool
}

// Binding is a namespace prefix a stanza uses but its stream declared.
type Binding struct{ Prefix, URI []byte }

// Stanza is one top-level element of a stream. Raw is exactly the bytes
// received; everything else indexes into it, so copying Raw (Clone) keeps the
// index valid.
type Stanza struct {
	Raw  []byte
	Kind Kind

	name, child   span   // local names of the element and of its first child element
	space, cspace span   // namespaces when written in Raw as xmlns='...'
	spaceExt      []byte // namespace of the element when inherited or prefixed
	cspaceExt     []byte
	nameEnd       int32 // end of the element's qualified name in Raw: where attributes go
	to, from      attrRef
	typ, id       attrRef
	lang          attrRef
	outer         []Binding

	scratch []byte
	tree    *Element
}

func (s *Stanza) reset() {
	s.Raw, s.Kind = nil, Other
	s.name, s.child, s.space, s.cspace = none, none, none, none
	s.spaceExt, s.cspaceExt = nil, nil
	s.to, s.from, s.typ, s.id, s.lang = attrRef{span: none}, attrRef{span: none}, attrRef{span: none}, attrRef{span: none}, attrRef{span: none}
	s.outer = s.outer[:0]
	s.tree = nil
}

func (s *Stanza) bytes(sp span) []byte {
	if sp.off < 0 {
		return nil
	}
	return s.Raw[sp.off : sp.off+sp.n : sp.off+sp.n]
}

// Name returns the local name of the element ("message", "auth", ...).
func (s *Stanza) Name() []byte { return s.bytes(s.name) }

// Space returns the namespace of the element.
func (s *Stanza) Space() []byte {
	if s.space.ok() {
		return s.bytes(s.space)
	}
	return s.spaceExt
}

// HasChild reports whether the element has a child element.
func (s *Stanza) HasChild() bool { return s.child.ok() }

// ChildName returns the local name of the first child element, or nil.
func (s *Stanza) ChildName() []byte { return s.bytes(s.child) }

// ChildSpace returns the namespace of the first child element, or nil.
func (s *Stanza) ChildSpace() []byte {
	if s.cspace.ok() {
		return s.bytes(s.cspace)
	}
	return s.cspaceExt
}

// Outer returns the prefixes the stanza uses that its stream declared: such a
// stanza cannot be forwarded as raw bytes, only re-serialized from its tree.
func (s *Stanza) Outer() []Binding { return s.outer }

func (s *Stanza) value(a attrRef) []byte {
	v := s.bytes(a.span)
	if !a.refs || v == nil {
		return v
	}
	s.scratch = xml.AppendAttr(s.scratch[:0], v)
	return s.scratch
}

// To returns the decoded 'to' attribute, or nil. Like the other attribute
// accessors, the result may share a buffer with the next call's.
func (s *Stanza) To() []byte { return s.value(s.to) }

// From returns the decoded 'from' attribute, or nil.
func (s *Stanza) From() []byte { return s.value(s.from) }

// Type returns the decoded 'type' attribute, or nil.
func (s *Stanza) Type() []byte { return s.value(s.typ) }

// ID returns the decoded 'id' attribute, or nil.
func (s *Stanza) ID() []byte { return s.value(s.id) }

// Lang returns the decoded 'xml:lang' attribute, or nil.
func (s *Stanza) Lang() []byte { return s.value(s.lang) }

// Clone returns a copy that owns its bytes, for keeping a stanza after the
// window it was read from changes.
func (s *Stanza) Clone() *Stanza {
	c := *s
	c.Raw = append([]byte(nil), s.Raw...)
	c.outer = append([]Binding(nil), s.outer...)
	c.scratch = nil
	c.tree = nil
	return &c
}

// AppendWithAddrs appends the stanza to dst with its 'from' and 'to'
// replaced by the given (unescaped) values, or added where absent; a nil
// value leaves that attribute as it is. This is how a stanza is forwarded
// without building a tree (RFC 6120 §8.1.2.1: the server stamps 'from').
func (s *Stanza) AppendWithAddrs(dst, from, to []byte) []byte {
	return appendWithAddrs(s, dst, from, to, from != nil, to != nil)
}

// AppendStamped is AppendWithAddrs with only 'from' set, given as a string
// so that a session's JID needs no conversion.
func (s *Stanza) AppendStamped(dst []byte, from string) []byte {
	return appendWithAddrs(s, dst, from, "", true, false)
}

func appendWithAddrs[S ~string | ~[]byte](s *Stanza, dst []byte, from, to S, setFrom, setTo bool) []byte {
	type edit struct {
		at, del int
		name    string
		val     S
	}
	var edits [2]edit
	n := 0
	add := func(ref attrRef, name string, val S) {
		if ref.ok() {
			edits[n] = edit{at: int(ref.off), del: int(ref.n), val: val}
		} else {
			edits[n] = edit{at: int(s.nameEnd), name: name, val: val}
		}
		n++
	}
	if setFrom {
		add(s.from, "from", from)
	}
	if setTo {
		add(s.to, "to", to)
	}
	if n == 2 && edits[1].at < edits[0].at {
		edits[0], edits[1] = edits[1], edits[0]
	}
	last := 0
	for _, e := range edits[:n] {
		dst = append(dst, s.Raw[last:e.at]...)
		if e.name != "" {
			dst = append(dst, ' ')
			dst = append(dst, e.name...)
			dst = append(dst, "='"...)
		}
		dst = xml.AppendEscapedAttr(dst, e.val)
		if e.name != "" {
			dst = append(dst, '\'')
		}
		last = e.at + e.del
	}
	return append(dst, s.Raw[last:]...)
}

// SelfContained returns the stanza as bytes that mean the same on any
// stream: the prefixes it borrowed from its stream's header (Outer) are
// declared on its own element. space is the stream's default namespace.
// A stanza without such prefixes is returned as it is; others must go
// through this before anyone else sees them, or a recipient would get a
// prefix its own stream never bound.
func (s *Stanza) SelfContained(space string) (*Stanza, error) {
	if len(s.outer) == 0 {
		return s, nil
	}
	at := int(s.nameEnd)
	raw := make([]byte, 0, len(s.Raw)+64*len(s.outer))
	raw = append(raw, s.Raw[:at]...)
	for _, b := range s.outer {
		raw = append(raw, " xmlns:"...)
		raw = append(raw, b.Prefix...)
		raw = append(raw, "='"...)
		raw = append(xml.AppendEscapedAttr(raw, b.URI), '\'')
	}
	raw = append(raw, s.Raw[at:]...)
	return Reparse(raw, space)
}

// Tree returns the stanza as an element tree, built on first use.
func (s *Stanza) Tree() (*Element, error) {
	if s.tree != nil {
		return s.tree, nil
	}
	e, err := Parse(s.Raw, s.Space(), s.outer)
	if err != nil {
		return nil, err
	}
	s.tree = e
	return e, nil
}
