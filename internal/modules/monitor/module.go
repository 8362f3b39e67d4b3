// Package monitor publishes the device's own values (load, CPU, memory,
// interfaces, temperatures, wireless clients, xmppd itself) read from
// /proc and /sys to PEP nodes of a system account, so that its contacts
// get each change pushed (docs/monitoring.md).
package monitor

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/modules/pubsub"
	"xmppd/internal/modules/roster"
)

func init() {
	core.Register(core.ModuleInfo{Name: "monitor", New: func() core.Module { return &Module{} },
		Options:  func(r *config.Reader) { readOptions(r, "localhost") },
		Requires: []string{"pubsub"}, Optional: []string{roster.Service}})
}

// options are the module's UCI options.
type options struct {
	jid         string
	interval    time.Duration // longest time between two publishes of a node
	minInterval time.Duration // the sampling period: shortest time between two
	threshold   int64         // percent
	viewers     []string
	procRoot    string
	sysRoot     string
	debugRoot   string
}

func readOptions(r *config.Reader, host string) options {
	o := options{
		jid:         r.String("jid", "monitor@"+host),
		interval:    r.Duration("interval", 10*time.Second, 0, 24*time.Hour),
		minInterval: r.Duration("min_interval", 2*time.Second, 10*time.Millisecond, time.Hour),
		threshold:   int64(r.Int("threshold", 5, 0, 1000)),
		viewers:     r.List("viewers"),
		procRoot:    r.String("proc", "/proc"),
		sysRoot:     r.String("sys", "/sys"),
		debugRoot:   r.String("debugfs", "/sys/kernel/debug"),
	}
	if j, err := jid.Parse(o.jid); err != nil || j.Local() == "" || j.Resource() != "" {
		r.Errorf("jid", "option jid: %q is not a bare JID like monitor@%s", o.jid, host)
	}
	for _, v := range o.viewers {
		if j, err := jid.Parse(v); err != nil || j.Local() == "" || j.Resource() != "" {
			r.Errorf("viewers", "list viewers: %q is not a bare JID", v)
		}
	}
	if o.interval > 0 && o.interval < o.minInterval {
		r.Errorf("interval", "option interval: %s is below min_interval (%s)", o.interval, o.minInterval)
	}
	r.Unknown()
	return o
}

// Module samples the device and publishes on one host.
type Module struct {
	api     *core.API
	host    *core.Host
	opts    options
	account jid.JID

	mu      sync.Mutex // one sample at a time
	sampler *sampler
	failed  map[string]bool // nodes whose last publish failed, logged once

	publishes *core.Counter
}

// Load makes sure the account exists, makes the viewers its contacts and
// starts sampling.
func (m *Module) Load(api *core.API) error {
	m.api, m.host = api, api.Host()
	m.opts = readOptions(api.Options(), m.host.Name)
	j, err := jid.Parse(m.opts.jid)
	if err != nil {
		return err
	}
	m.account = j.Bare()
	if m.account.Domain() != m.host.Name {
		return errors.New("monitor: option jid " + m.opts.jid + " is not an account of " + m.host.Name)
	}
	accounts := api.Server().Accounts
	if !accounts.Exists(m.account.Domain(), m.account.Local()) {
		if err := accounts.Create(m.account.Domain(), m.account.Local(), randomPassword()); err != nil {
			return err
		}
		// Nobody needs to log in as the monitor; an admin who wants to
		// sets a password with `xmppd user passwd`.
		api.Log().Info("created the monitor account with a random password", "jid", m.account.String())
	}
	m.addViewers()
	m.publishes = api.Counter("publishes", "items the monitor published")
	m.failed = map[string]bool{}
	m.sampler = newSampler(m.opts.procRoot, m.opts.sysRoot, m.opts.debugRoot, m.sessions)
	if len(m.sampler.zones) == 0 {
		api.Log().Info("no thermal zones: no " + NodeThermal + " node")
	}
	if len(m.sampler.wifi) == 0 {
		api.Log().Info("no wireless station lists in debugfs: no "+NodeWireless+" node", "path", m.opts.debugRoot+"/ieee80211")
	}
	api.OnUnload(func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.sampler.close()
		m.sampler = nil
	})
	api.Every(m.opts.minInterval, m.tick)
	api.After(0, m.tick)
	return api.Provide("monitor", m)
}

// Account is the account the monitor publishes as: the default of
// `xmppd publish` and `xmppd items`.
func (m *Module) Account() jid.JID { return m.account }

// addViewers gives each viewer a presence subscription to the monitor
// account (presence access model), and, for local viewers, the monitor in
// their own roster.
func (m *Module) addViewers() {
	r := roster.For(m.host)
	if r == nil {
		if len(m.opts.viewers) > 0 {
			m.api.Log().Warn("list viewers needs the roster module; viewers not added")
		}
		return
	}
	for _, v := range m.opts.viewers {
		vj, err := jid.Parse(v)
		if err != nil {
			continue
		}
		vj = vj.Bare()
		set := func(it *roster.Item, them bool) bool {
			to, from := it.HasTo(), it.HasFrom()
			if them {
				to = true
			} else {
				from = true
			}
			sub := roster.None
			switch {
			case to && from:
				sub = roster.Both
			case to:
				sub = roster.To
			case from:
				sub = roster.From
			}
			if sub == it.Subscription && !it.Hidden {
				return false
			}
			it.Subscription, it.Hidden = sub, false
			return true
		}
		if _, _, err := r.Update(nil, m.account.Local(), vj.String(), func(it *roster.Item) bool { return set(it, false) }); err != nil {
			m.api.Log().Error("adding a viewer", "viewer", v, "err", err)
			continue
		}
		if vj.Domain() == m.host.Name && m.api.Server().Accounts.Exists(vj.Domain(), vj.Local()) {
			if _, _, err := r.Update(nil, vj.Local(), m.account.String(), func(it *roster.Item) bool { return set(it, true) }); err != nil {
				m.api.Log().Error("adding the monitor to a viewer's roster", "viewer", v, "err", err)
			}
		}
	}
}

// sessions counts the server's sessions and users.
func (m *Module) sessions() (sessions, users int) {
	for _, h := range m.api.Server().Hosts() {
		s, u := h.Count()
		sessions += s
		users += u
	}
	return sessions, users
}

// tick samples and publishes the groups that are due.
func (m *Module) tick() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sampler == nil {
		return
	}
	ps, ok := core.ServiceOf[*pubsub.Module](m.host, pubsub.Service)
	if !ok {
		return
	}
	now := time.Now()
	m.sampler.sample(now)
	for i := range m.sampler.groups {
		g := &m.sampler.groups[i]
		if !g.due(now, m.opts.interval, m.opts.threshold) {
			continue
		}
		if _, err := ps.PublishPEP(m.account, g.node, "current", g.payload); err != nil {
			if !m.failed[g.node] {
				m.api.Log().Error("publishing", "node", g.node, "err", err)
				m.failed[g.node] = true
			}
			continue
		}
		delete(m.failed, g.node)
		g.published(now)
		m.publishes.Inc()
	}
}

func randomPassword() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

var _ core.Module = (*Module)(nil)
