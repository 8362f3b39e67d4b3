package stanza

import (
	"bytes"
	"errors"
	"sync"

	"xmppd/internal/xml"
)

// Event is what Reader.Next found.
type Event uint8

// The events of a stream.
const (
	// EventNone comes only with an error.
	EventNone Event = iota
	// EventHeader is the stream header; Header returns its token.
	EventHeader
	// EventStanza is a complete top-level element; Stanza returns it.
	EventStanza
	// EventEnd is the stream's closing tag.
	EventEnd
)

// Reader turns a stream's bytes into stanzas. It shares the window contract
// of xml.Tokenizer, with Retain also keeping the stanza being read, so that a
// finished stanza's Raw is one contiguous run of the window.
type Reader struct {
	tz    *xml.Tokenizer
	st    Stanza
	in    bool
	start int // window offset of the current stanza's '<'
	hdr   *xml.Token
	// Prefix bindings on the stanza's own tag, for finding a prefixed first
	// child's namespace in Raw.
	decls  [2]struct{ prefix, uri span }
	ndecls int
}

// NewReader returns a Reader for a stream with the given limits.
func NewReader(l xml.Limits) *Reader {
	r := &Reader{tz: xml.NewTokenizer(l, true)}
	r.st.reset()
	return r
}

// Reset starts a new stream (after STARTTLS or SASL, RFC 6120 §4.3.3).
func (r *Reader) Reset() {
	r.tz.Reset()
	r.in = false
	r.hdr = nil
	r.st.reset()
}

// Retain returns how many bytes at the front of the window may be dropped.
func (r *Reader) Retain() int {
	if n := r.tz.Retain(); !r.in || n < r.start {
		return n
	}
	return r.start
}

// Shift reports that n bytes, at most Retain, were dropped from the window.
func (r *Reader) Shift(n int) {
	r.tz.Shift(n)
	r.start -= n
}

// Tokenizer gives access to the underlying tokenizer (its offset, depth and
// error).
func (r *Reader) Tokenizer() *xml.Tokenizer { return r.tz }

// Header returns the stream header token after EventHeader, until the next call.
func (r *Reader) Header() *xml.Token { return r.hdr }

// Stanza returns the stanza after EventStanza. It points into the window:
// Clone it to keep it.
func (r *Reader) Stanza() *Stanza { return &r.st }

// Next reads the window until the next event. It returns xml.ErrNeedMore
// when the window ends first, and the tokenizer's *xml.SyntaxError when the
// input is rejected.
func (r *Reader) Next(window []byte) (Event, error) {
	for {
		tok, err := r.tz.Next(window)
		if err != nil {
			return EventNone, err
		}
		switch tok.Kind {
		case xml.KindStreamStart:
			r.hdr = tok
			return EventHeader, nil
		case xml.KindStreamEnd:
			return EventEnd, nil
		case xml.KindStart:
			switch tok.Depth {
			case 1:
				r.begin(window, tok)
			case 2:
				if !r.st.child.ok() {
					r.st.child = r.span(window, tok.Local())
					r.st.cspace, r.st.cspaceExt = r.spaceOf(window, tok)
				}
			}
			r.noteOuter(tok)
		case xml.KindEnd:
			if tok.Depth == 1 {
				r.in = false
				r.st.Raw = window[r.start:tok.End]
				return EventStanza, nil
			}
		}
	}
}

// span converts a sub-slice of the window to a place in the stanza. Tokens
// are sub-slices of the window, so the difference of capacities is the offset.
func (r *Reader) span(window, sub []byte) span {
	return span{int32(cap(window) - cap(sub) - r.start), int32(len(sub))}
}

func (r *Reader) begin(window []byte, tok *xml.Token) {
	r.st.reset()
	r.in = true
	r.start = tok.Offset
	r.st.name = r.span(window, tok.Local())
	r.st.nameEnd = int32(len(tok.Name) + 1)
	r.ndecls = 0
	r.st.space, r.st.spaceExt = r.spaceOf(window, tok)
	for i := range tok.Attrs {
		if a := &tok.Attrs[i]; r.ndecls < len(r.decls) && bytes.HasPrefix(a.Name, []byte("xmlns:")) && plain(a) {
			r.decls[r.ndecls].prefix = r.span(window, a.Name[6:])
			r.decls[r.ndecls].uri = r.span(window, a.Value)
			r.ndecls++
		}
	}
	for i := range tok.Attrs {
		a := &tok.Attrs[i]
		var ref *attrRef
		switch string(a.Name) {
		case "to":
			ref = &r.st.to
		case "from":
			ref = &r.st.from
		case "type":
			ref = &r.st.typ
		case "id":
			ref = &r.st.id
		case "xml:lang":
			ref = &r.st.lang
		default:
			continue
		}
		*ref = attrRef{span: r.span(window, a.Value), refs: !plain(a)}
	}
	r.st.Kind = Other
	switch string(tok.Space) {
	case NSClient, NSServer, NSComponent:
		switch string(tok.Local()) {
		case "message":
			r.st.Kind = Message
		case "presence":
			r.st.Kind = Presence
		case "iq":
			r.st.Kind = IQ
		}
	}
}

