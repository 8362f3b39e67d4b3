// Package xml is xmppd's streaming XML tokenizer: a byte-level state machine
// over a window of bytes that the caller owns and fills, returning tokens
// that are sub-slices of that window.
//
// It is built for XMPP streams (RFC 6120 §11): it validates UTF-8 and the
// XML 1.0 character and name rules, tracks namespaces (XML Namespaces 1.0),
// enforces caller-given limits while scanning, and rejects the constructs
// RFC 6120 §11.1 forbids (DTDs, comments, processing instructions other than
// the XML declaration, entity references beyond the five predefined ones)
// with errors of their own class, so the stream layer can answer with the
// right stream error. Values are never decoded while scanning: a consumer
// that wants an attribute value or text decoded asks for it into a buffer it
// provides (AppendText, AppendAttr).
//
// The window contract: the caller passes the same window, grown at its end,
// on every call to Next until it drops a prefix of it, which it may do up to
// Retain() bytes and must then report with Shift. Input split at any byte
// boundary yields the same tokens as unsplit input, and no byte is scanned
// twice except the few bytes of a split UTF-8 sequence or keyword.
package xml
