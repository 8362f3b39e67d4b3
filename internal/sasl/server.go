package sasl

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Server runs one exchange on the receiving side. It is not safe for
// concurrent use; a stream runs one exchange at a time.
type Server struct {
	// Gate, when set, is called with the username (as sent, unescaped)
	// once the client has sent what is to be checked, the PLAIN message or
	// SCRAM's client-final-message, and before any of it is: a login
	// throttle goes here, so that a throttled account gets the same answer
	// whether or not the password is right. A Failure it returns ends the
	// exchange. Every failure Guess counts comes after a call to Gate.
	Gate func(username string) *Failure
	// AcceptYWithoutUnique accepts the gs2 flag y where the -PLUS
	// mechanisms were offered without tls-unique (on TLS 1.3), which is
	// what a client that knows only tls-unique sends there (see
	// scramFirst). The zero value refuses y wherever -PLUS was offered, as
	// RFC 5802 §6 says to the letter.
	AcceptYWithoutUnique bool

	mech           string
	h              *scramHash // nil for PLAIN
	plus           bool
	lookup         Lookup
	cb             ChannelBinding
	advertisedPlus bool
	// nonce makes the server's part of the nonce; tests replace it to
	// replay the RFC examples.
	nonce func() string

	state    serverState
	username string
	authzid  string

	// Kept from the first SCRAM message for the second.
	creds       Credentials
	fake        bool
	gs2Header   string
	cbName      string
	cbData      []byte
	firstBare   string
	serverFirst string
	fullNonce   string
}

type serverState uint8

const (
	serverStart     serverState = iota
	serverWaitFirst             // sent an empty challenge for want of an initial response
	serverWaitFinal             // sent server-first-message
	serverEnded
)

// NewServer starts an exchange for the mechanism the client chose. The
// caller has checked that it was offered; advertisedPlus says whether the
// -PLUS mechanisms were (with the types of cb), which decides whether a
// client that claims to support channel binding may be being downgraded
// (RFC 5802 §6). Set Gate and AcceptYWithoutUnique before the first Step. An unknown
// mechanism, or a -PLUS one without a binding in cb, fails with
// invalid-mechanism.
func NewServer(mech string, lookup Lookup, cb ChannelBinding, advertisedPlus bool) (*Server, error) {
	s := &Server{mech: mech, lookup: lookup, cb: cb, advertisedPlus: advertisedPlus, nonce: randomNonce}
	switch mech {
	case PLAIN:
	case SCRAMSHA1:
		s.h = hashSHA1
	case SCRAMSHA1Plus:
		s.h, s.plus = hashSHA1, true
	case SCRAMSHA256:
		s.h = hashSHA256
	case SCRAMSHA256Plus:
		s.h, s.plus = hashSHA256, true
	default:
		return nil, fail(InvalidMechanism, "mechanism is not supported")
	}
	if s.plus && !cb.available() {
		return nil, fail(InvalidMechanism, "no channel binding is available on this stream")
	}
	if lookup == nil {
		return nil, fail(TemporaryAuthFailure, "no account store")
	}
	return s, nil
}

// Username returns the authentication identity the client sent (authcid in
// PLAIN, n= in SCRAM, unescaped), as soon as its first message is parsed,
// so a failed attempt can still be counted against the account. The caller
// prepares it as a JID localpart; it is "" before then.
func (s *Server) Username() string { return s.username }

// Authzid returns the authorization identity the client asked for, or "".
// Whether the authenticated user may act as it is the caller's decision
// (RFC 6120 §6.3.8).
func (s *Server) Authzid() string { return s.authzid }

// Mechanism returns the mechanism of the exchange.
func (s *Server) Mechanism() string { return s.mech }

// ChannelBinding returns the channel binding type the client bound to
// (gs2 flag p), or "" if it did not bind.
func (s *Server) ChannelBinding() string {
	if s.cbData == nil {
		return ""
	}
	return s.cbName
}

// Step takes the client's next message, decoded from base64, and returns
// what to send: a challenge while done is false, the additional data for
// <success/> once done is true (nil for PLAIN, the v= message for SCRAM).
// The first call gets the initial response; an empty one means none was
// sent and yields an empty challenge. Errors are *Failure, after which the
// exchange is over.
func (s *Server) Step(in []byte) (out []byte, done bool, err error) {
	out, done, f := s.step(in)
	if f != nil {
		s.state = serverEnded
		s.creds = Credentials{}
		return nil, false, f
	}
	return out, done, nil
}

