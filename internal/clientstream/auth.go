package clientstream

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
func (s *Stream) appendSASL(b *stanza.Builder) {
	if !s.Secure() && !s.plainAllowed() {
		return
	}
	if s.Secure() && s.cb.Exporter == nil && s.cb.EndPoint == nil && s.cb.Unique == nil {
		s.bindTLS()
	}
	s.mechs = sasl.Mechanisms(s.Secure(), s.cb, s.plainAllowed())
	b.Start("mechanisms").Attr("xmlns", stanza.NSSASL)
	for _, m := range s.mechs {
		b.Start("mechanism").Text(m).End()
	}
	b.End()
	if s.plusOffered() {
		b.Start("sasl-channel-binding").Attr("xmlns", nsSASLCB)
		for _, t := range s.cb.Types() {
			b.Start("channel-binding").Attr("type", t).End()
		}
		b.End()
	}
}

// plusOffered reports whether the -PLUS mechanisms were offered.
func (s *Stream) plusOffered() bool {
	return slices.ContainsFunc(s.mechs, func(m string) bool { return strings.HasSuffix(m, "-PLUS") })
}

// bindTLS computes the channel bindings the SCRAM -PLUS mechanisms need.
func (s *Stream) bindTLS() {
	cs := s.t.TLS()
	if cs == nil {
		return
	}
	_, leaf := s.svc.certs.Certificate(cs.ServerName)
	s.cb = sasl.ServerBindingFromTLS(cs, leaf)
}

