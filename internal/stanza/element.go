package stanza

import (
	"bytes"
	"errors"
	"strconv"

	"xmppd/internal/xml"
)

// Attr is an attribute of an Element; Space is empty for plain attributes.
type Attr struct {
	Space, Local, Value string
}

// Node is a child of an Element: an element or, when Elem is nil, text.
type Node struct {
	Elem *Element
	Text string
}

// Element is a parsed or built XML element with resolved namespaces. Namespace
// declarations are not kept as attributes: serializing writes them where a
// namespace changes.
type Element struct {
	Space, Local string
	Attrs        []Attr
	Children     []Node
}

// NewElement returns an element with attributes given as name, value pairs.
func NewElement(space, local string, attrs ...string) *Element {
	e := &Element{Space: space, Local: local}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs = append(e.Attrs, Attr{Local: attrs[i], Value: attrs[i+1]})
	}
	return e
}

// Attr returns the value of the plain attribute local, or "".
func (e *Element) Attr(local string) string {
	v, _ := e.AttrNS("", local)
	return v
}

// AttrNS returns the value of the attribute {space}local.
func (e *Element) AttrNS(space, local string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Local == local && a.Space == space {
			return a.Value, true
		}
	}
	return "", false
}

// SetAttr sets the plain attribute local, replacing an existing value.
func (e *Element) SetAttr(local, value string) *Element {
	for i := range e.Attrs {
		if e.Attrs[i].Local == local && e.Attrs[i].Space == "" {
			e.Attrs[i].Value = value
			return e
		}
	}
	e.Attrs = append(e.Attrs, Attr{Local: local, Value: value})
	return e
}

// AddChild appends c and returns it, for building nested elements.
func (e *Element) AddChild(c *Element) *Element {
	e.Children = append(e.Children, Node{Elem: c})
	return c
}

// AddText appends character data.
func (e *Element) AddText(s string) *Element {
	e.Children = append(e.Children, Node{Text: s})
	return e
}

// Child returns the first child element {space}local, or nil; an empty space
// matches any namespace.
func (e *Element) Child(space, local string) *Element {
	for _, n := range e.Children {
		if n.Elem != nil && n.Elem.Local == local && (space == "" || n.Elem.Space == space) {
			return n.Elem
		}
	}
	return nil
}

// FirstChild returns the first child element, or nil.
func (e *Element) FirstChild() *Element {
	for _, n := range e.Children {
		if n.Elem != nil {
			return n.Elem
		}
	}
	return nil
}

// Text returns the element's own character data, concatenated.
func (e *Element) Text() string {
	var s string
	for _, n := range e.Children {
		if n.Elem == nil {
			s += n.Text
		}
	}
	return s
}

// AppendXML serializes e into dst. parentSpace is the default namespace in
// force where e is written: for a stanza on a client stream, jabber:client,
// so that its own namespace is not repeated.
func (e *Element) AppendXML(dst []byte, parentSpace string) []byte {
	dst = append(dst, '<')
	dst = append(dst, e.Local...)
	if e.Space != parentSpace {
		dst = append(dst, " xmlns='"...)
		dst = xml.AppendEscapedAttr(dst, e.Space)
		dst = append(dst, '\'')
	}
	prefixes := 0
	for _, a := range e.Attrs {
		dst = append(dst, ' ')
		switch a.Space {
		case "":
		case xml.NamespaceXML:
			dst = append(dst, "xml:"...)
		default:
			// Each namespaced attribute gets a prefix of its own, declared here.
			prefixes++
			p := "ns" + strconv.Itoa(prefixes)
			dst = append(dst, "xmlns:"...)
			dst = append(dst, p...)
			dst = append(dst, "='"...)
			dst = xml.AppendEscapedAttr(dst, a.Space)
			dst = append(dst, "' "...)
			dst = append(dst, p...)
			dst = append(dst, ':')
		}
		dst = append(dst, a.Local...)
		dst = append(dst, "='"...)
		dst = xml.AppendEscapedAttr(dst, a.Value)
		dst = append(dst, '\'')
	}
	if len(e.Children) == 0 {
		return append(dst, "/>"...)
	}
	dst = append(dst, '>')
	for _, n := range e.Children {
		if n.Elem != nil {
			dst = n.Elem.AppendXML(dst, e.Space)
		} else {
			dst = xml.AppendEscapedText(dst, n.Text)
		}
	}
	dst = append(dst, "</"...)
	dst = append(dst, e.Local...)
	return append(dst, '>')
}

// String serializes e with its namespace declared.
func (e *Element) String() string { return string(e.AppendXML(nil, "")) }

// ErrNotOneElement is returned by Parse for input that is not exactly one element.
var ErrNotOneElement = errors.New("stanza: input is not exactly one element")

// Parse builds the tree of one element from raw. space is the default
// namespace in force where raw stood (the stream's), outer the prefixes its
// stream declared that raw uses.
func Parse(raw []byte, space []byte, outer []Binding) (*Element, error) {
	tz := xml.NewTokenizer(xml.Limits{MaxStanzaBytes: len(raw) + 1}, false)
	if len(space) > 0 {
		tz.Declare(nil, space)
	}
	for _, b := range outer {
		tz.Declare(b.Prefix, b.URI)
	}
	var root *Element
	var stack []*Element
	var text []byte
	for {
		tok, err := tz.Next(raw)
		if errors.Is(err, xml.ErrNeedMore) {
			if err := tz.Finish(); err != nil {
				return nil, err
			}
			if root == nil {
				return nil, ErrNotOneElement
			}
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch tok.Kind {
		case xml.KindStart:
			if root != nil && len(stack) == 0 {
				return nil, ErrNotOneElement
			}
			e := &Element{Space: string(tok.Space), Local: string(tok.Local())}
			for i := range tok.Attrs {
				a := &tok.Attrs[i]
				if string(a.Name) == "xmlns" || bytes.HasPrefix(a.Name, []byte("xmlns:")) {
					continue
				}
				attr := Attr{Local: string(a.Name), Value: string(a.AppendValue(nil))}
				for j, c := range a.Name {
					if c == ':' {
						ns, _ := tz.LookupPrefix(a.Name[:j])
						attr.Space, attr.Local = string(ns), string(a.Name[j+1:])
						break
					}
				}
				e.Attrs = append(e.Attrs, attr)
			}
			if len(stack) == 0 {
				root = e
			} else {
				stack[len(stack)-1].AddChild(e)
			}
			stack = append(stack, e)
		case xml.KindEnd:
			stack = stack[:len(stack)-1]
		case xml.KindText, xml.KindCDATA:
			text = tok.AppendText(text[:0])
			if len(text) == 0 {
				continue // an empty CDATA section is no text at all
			}
			p := stack[len(stack)-1]
			// Adjacent text and CDATA make one text node.
			if k := len(p.Children); k > 0 && p.Children[k-1].Elem == nil {
				p.Children[k-1].Text += string(text)
			} else {
				p.AddText(string(text))
			}
		case xml.KindDecl:
			return nil, ErrNotOneElement
		}
	}
}
