package core

import "xmppd/internal/stanza"

// Stream is what stream-level handlers get of a client stream, as
// Event.Data: the events of StreamEvent and EventStreamFeatures. Every
// client transport (TCP, WebSocket, BOSH) drives the same stream machine,
// so a module written against this works on all of them.
type Stream interface {
	// Send writes one element on the stream, with the transport's framing.
	Send(p []byte)
	// Fail ends the stream with a stream error.
	Fail(condition, text string)
	// Session is the stream's session: nil before authentication, not
	// bound before resource binding.
	Session() *Session
	// Host is the host the stream was opened to; nil before the header.
	Host() *Host
	// Adopt makes s, a detached session of the account that authenticated
	// on this stream, the stream's session in place of binding a new one
	// (stream management's resumption). Only after authentication and
	// before binding.
	Adopt(s *Session) error
	// Info describes the stream's transport.
	Info() LinkInfo
}

// Phases of a client stream, as they appear in StreamEvent names.
const (
	StreamPreAuth = "preauth" // before authentication (in-band registration)
	StreamPreBind = "prebind" // authenticated, not bound (stream management's <resume/>)
	StreamBound   = "bound"   // bound: stream-level elements beside stanzas (<enable/>, <r/>, <a/>, CSI)
)

// EventStreamFeatures fires on the host bus each time a client stream
// offers its features; handlers add their elements to the *Features in
// Event.Data.
const EventStreamFeatures = "stream-features"

// Features is Event.Data of EventStreamFeatures.
type Features struct {
	// B is the <stream:features/> being written: add whole elements.
	B *stanza.Builder
	// Authenticated is true for the features after authentication, where
	// resource binding is offered.
	Authenticated bool
	// Stream is the stream the features are for.
	Stream Stream
}

// StreamEvent names the event a client stream fires on its host for a
// top-level element it does not handle itself, in phase (a Stream*
// constant): "stream/bound/urn:xmpp:sm:3:enable". For an iq, space and
// local are its payload's. A handler that returns true took the element;
// otherwise the stream answers as RFC 6120 says for an element out of
// place.
func StreamEvent(phase, space, local string) string {
	return "stream/" + phase + "/" + space + ":" + local
}
