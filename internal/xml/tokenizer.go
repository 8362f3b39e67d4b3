package xml

import (
	"bytes"
	"unicode/utf8"
)

// state is where the scanner stands; it survives between calls so that a
// token cut by the end of the window resumes where it stopped.
type state uint8

const (
	sContent       state = iota // between markup: character data or white space
	sLt                         // after '<'
	sStartName                  // in a start tag's name
	sTag                        // in a start tag, between attributes
	sAttrName                   // in an attribute name
	sAttrEq                     // after an attribute name, before '='
	sAttrQuote                  // after '=', before the opening quote
	sAttrValue                  // in a quoted attribute value
	sEmptyEnd                   // after '/' in a start tag
	sEndName                    // in an end tag's name
	sEndTail                    // after an end tag's name, before '>'
	sBang                       // after "<!"
	sKeyword                    // matching the rest of t.word
	sCDATA                      // in a CDATA section
	sPITarget                   // after "<?": is it the XML declaration?
	sDecl                       // in the XML declaration, before "?>"
	sRef                        // after '&'
	sRefName                    // in an entity reference's name
	sCharRef                    // after "&#"
	sCharRefDigits              // in a character reference's digits
	sDone                       // stream mode: the root has closed
)

// Keywords matched byte by byte, so a window may end inside one.
const (
	wordCDATA   = "[CDATA["
	wordDOCTYPE = "DOCTYPE"
	wordXML     = "xml"
)

// attrSpan locates an attribute relative to the start of its tag, so that
// Shift need not touch it.
type attrSpan struct {
	name0, name1, val0, val1 int32
	refs                     bool
}

// Tokenizer is the incremental XML tokenizer. Create one with NewTokenizer;
// it is not safe for concurrent use.
type Tokenizer struct {
	lim    Limits
	stream bool
	state  state
	ret    state // the state a reference returns to
	err    error

	pos   int   // next byte of the window to scan
	start int   // first byte of the token being scanned; nothing before it is needed
	base  int64 // stream offset of the window's first byte
	top   int64 // stream offset of the open top-level element's '<', or -1

	seen       bool // markup other than white space has been seen
	declOK     bool // the markup being scanned is the first: an XML declaration may stand here
	pendingEnd bool // a self-closing start tag was returned; its end comes next
	refs       bool // the text or attribute value being scanned has references
	spaced     bool // white space follows the last attribute value
	hexRef     bool
	quote      byte
	word       string // keyword being matched in sKeyword
	kw         int    // bytes of word matched
	nameEnd    int32  // end of the tag name, or start of CDATA content, relative to start
	refStart   int32  // start of an entity name, relative to start
	refVal     int32
	refDigits  int32

	attrs []attrSpan
	sc    scope
	tok   Token
}

// NewTokenizer returns a tokenizer with the given limits. In stream mode the
// root element is an XMPP stream: its start and end tags come as
// KindStreamStart and KindStreamEnd, white space between stanzas is skipped,
// other text there is an error, and MaxStanzaBytes applies to each child of
// the root.
func NewTokenizer(l Limits, stream bool) *Tokenizer {
	t := &Tokenizer{lim: l.withDefaults(), stream: stream}
	t.Reset()
	return t
}

// Reset starts a new document (a stream restart) with the same limits and
// mode; the next window starts at stream offset 0.
func (t *Tokenizer) Reset() {
	t.state, t.err = sContent, nil
	t.pos, t.start, t.base, t.top = 0, 0, 0, -1
	t.seen, t.pendingEnd, t.refs = false, false, false
	t.attrs = t.attrs[:0]
	t.sc.reset()
}

// Retain returns how many bytes at the front of the window the tokenizer no
// longer needs: the caller may drop up to that many and must call Shift.
func (t *Tokenizer) Retain() int { return t.start }

// Shift tells the tokenizer that the caller dropped n bytes from the front of
// the window; n must not exceed Retain.
func (t *Tokenizer) Shift(n int) {
	if n > t.start {
		panic("xml: Shift beyond Retain")
	}
	t.pos -= n
	t.start -= n
	t.base += int64(n)
}

// Offset returns the stream offset up to which input has been scanned.
func (t *Tokenizer) Offset() int64 { return t.base + int64(t.pos) }