// spaceOf finds a stable home for an element's namespace: its own xmlns
// attribute in Raw when it has one, else a shared or copied name.
func (r *Reader) spaceOf(window []byte, tok *xml.Token) (span, []byte) {
	prefix := tok.Prefix()
	for i := range tok.Attrs {
		a := &tok.Attrs[i]
		if !plain(a) {
			continue
		}
		if prefix == nil && string(a.Name) == "xmlns" ||
			prefix != nil && len(a.Name) == 6+len(prefix) && bytes.HasPrefix(a.Name, []byte("xmlns:")) && bytes.HasSuffix(a.Name, prefix) {
			return r.span(window, a.Value), nil
		}
	}
	if prefix != nil && tok.Depth == 2 {
		for _, d := range r.decls[:r.ndecls] {
			if bytes.Equal(window[r.start+int(d.prefix.off):][:d.prefix.n], prefix) {
				return d.uri, nil
			}
		}
	}
	return none, intern(tok.Space)
}

// plain reports whether an attribute's raw value is its value.
func plain(a *xml.Attr) bool {
	return !a.HasRefs && !bytes.ContainsAny(a.Value, "\t\n\r")
}

// noteOuter records the prefixes a stanza element uses that were bound
// outside the stanza, on the stream header.
func (r *Reader) noteOuter(tok *xml.Token) {
	if p := tok.Prefix(); p != nil {
		r.addOuter(p)
	}
	for i := range tok.Attrs {
		n := tok.Attrs[i].Name
		if c := bytes.IndexByte(n, ':'); c > 0 && !bytes.HasPrefix(n, []byte("xmlns:")) {
			r.addOuter(n[:c])
		}
	}
}

func (r *Reader) addOuter(prefix []byte) {
	uri, depth, ok := r.tz.LookupPrefixDepth(prefix)
	if !ok || depth != 0 {
		return // built in (xml:) or declared inside the stanza
	}
	for _, b := range r.st.outer {
		if bytes.Equal(b.Prefix, prefix) {
			return
		}
	}
	r.st.outer = append(r.st.outer, Binding{Prefix: intern(prefix), URI: intern(uri)})
}

// Park appends the reader's state between stanzas to dst, for a stream
// that goes idle and gives its Reader back to a pool (see xml.Tokenizer's
// Park). It reports false, appending nothing, when the reader is not
// between stanzas with its window fully consumed.
func (r *Reader) Park(dst []byte) ([]byte, bool) {
	if r.in {
		return dst, false
	}
	return r.tz.Park(dst)
}

// Unpark restores state made by Park into r, which may have served any
// other stream with the same limits.
func (r *Reader) Unpark(p []byte) error {
	r.in, r.hdr, r.start = false, nil, 0
	r.st.reset()
	return r.tz.Unpark(p)
}

// reparsers are the Readers Reparse lends: the bytes are the server's
// own, already within the stanza limit they were read under, so the
// limit here only has to be large.
var reparsers = sync.Pool{New: func() any { return NewReader(xml.Limits{MaxStanzaBytes: 1 << 30}) }}

// Reparse reads back one stanza that was serialized in default namespace
// space (as AppendWithAddrs writes it), for stanzas kept as bytes.
func Reparse(raw []byte, space string) (*Stanza, error) {
	window := make([]byte, 0, 80+len(space)+len(raw))
	window = append(window, "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='"...)
	window = xml.AppendEscapedAttr(window, space)
	window = append(append(window, "'>"...), raw...)
	r := reparsers.Get().(*Reader)
	defer func() {
		r.Reset()
		reparsers.Put(r)
	}()
	for {
		ev, err := r.Next(window)
		switch {
		case err != nil:
			return nil, err
		case ev == EventStanza:
			return r.Stanza().Clone(), nil
		case ev == EventEnd:
			return nil, errors.New("stanza: no stanza to reparse")
		}
	}
}