func (s *Server) step(in []byte) ([]byte, bool, *Failure) {
	if s.state == serverEnded {
		return nil, false, fail(MalformedRequest, "the exchange has already ended")
	}
	if len(in) > maxMessage {
		return nil, false, fail(MalformedRequest, "message longer than 4096 bytes")
	}
	switch s.state {
	case serverStart:
		if len(in) == 0 {
			s.state = serverWaitFirst
			return []byte{}, false, nil
		}
	case serverWaitFirst:
		if len(in) == 0 {
			return nil, false, fail(MalformedRequest, "empty response")
		}
	case serverWaitFinal:
		out, f := s.scramFinal(string(in))
		s.state = serverEnded
		return out, f == nil, f
	}
	if s.h == nil {
		s.state = serverEnded
		return nil, true, s.plain(string(in))
	}
	out, f := s.scramFirst(string(in))
	s.state = serverWaitFinal
	return out, false, f
}

// plain checks message = [authzid] NUL authcid NUL passwd (RFC 4616 §2).
func (s *Server) plain(msg string) *Failure {
	authzid, rest, ok1 := strings.Cut(msg, "\x00")
	authcid, passwd, ok2 := strings.Cut(rest, "\x00")
	switch {
	case !ok1 || !ok2:
		return fail(MalformedRequest, "PLAIN message has fewer than two NUL separators")
	case strings.IndexByte(passwd, 0) >= 0:
		return fail(MalformedRequest, "PLAIN message has more than two NUL separators")
	case authcid == "":
		return fail(MalformedRequest, "PLAIN message has an empty authcid")
	case passwd == "":
		return fail(MalformedRequest, "PLAIN message has an empty password")
	case !utf8.ValidString(msg):
		return fail(MalformedRequest, "PLAIN message is not utf-8")
	}
	s.username, s.authzid = authcid, authzid
	if f := s.gate(); f != nil {
		return f
	}

	// A password no profile accepts matches no account; refusing it
	// before the lookup reveals nothing about the account.
	prepared, err := preparePassword(passwd)
	if err != nil {
		return fail(NotAuthorized, "password is not a valid opaque string")
	}
	h, creds, fake, f := s.find(hashSHA256)
	if f == nil && fake {
		h, creds, fake, f = s.find(hashSHA1)
	}
	if f != nil {
		return f
	}
	if fake {
		// The unknown account gets the same derivation as a real one,
		// so the time taken does not reveal that it does not exist.
		h, creds = hashSHA256, fakeCredentials(hashSHA256, authcid)
	}
	if !verifyPrepared(h, creds, prepared) || fake {
		return fail(NotAuthorized, "wrong username or password")
	}
	return nil
}

func (s *Server) gate() *Failure {
	if s.Gate == nil {
		return nil
	}
	return s.Gate(s.username)
}

// find looks up the credentials for the username under h. fake is true
// when the account is unknown; creds is then the stand-in.
func (s *Server) find(h *scramHash) (_ *scramHash, creds Credentials, fake bool, f *Failure) {
	creds, err := s.lookup(s.username, h.name)
	if errors.Is(err, ErrUnknownUser) {
		return h, fakeCredentials(h, s.username), true, nil
	}
	if err != nil {
		return h, Credentials{}, false, fail(TemporaryAuthFailure, "account store failed")
	}
	if h.check(creds) != nil {
		return h, Credentials{}, false, fail(TemporaryAuthFailure, "account store returned unusable credentials")
	}
	if n := int32(creds.Iterations); h.fakeIterations.Load() != n {
		h.fakeIterations.Store(n)
	}
	return h, creds, false, nil
}

