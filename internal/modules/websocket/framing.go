package websocket

import (
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
	"xmppd/internal/xml"
)

// nsFraming is the namespace of <open/> and <close/> (RFC 7395 §3.3.2).
const nsFraming = "urn:ietf:params:xml:ns:xmpp-framing"

// streamRoot is what the input reader is given before the client's first
// message: a WebSocket stream has no root element, but the reader reads
// the elements of one, and a client that leaves out jabber:client on a
// stanza is read as meaning it.
const streamRoot = "<stream:stream xmlns='" + stanza.NSClient + "' xmlns:stream='" + stanza.NSStream + "'>"

// closeElement ends a stream (RFC 7395 §3.6).
const closeElement = "<close xmlns='" + nsFraming + "'/>"

// appendOpen appends our <open/> (RFC 7395 §3.4), the header of a framed
// stream.
func appendOpen(dst []byte, h stream.Header) []byte {
	dst = append(dst, "<open xmlns='"+nsFraming+"'"...)
	attr := func(name, v string) {
		if v != "" {
			dst = append(dst, ' ')
			dst = append(dst, name...)
			dst = append(dst, "='"...)
			dst = append(xml.AppendEscapedAttr(dst, v), '\'')
		}
	}
	attr("from", h.From)
	attr("to", h.To)
	attr("id", h.ID)
	attr("version", "1.0")
	attr("xml:lang", h.Lang)
	return append(dst, "/>"...)
}

// appendError appends a stream error as a message of its own, which
// declares the stream prefix itself (RFC 7395 §3.5).
func appendError(dst []byte, condition, text string) []byte {
	var b stanza.Builder
	b.Reset(dst[len(dst):]).Start("stream:error").Attr("xmlns:stream", stanza.NSStream).
		Start(condition).Attr("xmlns", stanza.NSStreams).End()
	if text != "" {
		b.Start("text").Attr("xmlns", stanza.NSStreams).Attr("xml:lang", "en").Text(text).End()
	}
	return append(dst, b.Bytes()...)
}

// appendFramed appends p, one element as it would go on an XML stream,
// as a message of its own: on a stream an element takes jabber:client and
// the stream prefix from the stream header, in a WebSocket message it must
// declare them itself (RFC 7395 §3.3.3). So a message, presence or iq
// without an xmlns gets jabber:client, and a stream:features or
// stream:error gets the stream prefix.
func appendFramed(dst, p []byte) []byte {
	n := nameEnd(p)
	if n == 0 {
		return append(dst, p...)
	}
	var decl string
	switch name := string(p[1:n]); {
	case name == "message" || name == "presence" || name == "iq":
		if !hasAttr(p[n:], "xmlns") {
			decl = " xmlns='" + stanza.NSClient + "'"
		}
	case len(name) > 7 && name[:7] == "stream:":
		if !hasAttr(p[n:], "xmlns:stream") {
			decl = " xmlns:stream='" + stanza.NSStream + "'"
		}
	}
	if decl == "" {
		return append(dst, p...)
	}
	dst = append(dst, p[:n]...)
	dst = append(dst, decl...)
	return append(dst, p[n:]...)
}

// nameEnd returns where the element name of the start tag at p's start
// ends (0 when p is no start tag).
func nameEnd(p []byte) int {
	if len(p) < 2 || p[0] != '<' {
		return 0
	}
	for i := 1; i < len(p); i++ {
		switch p[i] {
		case ' ', '\t', '\r', '\n', '/', '>':
			return i
		}
	}
	return 0
}

// hasAttr reports whether the attributes of a start tag (p starts right
// after its name) include name.
func hasAttr(p []byte, name string) bool {
	i := 0
	for i < len(p) {
		for i < len(p) && isSpace(p[i]) {
			i++
		}
		if i >= len(p) || p[i] == '>' || p[i] == '/' {
			return false
		}
		start := i
		for i < len(p) && p[i] != '=' && !isSpace(p[i]) && p[i] != '>' {
			i++
		}
		if string(p[start:i]) == name {
			return true
		}
		for i < len(p) && p[i] != '\'' && p[i] != '"' && p[i] != '>' {
			i++
		}
		if i >= len(p) || p[i] == '>' {
			return false
		}
		q := p[i]
		i++
		for i < len(p) && p[i] != q {
			i++
		}
		i++
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
