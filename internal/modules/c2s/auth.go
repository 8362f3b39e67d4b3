package c2s

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"xmppd/internal/jid"
	"xmppd/internal/sasl"
	"xmppd/internal/stanza"
	"xmppd/internal/stream"
)

// nsSASLCB is XEP-0440's namespace: the channel binding types offered.
const nsSASLCB = "urn:xmpp:sasl-cb:0"

// Log messages an operator's tools match; they must not change.
const (
	msgLogin       = "login"
	msgLoginFailed = "login failed"
)

// appendSASL adds the SASL stream features: <mechanisms/>, and, when the
// -PLUS mechanisms are offered, the channel binding types they may use
// (XEP-0440), so a client can tell a type it lacks from a stripped offer.
func (c *conn) appendSASL(b *stanza.Builder) {
	if !c.secure && !c.plainAllowed() {
		return
	}
	if c.secure && c.cb.Exporter == nil && c.cb.EndPoint == nil && c.cb.Unique == nil {
		c.bindTLS()
	}
	c.mechs = sasl.Mechanisms(c.secure, c.cb, c.plainAllowed())
	b.Start("mechanisms").Attr("xmlns", stanza.NSSASL)
	for _, m := range c.mechs {
		b.Start("mechanism").Text(m).End()
	}
	b.End()
	if c.plusOffered() {
		b.Start("sasl-channel-binding").Attr("xmlns", nsSASLCB)
		for _, t := range c.cb.Types() {
			b.Start("channel-binding").Attr("type", t).End()
		}
		b.End()
	}
}

// plusOffered reports whether the -PLUS mechanisms were offered.
func (c *conn) plusOffered() bool {
	return slices.ContainsFunc(c.mechs, func(m string) bool { return strings.HasSuffix(m, "-PLUS") })
}

// bindTLS computes the channel bindings the SCRAM -PLUS mechanisms need.
func (c *conn) bindTLS() {
	cs := c.nc().TLS()
	if cs == nil {
		return
	}
	_, leaf := c.m.certs.Certificate(cs.ServerName)
	c.cb = sasl.ServerBindingFromTLS(cs, leaf)
}

func (c *conn) saslElement(st *stanza.Stanza) (restart bool) {
	tree, err := st.Tree()
	if err != nil {
		c.fail(&stream.Error{Condition: stream.BadFormat})
		return false
	}
	var in []byte
	switch tree.Local {
	case "auth":
		if !c.secure && !c.plainAllowed() {
			c.saslFailure(sasl.EncryptionRequired, "")
			return false
		}
		// Before anything is sent: an address that is waiting out its
		// failures is told so at once.
		if ok, wait := c.m.guard.Allow(addrKey(c.ip)); !ok {
			c.saslFailure(sasl.TemporaryAuthFailure, retryText(wait))
			return false
		}
		mech := tree.Attr("mechanism")
		if !slices.Contains(c.mechs, mech) {
			c.saslFailure(sasl.InvalidMechanism, "")
			return false
		}
		c.auth, err = sasl.NewServer(mech, c.m.srv.Accounts.Lookup(c.host.Name), c.cb, c.plusOffered())
		if err != nil {
			c.saslError(err, sasl.Attempt{})
			return false
		}
		c.auth.AcceptYWithoutUnique = c.m.conf().CBDowngrade != "refuse"
	case "response":
		if c.auth == nil {
			c.saslFailure(sasl.MalformedRequest, "no authentication in progress")
			return false
		}
	case "abort":
		c.auth = nil
		c.saslFailure(sasl.Aborted, "")
		return false
	default:
		c.fail(&stream.Error{Condition: stream.UnsupportedStanzaType})
		return false
	}
	text := tree.Text()
	if text != "=" && text != "" {
		if in, err = base64.StdEncoding.DecodeString(text); err != nil {
			c.auth = nil
			c.saslFailure(sasl.IncorrectEncoding, "")
			return false
		}
	}
	// The attempt is reserved inside Step, once the message to check has
	// come and before it is checked, and ended here by the outcome.
	var attempt sasl.Attempt
	c.auth.Gate = func(username string) *sasl.Failure {
		a, wait, ok := c.m.guard.Begin(accountKey(username, c.host.Name), addrKey(c.ip))
		if !ok {
			c.m.api.Log().Info(msgLoginFailed, "ip", c.ip, "user", username, "host", c.host.Name,
				"mechanism", c.auth.Mechanism(), "reason", "throttled")
			return &sasl.Failure{Condition: sasl.TemporaryAuthFailure, Text: retryText(wait)}
		}
		attempt = a
		return nil
	}
	out, done, err := c.auth.Step(in)
	if err != nil {
		c.saslError(err, attempt)
		return false
	}
	if !done {
		attempt.Cancel() // nothing was checked yet
		c.write(saslElement(c.buf[:0], "challenge", out))
		return false
	}
	return c.authenticated(out, attempt)
}