func (s *Stream) saslElement(st *stanza.Stanza) (restart bool) {
	tree, err := st.Tree()
	if err != nil {
		s.fail(&stream.Error{Condition: stream.BadFormat})
		return false
	}
	var in []byte
	switch tree.Local {
	case "auth":
		if !s.Secure() && !s.plainAllowed() {
			s.saslFailure(sasl.EncryptionRequired, "")
			return false
		}
		// Before anything is sent: an address that is waiting out its
		// failures is told so at once.
		if ok, wait := s.svc.guard.Allow(AddrKey(s.opt.IP)); !ok {
			s.saslFailure(sasl.TemporaryAuthFailure, retryText(wait))
			return false
		}
		mech := tree.Attr("mechanism")
		if !slices.Contains(s.mechs, mech) {
			s.saslFailure(sasl.InvalidMechanism, "")
			return false
		}
		s.auth, err = sasl.NewServer(mech, s.svc.srv.Accounts.Lookup(s.host.Name), s.cb, s.plusOffered())
		if err != nil {
			s.saslError(err, sasl.Attempt{})
			return false
		}
		s.auth.AcceptYWithoutUnique = s.svc.Conf().CBDowngrade != "refuse"
	case "response":
		if s.auth == nil {
			s.saslFailure(sasl.MalformedRequest, "no authentication in progress")
			return false
		}
	case "abort":
		s.auth = nil
		s.saslFailure(sasl.Aborted, "")
		return false
	default:
		s.fail(&stream.Error{Condition: stream.UnsupportedStanzaType})
		return false
	}
	text := tree.Text()
	if text != "=" && text != "" {
		if in, err = base64.StdEncoding.DecodeString(text); err != nil {
			s.auth = nil
			s.saslFailure(sasl.IncorrectEncoding, "")
			return false
		}
	}
	// The attempt is reserved inside Step, once the message to check has
	// come and before it is checked, and ended here by the outcome.
	var attempt sasl.Attempt
	s.auth.Gate = func(username string) *sasl.Failure {
		a, wait, ok := s.svc.guard.Begin(accountKey(username, s.host.Name), AddrKey(s.opt.IP))
		if !ok {
			s.svc.log.Info(msgLoginFailed, "ip", s.opt.IP, "user", username, "host", s.host.Name,
				"mechanism", s.auth.Mechanism(), "reason", "throttled")
			return &sasl.Failure{Condition: sasl.TemporaryAuthFailure, Text: retryText(wait)}
		}
		attempt = a
		return nil
	}
	out, done, err := s.auth.Step(in)
	if err != nil {
		s.saslError(err, attempt)
		return false
	}
	if !done {
		attempt.Cancel() // nothing was checked yet
		s.write(saslElement(s.buf[:0], "challenge", out))
		return false
	}
	return s.authenticated(out, attempt)
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

func (s *Stream) authenticated(final []byte, attempt sasl.Attempt) bool {
	user := s.auth.Username()
	bare, err := jid.New(user, s.host.Name, "")
	if err != nil || !s.svc.srv.Accounts.Exists(s.host.Name, bare.Local()) {
		// Deleted or disabled while the exchange ran: no guess failed.
		attempt.Cancel()
		s.saslRefused(user, sasl.NotAuthorized, "the account is gone")
		s.saslFailure(sasl.NotAuthorized, "")
		return false
	}
	if az := s.auth.Authzid(); az != "" && az != bare.String() {
		attempt.Cancel()
		s.saslRefused(user, sasl.InvalidAuthzid, "")
		s.saslFailure(sasl.InvalidAuthzid, "")
		return false
	}
	attempt.Succeeded()
	s.svc.logins.Inc()
	log := []any{"ip", s.opt.IP, "jid", bare.String(), "mechanism", s.auth.Mechanism(), "tls", s.Secure()}
	if cb := s.auth.ChannelBinding(); cb != "" {
		log = append(log, "channel_binding", cb)
	}
	s.svc.log.Info(msgLogin, log...)
	s.auth = nil
	s.authed = true
	s.sess = s.svc.srv.NewSession(s.host, bare, s.t)
	s.write(saslElement(s.buf[:0], "success", final))
	s.state = stateHeader
	return true
}

// saslError answers a failed exchange and ends its attempt: a wrong guess
// at the password counts against the address and the account, anything
// else is given back.
func (s *Stream) saslError(err error, attempt sasl.Attempt) {
	var f *sasl.Failure
	if !errors.As(err, &f) {
		f = &sasl.Failure{Condition: sasl.TemporaryAuthFailure}
	}
	user, mech := "", ""
	if s.auth != nil {
		user, mech = s.auth.Username(), s.auth.Mechanism()
	}
	switch {
	case f.Guess():
		attempt.Failed()
		s.svc.failures.Inc()
		// ip comes before what the client chose, so that a pattern
		// anchored on the message finds the address, whatever the
		// username holds (README: Logging).
		s.svc.log.Info(msgLoginFailed, "ip", s.opt.IP, "user", user, "host", s.host.Name,
			"mechanism", mech, "reason", f.Condition, "detail", f.Text)
	default:
		attempt.Cancel()
		s.saslRefused(user, f.Condition, f.Text)
	}
	if f.Condition == sasl.NotAuthorized && !f.Downgrade() {
		// Say nothing beyond the condition: wrong password and unknown
		// account must look the same. A downgrade refusal keeps its
		// reason, RFC 5802's server-error value, which comes before any
		// account is looked up.
		f = &sasl.Failure{Condition: sasl.NotAuthorized}
	}
	s.auth = nil
	s.saslFailure(f.Condition, f.Text)
}

// saslRefused logs an exchange that failed without a wrong guess: a
// malformed one, a refused downgrade, a mechanism that does not fit.
// These are not login failures to count: stock clients try mechanisms
// that fail this way before one that works.
func (s *Stream) saslRefused(user, cond, text string) {
	s.svc.log.Debug("sasl exchange refused", "ip", s.opt.IP, "user", user, "condition", cond, "text", text)
}

func (s *Stream) saslFailure(cond, text string) {
	var b stanza.Builder
	b.Reset(s.buf[:0]).Start("failure").Attr("xmlns", stanza.NSSASL).Start(cond).End()
	if text != "" {
		b.Start("text").Attr("xml:lang", "en").Text(text).End()
	}
	s.write(b.Bytes())
}
