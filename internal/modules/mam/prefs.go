package mam

import (
	"slices"

	"github.com/tinylib/msgp/msgp"

	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/roster"
	"xmppd/internal/stanza"
)

// maxPrefJIDs bounds the JIDs of one account's preference lists: each
// archived message looks them up, and the record is a durable write.
const maxPrefJIDs = 1000

// prefsRecord is an account's archiving preferences (XEP-0313 §6), kept
// in the durable keyval store mam_prefs.
type prefsRecord struct {
	Default string   // Always, Never or Roster
	Always  []string // JIDs always archived, bare or full
	Never   []string // JIDs never archived; they win over Always
}

// MarshalMsg implements msgp.Marshaler.
func (p *prefsRecord) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendMapHeader(b, 3)
	b = msgp.AppendString(msgp.AppendString(b, "d"), p.Default)
	b = appendList(msgp.AppendString(b, "a"), p.Always)
	b = appendList(msgp.AppendString(b, "n"), p.Never)
	return b, nil
}

func appendList(b []byte, list []string) []byte {
	b = msgp.AppendArrayHeader(b, uint32(len(list)))
	for _, s := range list {
		b = msgp.AppendString(b, s)
	}
	return b
}

// UnmarshalMsg implements msgp.Unmarshaler; unknown fields are skipped,
// so a later release may add some.
func (p *prefsRecord) UnmarshalMsg(b []byte) ([]byte, error) {
	n, b, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return b, err
	}
	*p = prefsRecord{}
	for range n {
		var key []byte
		if key, b, err = msgp.ReadMapKeyZC(b); err != nil {
			return b, err
		}
		switch string(key) {
		case "d":
			p.Default, b, err = msgp.ReadStringBytes(b)
		case "a":
			p.Always, b, err = readList(b)
		case "n":
			p.Never, b, err = readList(b)
		default:
			b, err = msgp.Skip(b)
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

func readList(b []byte) ([]string, []byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, b, err
	}
	out := make([]string, 0, n)
	for range n {
		var s string
		if s, b, err = msgp.ReadStringBytes(b); err != nil {
			return nil, b, err
		}
		out = append(out, s)
	}
	return out, b, nil
}

// loadPrefs returns user's preferences, the module's default when the user
// set none.
func (m *Module) loadPrefs(user string) (prefsRecord, error) {
	m.knownMu.Lock()
	p, ok := m.known[user]
	gen := m.knownGen
	m.knownMu.Unlock()
	if ok {
		return p, nil
	}
	p = prefsRecord{Default: m.opts.policy}
	found, err := m.prefs.Get(user, &p)
	if err != nil {
		return prefsRecord{Default: m.opts.policy}, err
	}
	if !found {
		p = prefsRecord{Default: m.opts.policy}
	}
	m.knownMu.Lock()
	if m.knownGen == gen {
		// No set or forget since the read: what it found is current.
		m.cache(user, p)
	}
	m.knownMu.Unlock()
	return p, nil
}

// remember caches user's preferences; the lists are never changed in
// place, so the cached record can share them.
func (m *Module) remember(user string, p prefsRecord) {
	m.knownMu.Lock()
	defer m.knownMu.Unlock()
	m.knownGen++
	m.cache(user, p)
}

func (m *Module) cache(user string, p prefsRecord) {
	if m.known == nil || len(m.known) >= maxKnownPrefs {
		m.known = make(map[string]prefsRecord)
	}
	m.known[user] = p
}

func (m *Module) forgetPrefs(user string) {
	m.knownMu.Lock()
	defer m.knownMu.Unlock()
	m.knownGen++
	delete(m.known, user)
}

// wanted reports whether user's preferences archive a message with the
// other party with (XEP-0313 §6): the lists by full and bare JID, never
// first, then the default. A store that cannot be read archives, as
// losing history is worse than keeping a message the user might not
// have wanted kept until it expires.
func (m *Module) wanted(user string, with jid.JID) bool {
	p, err := m.loadPrefs(user)
	if err != nil {
		m.api.Log().Error("reading archiving preferences failed", "user", user, "err", err)
		return true
	}
	full, bare := with.String(), with.Bare().String()
	listed := func(list []string) bool { return slices.Contains(list, bare) || slices.Contains(list, full) }
	switch {
	case listed(p.Never):
		return false
	case listed(p.Always):
		return true
	case p.Default == Never:
		return false
	case p.Default == Roster:
		return m.inRoster(user, with.Bare())
	}
	return true
}

// inRoster reports whether contact is on user's roster; without the roster
// module every contact counts, so 'roster' then means 'always'.
func (m *Module) inRoster(user string, contact jid.JID) bool {
	r := roster.For(m.host)
	if r == nil {
		return true
	}
	it, found, err := r.Get(user, contact.String())
	if err != nil {
		m.api.Log().Error("reading the roster for archiving preferences failed", "user", user, "err", err)
		return true
	}
	return found && !it.Hidden
}

// onPrefs answers a preferences get or set (XEP-0313 §6) for the
// account's own archive.
func (m *Module) onPrefs(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	if !ev.To.Bare().Equal(ev.From.Bare()) {
		m.api.Error(ev, core.ErrCancel, "forbidden", "only the account's owner may see or change its archiving preferences")
		return true
	}
	user := ev.From.Local()
	switch string(ev.Stanza.Type()) {
	case "get":
		p, err := m.loadPrefs(user)
		if err != nil {
			m.storeError(ev, err)
			return true
		}
		m.api.Result(ev, appendPrefs(nil, &p))
	case "set":
		p, ok := m.readPrefs(ev)
		if !ok {
			return true
		}
		if err := m.prefs.Set(user, &p); err != nil {
			// Whether the write took is unknown: read it again next time.
			m.forgetPrefs(user)
			m.storeError(ev, err)
			return true
		}
		m.remember(user, p)
		m.api.Result(ev, appendPrefs(nil, &p))
	}
	return true
}

// readPrefs reads the <prefs/> of a set, answering bad-request when it
// is not one.
func (m *Module) readPrefs(ev *core.Event) (prefsRecord, bool) {
	var p prefsRecord
	iq, err := ev.Stanza.Tree()
	if err != nil {
		m.api.Error(ev, core.ErrModify, "bad-request", "")
		return p, false
	}
	el := iq.Child(NS, "prefs")
	if el == nil {
		m.api.Error(ev, core.ErrModify, "bad-request", "")
		return p, false
	}
	p.Default = el.Attr("default")
	if p.Default != Always && p.Default != Never && p.Default != Roster {
		m.api.Error(ev, core.ErrModify, "bad-request", "default must be always, never or roster")
		return p, false
	}
	for _, l := range []struct {
		name string
		dst  *[]string
	}{{"always", &p.Always}, {"never", &p.Never}} {
		list := el.Child(NS, l.name)
		if list == nil {
			continue
		}
		for _, n := range list.Children {
			if n.Elem == nil || n.Elem.Local != "jid" || n.Elem.Space != NS {
				continue
			}
			j, err := jid.Parse(n.Elem.Text())
			if err != nil {
				m.api.Error(ev, core.ErrModify, "jid-malformed", "not a JID: "+n.Elem.Text())
				return p, false
			}
			if !slices.Contains(*l.dst, j.String()) {
				*l.dst = append(*l.dst, j.String())
			}
		}
	}
	if len(p.Always)+len(p.Never) > maxPrefJIDs {
		m.api.Error(ev, core.ErrModify, "not-acceptable", "too many JIDs in the preferences")
		return p, false
	}
	return p, true
}

// appendPrefs writes a <prefs/> element for p.
func appendPrefs(dst []byte, p *prefsRecord) []byte {
	var b stanza.Builder
	b.Reset(dst).Start("prefs").Attr("xmlns", NS).Attr("default", p.Default)
	for _, l := range []struct {
		name string
		list []string
	}{{"always", p.Always}, {"never", p.Never}} {
		b.Start(l.name)
		for _, j := range l.list {
			b.Start("jid").Text(j).End()
		}
		b.End()
	}
	return b.Bytes()
}

// storeError answers a request the store failed, and logs why.
func (m *Module) storeError(ev *core.Event, err error) {
	m.api.Log().Error("the archive store failed", "err", err)
	m.api.Error(ev, core.ErrWait, "internal-server-error", "")
}
