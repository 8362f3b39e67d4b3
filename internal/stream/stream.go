// Package stream holds what every XMPP stream shares, whoever is on the
// other end (client, server, component): the header, features framing,
// stream errors, and the limits a stream enforces (RFC 6120 §4).
package stream

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"xmppd/internal/stanza"
	"xmppd/internal/xml"
)

// Stream error conditions (RFC 6120 §4.9.3).
const (
	BadFormat              = "bad-format"
	BadNamespacePrefix     = "bad-namespace-prefix"
	Conflict               = "conflict"
	ConnectionTimeout      = "connection-timeout"
	HostGone               = "host-gone"
	HostUnknown            = "host-unknown"
	ImproperAddressing     = "improper-addressing"
	InternalServerError    = "internal-server-error"
	InvalidFrom            = "invalid-from"
	InvalidNamespace       = "invalid-namespace"
	InvalidXML             = "invalid-xml"
	NotAuthorized          = "not-authorized"
	NotWellFormed          = "not-well-formed"
	PolicyViolation        = "policy-violation"
	RemoteConnectionFailed = "remote-connection-failed"
	Reset                  = "reset"
	ResourceConstraint     = "resource-constraint"
	RestrictedXML          = "restricted-xml"
	SeeOtherHost           = "see-other-host"
	SystemShutdown         = "system-shutdown"
	UndefinedCondition     = "undefined-condition"
	UnsupportedEncoding    = "unsupported-encoding"
	UnsupportedFeature     = "unsupported-feature"
	UnsupportedStanzaType  = "unsupported-stanza-type"
	UnsupportedVersion     = "unsupported-version"
)

// Error is a stream error: the stream ends with it.
type Error struct {
	Condition string
	Text      string
}

// Error returns the condition and text.
func (e *Error) Error() string {
	if e.Text == "" {
		return "stream error: " + e.Condition
	}
	return "stream error: " + e.Condition + ": " + e.Text
}

// FromSyntax maps a tokenizer error to the stream error it calls for.
func FromSyntax(err error) *Error {
	var se *xml.SyntaxError
	if !errors.As(err, &se) {
		return &Error{InternalServerError, ""}
	}
	cond := NotWellFormed
	switch se.Class {
	case xml.Restricted:
		cond = RestrictedXML
	case xml.LimitExceeded:
		cond = PolicyViolation
	case xml.BadFormat:
		cond = BadFormat
	}
	return &Error{cond, se.Msg}
}

// Header is what a stream header says (RFC 6120 §4.7).
type Header struct {
	Space   string // the content namespace: jabber:client, jabber:server, ...
	From    string
	To      string
	ID      string
	Version string
	Lang    string
}

// ParseHeader reads a stream header token and checks what every stream
// requires: the streams namespace on the stream prefix, the expected content
// namespace, and version 1.0 (RFC 6120 §4.7.5, §4.8, §4.9.3.25).
func ParseHeader(tok *xml.Token, contentNS string) (Header, *Error) {
	var h Header
	if string(tok.Local()) != "stream" || string(tok.Space) != stanza.NSStream {
		return h, &Error{InvalidNamespace, "the stream element must be {" + stanza.NSStream + "}stream"}
	}
	if p := tok.Prefix(); p != nil && string(p) != "stream" {
		return h, &Error{BadNamespacePrefix, "the streams namespace must use the prefix 'stream'"}
	}
	for i := range tok.Attrs {
		a := &tok.Attrs[i]
		v := string(a.AppendValue(nil))
		switch string(a.Name) {
		case "xmlns":
			h.Space = v
		case "from":
			h.From = v
		case "to":
			h.To = v
		case "id":
			h.ID = v
		case "version":
			h.Version = v
		case "xml:lang":
			h.Lang = v
		}
	}
	if h.Space != contentNS {
		return h, &Error{InvalidNamespace, "the content namespace must be " + contentNS}
	}
	major, _, _ := strings.Cut(h.Version, ".")
	if h.Version == "" || major != "1" {
		return h, &Error{UnsupportedVersion, "this server speaks XMPP version 1.0"}
	}
	return h, nil
}

// AppendOpen writes the response stream header, with the XML declaration.
func AppendOpen(dst []byte, h Header) []byte {
	dst = append(dst, "<?xml version='1.0'?><stream:stream"...)
	attr := func(name, v string) {
		if v != "" {
			dst = append(dst, ' ')
			dst = append(dst, name...)
			dst = append(dst, "='"...)
			dst = append(xml.AppendEscapedAttr(dst, v), '\'')
		}
	}
	attr("xmlns", h.Space)
	attr("xmlns:stream", stanza.NSStream)
	attr("from", h.From)
	attr("to", h.To)
	attr("id", h.ID)
	attr("version", "1.0")
	attr("xml:lang", h.Lang)
	return append(dst, '>')
}

// AppendError appends a stream error and the stream's end (RFC 6120 §4.9)
// to dst, after what dst holds: the stream header, when none was sent yet.
func AppendError(dst []byte, e *Error) []byte {
	var b stanza.Builder
	// The builder writes from the start of the slice it gets; giving it
	// dst's spare capacity keeps a header already in dst.
	b.Reset(dst[len(dst):]).Start("stream:error").Start(e.Condition).Attr("xmlns", stanza.NSStreams).End()
	if e.Text != "" {
		b.Start("text").Attr("xmlns", stanza.NSStreams).Attr("xml:lang", "en").Text(e.Text).End()
	}
	dst = append(dst, b.Bytes()...)
	return append(dst, "</stream:stream>"...)
}

// AppendClose writes the stream's end.
func AppendClose(dst []byte) []byte { return append(dst, "</stream:stream>"...) }

// NewID returns a fresh stream id: unpredictable, as RFC 6120 §4.7.3 asks.
func NewID() string {
	var b [10]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// RateLimiter is a token bucket over bytes read, like Prosody's limits.
type RateLimiter struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

// NewRateLimiter allows rate bytes per second with bursts of burst bytes; a
// zero rate means no limit.
func NewRateLimiter(rate, burst int64) *RateLimiter {
	if rate <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = rate
	}
	return &RateLimiter{rate: float64(rate), burst: float64(burst), tokens: float64(burst)}
}

// Take spends n bytes and returns how long the reader should pause (0: none).
func (r *RateLimiter) Take(n int, now time.Time) time.Duration {
	if r == nil {
		return 0
	}
	if !r.last.IsZero() {
		r.tokens = min(r.burst, r.tokens+now.Sub(r.last).Seconds()*r.rate)
	}
	r.last = now
	r.tokens -= float64(n)
	if r.tokens >= 0 {
		return 0
	}
	return time.Duration(-r.tokens / r.rate * float64(time.Second))
}