// Depth returns the number of open elements.
func (t *Tokenizer) Depth() int { return len(t.sc.open) }

// Err returns the error that stopped the tokenizer, if any.
func (t *Tokenizer) Err() error { return t.err }

// LookupPrefix returns the namespace bound to prefix in the current scope.
func (t *Tokenizer) LookupPrefix(prefix []byte) ([]byte, bool) {
	sp, ok := t.sc.lookup(prefix)
	return t.sc.bytes(sp), ok
}

// LookupPrefixDepth is LookupPrefix that also returns the depth of the
// element that declared the binding: 0 for the root, -1 for a binding made
// with Declare or built in. A stanza uses its stream's bindings when the
// depth is below its own.
func (t *Tokenizer) LookupPrefixDepth(prefix []byte) (uri []byte, depth int, ok bool) {
	for i := len(t.sc.ns) - 1; i >= 0; i-- {
		if bytes.Equal(t.sc.bytes(t.sc.ns[i].prefix), prefix) {
			return t.sc.bytes(t.sc.ns[i].uri), t.sc.declaredAt(i), true
		}
	}
	return nil, 0, false
}

// Declare binds prefix (empty for the default namespace) to uri before the
// first element, so that a fragment cut from a stream, such as a stanza,
// parses with its stream's bindings. It must be called right after Reset.
func (t *Tokenizer) Declare(prefix, uri []byte) {
	if len(t.sc.open) > 0 || t.seen {
		panic("xml: Declare after the first element")
	}
	d := nsDecl{prefix: t.sc.store(prefix)}
	d.uri = t.sc.store(uri)
	t.sc.ns = append(t.sc.ns, d)
}

// Finish reports whether the input may end here: it returns nil between
// top-level elements (or after the stream's end) and an error inside one.
func (t *Tokenizer) Finish() error {
	if t.err != nil {
		return t.err
	}
	if t.pendingEnd || len(t.sc.open) > 0 || (t.state != sContent && t.state != sDone) {
		_, err := t.fail(NotWellFormed, MsgUnexpectedEOF, t.pos)
		return err
	}
	return nil
}

func (t *Tokenizer) fail(c Class, msg string, p int) (*Token, error) {
	t.err = &SyntaxError{Class: c, Offset: t.base + int64(p), Msg: msg}
	return nil, t.err
}

// needMore bounds what a stanza may make the caller buffer: the check runs
// whenever the window runs dry, so the caller never holds more than the limit
// plus one read.
func (t *Tokenizer) needMore() (*Token, error) {
	if t.overLimit(t.pos) {
		return t.fail(LimitExceeded, MsgStanzaTooLarge, t.pos)
	}
	return nil, ErrNeedMore
}

// overLimit reports whether the open top-level element would reach past
// MaxStanzaBytes at window offset end.
func (t *Tokenizer) overLimit(end int) bool {
	return t.top >= 0 && t.base+int64(end)-t.top > int64(t.lim.MaxStanzaBytes)
}

// topDepth is the depth of the elements MaxStanzaBytes applies to.
func (t *Tokenizer) topDepth() int {
	if t.stream {
		return 1
	}
	return 0
}

// textContext checks whether character data may stand at the current depth.
func (t *Tokenizer) textContext(p int) error {
	d := len(t.sc.open)
	switch {
	case d == 0:
		_, err := t.fail(NotWellFormed, MsgTextOutsideRoot, p)
		return err
	case t.stream && d == 1:
		_, err := t.fail(BadFormat, MsgTextAtStreamLevel, p)
		return err
	}
	return nil
}

// scanName advances over name characters from p. It returns the first byte
// past the name and ok; ok is false when the window ends first (p is then
// where to resume) or when the input is invalid (t.err is set).
func (t *Tokenizer) scanName(buf []byte, p int) (int, bool) {
	for {
		for p < len(buf) && class[buf[p]]&cName != 0 {
			p++
		}
		if p == len(buf) || buf[p] < utf8.RuneSelf {
			return p, p < len(buf)
		}
		r, n := decodeRune(buf[p:])
		switch {
		case n == 0:
			return p, false
		case r == utf8.RuneError && n == 1:
			t.fail(NotWellFormed, MsgInvalidUTF8, p)
			return p, false
		case !isNameRune(r):
			return p, true
		}
		p += n
	}
}

