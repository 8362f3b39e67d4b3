package config

import (
	"math"
	"strconv"
	"time"
)

// kind is the value syntax of an option.
type kind uint8

const (
	kindString kind = iota
	kindPath
	kindBool
	kindInt
	kindDuration
	kindSize
	kindEnum
	kindList
)

var kindNames = [...]string{"string", "path", "boolean", "integer", "duration", "size", "enum", "list"}

// option documents one option and names the field its value goes to. The
// tables below are the one place where an option's name, default and bounds
// are written: FromFile reads with them, README.md is generated from them and
// a test checks default.uci against them, so the three cannot drift apart.
type option struct {
	name string
	kind kind
	// def, min and max are written as in a UCI file ("30s", "64k"), so the
	// docs show what a user types and the defaults go through the same parser
	// as user values. def "" means none; max "" means unbounded.
	def, min, max string
	allowed       []string // kindEnum
	// defDoc describes a default that depends on other options.
	defDoc string
	// required options have no default; example is shown in the error.
	required bool
	example  string
	doc      string
	dst      any // *string, *bool, *int, *int64, *time.Duration or *[]string
}

// mainOptions are the options of the `config xmppd 'main'` section.
func mainOptions(c *Config) []option {
	return []option{
		{name: "data_dir", kind: kindPath, def: "./var", dst: &c.DataDir,
			doc: "Directory for accounts, rosters, archives and the self-signed certificate. A relative path is relative to the working directory."},
		{name: "log_level", kind: kindEnum, def: "info", allowed: []string{"debug", "info", "warn", "error"}, dst: &c.LogLevel,
			doc: "Least severe messages that are logged."},
		{name: "log_target", kind: kindEnum, def: "stderr", allowed: []string{"stderr", "syslog"}, dst: &c.LogTarget,
			doc: "Where log lines go. stderr: standard error, without the time when procd or systemd started xmppd, as they stamp each line themselves. syslog: the local syslog socket /dev/log with facility daemon, ident xmppd and a priority per level, so that `logread` on OpenWrt shows the levels; when the socket cannot be opened, lines go to stderr after one saying why. A change applies at the next restart, not on reload."},
		{name: "admin_socket", kind: kindPath, defDoc: "data_dir + '/xmppd.sock'", dst: &c.AdminSocket,
			doc: "Unix socket for the `xmppd status`, `user` and `publish` subcommands; at most 107 bytes, the limit of a socket address."},
		{name: "user", kind: kindString, dst: &c.User, example: "xmppd",
			doc: "Account to switch to when xmppd is started as root (a name, or a number without a passwd entry). xmppd binds its listeners and opens its store and admin socket first, gives data_dir and the admin socket to the account, then drops root for good: the account's groups, then group, then user, with no_new_privs. A reload cannot open a port below 1024 afterwards; restart xmppd for one, or let systemd's xmppd.socket pass it. When started as another user (procd, systemd's User=, start-stop-daemon --chuid) there is nothing to drop and the option is not used."},
		{name: "group", kind: kindString, defDoc: "the user's own group", dst: &c.Group,
			doc: "Group to switch to with user (a name, or a number)."},
		{name: "allow_root", kind: kindBool, def: "0", dst: &c.AllowRoot,
			doc: "Keep running as root when started as root with no user set. Without it xmppd refuses to start as root, since a server that parses what the network sends should not hold root; set user instead where possible."},
		{name: "stanza_size_limit", kind: kindSize, def: "262144", min: "10000", max: "16M", dst: &c.StanzaSizeLimit,
			doc: "Largest stanza accepted, in bytes; a bigger one ends the stream with policy-violation. RFC 6120 §13.12 requires at least 10000."},
		{name: "modules_enabled", kind: kindList, dst: &c.ModulesEnabled,
			doc: "Modules loaded for every host."},
		{name: "memory_limit", kind: kindSize, def: "0", min: "0", max: "64G", dst: &c.MemoryLimit,
			doc: "Soft memory limit of the Go runtime (GOMEMLIMIT), in bytes; 0 leaves it unset."},
		{name: "gc_percent", kind: kindInt, def: "0", min: "0", max: "10000", dst: &c.GCPercent,
			doc: "Garbage collection target (GOGC); 0 keeps Go's default of 100. Lower values use less memory and more CPU."},
		{name: "storage_memtable_size", kind: kindSize, def: "1M", min: "64k", max: "256M", dst: &c.Storage.MemTableSize,
			doc: "Size of the database's in-memory write buffer; larger values mean fewer flash writes and more RAM."},
		{name: "storage_cache_size", kind: kindSize, def: "2M", min: "0", max: "1G", dst: &c.Storage.CacheSize,
			doc: "Size of the database's block cache."},
		{name: "c2s_open_timeout", kind: kindDuration, def: "30s", min: "1s", max: "10m", dst: &c.C2S.OpenTimeout,
			doc: "Time a new client connection has to open its stream and finish TLS."},
		{name: "c2s_auth_timeout", kind: kindDuration, def: "60s", min: "1s", max: "10m", dst: &c.C2S.AuthTimeout,
			doc: "Time a client has from connecting until it is authenticated."},
		{name: "c2s_keepalive", kind: kindDuration, def: "0", min: "0", max: "1h", dst: &c.C2S.Keepalive,
			doc: "Interval of white space pings to idle clients, which keeps NAT mappings open; 0 sends none."},
		{name: "c2s_max_per_ip", kind: kindInt, def: "256", min: "0", max: "65535", dst: &c.C2S.MaxPerIP,
			doc: "Most client connections from one IP address (IPv6: one /64), authenticated or not; a connection over it is refused with policy-violation. 0 means no limit."},
		{name: "c2s_max_unauth_per_ip", kind: kindInt, def: "8", min: "1", max: "65535", dst: &c.C2S.MaxUnauthPerIP,
			doc: "Handshakes (TLS and authentication) served at once for one IP address (IPv6: one /64); later connections from it wait until one of these finishes or times out, instead of being refused."},
		{name: "c2s_max_unauth", kind: kindInt, def: "1024", min: "0", max: "1000000", dst: &c.C2S.MaxUnauth,
			doc: "Most connections that have not authenticated yet, from all addresses together; a connection over it is refused with policy-violation. 0 means no limit."},
		{name: "max_resources", kind: kindInt, def: "10", min: "0", max: "1000", dst: &c.C2S.MaxResources,
			doc: "Most sessions one account may have bound at once; binding one more fails with resource-constraint. 0 means no limit."},
		{name: "max_sessions", kind: kindInt, def: "0", min: "0", max: "10000000", dst: &c.C2S.MaxSessions,
			doc: "Most bound sessions on the whole server; binding one more fails with resource-constraint. 0 means no limit (memory_limit still bounds the heap)."},
		{name: "sasl_channel_binding_downgrade", kind: kindEnum, def: "accept", allowed: []string{"accept", "refuse"}, dst: &c.C2S.CBDowngrade,
			doc: "What SCRAM does with a client that says it supports channel binding but none was offered that it knows (gs2 flag y, as Python clients on TLS 1.3 send): accept the login, or refuse it as a possible downgrade (RFC 5802's strict rule)."},
		{name: "c2s_rate", kind: kindSize, def: "0", min: "0", max: "1G", dst: &c.C2S.RateBytes,
			doc: "Bytes per second each client may send; 0 means no limit."},
		{name: "c2s_rate_burst", kind: kindSize, def: "0", min: "0", max: "1G", dst: &c.C2S.RateBurst,
			doc: "Bytes a client may send at once above c2s_rate; 0 means one second's worth."},
		{name: "c2s_queue_size", kind: kindSize, def: "64k", min: "4k", max: "16M", dst: &c.C2S.QueueBytes,
			doc: "Most bytes waiting to be sent to one client; a client that falls further behind is disconnected."},
		{name: "c2s_plain_on_loopback", kind: kindBool, def: "0", dst: &c.C2S.PlainOnLoopback,
			doc: "Allow authentication without TLS on connections from the loopback address, for local scripts and tests."},
		{name: "c2s_resource_conflict", kind: kindEnum, def: "kick_old", allowed: []string{"kick_old", "refuse", "random"}, dst: &c.C2S.ResourceConflict,
			doc: "What happens when a client binds a resource that is in use: disconnect the old session, refuse the new one, or give the new one a random resource."},
	}
}

