package stanza

import "xmppd/internal/xml"

// Namespaces the stanza layer itself needs to recognize.
const (
	NSClient    = "jabber:client"
	NSServer    = "jabber:server"
	NSComponent = "jabber:component:accept"
	NSStream    = "http://etherx.jabber.org/streams"
	NSStanzas   = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSStreams   = "urn:ietf:params:xml:ns:xmpp-streams"
	NSTLS       = "urn:ietf:params:xml:ns:xmpp-tls"
	NSSASL      = "urn:ietf:params:xml:ns:xmpp-sasl"
	NSBind      = "urn:ietf:params:xml:ns:xmpp-bind"
	NSSession   = "urn:ietf:params:xml:ns:xmpp-session"
)

// interned holds namespace names that stanzas inherit from their stream, so
// that recording one needs no copy.
var interned = map[string][]byte{}

func init() {
	for _, ns := range []string{NSClient, NSServer, NSComponent, NSStream, NSStanzas, NSStreams,
		NSTLS, NSSASL, NSBind, NSSession, xml.NamespaceXML} {
		interned[ns] = []byte(ns)
	}
}

// intern returns a stable copy of ns: the shared one for a known namespace
// (no allocation), a fresh one otherwise.
func intern(ns []byte) []byte {
	if len(ns) == 0 {
		return nil
	}
	if b, ok := interned[string(ns)]; ok {
		return b
	}
	return append([]byte(nil), ns...)
}