// nameStart checks the first character of a name at p. It returns false with
// t.err unset when the window ends inside that character.
func (t *Tokenizer) nameStart(buf []byte, p int) bool {
	c := buf[p]
	if c < utf8.RuneSelf {
		if class[c]&cNameStart != 0 {
			return true
		}
		if c == ':' {
			t.fail(NotWellFormed, MsgBadQName, p)
		} else {
			t.fail(NotWellFormed, MsgBadNameStart, p)
		}
		return false
	}
	r, n := decodeRune(buf[p:])
	switch {
	case n == 0:
		return false
	case r == utf8.RuneError && n == 1:
		t.fail(NotWellFormed, MsgInvalidUTF8, p)
	case !isNameStartRune(r):
		t.fail(NotWellFormed, MsgBadNameStart, p)
	default:
		return true
	}
	return false
}

// checkName applies the length limit and the QName rule to buf[from:to].
func (t *Tokenizer) checkName(buf []byte, from, to int) bool {
	if to-from > t.lim.MaxNameBytes {
		t.fail(LimitExceeded, MsgNameTooLong, from)
		return false
	}
	if !validQName(buf[from:to]) {
		t.fail(NotWellFormed, MsgBadQName, from)
		return false
	}
	return true
}

// slowChar validates the non-plain byte at p in character data or an
// attribute value. It returns the size of the character, 0 when the window
// ends inside it, or -1 on error.
func (t *Tokenizer) slowChar(buf []byte, p int) int {
	c := buf[p]
	if c < utf8.RuneSelf {
		t.fail(NotWellFormed, MsgInvalidChar, p)
		return -1
	}
	r, n := decodeRune(buf[p:])
	switch {
	case n == 0:
		return 0
	case r == utf8.RuneError && n == 1:
		t.fail(NotWellFormed, MsgInvalidUTF8, p)
		return -1
	case !isChar(r):
		t.fail(NotWellFormed, MsgInvalidChar, p)
		return -1
	}
	return n
}

