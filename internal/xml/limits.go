package xml

// Limits bound what one stream may make the tokenizer hold. Zero fields take
// the defaults.
type Limits struct {
	// MaxStanzaBytes bounds a top-level element from its '<' to its end: a
	// stanza in stream mode (and the stream header's own tag), the document
	// otherwise.
	MaxStanzaBytes int
	// MaxDepth bounds how many elements may be open at once, the stream root included.
	MaxDepth int
	// MaxAttrs bounds the attributes of one start tag, namespace declarations included.
	MaxAttrs int
	// MaxNameBytes bounds element, attribute and entity names.
	MaxNameBytes int
}

// Defaults for Limits: generous for real clients, small enough for a router.
const (
	DefaultMaxStanzaBytes = 256 << 10
	DefaultMaxDepth       = 64
	DefaultMaxAttrs       = 64
	DefaultMaxNameBytes   = 256
)

// maxDeclBytes bounds the XML declaration, which has no business being long.
const maxDeclBytes = 256

func (l Limits) withDefaults() Limits {
	if l.MaxStanzaBytes <= 0 {
		l.MaxStanzaBytes = DefaultMaxStanzaBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = DefaultMaxAttrs
	}
	if l.MaxNameBytes <= 0 {
		l.MaxNameBytes = DefaultMaxNameBytes
	}
	return l
}
