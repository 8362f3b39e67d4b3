package xml

import (
	"errors"
	"strconv"
)

// Class sorts syntax errors by the stream error they call for.
type Class uint8

// The error classes.
const (
	// NotWellFormed is input that breaks XML 1.0 or XML Namespaces: stream error not-well-formed.
	NotWellFormed Class = iota + 1
	// Restricted is XML that RFC 6120 §11.1 forbids in XMPP: stream error restricted-xml.
	Restricted
	// LimitExceeded is input over a configured limit: stream error policy-violation.
	LimitExceeded
	// BadFormat is well-formed XML that no XMPP stream may carry: stream error bad-format.
	BadFormat
)

var classNames = [...]string{"", "not-well-formed", "restricted-xml", "policy-violation", "bad-format"}

// String returns the stream error condition (RFC 6120 §4.9.3) for the class.
func (c Class) String() string {
	if int(c) < len(classNames) && c != 0 {
		return classNames[c]
	}
	return "unknown"
}

// ErrNeedMore reports that the window ends inside a token: call Next again
// with more bytes appended.
var ErrNeedMore = errors.New("xml: need more input")

// SyntaxError is a rejection of the input. Once a tokenizer has returned one,
// it returns the same error until it is reset.
type SyntaxError struct {
	Class  Class
	Offset int64  // stream offset of the offending byte
	Msg    string // what was wrong, one of the messages below
}

// Error formats the error with its class and offset.
func (e *SyntaxError) Error() string {
	return "xml: " + e.Msg + " at offset " + strconv.FormatInt(e.Offset, 10) + " (" + e.Class.String() + ")"
}

// ClassOf returns the class of err when it is a *SyntaxError, else 0.
func ClassOf(err error) Class {
	var se *SyntaxError
	if errors.As(err, &se) {
		return se.Class
	}
	return 0
}

// Messages of the errors the tokenizer returns; tests and callers compare them.
const (
	MsgInvalidUTF8       = "invalid UTF-8"
	MsgInvalidChar       = "character not allowed in XML"
	MsgTextOutsideRoot   = "character data outside the root element"
	MsgTextAtStreamLevel = "character data between stanzas"
	MsgCDATAEnd          = "']]>' in character data"
	MsgLtInAttr          = "'<' in attribute value"
	MsgBadNameStart      = "invalid name start character"
	MsgBadName           = "invalid character in name"
	MsgBadQName          = "name is not a valid qualified name"
	MsgBadTag            = "invalid character in tag"
	MsgExpectedEq        = "expected '=' after attribute name"
	MsgExpectedQuote     = "expected quoted attribute value"
	MsgExpectedGt        = "expected '>'"
	MsgDuplicateAttr     = "duplicate attribute"
	MsgEndMismatch       = "end tag does not match start tag"
	MsgUnexpectedEnd     = "end tag without start tag"
	MsgBadRef            = "malformed reference"
	MsgBadCharRef        = "character reference to a character not allowed in XML"
	MsgUndeclaredPrefix  = "undeclared namespace prefix"
	MsgBadNSDecl         = "invalid namespace declaration"
	MsgBadMarkup         = "invalid markup declaration"
	MsgBadDecl           = "invalid XML declaration"
	MsgDeclNotFirst      = "XML declaration not at the start of the document"
	MsgUnexpectedEOF     = "unexpected end of input"
	MsgAfterStreamEnd    = "data after the end of the stream"
	MsgDTD               = "document type declaration"
	MsgComment           = "comment"
	MsgPI                = "processing instruction"
	MsgEntityRef         = "entity reference other than the predefined ones"
	MsgStanzaTooLarge    = "stanza larger than the limit"
	MsgTooDeep           = "elements nested deeper than the limit"
	MsgTooManyAttrs      = "more attributes than the limit"
	MsgNameTooLong       = "name longer than the limit"
)