// Next returns the next complete token in buf, which must be the window of
// the previous call (less what was Shifted) with any new input appended. It
// returns ErrNeedMore when buf ends inside a token, and a *SyntaxError,
// for good, when the input is rejected.
func (t *Tokenizer) Next(buf []byte) (*Token, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.pendingEnd {
		return t.emitPendingEnd()
	}
	for {
		p := t.pos
		switch t.state {
		case sContent:
			d := len(t.sc.open)
			if d == 0 || (t.stream && d == 1) {
				// Between top-level elements only white space may stand
				// (whitespace keepalives, RFC 6120 §4.6.1); nothing is kept.
				for p < len(buf) && isSpace(buf[p]) {
					p++
				}
				t.pos, t.start = p, p
				if p == len(buf) {
					return nil, ErrNeedMore
				}
				if buf[p] != '<' {
					return nil, t.textContext(p)
				}
				t.pos = p + 1
				t.state = sLt
				continue
			}
			for {
				for p < len(buf) && class[buf[p]]&cText != 0 {
					p++
				}
				if p == len(buf) {
					t.pos = p
					return t.needMore()
				}
				c := buf[p]
				if c == '<' {
					if p == t.start {
						t.pos = p + 1
						t.state = sLt
						break
					}
					if t.overLimit(p) {
						return t.fail(LimitExceeded, MsgStanzaTooLarge, p)
					}
					tok := t.token(KindText, t.start, p)
					tok.Data = buf[t.start:p]
					tok.HasRefs = t.refs
					t.refs = false
					t.start, t.pos = p, p+1
					t.state = sLt
					return tok, nil
				}
				if c == '&' {
					t.refs = true
					t.ret = sContent
					t.pos = p + 1
					t.state = sRef
					break
				}
				if c == ']' {
					// "]]>" may not stand in character data (XML §2.4).
					if len(buf)-p < 3 {
						if p+1 < len(buf) && buf[p+1] != ']' {
							p++
							continue
						}
						t.pos = p
						return t.needMore()
					}
					if buf[p+1] == ']' && buf[p+2] == '>' {
						return t.fail(NotWellFormed, MsgCDATAEnd, p)
					}
					p++
					continue
				}
				n := t.slowChar(buf, p)
				if n < 0 {
					return nil, t.err
				}
				if n == 0 {
					t.pos = p
					return t.needMore()
				}
				p += n
			}

		case sLt:
			if p == len(buf) {
				return t.needMore()
			}
			t.declOK = !t.seen
			t.seen = true
			switch buf[p] {
			case '/':
				t.pos = p + 1
				t.state = sEndName
				continue
			case '?':
				t.pos = p + 1
				t.word, t.kw = wordXML, 0
				t.state = sPITarget
				continue
			case '!':
				t.pos = p + 1
				t.state = sBang
				continue
			}
			if !t.nameStart(buf, p) {
				if t.err != nil {
					return nil, t.err
				}
				return t.needMore()
			}
			d := len(t.sc.open)
			if d >= t.lim.MaxDepth {
				return t.fail(LimitExceeded, MsgTooDeep, t.start)
			}
			if d == t.topDepth() || (t.stream && d == 0) {
				t.top = t.base + int64(t.start)
			}
			t.attrs = t.attrs[:0]
			t.state = sStartName

		case sStartName:
			p, ok := t.scanName(buf, p)
			if t.err != nil {
				return nil, t.err
			}
			if !ok {
				t.pos = p
				if p-t.start-1 > t.lim.MaxNameBytes {
					return t.fail(LimitExceeded, MsgNameTooLong, t.start+1)
				}
				return t.needMore()
			}
			if !t.checkName(buf, t.start+1, p) {
				return nil, t.err
			}
			t.nameEnd = int32(p - t.start)
			t.spaced = false
			t.pos = p
			t.state = sTag

		case sTag:
			for p < len(buf) && isSpace(buf[p]) {
				p++
				t.spaced = true
			}
			t.pos = p
			if p == len(buf) {
				return t.needMore()
			}
			switch buf[p] {
			case '>':
				t.pos = p + 1
				return t.emitStart(buf, false)
			case '/':
				t.pos = p + 1
				t.state = sEmptyEnd
				continue
			}
			if !t.spaced {
				return t.fail(NotWellFormed, MsgBadTag, p)
			}
			if !t.nameStart(buf, p) {
				if t.err != nil {
					return nil, t.err
				}
				return t.needMore()
			}
			if len(t.attrs) >= t.lim.MaxAttrs {
				return t.fail(LimitExceeded, MsgTooManyAttrs, p)
			}
			t.attrs = append(t.attrs, attrSpan{name0: int32(p - t.start)})
			t.state = sAttrName

		case sAttrName:
			p, ok := t.scanName(buf, p)
			if t.err != nil {
				return nil, t.err
			}
			a := &t.attrs[len(t.attrs)-1]
			if !ok {
				t.pos = p
				if p-t.start-int(a.name0) > t.lim.MaxNameBytes {
					return t.fail(LimitExceeded, MsgNameTooLong, t.start+int(a.name0))
				}
				return t.needMore()
			}
			if !t.checkName(buf, t.start+int(a.name0), p) {
				return nil, t.err
			}
			a.name1 = int32(p - t.start)
			t.pos = p
			t.state = sAttrEq

		case sAttrEq, sAttrQuote:
			for p < len(buf) && isSpace(buf[p]) {
				p++
			}
			t.pos = p
			if p == len(buf) {
				return t.needMore()
			}
			c := buf[p]
			if t.state == sAttrEq {
				if c != '=' {
					return t.fail(NotWellFormed, MsgExpectedEq, p)
				}
				t.pos = p + 1
				t.state = sAttrQuote
				continue
			}
			if c != '"' && c != '\'' {
				return t.fail(NotWellFormed, MsgExpectedQuote, p)
			}
			t.quote = c
			t.refs = false
			t.attrs[len(t.attrs)-1].val0 = int32(p + 1 - t.start)
			t.pos = p + 1
			t.state = sAttrValue

		case sAttrValue:
			for {
				for p < len(buf) && class[buf[p]]&cAttr != 0 {
					p++
				}
				if p == len(buf) {
					t.pos = p
					return t.needMore()
				}
				c := buf[p]
				if c == t.quote {
					a := &t.attrs[len(t.attrs)-1]
					a.val1 = int32(p - t.start)
					a.refs = t.refs
					t.refs = false
					t.spaced = false
					t.pos = p + 1
					t.state = sTag
					break
				}
				if c == '"' || c == '\'' {
					p++
					continue
				}
				if c == '<' {
					return t.fail(NotWellFormed, MsgLtInAttr, p)
				}
				if c == '&' {
					t.refs = true
					t.ret = sAttrValue
					t.pos = p + 1
					t.state = sRef
					break
				}
				n := t.slowChar(buf, p)
				if n < 0 {
					return nil, t.err
				}
				if n == 0 {
					t.pos = p
					return t.needMore()
				}
				p += n
			}

		case sEmptyEnd:
			if p == len(buf) {
				return t.needMore()
			}
			if buf[p] != '>' {
				return t.fail(NotWellFormed, MsgExpectedGt, p)
			}
			t.pos = p + 1
			return t.emitStart(buf, true)

		case sEndName:
			if p == t.start+2 {
				if p == len(buf) {
					return t.needMore()
				}
				if !t.nameStart(buf, p) {
					if t.err != nil {
						return nil, t.err
					}
					return t.needMore()
				}
			}
			p, ok := t.scanName(buf, p)
			if t.err != nil {
				return nil, t.err
			}
			if !ok {
				t.pos = p
				if p-t.start-2 > t.lim.MaxNameBytes {
					return t.fail(LimitExceeded, MsgNameTooLong, t.start+2)
				}
				return t.needMore()
			}
			if !t.checkName(buf, t.start+2, p) {
				return nil, t.err
			}
			t.nameEnd = int32(p - t.start)
			t.pos = p
			t.state = sEndTail

		case sEndTail:
			for p < len(buf) && isSpace(buf[p]) {
				p++
			}
			t.pos = p
			if p == len(buf) {
				return t.needMore()
			}
			if buf[p] != '>' {
				return t.fail(NotWellFormed, MsgExpectedGt, p)
			}
			t.pos = p + 1
			return t.emitEnd(buf)

		case sBang:
			if p == len(buf) {
				return t.needMore()
			}
			switch buf[p] {
			case '-':
				return t.fail(Restricted, MsgComment, t.start)
			case '[':
				t.word = wordCDATA
			case 'D':
				t.word = wordDOCTYPE
			default:
				return t.fail(NotWellFormed, MsgBadMarkup, t.start)
			}
			t.kw = 0
			t.state = sKeyword

		case sKeyword:
			for ; t.kw < len(t.word); t.kw++ {
				if p == len(buf) {
					t.pos = p
					return t.needMore()
				}
				if buf[p] != t.word[t.kw] {
					return t.fail(NotWellFormed, MsgBadMarkup, t.start)
				}
				p++
			}
			t.pos = p
			if t.word == wordDOCTYPE {
				return t.fail(Restricted, MsgDTD, t.start)
			}
			if err := t.textContext(t.start); err != nil {
				return nil, err
			}
			t.nameEnd = int32(p - t.start)
			t.state = sCDATA

		case sCDATA:
			for {
				for p < len(buf) && class[buf[p]]&cCDATA != 0 {
					p++
				}
				if p == len(buf) {
					t.pos = p
					return t.needMore()
				}
				if buf[p] == ']' {
					if len(buf)-p < 3 {
						t.pos = p
						return t.needMore()
					}
					if buf[p+1] == ']' && buf[p+2] == '>' {
						if t.overLimit(p + 3) {
							return t.fail(LimitExceeded, MsgStanzaTooLarge, p)
						}
						tok := t.token(KindCDATA, t.start, p+3)
						tok.Data = buf[t.start+int(t.nameEnd) : p]
						t.pos = p + 3
						t.start = t.pos
						t.state = sContent
						return tok, nil
					}
					p++
					continue
				}
				n := t.slowChar(buf, p)
				if n < 0 {
					return nil, t.err
				}
				if n == 0 {
					t.pos = p
					return t.needMore()
				}
				p += n
			}

		case sPITarget:
			for ; t.kw < len(t.word); t.kw++ {
				if p == len(buf) {
					t.pos = p
					return t.needMore()
				}
				if t.kw == 0 && !t.nameStart(buf, p) {
					if t.err != nil {
						return nil, t.err
					}
					t.pos = p
					return t.needMore()
				}
				if buf[p] != t.word[t.kw] {
					return t.fail(Restricted, MsgPI, t.start)
				}
				p++
			}
			if p == len(buf) {
				t.pos = p
				return t.needMore()
			}
			if !isSpace(buf[p]) && buf[p] != '?' {
				return t.fail(Restricted, MsgPI, t.start)
			}
			if !t.declOK {
				return t.fail(NotWellFormed, MsgDeclNotFirst, t.start)
			}
			t.pos = p
			t.state = sDecl

		case sDecl:
			for ; p < len(buf); p++ {
				if p-t.start > maxDeclBytes {
					return t.fail(NotWellFormed, MsgBadDecl, t.start)
				}
				if buf[p] != '?' {
					continue
				}
				if p+1 == len(buf) {
					break
				}
				if buf[p+1] != '>' {
					return t.fail(NotWellFormed, MsgBadDecl, t.start)
				}
				data := buf[t.start+5 : p]
				if !validDecl(data) {
					return t.fail(NotWellFormed, MsgBadDecl, t.start)
				}
				tok := t.token(KindDecl, t.start, p+2)
				tok.Data = data
				t.pos = p + 2
				t.start = t.pos
				t.state = sContent
				return tok, nil
			}
			t.pos = p
			return t.needMore()

		case sRef:
			if p == len(buf) {
				return t.needMore()
			}
			if buf[p] == '#' {
				t.pos = p + 1
				t.hexRef, t.refVal, t.refDigits = false, 0, 0
				t.state = sCharRef
				continue
			}
			if !t.nameStart(buf, p) {
				if t.err != nil {
					return t.fail(NotWellFormed, MsgBadRef, p)
				}
				return t.needMore()
			}
			t.refStart = int32(p - t.start)
			t.state = sRefName

		case sRefName:
			p, ok := t.scanName(buf, p)
			if t.err != nil {
				return nil, t.err
			}
			from := t.start + int(t.refStart)
			if p-from > t.lim.MaxNameBytes {
				return t.fail(LimitExceeded, MsgNameTooLong, from)
			}
			if !ok {
				t.pos = p
				return t.needMore()
			}
			if buf[p] != ';' {
				return t.fail(NotWellFormed, MsgBadRef, p)
			}
			if predefined(buf[from:p]) == 0 {
				return t.fail(Restricted, MsgEntityRef, from-1)
			}
			t.pos = p + 1
			t.state = t.ret

		case sCharRef:
			if p == len(buf) {
				return t.needMore()
			}
			if buf[p] == 'x' {
				t.hexRef = true
				p++
			}
			t.pos = p
			t.state = sCharRefDigits

		case sCharRefDigits:
			for ; p < len(buf); p++ {
				c := buf[p]
				v := int32(-1)
				switch {
				case c >= '0' && c <= '9':
					v = int32(c - '0')
				case t.hexRef && c >= 'a' && c <= 'f':
					v = int32(c-'a') + 10
				case t.hexRef && c >= 'A' && c <= 'F':
					v = int32(c-'A') + 10
				case c == ';':
					if t.refDigits == 0 {
						return t.fail(NotWellFormed, MsgBadRef, p)
					}
					if !isChar(rune(t.refVal)) {
						return t.fail(NotWellFormed, MsgBadCharRef, p)
					}
					t.pos = p + 1
					t.state = t.ret
				default:
					return t.fail(NotWellFormed, MsgBadRef, p)
				}
				if t.state != sCharRefDigits {
					break
				}
				t.refDigits++
				if t.hexRef {
					t.refVal = t.refVal*16 + v
				} else {
					t.refVal = t.refVal*10 + v
				}
				if t.refVal > utf8.MaxRune {
					t.refVal = utf8.MaxRune + 1 // stays out of range, never overflows
				}
			}
			if t.state == sCharRefDigits {
				t.pos = p
				return t.needMore()
			}

		case sDone:
			for p < len(buf) && isSpace(buf[p]) {
				p++
			}
			t.pos, t.start = p, p
			if p < len(buf) {
				return t.fail(NotWellFormed, MsgAfterStreamEnd, p)
			}
			return nil, ErrNeedMore
		}
	}
}

