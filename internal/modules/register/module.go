// Package register implements in-band registration (XEP-0077): before
// logging in, a client on an allowed network creates an account over its
// own stream; once logged in, it changes its password or removes its
// account. A removed name stays taken for a while (a tombstone), so that
// nobody registers it at once and receives what was meant for its former
// owner. Not loaded unless listed in modules_enabled, as XEP-0479 asks of
// a default configuration.
package register

import (
	"net/netip"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
)

// Namespaces of XEP-0077.
const (
	// NS is the namespace of registration queries.
	NS = "jabber:iq:register"
	// NSFeature is the stream feature advertised before authentication
	// (XEP-0077 §4).
	NSFeature = "http://jabber.org/features/iq-register"
)

// maxPassword bounds a password in bytes: SCRAM hashes any length, but a
// password is typed, and the bound keeps the work per attempt small.
const maxPassword = 1024

func init() {
	core.Register(core.ModuleInfo{Name: "register", New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readSettings(r) }})
}

// Module is in-band registration on one host.
type Module struct {
	api   *core.API
	conf  settings
	th    *throttle
	tombs core.Map

	created, refused, throttled, removed, changed *core.Counter
}

// Load reads the options and hooks registration before and after
// authentication, and the stream feature.
func (m *Module) Load(api *core.API) error {
	m.api = api
	m.conf = readSettings(api.Options())
	m.th = newThrottle(m.conf.count, m.conf.period)
	// Durable: a tombstone written after the account is gone but lost in
	// a power cut would free the name at once.
	m.tombs = api.Map("register", true)
	m.created = api.Counter("created", "accounts created in-band")
	m.refused = api.Counter("refused", "registration attempts from addresses or streams not allowed to register")
	m.throttled = api.Counter("throttled", "registration attempts refused by the per-address throttle")
	m.removed = api.Counter("removed", "accounts removed by their owners")
	m.changed = api.Counter("password_changes", "passwords changed in-band")

	api.AddFeature(NS)
	api.Hook(core.EventStreamFeatures, core.PriorityModule, m.feature)
	api.Hook(core.StreamEvent(core.StreamPreAuth, NS, "query"), core.PriorityModule, m.preauth)
	// XEP-0077 §3.2, §3.3: a logged-in account addresses the server, or
	// sends with no 'to'.
	api.Hook(core.IQEvent(core.TargetHost, NS, "query"), core.PriorityModule, m.account)
	api.Hook(core.IQEvent(core.TargetSelf, NS, "query"), core.PriorityModule, m.account)
	if m.conf.reuseAfter > 0 {
		api.Every(time.Hour, m.sweep)
	}
	return nil
}

// allowed reports whether a stream may register: its address is in
// allow_from, and the password it will send is not readable on the way,
// because the stream is encrypted or never leaves the machine.
func (m *Module) allowed(info core.LinkInfo) bool {
	ip, err := netip.ParseAddr(info.Remote)
	if err != nil {
		return false
	}
	ip = ip.Unmap().WithZone("")
	if !info.Secure && !ip.IsLoopback() {
		return false
	}
	for _, p := range m.conf.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// feature advertises registration before authentication to the streams
// that may use it (XEP-0077 §4).
func (m *Module) feature(ev *core.Event) bool {
	f, ok := ev.Data.(*core.Features)
	if !ok || f.Authenticated || f.Stream == nil || !m.allowed(f.Stream.Info()) {
		return false
	}
	f.B.Start("register").Attr("xmlns", NSFeature).End()
	return false
}

// sweep drops the tombstones older than reuse_after, so the store holds
// only those still in force.
func (m *Module) sweep() {
	now := time.Now()
	var expired []string
	err := m.tombs.Each(tombstoneUser, func(name string, data []byte) error {
		var s stamp
		if _, err := s.UnmarshalMsg(data); err != nil || m.expired(s, now) {
			expired = append(expired, name)
		}
		return nil
	})
	if err != nil {
		m.api.Log().Warn("cannot list tombstones", "err", err)
		return
	}
	for _, name := range expired {
		m.tombs.Delete(tombstoneUser, name)
	}
}

func (m *Module) expired(s stamp, now time.Time) bool {
	return now.Sub(time.Unix(int64(s), 0)) >= m.conf.reuseAfter
}

// buried reports whether a removed account's name is still taken.
func (m *Module) buried(local string) bool {
	if m.conf.reuseAfter == 0 {
		return false
	}
	var s stamp
	found, err := m.tombs.Get(tombstoneUser, local, &s)
	if err != nil {
		// Unreadable: keep the name taken rather than risk freeing it.
		return true
	}
	return found && !m.expired(s, time.Now())
}

var _ core.Module = (*Module)(nil)