// retryText tells a throttled client when to come back.
func retryText(wait time.Duration) string {
	return "too many failed attempts; retry in " + max(wait, time.Second).Round(time.Second).String()
}

// accountKey is the account a client names, as the throttle counts it: the
// localpart prepared (RFC 7622 §3.3), so that VICTIM and victim share one
// limit. A name that is no valid localpart can be no account's, and is
// kept as sent.
func accountKey(username, host string) string {
	if j, err := jid.New(username, host, ""); err == nil && j.Local() != "" {
		return j.Local() + "@" + host
	}
	return username + "@" + host
}

func saslElement(dst []byte, name string, data []byte) []byte {
	dst = append(dst, '<')
	dst = append(dst, name...)
	dst = append(dst, " xmlns='"+stanza.NSSASL+"'>"...)
	if data != nil {
		dst = base64.StdEncoding.AppendEncode(dst, data)
	}
	dst = append(dst, "</"...)
	dst = append(dst, name...)
	return append(dst, '>')
}

func (c *conn) authenticated(final []byte, attempt sasl.Attempt) bool {
	user := c.auth.Username()
	bare, err := jid.New(user, c.host.Name, "")
	if err != nil || !c.m.srv.Accounts.Exists(c.host.Name, bare.Local()) {
		// Deleted or disabled while the exchange ran: no guess failed.
		attempt.Cancel()
		c.saslRefused(user, sasl.NotAuthorized, "the account is gone")
		c.saslFailure(sasl.NotAuthorized, "")
		return false
	}
	if az := c.auth.Authzid(); az != "" && az != bare.String() {
		attempt.Cancel()
		c.saslRefused(user, sasl.InvalidAuthzid, "")
		c.saslFailure(sasl.InvalidAuthzid, "")
		return false
	}
	attempt.Succeeded()
	c.m.logins.Inc()
	log := []any{"ip", c.ip, "jid", bare.String(), "mechanism", c.auth.Mechanism(), "tls", c.secure}
	if cb := c.auth.ChannelBinding(); cb != "" {
		log = append(log, "channel_binding", cb)
	}
	c.m.api.Log().Info(msgLogin, log...)
	c.auth = nil
	c.authed = true
	c.sess = c.m.srv.NewSession(c.host, bare, c)
	c.write(saslElement(c.buf[:0], "success", final))
	c.state = stateHeader
	return true
}

// saslError answers a failed exchange and ends its attempt: a wrong guess
// at the password counts against the address and the account, anything
// else is given back.
func (c *conn) saslError(err error, attempt sasl.Attempt) {
	var f *sasl.Failure
	if !errors.As(err, &f) {
		f = &sasl.Failure{Condition: sasl.TemporaryAuthFailure}
	}
	user, mech := "", ""
	if c.auth != nil {
		user, mech = c.auth.Username(), c.auth.Mechanism()
	}
	switch {
	case f.Guess():
		attempt.Failed()
		c.m.failures.Inc()
		// ip comes before what the client chose, so that a pattern
		// anchored on the message finds the address, whatever the
		// username holds (README: Logging).
		c.m.api.Log().Info(msgLoginFailed, "ip", c.ip, "user", user, "host", c.host.Name,
			"mechanism", mech, "reason", f.Condition, "detail", f.Text)
	default:
		attempt.Cancel()
		c.saslRefused(user, f.Condition, f.Text)
	}
	if f.Condition == sasl.NotAuthorized && !f.Downgrade() {
		// Say nothing beyond the condition: wrong password and unknown
		// account must look the same. A downgrade refusal keeps its
		// reason, RFC 5802's server-error value, which comes before any
		// account is looked up.
		f = &sasl.Failure{Condition: sasl.NotAuthorized}
	}
	c.auth = nil
	c.saslFailure(f.Condition, f.Text)
}

// saslRefused logs an exchange that failed without a wrong guess: a
// malformed one, a refused downgrade, a mechanism that does not fit.
// These are not login failures to count: stock clients try mechanisms
// that fail this way before one that works.
func (c *conn) saslRefused(user, cond, text string) {
	c.m.api.Log().Debug("sasl exchange refused", "ip", c.ip, "user", user, "condition", cond, "text", text)
}

func (c *conn) saslFailure(cond, text string) {
	var b stanza.Builder
	b.Reset(c.buf[:0]).Start("failure").Attr("xmlns", stanza.NSSASL).Start(cond).End()
	if text != "" {
		b.Start("text").Attr("xml:lang", "en").Text(text).End()
	}
	c.write(b.Bytes())
}
