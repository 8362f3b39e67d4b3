package xml

import "bytes"

// Kind says what a Token is.
type Kind uint8

// The token kinds.
const (
	// KindNone is the zero Kind; no token has it.
	KindNone Kind = iota
	// KindStart is a start tag; Token.SelfClosing marks <a/>, whose KindEnd follows.
	KindStart
	// KindEnd is an end tag, or the end that follows a self-closing start tag.
	KindEnd
	// KindText is character data as written: Token.HasRefs says whether it holds references.
	KindText
	// KindCDATA is the content of a CDATA section, taken literally.
	KindCDATA
	// KindDecl is the XML declaration; Token.Data holds what stands between "<?xml" and "?>".
	KindDecl
	// KindStreamStart is the root element's start tag in stream mode: the stream header.
	KindStreamStart
	// KindStreamEnd is the root element's end tag in stream mode.
	KindStreamEnd
)

var kindNames = [...]string{"none", "start", "end", "text", "cdata", "decl", "stream-start", "stream-end"}

// String names the kind for messages and tests.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Attr is one attribute of a start tag as written: both slices point into the
// caller's window, and Value is raw (undecoded).
type Attr struct {
	Name    []byte
	Value   []byte
	HasRefs bool // Value contains references and must be decoded to compare
}

// AppendValue appends the decoded value to dst.
func (a *Attr) AppendValue(dst []byte) []byte {
	if !a.HasRefs && !bytes.ContainsAny(a.Value, "\t\n\r") {
		return append(dst, a.Value...)
	}
	return AppendAttr(dst, a.Value)
}

// Token is one piece of the input. All slices point into the caller's window
// (Space into the tokenizer's own namespace store) and stay valid until the
// next call to Next or Shift.
type Token struct {
	Kind        Kind
	SelfClosing bool // a start tag written <a/>
	HasRefs     bool // Text holds entity or character references
	Depth       int  // number of elements open around this token
	Name        []byte
	Space       []byte // the element's namespace name, resolved from its prefix
	Attrs       []Attr
	Data        []byte // Text, CDATA or Decl content, raw
	Offset      int    // window offset of the token's first byte
	End         int    // window offset just past the token's last byte
}

// Prefix returns the part of Name before the colon, or nil.
func (t *Token) Prefix() []byte {
	if i := bytes.IndexByte(t.Name, ':'); i >= 0 {
		return t.Name[:i]
	}
	return nil
}

// Local returns the part of Name after the colon, or all of it.
func (t *Token) Local() []byte {
	if i := bytes.IndexByte(t.Name, ':'); i >= 0 {
		return t.Name[i+1:]
	}
	return t.Name
}

// Attr returns the raw value of the attribute with the given qualified name.
func (t *Token) Attr(name string) ([]byte, bool) {
	for i := range t.Attrs {
		if string(t.Attrs[i].Name) == name {
			return t.Attrs[i].Value, true
		}
	}
	return nil, false
}

// AppendText appends the decoded character data of a Text or CDATA token.
func (t *Token) AppendText(dst []byte) []byte {
	if t.Kind == KindCDATA {
		return appendNewlines(dst, t.Data)
	}
	if !t.HasRefs && bytes.IndexByte(t.Data, '\r') < 0 {
		return append(dst, t.Data...)
	}
	return AppendText(dst, t.Data)
}
