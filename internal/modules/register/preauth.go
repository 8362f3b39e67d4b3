package register

import (
	"errors"
	"time"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// instructions is the text of the registration form (XEP-0077 §3.1).
const instructions = "Choose a username and password for use with this service."

// preauth answers registration queries on a stream that has not
// authenticated: the form, and account creation (XEP-0077 §3.1).
func (m *Module) preauth(ev *core.Event) bool {
	st, ok := ev.Data.(core.Stream)
	if !ok || st.Host() == nil {
		return false
	}
	q := ev.Stanza
	typ := string(q.Type())
	if typ != "get" && typ != "set" {
		return true // an answer nobody waits for
	}
	info := st.Info()
	if !m.allowed(info) {
		m.refused.Inc()
		failIQ(st, q, core.ErrCancel, "not-allowed", "registration is not open to this address, or not without TLS")
		return true
	}
	if typ == "get" {
		var b stanza.Builder
		b.Reset(nil).Start("query").Attr("xmlns", NS)
		b.Start("instructions").Text(instructions).End()
		b.Start("username").End()
		b.Start("password").End()
		sendResult(st, q, b.Bytes())
		return true
	}
	tree, err := q.Tree()
	if err != nil {
		failIQ(st, q, core.ErrModify, "bad-request", "")
		return true
	}
	query := tree.Child(NS, "query")
	if query.Child(NS, "remove") != nil {
		// XEP-0077 §3.2: only an account can cancel itself.
		failIQ(st, q, core.ErrAuth, "not-authorized", "log in to remove an account")
		return true
	}
	user, pass, cond, text := credentials(query, st.Host().Name)
	if cond != "" {
		failIQ(st, q, core.ErrModify, cond, text)
		return true
	}
	// Counted before the name is looked at, so that trying names one
	// after another to learn which exist is throttled too.
	if !m.th.allow(info.Remote, time.Now()) {
		m.throttled.Inc()
		m.api.Log().Warn("registration throttled", "ip", info.Remote)
		failIQ(st, q, core.ErrWait, "resource-constraint", "too many registrations from this address; try again later")
		return true
	}
	if m.buried(user) {
		// The name is taken until its tombstone expires: the same answer
		// as for a live account, so the two cannot be told apart.
		failIQ(st, q, core.ErrCancel, "conflict", "this username is taken")
		return true
	}
	srv := m.api.Server()
	switch err := srv.Accounts.Create(st.Host().Name, user, pass); {
	case errors.Is(err, core.ErrAccountExists):
		failIQ(st, q, core.ErrCancel, "conflict", "this username is taken")
	case errors.Is(err, core.ErrAccountInvalid):
		failIQ(st, q, core.ErrModify, "not-acceptable", "this username is not valid")
	case err != nil:
		m.api.Log().Error("cannot create an account", "user", user, "err", err)
		failIQ(st, q, core.ErrWait, "internal-server-error", "")
	default:
		m.created.Inc()
		m.api.Log().Info("account registered in-band", "jid", user+"@"+st.Host().Name, "ip", info.Remote)
		sendResult(st, q, nil)
	}
	return true
}

// credentials reads the username and password of a registration or a
// password change, prepared; cond is the error condition when they are
// missing or invalid (XEP-0077 §3.1: not-acceptable).
func credentials(query *stanza.Element, host string) (user, pass, cond, text string) {
	u, p := query.Child(NS, "username"), query.Child(NS, "password")
	if u == nil || p == nil || u.Text() == "" || p.Text() == "" {
		return "", "", "not-acceptable", "a username and a password are required"
	}
	if len(p.Text()) > maxPassword {
		return "", "", "not-acceptable", "the password is too long"
	}
	j, err := jid.New(u.Text(), host, "")
	if err != nil || j.Local() == "" {
		return "", "", "not-acceptable", "this username is not valid"
	}
	return j.Local(), p.Text(), "", ""
}

// sendResult answers an iq on a stream that has no session yet.
func sendResult(st core.Stream, q *stanza.Stanza, payload []byte) {
	var b stanza.Builder
	b.Reset(nil).Start("iq").Attr("type", "result")
	if id := q.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	if payload != nil {
		b.Raw(payload)
	}
	st.Send(b.Bytes())
}

// failIQ answers an iq on a stream that has no session yet with a stanza
// error (RFC 6120 §8.3).
func failIQ(st core.Stream, q *stanza.Stanza, typ, cond, text string) {
	var b stanza.Builder
	b.Reset(nil).Start("iq").Attr("type", "error")
	if id := q.ID(); id != nil {
		b.AttrBytes("id", id)
	}
	core.AppendError(&b, typ, cond, text)
	st.Send(b.Bytes())
}
