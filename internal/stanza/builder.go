package stanza

import "xmppd/internal/xml"

// Builder writes XML for stanzas the server makes, straight into a byte
// slice, escaping as it goes: no tree, and no allocation once its buffers
// have grown. Calls chain; End closes the innermost open element.
type Builder struct {
	buf   []byte
	open  []string
	inTag bool // the last start tag is not closed yet: attributes may follow
}

// Reset starts building into dst[:0]'s storage.
func (b *Builder) Reset(dst []byte) *Builder {
	b.buf = dst[:0]
	b.open = b.open[:0]
	b.inTag = false
	return b
}

func (b *Builder) closeTag() {
	if b.inTag {
		b.buf = append(b.buf, '>')
		b.inTag = false
	}
}

// Start opens element name; attributes may follow.
func (b *Builder) Start(name string) *Builder {
	b.closeTag()
	b.buf = append(b.buf, '<')
	b.buf = append(b.buf, name...)
	b.open = append(b.open, name)
	b.inTag = true
	return b
}

// Attr adds an attribute to the element just started.
func (b *Builder) Attr(name, value string) *Builder {
	b.attrName(name)
	b.buf = append(xml.AppendEscapedAttr(b.buf, value), '\'')
	return b
}

// AttrBytes is Attr for a value held as bytes.
func (b *Builder) AttrBytes(name string, value []byte) *Builder {
	b.attrName(name)
	b.buf = append(xml.AppendEscapedAttr(b.buf, value), '\'')
	return b
}

func (b *Builder) attrName(name string) {
	if !b.inTag {
		panic("stanza: Builder.Attr outside a start tag")
	}
	b.buf = append(b.buf, ' ')
	b.buf = append(b.buf, name...)
	b.buf = append(b.buf, "='"...)
}

// Text adds escaped character data.
func (b *Builder) Text(s string) *Builder {
	b.closeTag()
	b.buf = xml.AppendEscapedText(b.buf, s)
	return b
}

// TextBytes is Text for bytes.
func (b *Builder) TextBytes(s []byte) *Builder {
	b.closeTag()
	b.buf = xml.AppendEscapedText(b.buf, s)
	return b
}

// Raw adds already serialized XML, such as a stanza being wrapped.
func (b *Builder) Raw(x []byte) *Builder {
	b.closeTag()
	b.buf = append(b.buf, x...)
	return b
}

// Element adds a serialized tree.
func (b *Builder) Element(e *Element, parentSpace string) *Builder {
	b.closeTag()
	b.buf = e.AppendXML(b.buf, parentSpace)
	return b
}

// End closes the innermost open element, as <a/> when it has no content.
func (b *Builder) End() *Builder {
	name := b.open[len(b.open)-1]
	b.open = b.open[:len(b.open)-1]
	if b.inTag {
		b.buf = append(b.buf, "/>"...)
		b.inTag = false
		return b
	}
	b.buf = append(b.buf, "</"...)
	b.buf = append(b.buf, name...)
	b.buf = append(b.buf, '>')
	return b
}

// Bytes closes every open element and returns the XML.
func (b *Builder) Bytes() []byte {
	for len(b.open) > 0 {
		b.End()
	}
	return b.buf
}