// scramFirst answers client-first-message with server-first-message
// (RFC 5802 §5.1).
func (s *Server) scramFirst(msg string) ([]byte, *Failure) {
	m, f := parseClientFirst(msg)
	if f != nil {
		return nil, f
	}
	s.username, s.authzid = m.username, m.authzid

	switch {
	case s.plus && m.flag != 'p':
		return nil, fail(MalformedRequest, "a -PLUS mechanism needs the gs2 flag p=")
	case !s.plus && m.flag == 'p':
		// RFC 5802 §6: p is for the -PLUS mechanisms only.
		return nil, fail(MalformedRequest, "the gs2 flag p= needs a -PLUS mechanism")
	case m.flag == 'y' && s.advertisedPlus && (s.cb.Unique != nil || !s.AcceptYWithoutUnique):
		// RFC 5802 §6: y says the client can bind but believes the server
		// cannot. The server offered -PLUS, and listed its types in
		// <sasl-channel-binding/> (XEP-0440), so someone in between may
		// have removed them to keep the exchange unbound, and the server
		// must refuse. What y says, though, is only that the client saw no
		// type it knows, and a client knows few: RFC 5802 §6 made
		// tls-unique the type servers must and clients should implement,
		// RFC 9266 made tls-exporter that for TLS 1.3, where tls-unique
		// does not exist, and clients older than RFC 9266 (anything on
		// Python's ssl module, slixmpp among them) still know tls-unique
		// alone.
		//
		// So where tls-unique is offered (TLS 1.2), a binding client that
		// follows RFC 5802 shares a type with the server, y can only mean
		// the offer was tampered with, and it is refused whatever the
		// caller says. Elsewhere (TLS 1.3) y is what an honest
		// tls-unique-only client sends, as XEP-0440 §3 foresees; it is
		// accepted if the caller says so (xmppd's default), and refused
		// under RFC 5802's rule to the letter otherwise. The cost of
		// accepting it: a client that does know tls-exporter or
		// tls-server-end-point, whose offer was stripped by someone who
		// can also present a certificate it trusts, is not protected by
		// this check; such a client must refuse to fall back itself
		// (XEP-0440 §4).
		return nil, fail(NotAuthorized, textDowngrade)
	case m.flag == 'p':
		s.cbName = m.cbName
		s.cbData = s.cb.data(m.cbName)
		if s.cbData == nil {
			return nil, fail(MalformedRequest, "unsupported-channel-binding-type")
		}
	}

	_, creds, fake, f := s.find(s.h)
	if f != nil {
		return nil, f
	}
	s.creds, s.fake = creds, fake
	s.gs2Header = m.gs2Header
	s.firstBare = m.bare
	s.fullNonce = m.nonce + s.nonce()

	var b strings.Builder
	b.Grow(len(s.fullNonce) + base64.StdEncoding.EncodedLen(len(creds.Salt)) + 20)
	b.WriteString("r=")
	b.WriteString(s.fullNonce)
	b.WriteString(",s=")
	b.WriteString(b64.EncodeToString(creds.Salt))
	b.WriteString(",i=")
	b.WriteString(strconv.Itoa(creds.Iterations))
	s.serverFirst = b.String()
	return []byte(s.serverFirst), nil
}

// scramFinal checks client-final-message and answers with
// server-final-message (RFC 5802 §5.1, RFC 5802 §3).
func (s *Server) scramFinal(msg string) ([]byte, *Failure) {
	m, f := parseClientFinal(msg)
	if f != nil {
		return nil, f
	}
	if f := s.gate(); f != nil {
		return nil, f
	}
	// RFC 5802 §5.1: c= repeats the gs2 header and appends the binding,
	// so a header altered on the way, or a different TLS channel, shows
	// here.
	if len(m.cbind) != len(s.gs2Header)+len(s.cbData) ||
		string(m.cbind[:len(s.gs2Header)]) != s.gs2Header ||
		subtle.ConstantTimeCompare(m.cbind[len(s.gs2Header):], s.cbData) != 1 {
		return nil, fail(NotAuthorized, "channel-bindings-dont-match")
	}
	if m.nonce != s.fullNonce {
		return nil, fail(NotAuthorized, "nonce does not match")
	}
	h, c := s.h, s.creds
	if len(m.proof) != h.size {
		return nil, fail(MalformedRequest, "client proof has the wrong length")
	}

	// RFC 5802 §3: AuthMessage, ClientSignature, ClientKey recovered from
	// the proof, and StoredKey = H(ClientKey).
	authMessage := s.firstBare + "," + s.serverFirst + "," + m.withoutProof
	clientKey := h.hmac(c.StoredKey, authMessage)
	subtle.XORBytes(clientKey, clientKey, m.proof)
	if subtle.ConstantTimeCompare(h.sum(clientKey), c.StoredKey) != 1 || s.fake {
		return nil, fail(NotAuthorized, "invalid-proof")
	}
	sig := h.hmac(c.ServerKey, authMessage)
	out := make([]byte, 2+b64.EncodedLen(len(sig)))
	copy(out, "v=")
	b64.Encode(out[2:], sig)
	s.creds = Credentials{}
	return out, nil
}

func randomNonce() string {
	b := make([]byte, serverNonceLen)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