// token prepares the token returned for buf[from:to].
func (t *Tokenizer) token(k Kind, from, to int) *Token {
	tok := &t.tok
	tok.Kind = k
	tok.SelfClosing, tok.HasRefs = false, false
	tok.Depth = len(t.sc.open)
	tok.Name, tok.Space, tok.Data = nil, nil, nil
	tok.Attrs = tok.Attrs[:0]
	tok.Offset, tok.End = from, to
	return tok
}

// predefined returns the character a predefined entity stands for, or 0.
func predefined(name []byte) byte {
	switch string(name) {
	case "lt":
		return '<'
	case "gt":
		return '>'
	case "amp":
		return '&'
	case "apos":
		return '\''
	case "quot":
		return '"'
	}
	return 0
}

// emitStart finishes a start tag: it binds the namespaces it declares,
// resolves its names, checks its attributes and opens the element.
func (t *Tokenizer) emitStart(buf []byte, selfClosing bool) (*Token, error) {
	s := t.start
	name := buf[s+1 : s+int(t.nameEnd)]
	e := openElem{nsMark: uint32(len(t.sc.ns)), arenaMark: uint32(len(t.sc.arena))}
	e.name = t.sc.store(name)
	prefixed := 0
	for i := range t.attrs {
		a := &t.attrs[i]
		an := buf[s+int(a.name0) : s+int(a.name1)]
		isDefault := string(an) == "xmlns"
		if !isDefault && !bytes.HasPrefix(an, []byte("xmlns:")) {
			if bytes.IndexByte(an, ':') >= 0 {
				prefixed++
			}
			continue
		}
		d := nsDecl{}
		if !isDefault {
			d.prefix = t.sc.store(an[6:])
		}
		val := buf[s+int(a.val0) : s+int(a.val1)]
		off := len(t.sc.arena)
		if a.refs || bytes.ContainsAny(val, "\t\n\r") {
			t.sc.arena = AppendAttr(t.sc.arena, val)
		} else {
			t.sc.arena = append(t.sc.arena, val...)
		}
		d.uri = span{uint32(off), uint32(len(t.sc.arena) - off)}
		if !validNSDecl(t.sc.bytes(d.prefix), t.sc.bytes(d.uri), isDefault) {
			return t.fail(NotWellFormed, MsgBadNSDecl, s+int(a.name0))
		}
		t.sc.ns = append(t.sc.ns, d)
	}
	for i := 1; i < len(t.attrs); i++ {
		ai := buf[s+int(t.attrs[i].name0) : s+int(t.attrs[i].name1)]
		for j := 0; j < i; j++ {
			if bytes.Equal(ai, buf[s+int(t.attrs[j].name0):s+int(t.attrs[j].name1)]) {
				return t.fail(NotWellFormed, MsgDuplicateAttr, s+int(t.attrs[i].name0))
			}
		}
	}
	var prefix []byte
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		prefix = name[:i]
	}
	sp, ok := t.sc.lookup(prefix)
	if !ok && prefix != nil {
		return t.fail(NotWellFormed, MsgUndeclaredPrefix, s+1)
	}
	e.space = sp
	if prefixed > 0 {
		if err := t.checkAttrSpaces(buf, prefixed); err != nil {
			return nil, err
		}
	}

	kind := KindStart
	if t.stream && len(t.sc.open) == 0 {
		kind = KindStreamStart
	}
	tok := t.token(kind, s, t.pos)
	tok.SelfClosing = selfClosing
	tok.Name = name
	tok.Space = t.sc.bytes(e.space)
	for i := range t.attrs {
		a := &t.attrs[i]
		tok.Attrs = append(tok.Attrs, Attr{
			Name:    buf[s+int(a.name0) : s+int(a.name1)],
			Value:   buf[s+int(a.val0) : s+int(a.val1)],
			HasRefs: a.refs,
		})
	}
	t.sc.open = append(t.sc.open, e)
	if t.overLimit(t.pos) {
		return t.fail(LimitExceeded, MsgStanzaTooLarge, t.pos)
	}
	if kind == KindStreamStart {
		t.top = -1
	}
	t.start = t.pos
	t.state = sContent
	t.pendingEnd = selfClosing
	return tok, nil
}

