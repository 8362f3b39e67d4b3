// Package sasl authenticates XMPP clients with SASL (RFC 4422, RFC 6120 §6):
// PLAIN (RFC 4616) and SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677),
// with and without channel binding.
//
// The server never holds a password: accounts store Credentials, the SCRAM
// StoredKey and ServerKey, and PLAIN logins are checked by deriving the
// StoredKey from the offered password. Base64 belongs to the XMPP layer; the
// messages here are decoded bytes.
package sasl

// Mechanism names as advertised in <mechanisms/> (RFC 6120 §6.4.1).
const (
	PLAIN           = "PLAIN"
	SCRAMSHA1       = "SCRAM-SHA-1"
	SCRAMSHA1Plus   = "SCRAM-SHA-1-PLUS"
	SCRAMSHA256     = "SCRAM-SHA-256"
	SCRAMSHA256Plus = "SCRAM-SHA-256-PLUS"
)

// Hash names used in Credentials.Hash and passed to Lookup.
const (
	SHA1   = "SHA-1"
	SHA256 = "SHA-256"
)

// SASL failure conditions (RFC 6120 §6.5).
const (
	Aborted              = "aborted"
	AccountDisabled      = "account-disabled"
	CredentialsExpired   = "credentials-expired"
	EncryptionRequired   = "encryption-required"
	IncorrectEncoding    = "incorrect-encoding"
	InvalidAuthzid       = "invalid-authzid"
	InvalidMechanism     = "invalid-mechanism"
	MalformedRequest     = "malformed-request"
	MechanismTooWeak     = "mechanism-too-weak"
	NotAuthorized        = "not-authorized"
	TemporaryAuthFailure = "temporary-auth-failure"
)

// Failure is a failed exchange: the condition for the <failure/> element and
// a text that is safe to send to the peer.
//
// Text never tells an unknown account from a wrong password and never
// repeats what the peer sent. Where RFC 5802 §7 names the reason with a
// server-error value (invalid-proof, channel-bindings-dont-match,
// unsupported-channel-binding-type, server-does-support-channel-binding,
// extensions-not-supported), Text is that value: XMPP has no room for the
// SCRAM server-final message on failure, and a client may act on the value.
type Failure struct {
	Condition string
	Text      string
}

// textDowngrade is the Text of the NotAuthorized failure for a client that
// could have used channel binding but did not see it offered (RFC 5802 §6).
const textDowngrade = "server-does-support-channel-binding"

// Guess reports whether the failure is a wrong guess at credentials, which
// a server counts towards throttling. A downgrade refusal is not: no
// password was tried, and stock clients that know only tls-unique end up
// there before falling back to another mechanism.
func (f *Failure) Guess() bool {
	return f.Condition == NotAuthorized && !f.Downgrade()
}

// Downgrade reports whether the failure refused the gs2 flag y as a
// channel binding downgrade (RFC 5802 §6). Its Text is then the
// server-error value the client may act on; it is said before any account
// is looked up, so it reveals nothing about one.
func (f *Failure) Downgrade() bool {
	return f.Condition == NotAuthorized && f.Text == textDowngrade
}

// Error returns the condition and the text.
func (f *Failure) Error() string {
	if f.Text == "" {
		return "sasl: " + f.Condition
	}
	return "sasl: " + f.Condition + ": " + f.Text
}

func fail(condition, text string) *Failure {
	return &Failure{Condition: condition, Text: text}
}

// Mechanisms lists what to offer on a stream, strongest first.
//
// secure says the stream is encrypted. The -PLUS mechanisms are offered only
// when cb holds a binding, and PLAIN only on an encrypted stream unless
// plainInsecure allows it: PLAIN in the clear hands the password to anyone
// listening (RFC 4616 §5). The caller refuses any other mechanism with
// invalid-mechanism before calling NewServer, and tells NewServer whether
// the -PLUS ones were offered.
func Mechanisms(secure bool, cb ChannelBinding, plainInsecure bool) []string {
	m := make([]string, 0, 5)
	if cb.available() {
		m = append(m, SCRAMSHA256Plus, SCRAMSHA1Plus)
	}
	m = append(m, SCRAMSHA256, SCRAMSHA1)
	if secure || plainInsecure {
		m = append(m, PLAIN)
	}
	return m
}
