// Package adhoc implements ad-hoc commands (XEP-0050) on the server's
// domain, with the service administration commands of XEP-0133 (add,
// delete and change the password of accounts, list online users, end
// sessions, announce) for the accounts listed as admins.
package adhoc

import (
	"time"

	"xmppd/internal/config"
	"xmppd/internal/core"
	"xmppd/internal/jid"
	"xmppd/internal/stanza"
)

// Namespaces.
const (
	// NS is the namespace of XEP-0050, also the disco node of the list.
	NS = "http://jabber.org/protocol/commands"
	// NSAdmin is the FORM_TYPE of XEP-0133 and the prefix of its nodes.
	NSAdmin = "http://jabber.org/protocol/admin"
	nsInfo  = "http://jabber.org/protocol/disco#info"
	nsItems = "http://jabber.org/protocol/disco#items"
)

// Defaults and bounds of the options.
const (
	defaultTimeout     = 10 * time.Minute
	defaultMaxSessions = 32
)

func init() {
	core.Register(core.ModuleInfo{Name: "adhoc", Auto: true, New: func() core.Module { return &Module{} },
		Options: func(r *config.Reader) { readSettings(r) }})
}

// settings are the module's options.
type settings struct {
	admins      []string // bare JIDs
	timeout     time.Duration
	maxSessions int
}

// readSettings reads the module's options, for Load and for the
// configuration checks alike.
func readSettings(opts *config.Reader) settings {
	var s settings
	for _, a := range opts.List("admins") {
		j, err := jid.Parse(a)
		if err != nil || j.Local() == "" || !j.IsBare() {
			opts.Errorf("admins", "list admins: %q is not an account's bare JID such as 'admin@example.org'", a)
			continue
		}
		s.admins = append(s.admins, j.String())
	}
	s.timeout = opts.Duration("session_timeout", defaultTimeout, time.Minute, 24*time.Hour)
	s.maxSessions = opts.Int("max_sessions", defaultMaxSessions, 1, 1024)
	opts.Unknown()
	return s
}

// Module serves ad-hoc commands on one host.
type Module struct {
	api      *core.API
	host     *core.Host
	conf     settings
	sessions *sessions

	runs, refused *core.Counter
}

// Load reads the admins, advertises the commands and hooks their
// execution and discovery.
func (m *Module) Load(api *core.API) error {
	m.api, m.host = api, api.Host()
	m.conf = readSettings(api.Options())
	m.sessions = newSessions(m.conf.maxSessions, m.conf.timeout)
	m.runs = api.Counter("runs", "commands completed")
	m.refused = api.Counter("refused", "command requests refused (not an admin, unknown node or session, bad form)")
	api.Gauge("sessions", "multi-step command sessions waiting for a submission", func() float64 { return float64(m.sessions.count()) })

	api.AddFeature(NS)
	api.AddItem(m.host.Name, NS, "Commands")
	api.Hook(core.IQEvent(core.TargetHost, NS, "command"), core.PriorityModule, m.command)
	// The disco module leaves nodes to the modules that serve them.
	api.Hook(core.IQEvent(core.TargetHost, nsItems, "query"), core.PriorityModule, m.items)
	api.Hook(core.IQEvent(core.TargetHost, nsInfo, "query"), core.PriorityModule, m.info)
	// No timer prunes the sessions: the table holds a few dozen at most
	// and is pruned when it is used, so an idle server is not woken.
	return nil
}

// admin reports whether the sender is one of the configured admins.
func (m *Module) admin(ev *core.Event) bool {
	if ev.Origin == nil {
		return false
	}
	bare := ev.From.Bare().String()
	for _, a := range m.conf.admins {
		if a == bare {
			return true
		}
	}
	return false
}

// node returns the disco node a query asks about, and whether it parsed.
func node(ev *core.Event) (string, bool) {
	if string(ev.Stanza.Type()) != "get" {
		return "", false
	}
	tree, err := ev.Stanza.Tree()
	if err != nil {
		return "", false
	}
	q := tree.FirstChild()
	if q == nil {
		return "", false
	}
	return q.Attr("node"), true
}

// items lists the commands the requester may run under the commands node
// (XEP-0050 §2.2): all of them for an admin, none for anyone else.
func (m *Module) items(ev *core.Event) bool {
	n, ok := node(ev)
	if !ok || n != NS {
		return false
	}
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", nsItems).Attr("node", NS)
	if m.admin(ev) {
		for _, c := range commands {
			b.Start("item").Attr("jid", m.host.Name).Attr("node", c.node).Attr("name", c.name).End()
		}
	}
	m.api.Result(ev, b.Bytes())
	return true
}

// info describes the commands node and each command's node (XEP-0050
// §2.3, §2.4).
func (m *Module) info(ev *core.Event) bool {
	n, ok := node(ev)
	if !ok {
		return false
	}
	var b stanza.Builder
	b.Reset(nil).Start("query").Attr("xmlns", nsInfo).Attr("node", n)
	switch c := find(n); {
	case n == NS:
		b.Start("identity").Attr("category", "automation").Attr("type", "command-list").Attr("name", "Commands").End()
	case c != nil:
		b.Start("identity").Attr("category", "automation").Attr("type", "command-node").Attr("name", c.name).End()
		b.Start("feature").Attr("var", NS).End()
		b.Start("feature").Attr("var", NSData).End()
	default:
		return false
	}
	m.api.Result(ev, b.Bytes())
	return true
}

var _ core.Module = (*Module)(nil)