// checkAttrSpaces checks that every prefixed attribute's prefix is bound and
// that no two attributes share a local name and namespace (XML Namespaces §6.3).
func (t *Tokenizer) checkAttrSpaces(buf []byte, prefixed int) error {
	s := t.start
	for i := range t.attrs {
		an := buf[s+int(t.attrs[i].name0) : s+int(t.attrs[i].name1)]
		c := bytes.IndexByte(an, ':')
		if c < 0 || bytes.HasPrefix(an, []byte("xmlns:")) {
			continue
		}
		spi, ok := t.sc.lookup(an[:c])
		if !ok {
			_, err := t.fail(NotWellFormed, MsgUndeclaredPrefix, s+int(t.attrs[i].name0))
			return err
		}
		if prefixed < 2 {
			continue
		}
		for j := 0; j < i; j++ {
			aj := buf[s+int(t.attrs[j].name0) : s+int(t.attrs[j].name1)]
			cj := bytes.IndexByte(aj, ':')
			if cj < 0 || bytes.HasPrefix(aj, []byte("xmlns:")) || !bytes.Equal(an[c+1:], aj[cj+1:]) {
				continue
			}
			spj, _ := t.sc.lookup(aj[:cj])
			if bytes.Equal(t.sc.bytes(spi), t.sc.bytes(spj)) {
				_, err := t.fail(NotWellFormed, MsgDuplicateAttr, s+int(t.attrs[i].name0))
				return err
			}
		}
	}
	return nil
}

