package sasl

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxMessage bounds each message the server accepts. The longest legitimate
// one is a client-first message with a full JID as authzid (at most 3071
// bytes, RFC 7622 §3.1) and a localpart as username; 4 KiB holds that
// unless both are padded with escaped commas, which no real account is.
const maxMessage = 4096

// maxNonce bounds the client's nonce. Clients send 16 to 32 characters;
// the cap keeps a hostile one from making the server echo and store
// kilobytes.
const maxNonce = 256

// serverNonceLen is the number of random bytes in the server's part of the
// nonce, 24 characters once in base64.
const serverNonceLen = 18

// b64 is the base64 of RFC 5802 §7 (RFC 4648 §4, padded). Strict decoding
// refuses stray bits in the last character, so every value has one
// spelling.
var b64 = base64.StdEncoding.Strict()

// definedAttrs are the attribute names RFC 5802 §5.1 gives a meaning. In
// an extension position one of them is a duplicate or out of order.
const definedAttrs = "aceimnprsv"

// clientFirst is a parsed client-first-message (RFC 5802 §7).
type clientFirst struct {
	flag      byte   // 'n', 'y' or 'p'
	cbName    string // with flag 'p'
	authzid   string // unescaped; "" when absent
	username  string // unescaped
	nonce     string
	gs2Header string // "n,," and the like, as sent
	bare      string // client-first-message-bare, as sent
}

// parseClientFirst parses
//
//	gs2-cbind-flag "," [authzid] "," [reserved-mext ","] username "," nonce ["," extensions]
//
// (RFC 5802 §7) strictly in that order.
func parseClientFirst(msg string) (clientFirst, *Failure) {
	var m clientFirst
	flag, rest, ok := strings.Cut(msg, ",")
	switch {
	case !ok:
		return m, fail(MalformedRequest, "client-first-message has no gs2 header")
	case flag == "n" || flag == "y":
		m.flag = flag[0]
	case strings.HasPrefix(flag, "p="):
		m.flag = 'p'
		m.cbName = flag[2:]
		if !validCBName(m.cbName) {
			return m, fail(MalformedRequest, "gs2 header has an invalid channel binding name")
		}
	default:
		return m, fail(MalformedRequest, "gs2 header does not begin with n, y or p=")
	}

	authz, rest, ok := strings.Cut(rest, ",")
	if !ok {
		return m, fail(MalformedRequest, "gs2 header does not end with a comma")
	}
	if authz != "" {
		v, isA := strings.CutPrefix(authz, "a=")
		if !isA {
			return m, fail(MalformedRequest, "gs2 header has something other than a= after the flag")
		}
		name, f := unescapeName(v, "authzid")
		if f != nil {
			return m, f
		}
		m.authzid = name
	}
	m.gs2Header = msg[:len(msg)-len(rest)]
	m.bare = rest

	field, rest, more := strings.Cut(rest, ",")
	if strings.HasPrefix(field, "m=") {
		// RFC 5802 §5.1: a server must fail the exchange when m is present.
		return m, fail(MalformedRequest, "extensions-not-supported")
	}
	v, ok := strings.CutPrefix(field, "n=")
	if !ok {
		return m, fail(MalformedRequest, "client-first-message-bare does not begin with n=")
	}
	name, f := unescapeName(v, "username")
	if f != nil {
		return m, f
	}
	m.username = name
	if !more {
		return m, fail(MalformedRequest, "client-first-message has no r= after n=")
	}

	field, rest, more = strings.Cut(rest, ",")
	v, ok = strings.CutPrefix(field, "r=")
	if !ok {
		return m, fail(MalformedRequest, "client-first-message has something other than r= after n=")
	}
	if len(v) > maxNonce {
		return m, fail(MalformedRequest, "client nonce longer than 256 bytes")
	}
	if !validNonce(v) {
		return m, fail(MalformedRequest, "client nonce is empty or has a character other than printable ascii")
	}
	m.nonce = v
	if more {
		if f := checkExtensions(rest, "client-first-message"); f != nil {
			return m, f
		}
	}
	return m, nil
}

// clientFinal is a parsed client-final-message (RFC 5802 §7).
type clientFinal struct {
	cbind        []byte // decoded c=
	nonce        string
	proof        []byte // decoded p=
	withoutProof string // client-final-message-without-proof, as sent
}

