package sasl

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"

	// Registered for crypto.Hash.New in endPointHash.
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// Channel binding type names (RFC 9266 §2, RFC 5929 §3 and §4).
const (
	cbExporter = "tls-exporter"
	cbEndPoint = "tls-server-end-point"
	cbUnique   = "tls-unique"
)

// exporterLabel and exporterLength are fixed by RFC 9266 §2.
const (
	exporterLabel  = "EXPORTER-Channel-Binding"
	exporterLength = 32
)

// ChannelBinding holds what the TLS layer lets SCRAM bind to. A nil field
// means that type is not available on the connection.
type ChannelBinding struct {
	// Exporter is the tls-exporter value (RFC 9266).
	Exporter []byte
	// EndPoint is the tls-server-end-point value (RFC 5929 §4.1).
	EndPoint []byte
	// Unique is the tls-unique value (RFC 5929 §3): TLS 1.2 and earlier
	// only, where it is the type RFC 5802 §6 has SCRAM clients that bind
	// implement, and the only one Python's ssl module offers.
	Unique []byte
}

func (cb ChannelBinding) available() bool {
	return len(cb.Exporter) > 0 || len(cb.EndPoint) > 0 || len(cb.Unique) > 0
}

// data returns the binding of the named type, or nil.
func (cb ChannelBinding) data(name string) []byte {
	var b []byte
	switch name {
	case cbExporter:
		b = cb.Exporter
	case cbEndPoint:
		b = cb.EndPoint
	case cbUnique:
		b = cb.Unique
	}
	if len(b) == 0 {
		return nil
	}
	return b
}

// Types returns the names of the bindings cb holds, for the XEP-0440
// <sasl-channel-binding/> stream feature, strongest first.
func (cb ChannelBinding) Types() []string {
	var t []string
	for _, name := range []string{cbExporter, cbEndPoint, cbUnique} {
		if cb.data(name) != nil {
			t = append(t, name)
		}
	}
	return t
}

// BindingFromTLS returns the bindings of a connection as its client sees
// it: tls-server-end-point comes from the peer's leaf certificate. On the
// server side use ServerBindingFromTLS, because a server's ConnectionState
// does not hold its own certificate (and PeerCertificates there are the
// client's). A nil cs gives the zero value.
func BindingFromTLS(cs *tls.ConnectionState) ChannelBinding {
	if cs == nil {
		return ChannelBinding{}
	}
	cb := ChannelBinding{Exporter: exporter(cs), Unique: unique(cs)}
	if len(cs.PeerCertificates) > 0 {
		cb.EndPoint = EndPointBinding(cs.PeerCertificates[0])
	}
	return cb
}

// ServerBindingFromTLS returns the bindings of a connection as its server
// sees it; leaf is the certificate the server presented on it, or nil to
// leave tls-server-end-point unavailable.
func ServerBindingFromTLS(cs *tls.ConnectionState, leaf *x509.Certificate) ChannelBinding {
	if cs == nil {
		return ChannelBinding{}
	}
	cb := ChannelBinding{Exporter: exporter(cs), Unique: unique(cs)}
	if leaf != nil {
		cb.EndPoint = EndPointBinding(leaf)
	}
	return cb
}

// exporter returns the tls-exporter binding. Only TLS 1.3 qualifies: on
// TLS 1.2 the value is unique to the connection only with the extended
// master secret (RFC 9266 §4), which the connection state does not
// reveal.
func exporter(cs *tls.ConnectionState) []byte {
	if !cs.HandshakeComplete || cs.Version != tls.VersionTLS13 {
		return nil
	}
	b, err := cs.ExportKeyingMaterial(exporterLabel, nil, exporterLength)
	if err != nil {
		return nil
	}
	return b
}

// unique returns the tls-unique binding. TLS 1.3 has none (RFC 9266 §1),
// and crypto/tls leaves it out as well for a resumed TLS 1.2 session without
// the extended master secret, where it would not be unique (RFC 7627).
func unique(cs *tls.ConnectionState) []byte {
	if !cs.HandshakeComplete || cs.Version >= tls.VersionTLS13 || len(cs.TLSUnique) == 0 {
		return nil
	}
	return cs.TLSUnique
}

// EndPointBinding returns the tls-server-end-point binding of a server
// certificate: its hash under the hash of its signature algorithm, SHA-256
// in place of MD5 and SHA-1 (RFC 5929 §4.1). It returns nil when the
// signature algorithm uses no single hash, such as Ed25519, for which the
// binding is undefined.
func EndPointBinding(cert *x509.Certificate) []byte {
	h := endPointHash(cert.SignatureAlgorithm)
	if h == 0 {
		return nil
	}
	d := h.New()
	d.Write(cert.Raw)
	return d.Sum(nil)
}

func endPointHash(alg x509.SignatureAlgorithm) crypto.Hash {
	switch alg {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.DSAWithSHA256, x509.ECDSAWithSHA256:
		return crypto.SHA256
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		return crypto.SHA384
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		return crypto.SHA512
	}
	return 0
}