// hostOptions are the options of a `config host` section.
func hostOptions(h *Host) []option {
	return []option{
		{name: "domain", kind: kindString, required: true, example: "example.org", dst: &h.Domain,
			doc: "The domain served, lowercase: the part after the @ in the JIDs of its users."},
		{name: "enabled", kind: kindBool, def: "1", dst: &h.Enabled,
			doc: "Set to 0 to keep the section but stop serving the domain."},
		{name: "modules_enabled", kind: kindList, dst: &h.ModulesEnabled,
			doc: "Modules loaded for this host in addition to the global modules_enabled."},
		{name: "modules_disabled", kind: kindList, dst: &h.ModulesDisabled,
			doc: "Modules of the global modules_enabled that this host does not load."},
		{name: "cert", kind: kindPath, dst: &h.Cert,
			doc: "TLS certificate chain (PEM). Without cert and key, a self-signed certificate is made in data_dir on first start."},
		{name: "key", kind: kindPath, dst: &h.Key,
			doc: "Private key (PEM) of cert; give both or neither."},
	}
}

// listenerOptions are the options of a `config listener` section.
func listenerOptions(l *Listener) []option {
	return []option{
		{name: "type", kind: kindEnum, def: "c2s", allowed: []string{"c2s", "http", "https"}, dst: &l.Type,
			doc: "What connects: c2s for XMPP clients over TCP; http and https for the web server (BOSH, WebSocket, host-meta, the admin UI, /metrics; the http module's options set its limits), https with the hosts' certificates chosen by SNI."},
		{name: "address", kind: kindString, defDoc: "all addresses", dst: &l.Address,
			doc: "IP address to listen on, such as 192.168.1.1 or ::1 (a zone as in fe80::1%br-lan is allowed)."},
		{name: "port", kind: kindInt, min: "1", max: "65535", required: true, example: "5222", dst: &l.Port,
			doc: "TCP port. Two listeners may share a port only on different addresses."},
		{name: "tls", kind: kindEnum, def: "starttls", allowed: []string{"starttls", "direct", "none"}, dst: &l.TLS,
			doc: "For c2s listeners. starttls: clients upgrade with STARTTLS (port 5222); direct: TLS from the first byte, XEP-0368 (port 5223); none: no TLS. Web listeners choose with their type instead."},
	}
}

