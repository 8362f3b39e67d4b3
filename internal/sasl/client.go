package sasl

import (
	"crypto/hmac"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

var (
	errClientDone      = errors.New("sasl: the exchange has already ended")
	errServerSignature = errors.New("sasl: server signature does not verify: the server does not hold this account's credentials")
)

// Client runs one exchange on the initiating side, for tests and the load
// generator. It is not safe for concurrent use.
type Client struct {
	h        *scramHash // nil for PLAIN
	username string
	authzid  string
	password string // prepared
	// gs2Header and cbData make up c= (RFC 5802 §7).
	gs2Header string
	cbData    []byte
	// nonce makes the client nonce; tests replace it to replay the RFC
	// examples.
	nonce func() string
	// cache, when set, holds keys derived in earlier exchanges.
	cache *KeyCache

	step        int
	clientNonce string
	firstBare   string
	serverSig   []byte
}

// NewClient prepares an exchange. For a -PLUS mechanism it binds to
// tls-exporter when cb has it, else tls-server-end-point, else tls-unique.
// For SCRAM
// without -PLUS, a cb holding a binding says the client could have bound
// but the server did not offer to (gs2 flag y, RFC 5802 §6), which a server
// that did offer -PLUS refuses as a downgrade; pass the zero value to send
// flag n.
func NewClient(mech, username, password, authzid string, cb ChannelBinding) (*Client, error) {
	c := &Client{username: username, authzid: authzid, nonce: randomNonce}
	plus := false
	switch mech {
	case PLAIN:
	case SCRAMSHA1:
		c.h = hashSHA1
	case SCRAMSHA1Plus:
		c.h, plus = hashSHA1, true
	case SCRAMSHA256:
		c.h = hashSHA256
	case SCRAMSHA256Plus:
		c.h, plus = hashSHA256, true
	default:
		return nil, fmt.Errorf("sasl: unknown mechanism %q", mech)
	}
	if username == "" || !validValue(username) {
		return nil, errors.New("sasl: username is empty or not utf-8 without NUL")
	}
	if authzid != "" && !validValue(authzid) {
		return nil, errors.New("sasl: authzid is not utf-8 without NUL")
	}
	p, err := preparePassword(password)
	if err != nil {
		return nil, err
	}
	c.password = p

	var gs2 strings.Builder
	switch {
	case c.h == nil:
	case plus && len(cb.Exporter) > 0:
		gs2.WriteString("p=" + cbExporter)
		c.cbData = cb.Exporter
	case plus && len(cb.EndPoint) > 0:
		gs2.WriteString("p=" + cbEndPoint)
		c.cbData = cb.EndPoint
	case plus && len(cb.Unique) > 0:
		gs2.WriteString("p=" + cbUnique)
		c.cbData = cb.Unique
	case plus:
		return nil, fmt.Errorf("sasl: %s needs a channel binding and none is available", mech)
	case cb.available():
		gs2.WriteString("y")
	default:
		gs2.WriteString("n")
	}
	gs2.WriteString(",")
	if authzid != "" {
		gs2.WriteString("a=" + escapeName(authzid))
	}
	gs2.WriteString(",")
	c.gs2Header = gs2.String()
	return c, nil
}

// Step returns the response to the server's challenge. The first call,
// with nil, gives the initial response. With SCRAM the last call takes the
// server-final message (the data of <success/>), checks the server's
// signature and returns nil; an error there means the server is not the
// one holding the account, even if it reported success.
func (c *Client) Step(challenge []byte) ([]byte, error) {
	out, err := c.next(challenge)
	if err != nil {
		// A failed step ends the exchange; going on would check the
		// server's signature against one never computed.
		c.step = clientEnded
	}
	return out, err
}

// clientEnded is past every step of every mechanism.
const clientEnded = 1 << 30

func (c *Client) next(challenge []byte) ([]byte, error) {
	if c.step == clientEnded {
		return nil, errClientDone
	}
	c.step++
	switch {
	case c.step == 1 && c.h == nil:
		return []byte(c.authzid + "\x00" + c.username + "\x00" + c.password), nil
	case c.step == 1:
		c.clientNonce = c.nonce()
		c.firstBare = "n=" + escapeName(c.username) + ",r=" + c.clientNonce
		return []byte(c.gs2Header + c.firstBare), nil
	case c.step == 2 && c.h != nil:
		return c.final(string(challenge))
	case c.step == 3 && c.h != nil:
		return nil, c.verify(string(challenge))
	}
	return nil, errClientDone
}

// final answers server-first-message
//
//	[reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
//
// (RFC 5802 §7) with client-final-message.
func (c *Client) final(msg string) ([]byte, error) {
	if e, ok := strings.CutPrefix(msg, "e="); ok {
		return nil, serverError(e)
	}
	if strings.HasPrefix(msg, "m=") {
		return nil, errors.New("sasl: server-first-message has the reserved m= attribute (RFC 5802 §5.1)")
	}
	field, rest, _ := strings.Cut(msg, ",")
	nonce, ok := strings.CutPrefix(field, "r=")
	if !ok {
		return nil, errors.New("sasl: server-first-message does not begin with r=")
	}
	if len(nonce) <= len(c.clientNonce) || !strings.HasPrefix(nonce, c.clientNonce) || !validNonce(nonce) {
		return nil, errors.New("sasl: server nonce does not extend the client nonce with printable characters (RFC 5802 §5.1)")
	}
	field, rest, _ = strings.Cut(rest, ",")
	v, ok := strings.CutPrefix(field, "s=")
	if !ok {
		return nil, errors.New("sasl: server-first-message has no s= after r=")
	}
	salt, err := b64.DecodeString(v)
	if err != nil || len(salt) == 0 {
		return nil, errors.New("sasl: server salt is empty or not valid base64")
	}
	field, rest, more := strings.Cut(rest, ",")
	v, ok = strings.CutPrefix(field, "i=")
	if !ok {
		return nil, errors.New("sasl: server-first-message has no i= after s=")
	}
	iterations, ok := parseIterations(v)
	if !ok {
		return nil, fmt.Errorf("sasl: server iteration count is not a number from 1 to %d", maxIterations)
	}
	if more {
		if f := checkExtensions(rest, "server-first-message"); f != nil {
			return nil, errors.New("sasl: " + f.Text)
		}
	}

	h := c.h
	var clientKey, serverKey []byte
	if c.cache != nil {
		clientKey, serverKey, err = c.cache.keys(h, c.password, salt, iterations)
	} else {
		clientKey, serverKey, err = h.keys(c.password, salt, iterations)
	}
	if err != nil {
		return nil, err
	}
	cbind := make([]byte, 0, len(c.gs2Header)+len(c.cbData))
	cbind = append(append(cbind, c.gs2Header...), c.cbData...)
	withoutProof := "c=" + b64.EncodeToString(cbind) + ",r=" + nonce

	// RFC 5802 §3.
	authMessage := c.firstBare + "," + msg + "," + withoutProof
	proof := h.hmac(h.sum(clientKey), authMessage)
	subtle.XORBytes(proof, proof, clientKey)
	c.serverSig = h.hmac(serverKey, authMessage)
	return []byte(withoutProof + ",p=" + b64.EncodeToString(proof)), nil
}

// verify checks server-final-message = (server-error / verifier)
// ["," extensions] (RFC 5802 §7).
func (c *Client) verify(msg string) error {
	field, _, _ := strings.Cut(msg, ",")
	if e, ok := strings.CutPrefix(field, "e="); ok {
		return serverError(e)
	}
	v, ok := strings.CutPrefix(field, "v=")
	if !ok {
		return errors.New("sasl: server-final-message has neither v= nor e=")
	}
	sig, err := b64.DecodeString(v)
	if err != nil || len(sig) != c.h.size {
		return errors.New("sasl: server signature is not valid base64 of the hash's size")
	}
	if !hmac.Equal(sig, c.serverSig) {
		return errServerSignature
	}
	return nil
}

func serverError(e string) error {
	if len(e) > 64 || !utf8.ValidString(e) {
		return errors.New("sasl: server reported an error")
	}
	return fmt.Errorf("sasl: server reported %q", e)
}
