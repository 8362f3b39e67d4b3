package register

import (
	"time"

	"xmppd/internal/core"
	"xmppd/internal/stanza"
)

// account answers registration queries of a logged-in account: its
// registration (XEP-0077 §3.1, <registered/>), a password change (§3.3)
// and the removal of the account (§3.2).
func (m *Module) account(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	user := ev.From.Local()
	host := ev.Host.Name
	if string(ev.Stanza.Type()) == "get" {
		var b stanza.Builder
		b.Reset(nil).Start("query").Attr("xmlns", NS)
		b.Start("registered").End()
		b.Start("username").Text(user).End()
		b.Start("password").End()
		m.api.Result(ev, b.Bytes())
		return true
	}
	tree, err := ev.Stanza.Tree()
	if err != nil {
		m.api.Error(ev, core.ErrModify, "bad-request", "")
		return true
	}
	query := tree.Child(NS, "query")
	if query.Child(NS, "remove") != nil {
		m.remove(ev, user, host)
		return true
	}
	name, pass, cond, text := credentials(query, host)
	if cond != "" {
		m.api.Error(ev, core.ErrModify, cond, text)
		return true
	}
	if name != user {
		// XEP-0077 §3.3: the username is the account's own.
		m.api.Error(ev, core.ErrCancel, "not-allowed", "an account changes its own password only")
		return true
	}
	if err := m.api.Server().Accounts.SetPassword(host, user, pass); err != nil {
		m.api.Log().Error("cannot change a password", "user", user, "err", err)
		m.api.Error(ev, core.ErrWait, "internal-server-error", "")
		return true
	}
	m.changed.Inc()
	m.api.Result(ev, nil)
	return true
}

// remove deletes the account and everything stored for it, after writing
// its tombstone; the result goes out before the account's streams close.
func (m *Module) remove(ev *core.Event, user, host string) {
	if m.conf.reuseAfter > 0 {
		now := stamp(time.Now().Unix())
		if err := m.tombs.Set(tombstoneUser, user, &now); err != nil {
			m.api.Log().Error("cannot write a tombstone", "user", user, "err", err)
			m.api.Error(ev, core.ErrWait, "internal-server-error", "")
			return
		}
	}
	// Queued before the stream error Delete closes the streams with, so
	// the client reads the result first (XEP-0077 §3.2).
	m.api.Result(ev, nil)
	if err := m.api.Server().Accounts.Delete(host, user); err != nil {
		m.api.Log().Error("cannot remove an account", "user", user, "err", err)
		return
	}
	m.removed.Inc()
	m.api.Log().Info("account removed in-band", "jid", user+"@"+host)
}