// moduleMeta holds the options that say where a module section applies; the
// module reads the others itself.
type moduleMeta struct {
	module, host string
}

// moduleOptions are the options of a `config module` section that xmppd reads.
func moduleOptions(m *moduleMeta) []option {
	return []option{
		{name: "module", kind: kindString, defDoc: "the section name", dst: &m.module,
			doc: "The module configured. Needed when the section is anonymous or configures a module for one host."},
		{name: "host", kind: kindString, defDoc: "all hosts", dst: &m.host,
			doc: "Apply the section to this domain only; its options override the module's global section."},
	}
}

// apply reads every option of opts from r into its field.
func apply(r *Reader, opts []option) {
	for _, o := range opts {
		if o.required && !r.present(o.name) {
			r.seen[o.name] = true
			r.Errorf("", "%s has no option %s: add one, as in option %s '%s'", r.sec.describe(), o.name, o.name, o.example)
			continue
		}
		switch o.kind {
		case kindString:
			*o.dst.(*string) = r.String(o.name, o.def)
		case kindPath:
			*o.dst.(*string) = r.Path(o.name, o.def)
		case kindEnum:
			*o.dst.(*string) = r.Enum(o.name, o.def, o.allowed...)
		case kindBool:
			def, _ := parseBool(o.def)
			*o.dst.(*bool) = r.Bool(o.name, def)
		case kindInt:
			*o.dst.(*int) = r.Int(o.name, o.intOf(o.def, 0), o.intOf(o.min, math.MinInt), o.intOf(o.max, math.MaxInt))
		case kindDuration:
			*o.dst.(*time.Duration) = r.Duration(o.name, o.durationOf(o.def, 0), o.durationOf(o.min, math.MinInt64), o.durationOf(o.max, math.MaxInt64))
		case kindSize:
			n := r.Size(o.name, o.sizeOf(o.def, 0), o.sizeOf(o.min, 0), o.sizeOf(o.max, math.MaxInt64))
			switch dst := o.dst.(type) {
			case *int64:
				*dst = n
			case *int:
				// The table keeps int fields' bounds within 32 bits.
				*dst = int(n)
			}
		case kindList:
			*o.dst.(*[]string) = r.List(o.name)
		}
	}
}

// present reports whether option name is set to something.
func (r *Reader) present(name string) bool {
	o := r.sec.Option(name)
	return o != nil && len(o.Values) > 0 && (o.List || o.Values[0] != "")
}

// intOf, durationOf and sizeOf parse table entries. A bad entry is a
// programming error that TestOptionTables catches, so they panic.
func (o *option) intOf(s string, empty int) int {
	if s == "" {
		return empty
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		panic("config: option " + o.name + ": bad number " + s + " in the table")
	}
	return n
}

func (o *option) durationOf(s string, empty time.Duration) time.Duration {
	if s == "" {
		return empty
	}
	d, err := parseDuration(s)
	if err != nil {
		panic("config: option " + o.name + ": bad duration " + s + " in the table")
	}
	return d
}

func (o *option) sizeOf(s string, empty int64) int64 {
	if s == "" {
		return empty
	}
	n, err := parseSize(s)
	if err != nil {
		panic("config: option " + o.name + ": bad size " + s + " in the table")
	}
	return n
}