// parseClientFinal parses
//
//	channel-binding "," nonce ["," extensions] "," proof
//
// (RFC 5802 §7). The proof is the last attribute, and base64 has no comma,
// so it starts after the last comma.
func parseClientFinal(msg string) (clientFinal, *Failure) {
	var m clientFinal
	i := strings.LastIndexByte(msg, ',')
	if i < 0 {
		return m, fail(MalformedRequest, "client-final-message has a single attribute")
	}
	m.withoutProof = msg[:i]
	proof, ok := strings.CutPrefix(msg[i+1:], "p=")
	if !ok {
		return m, fail(MalformedRequest, "client-final-message does not end with p=")
	}
	var err error
	if m.proof, err = b64.DecodeString(proof); err != nil {
		return m, fail(IncorrectEncoding, "client proof is not valid base64")
	}

	field, rest, more := strings.Cut(m.withoutProof, ",")
	v, ok := strings.CutPrefix(field, "c=")
	if !ok {
		return m, fail(MalformedRequest, "client-final-message does not begin with c=")
	}
	if m.cbind, err = b64.DecodeString(v); err != nil || len(m.cbind) == 0 {
		return m, fail(IncorrectEncoding, "channel binding attribute is empty or not valid base64")
	}
	if !more {
		return m, fail(MalformedRequest, "client-final-message has no r= after c=")
	}

	field, rest, more = strings.Cut(rest, ",")
	v, ok = strings.CutPrefix(field, "r=")
	if !ok {
		return m, fail(MalformedRequest, "client-final-message has something other than r= after c=")
	}
	m.nonce = v
	if more {
		if f := checkExtensions(rest, "client-final-message"); f != nil {
			return m, f
		}
	}
	return m, nil
}

// checkExtensions validates attr-val *("," attr-val) where extensions may
// stand (RFC 5802 §7). Their meaning is unknown, so they are skipped, but
// one that repeats an attribute this version defines, or repeats another
// extension, is a malformed message rather than something to ignore.
func checkExtensions(s, where string) *Failure {
	var seen uint64
	for {
		field, rest, more := strings.Cut(s, ",")
		if len(field) < 3 || field[1] != '=' || !isAlpha(field[0]) {
			return fail(MalformedRequest, where+" has an attribute that is not a letter, = and a value")
		}
		if field[0] == 'm' {
			return fail(MalformedRequest, "extensions-not-supported")
		}
		if strings.IndexByte(definedAttrs, field[0]) >= 0 {
			return fail(MalformedRequest, where+" repeats an attribute or has one out of order")
		}
		bit := uint64(1) << alphaIndex(field[0])
		if seen&bit != 0 {
			return fail(MalformedRequest, where+" repeats an extension attribute")
		}
		seen |= bit
		if !validValue(field[2:]) {
			return fail(MalformedRequest, where+" has an extension value that is not utf-8 without NUL")
		}
		if !more {
			return nil
		}
		s = rest
	}
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func alphaIndex(c byte) uint {
	if c >= 'a' {
		return uint(c - 'a')
	}
	return uint(c-'A') + 26
}

// validCBName checks cb-name = 1*(ALPHA / DIGIT / "." / "-") (RFC 5802 §7).
func validCBName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !('0' <= c && c <= '9') && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// validNonce checks 1*printable, printable being %x21-2B / %x2D-7E
// (RFC 5802 §7).
func validNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// validValue checks value = 1*value-char: UTF-8 without NUL or comma
// (RFC 5802 §7); the caller has split at commas already.
func validValue(s string) bool {
	return s != "" && strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// unescapeName decodes saslname (RFC 5802 §5.1): "=2C" stands for a comma,
// "=3D" for an equals sign, and any other "=" is an error.
func unescapeName(s, what string) (string, *Failure) {
	if !validValue(s) {
		return "", fail(MalformedRequest, what+" is empty or not utf-8 without NUL")
	}
	if strings.IndexByte(s, '=') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '=' {
			b.WriteByte(c)
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", fail(MalformedRequest, what+" has an = that is not =2C or =3D")
		}
		i += 2
	}
	return b.String(), nil
}

var nameEscaper = strings.NewReplacer("=", "=3D", ",", "=2C")

// escapeName encodes saslname (RFC 5802 §5.1).
func escapeName(s string) string { return nameEscaper.Replace(s) }

// parseIterations checks posit-number = %x31-39 *DIGIT (RFC 5802 §7) and
// the bound a client accepts.
func parseIterations(s string) (int, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > maxIterations {
		return 0, false
	}
	return n, true
}
