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
	n := stanza.TagNameEnd(p)
	if n == 0 {
		return append(dst, p...)
	}
	var decl string
	switch name := string(p[1:n]); {
	case name == "message" || name == "presence" || name == "iq":
		if !stanza.TagHasAttr(p[n:], "xmlns") {
			decl = " xmlns='" + stanza.NSClient + "'"
		}
	case len(name) > 7 && name[:7] == "stream:":
		if !stanza.TagHasAttr(p[n:], "xmlns:stream") {
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