// validNSDecl applies the constraints of XML Namespaces §3 on declarations.
func validNSDecl(prefix, uri []byte, isDefault bool) bool {
	if string(uri) == NamespaceXMLNS {
		return false
	}
	if isDefault {
		return string(uri) != NamespaceXML
	}
	switch string(prefix) {
	case "xmlns":
		return false
	case "xml":
		return string(uri) == NamespaceXML
	}
	return len(uri) > 0 && string(uri) != NamespaceXML
}

// emitEnd finishes an end tag: it must close the innermost open element.
func (t *Tokenizer) emitEnd(buf []byte) (*Token, error) {
	if len(t.sc.open) == 0 {
		return t.fail(NotWellFormed, MsgUnexpectedEnd, t.start)
	}
	name := buf[t.start+2 : t.start+int(t.nameEnd)]
	e := t.sc.open[len(t.sc.open)-1]
	if !bytes.Equal(name, t.sc.bytes(e.name)) {
		return t.fail(NotWellFormed, MsgEndMismatch, t.start)
	}
	if t.overLimit(t.pos) {
		return t.fail(LimitExceeded, MsgStanzaTooLarge, t.pos)
	}
	tok := t.closeElem(t.start, t.pos)
	tok.Name = name
	t.start = t.pos
	return tok, nil
}

// emitPendingEnd returns the end of a self-closing element, which has no
// bytes of its own: its name comes from the scope.
func (t *Tokenizer) emitPendingEnd() (*Token, error) {
	t.pendingEnd = false
	e := t.sc.open[len(t.sc.open)-1]
	tok := t.closeElem(t.pos, t.pos)
	// The arena keeps the popped bytes until the next start tag overwrites them.
	tok.Name = t.sc.arena[e.name.off : e.name.off+e.name.n]
	return tok, nil
}

// closeElem pops the innermost element and prepares its end token.
func (t *Tokenizer) closeElem(from, to int) *Token {
	e := t.sc.pop()
	kind := KindEnd
	if t.stream && len(t.sc.open) == 0 {
		kind = KindStreamEnd
	}
	tok := t.token(kind, from, to)
	if e.space.n > 0 {
		tok.Space = t.sc.arena[e.space.off : e.space.off+e.space.n]
	}
	if len(t.sc.open) == t.topDepth() {
		t.top = -1
	}
	if kind == KindStreamEnd {
		t.state = sDone
	} else {
		t.state = sContent
	}
	return tok
}
