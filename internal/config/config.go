package config

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Config is xmppd's configuration: the typed form of one UCI file. README.md
// in this directory lists every section and option.
type Config struct {
	File            string // the file read; "" for the embedded default
	DataDir         string
	LogLevel        string // debug, info, warn or error
	LogTarget       string // stderr or syslog
	AdminSocket     string
	User, Group     string // account to switch to when started as root; "" for none
	AllowRoot       bool   // keep running as root when started as root without User
	StanzaSizeLimit int    // bytes
	ModulesEnabled  []string
	MemoryLimit     int64 // GOMEMLIMIT in bytes; 0 leaves it unset
	GCPercent       int   // GOGC; 0 keeps Go's default
	Storage         Storage
	C2S             C2S
	Hosts           []Host
	Listeners       []Listener
	// Modules holds the `config module` sections by module name. A module
	// reads its options with ModuleSection and a Reader.
	Modules map[string]*Module
	Raw     *File // the parsed file, for the web UI to edit and write back
}

// Storage sizes the database's memory use.
type Storage struct {
	MemTableSize int64
	CacheSize    int64
}

// C2S holds the limits and timeouts of client connections.
type C2S struct {
	OpenTimeout      time.Duration
	AuthTimeout      time.Duration
	Keepalive        time.Duration // white space ping interval; 0 sends none
	MaxPerIP         int           // hard cap of connections per address (IPv6: per /64); 0 means no limit
	MaxUnauthPerIP   int           // handshakes served at once per address; more wait their turn
	MaxUnauth        int           // unauthenticated connections in all; 0 means no limit
	MaxResources     int           // bound sessions per account; 0 means no limit
	MaxSessions      int           // bound sessions in all; 0 means no limit
	CBDowngrade      string        // accept or refuse SCRAM's gs2 flag y where no known binding was offered
	RateBytes        int64         // bytes per second; 0 means no limit
	RateBurst        int64         // 0 means one second's worth of RateBytes
	QueueBytes       int64         // outgoing bytes queued per session
	PlainOnLoopback  bool
	ResourceConflict string // kick_old, refuse or random
}

// Host is one virtual host (`config host`).
type Host struct {
	Name            string // section name; "" when anonymous
	Domain          string
	Enabled         bool
	ModulesEnabled  []string // added to the global list
	ModulesDisabled []string // taken out of the global list
	Cert, Key       string   // both or neither
	Line            int
}

// Listener is one listening socket (`config listener`).
type Listener struct {
	Name    string // section name; "" when anonymous
	Type    string // c2s, http or https
	Address string // "" for all addresses
	Port    int
	TLS     string // starttls, direct or none
	Line    int
}

// Module is the configuration of one module: an optional global section and
// sections for single hosts.
type Module struct {
	Name   string
	Global *Section            // nil when the module has no global section
	Hosts  map[string]*Section // by domain
}

// defaultName stands for the embedded default in errors.
const defaultName = "built-in default"

// Load reads, parses and checks the configuration in path, or the embedded
// default when path is "". On a mistake in the file the error is an
// ErrorList naming file:line for each.
func Load(path string) (*Config, error) {
	f, err := parseFile(path)
	if err != nil {
		return nil, err
	}
	c, err := FromFile(f)
	if err != nil {
		return nil, err
	}
	if path == "" {
		c.File = ""
	}
	return c, nil
}

// CheckFile returns every problem in the configuration in path (the embedded
// default when path is ""), each printing as file:line: msg, or nil when
// there is none. It is the first part of `xmppd check`, whose other checks
// need a configuration that maps (core.Check).
func CheckFile(path string) []error {
	f, err := parseFile(path)
	if err == nil {
		_, err = FromFile(f)
	}
	var list ErrorList
	switch {
	case err == nil:
		return nil
	case errors.As(err, &list):
		return list.Unwrap()
	}
	return []error{err}
}

func parseFile(path string) (*File, error) {
	if path == "" {
		return Parse(defaultName, defaultUCI)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		// The path is in err already (open /etc/config/xmppd: ...).
		return nil, fmt.Errorf("cannot read the configuration: %w", err)
	}
	return Parse(path, data)
}

// Host returns the host serving domain, or nil.
func (c *Config) Host(domain string) *Host {
	for i := range c.Hosts {
		if c.Hosts[i].Domain == domain {
			return &c.Hosts[i]
		}
	}
	return nil
}

// ModulesFor returns the modules to load for host domain: the global
// modules_enabled and the host's own, minus the host's modules_disabled, in
// that order and each once.
func (c *Config) ModulesFor(domain string) []string {
	h := c.Host(domain)
	if h == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, m := range h.ModulesDisabled {
		seen[m] = true
	}
	for _, list := range [][]string{c.ModulesEnabled, h.ModulesEnabled} {
		for _, m := range list {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// ModuleSection returns the options of module name as they apply to host
// domain: its global section with the host's section laid over it, option by
// option. With domain "" it returns the global options only. The options
// module and host, which say where a section applies, are left out, so a
// module can call Unknown with its own options only. The result is nil when
// the module has no section, which a Reader reads as empty.
//
// The options are shared with Raw, so they must be read, not changed.
func (c *Config) ModuleSection(name, domain string) *Section {
	m := c.Modules[name]
	if m == nil {
		return nil
	}
	layers := []*Section{m.Global}
	if domain != "" {
		layers = append(layers, m.Hosts[domain])
	}
	var out *Section
	for _, s := range layers {
		if s == nil {
			continue
		}
		if out == nil {
			out = &Section{Type: s.Type, Name: name, Line: s.Line}
		}
		for _, o := range s.Options {
			if o.Name == "module" || o.Name == "host" {
				continue
			}
			replaced := false
			for i, prev := range out.Options {
				if prev.Name == o.Name {
					out.Options[i], replaced = o, true
				}
			}
			if !replaced {
				out.Options = append(out.Options, o)
			}
		}
	}
	return out
}
