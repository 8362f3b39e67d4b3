package bosh

import (
	"errors"
	"slices"
	"strconv"

	"xmppd/internal/stanza"
	"xmppd/internal/xml"
)

// Namespaces of the <body/> wrapper (XEP-0124 §4) and of XMPP over BOSH's
// attributes on it (XEP-0206 §3).
const (
	nsBOSH  = "http://jabber.org/protocol/httpbind"
	nsXBOSH = "urn:xmpp:xbosh"
)

// Terminal binding conditions (XEP-0124 §17.2). A stream error whose
// condition is not one of these reaches the client as remote-stream-error
// with the <stream:error/> inside (XEP-0206 §7).
var boshConditions = []string{
	"bad-request", "host-gone", "host-unknown", "improper-addressing",
	"internal-server-error", "item-not-found", "other-request", "policy-violation",
	"remote-connection-failed", "remote-stream-error", "see-other-uri",
	"system-shutdown", "undefined-condition",
}

// Conditions this transport raises itself.
const (
	condBadRequest   = "bad-request"
	condItemNotFound = "item-not-found"
	condPolicy       = "policy-violation"
	condInternal     = "internal-server-error"
)

// attrs is what a request's <body/> says; numbers absent are -1.
type attrs struct {
	rid     int64
	sid     string
	to      string
	lang    string
	version string // xmpp:version
	typ     string // "terminate" ends the session
	wait    int64
	hold    int64
	pause   int64
	ack     int64
	restart bool // xmpp:restart='true': a new stream after SASL
}

// bodyError is a request the binding refuses: its terminal condition.
type bodyError struct{ cond, text string }

// readBody checks a request's bytes, a <body/> with stanzas, to the end,
// and returns its attributes and how many stanzas it carries. The
// attributes are filled as far as they were read, so that a refused body
// still names its session.
func readBody(r *stanza.Reader, window []byte) (a attrs, stanzas int, e *bodyError) {
	a = attrs{rid: -1, wait: -1, hold: -1, pause: -1, ack: -1}
	ev, err := r.Next(window)
	if err != nil {
		return a, 0, syntaxError(err)
	}
	if ev != stanza.EventHeader {
		return a, 0, &bodyError{condBadRequest, "the request is not a <body/>"}
	}
	tok := r.Header()
	if string(tok.Local()) != "body" || string(tok.Space) != nsBOSH {
		return a, 0, &bodyError{condBadRequest, "the request must be a <body/> in " + nsBOSH}
	}
	if e := a.read(r.Tokenizer(), tok); e != nil {
		return a, 0, e
	}
	for {
		ev, err := r.Next(window)
		if err != nil {
			return a, stanzas, syntaxError(err)
		}
		switch ev {
		case stanza.EventStanza:
			stanzas++
		case stanza.EventEnd:
			return a, stanzas, nil
		}
	}
}

// syntaxError is the condition for a body the tokenizer refused: too big
// is a policy violation, anything else a bad request.
func syntaxError(err error) *bodyError {
	if errors.Is(err, xml.ErrNeedMore) {
		return &bodyError{condBadRequest, "the body ends before </body>"}
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		if se.Class == xml.LimitExceeded {
			return &bodyError{condPolicy, se.Msg}
		}
		return &bodyError{condBadRequest, "not well-formed XML: " + se.Msg}
	}
	return &bodyError{condBadRequest, err.Error()}
}

// read takes the attributes of the <body/> start tag.
func (a *attrs) read(tz *xml.Tokenizer, tok *xml.Token) *bodyError {
	for i := range tok.Attrs {
		at := &tok.Attrs[i]
		name := at.Name
		if c := slices.Index(name, ':'); c >= 0 {
			prefix := name[:c]
			if string(prefix) == "xmlns" || string(prefix) == "xml" {
				if string(name) == "xml:lang" {
					a.lang = string(at.AppendValue(nil))
				}
				continue
			}
			if uri, ok := tz.LookupPrefix(prefix); !ok || string(uri) != nsXBOSH {
				continue
			}
			switch string(name[c+1:]) {
			case "version":
				a.version = string(at.AppendValue(nil))
			case "restart":
				a.restart = string(at.AppendValue(nil)) == "true"
			}
			continue
		}
		var num *int64
		switch string(name) {
		case "sid":
			a.sid = string(at.AppendValue(nil))
		case "to":
			a.to = string(at.AppendValue(nil))
		case "type":
			a.typ = string(at.AppendValue(nil))
		case "rid":
			num = &a.rid
		case "wait":
			num = &a.wait
		case "hold":
			num = &a.hold
		case "pause":
			num = &a.pause
		case "ack":
			num = &a.ack
		}
		if num == nil {
			continue
		}
		// XEP-0124 §14.1: rid is at most 2^53-1; nothing else comes close.
		v, err := strconv.ParseInt(string(at.AppendValue(nil)), 10, 64)
		if err != nil || v < 0 || v > 1<<53-1 {
			return &bodyError{condBadRequest, "attribute " + string(name) + " must be a number"}
		}
		*num = v
	}
	return nil
}

// appendOpen writes the start of a response <body/>: the binding's
// namespace, the stream prefix that <stream:features/> and
// <stream:error/> use, and ack when it is due (ack 0: none).
func appendOpen(dst []byte, ack uint64) []byte {
	dst = append(dst, "<body xmlns='"+nsBOSH+"' xmlns:stream='"+stanza.NSStream+"'"...)
	if ack != 0 {
		dst = append(dst, " ack='"...)
		dst = strconv.AppendUint(dst, ack, 10)
		dst = append(dst, '\'')
	}
	return dst
}

// attr appends name='value', escaped.
func attr(dst []byte, name, value string) []byte {
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, "='"...)
	dst = xml.AppendEscapedAttr(dst, value)
	return append(dst, '\'')
}

// terminateBody is the response that ends a session (XEP-0124 §13, §17):
// what was queued for the client, then the condition.
func terminateBody(condition, text string, out []byte) []byte {
	b := appendOpen(nil, 0)
	b = append(b, " type='terminate'"...)
	streamErr := condition != "" && !slices.Contains(boshConditions, condition)
	switch {
	case streamErr:
		b = attr(b, "condition", "remote-stream-error")
	case condition != "":
		b = attr(b, "condition", condition)
	}
	b = append(b, '>')
	b = append(b, out...)
	if streamErr {
		var sb stanza.Builder
		sb.Reset(nil).Start("stream:error").Start(condition).Attr("xmlns", stanza.NSStreams).End()
		if text != "" {
			sb.Start("text").Attr("xmlns", stanza.NSStreams).Attr("xml:lang", "en").Text(text).End()
		}
		b = append(b, sb.Bytes()...)
	}
	return append(b, "</body>"...)
}

// appendQualified appends p, one element as it would go on an XML stream,
// to dst. On a stream a stanza takes jabber:client from the stream header;
// inside <body/> it must say so itself (XEP-0206 §5), so a message,
// presence or iq without an xmlns of its own gets one.
func appendQualified(dst, p []byte) []byte {
	n := stanza.TagNameEnd(p)
	if n == 0 {
		return append(dst, p...)
	}
	switch string(p[1:n]) {
	case "message", "presence", "iq":
	default:
		return append(dst, p...)
	}
	if stanza.TagHasAttr(p[n:], "xmlns") {
		return append(dst, p...)
	}
	dst = append(dst, p[:n]...)
	dst = append(dst, " xmlns='"+stanza.NSClient+"'"...)
	return append(dst, p[n:]...)
}
