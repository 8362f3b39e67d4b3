package config

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"xmppd/internal/jid"
)

// sectionTypes are the section types xmppd reads.
var sectionTypes = []string{"xmppd", "host", "listener", "module"}

// unixSocketMax is the longest path a Unix socket can bind on Linux: sun_path
// holds 108 bytes including the terminating NUL.
const unixSocketMax = 107

// FromFile maps a parsed file to a Config and checks it: every option is
// typed and in range, unknown section types and options are reported, at
// least one host is enabled, domains look like domains, listeners do not
// share a port, and cert and key come together. All problems are reported,
// as an ErrorList sorted by line.
func FromFile(f *File) (*Config, error) {
	m := &mapper{file: f.Name}
	c := &Config{File: f.Name, Raw: f, Modules: map[string]*Module{}}

	for _, s := range f.Sections {
		if !slices.Contains(sectionTypes, s.Type) {
			hint := ""
			if near := closest(s.Type, sectionTypes); near != "" {
				hint = " (did you mean " + near + "?)"
			}
			m.errorf(s.Line, "unknown section type %s: xmppd reads %s%s", quote(s.Type), strings.Join(sectionTypes, ", "), hint)
		}
	}
	m.main(c, f.SectionsOf("xmppd"))
	for _, s := range f.SectionsOf("host") {
		m.host(c, s)
	}
	for _, s := range f.SectionsOf("listener") {
		m.listener(c, s)
	}
	for _, s := range f.SectionsOf("module") {
		m.module(c, s)
	}
	if !slices.ContainsFunc(c.Hosts, func(h Host) bool { return h.Enabled }) {
		m.errorf(0, "no enabled host: add a section config host with option domain 'example.org', or set option enabled '1' in one")
	}

	m.sort()
	if err := m.errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

type mapper struct {
	file string
	errs ErrorList
}

func (m *mapper) errorf(line int, format string, args ...any) {
	m.errs = append(m.errs, &Error{File: m.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// sort puts the errors in the order of their lines. Line 0 (the file as a
// whole) goes last: it is usually a consequence.
func (m *mapper) sort() {
	slices.SortStableFunc(m.errs, func(a, b *Error) int {
		return cmp.Compare(uint(a.Line-1), uint(b.Line-1))
	})
}

// done collects a Reader's errors.
func (m *mapper) done(r *Reader) {
	m.errs = append(m.errs, r.errs...)
}

func (m *mapper) main(c *Config, sections []*Section) {
	var s *Section
	if len(sections) > 0 {
		s = sections[0]
	}
	for _, extra := range sections[min(1, len(sections)):] {
		m.errorf(extra.Line, "second xmppd section: global settings belong in one, move these options to the section at line %d", s.Line)
	}
	r := NewReader(m.file, s)
	apply(r, mainOptions(c))
	r.Unknown()
	c.ModulesEnabled = moduleList(r, "modules_enabled")
	if c.AdminSocket == "" {
		c.AdminSocket = strings.TrimSuffix(c.DataDir, "/") + "/xmppd.sock"
	}
	if len(c.AdminSocket) > unixSocketMax {
		name := "admin_socket"
		if !r.present(name) {
			name = "data_dir"
		}
		r.Errorf(name, "the admin socket path %s is %d bytes, and a Unix socket path can have at most %d: set a shorter admin_socket",
			quote(c.AdminSocket), len(c.AdminSocket), unixSocketMax)
	}
	m.done(r)
}

func (m *mapper) host(c *Config, s *Section) {
	h := Host{Name: s.Name, Line: s.Line}
	r := NewReader(m.file, s)
	apply(r, hostOptions(&h))
	r.Unknown()
	h.ModulesEnabled = moduleList(r, "modules_enabled")
	h.ModulesDisabled = moduleList(r, "modules_disabled")
	if h.Domain != "" {
		if msg := checkDomain(h.Domain); msg != "" {
			r.Errorf("domain", "%s", msg)
		} else if d, err := jid.New("", h.Domain, ""); err != nil {
			// The server builds its hosts with the jid package: what it
			// refuses must not pass here.
			r.Errorf("domain", "domain %s cannot be served: %v: use letters, digits, '-' and dots, as in 'example.org'", quote(h.Domain), err)
		} else if d.Domain() != h.Domain {
			r.Errorf("domain", "domain %s is %s in the normal form of RFC 7622, which is what clients send: write %s", quote(h.Domain), quote(d.Domain()), quote(d.Domain()))
		} else if prev := c.Host(h.Domain); prev != nil {
			r.Errorf("domain", "domain %s is already served by the host section at line %d: serve each domain once", quote(h.Domain), prev.Line)
		}
	}
	switch {
	case h.Cert != "" && h.Key == "":
		r.Errorf("cert", "option cert is set but key is not: give both, or neither for a self-signed certificate")
	case h.Key != "" && h.Cert == "":
		r.Errorf("key", "option key is set but cert is not: give both, or neither for a self-signed certificate")
	}
	m.done(r)
	c.Hosts = append(c.Hosts, h)
}

func (m *mapper) listener(c *Config, s *Section) {
	l := Listener{Name: s.Name, Line: s.Line}
	r := NewReader(m.file, s)
	apply(r, listenerOptions(&l))
	r.Unknown()
	if l.Type != "c2s" && r.present("tls") {
		r.Errorf("tls", "option tls is for c2s listeners: a web listener's type says whether it speaks TLS, so write option type 'https' for TLS, or leave tls out")
	}
	var addr netip.Addr
	if l.Address != "" {
		var err error
		if addr, err = netip.ParseAddr(l.Address); err != nil {
			r.Errorf("address", "%s is not an IP address: use one such as 192.168.1.1 or ::1, or leave address out to listen on all addresses", quote(l.Address))
		}
	}
	if l.Port != 0 {
		for _, prev := range c.Listeners {
			if prev.Port == l.Port && sameSocket(addr, prev.Address) {
				r.Errorf("port", "port %d is also used by the listener at line %d: give each listener its own port, or each its own address", l.Port, prev.Line)
				break
			}
		}
	}
	m.done(r)
	c.Listeners = append(c.Listeners, l)
}

// sameSocket reports whether listening on a and on other (as written in a
// config) would collide: the same address, or either one all addresses.
func sameSocket(a netip.Addr, other string) bool {
	b, err := netip.ParseAddr(other)
	if err != nil || !a.IsValid() || a.IsUnspecified() || b.IsUnspecified() {
		return true
	}
	return a == b
}

func (m *mapper) module(c *Config, s *Section) {
	var meta moduleMeta
	r := NewReader(m.file, s)
	apply(r, moduleOptions(&meta))
	defer m.done(r)
	name := meta.module
	if name == "" {
		name = s.Name
	}
	switch {
	case name == "":
		r.Errorf("", "anonymous module section without option module: say which module it configures, as in option module 'ping'")
		return
	case !validModule(name):
		field := "module"
		if meta.module == "" {
			field = ""
		}
		r.Errorf(field, "%s is not a module name: module names are lowercase letters, digits and _, as in 'ping'", quote(name))
		return
	}
	if meta.host != "" && c.Host(meta.host) == nil {
		r.Errorf("host", "host %s is not configured: use the domain of a config host section", quote(meta.host))
		return
	}
	mod := c.Modules[name]
	if mod == nil {
		mod = &Module{Name: name, Hosts: map[string]*Section{}}
		c.Modules[name] = mod
	}
	if meta.host == "" {
		if mod.Global != nil {
			r.Errorf("", "module %s already has a section for all hosts at line %d: merge the two", quote(name), mod.Global.Line)
			return
		}
		mod.Global = s
		return
	}
	if prev := mod.Hosts[meta.host]; prev != nil {
		r.Errorf("host", "module %s already has a section for host %s at line %d: merge the two", quote(name), quote(meta.host), prev.Line)
		return
	}
	mod.Hosts[meta.host] = s
}

// moduleList returns list option name as module names, reporting each bad
// item at its own line and dropping repeats.
func moduleList(r *Reader, name string) []string {
	items := r.List(name)
	if items == nil {
		return nil
	}
	o := r.sec.Option(name)
	var out []string
	for i, item := range items {
		line := o.Line
		if o.List {
			line = o.LineOf(i)
		}
		switch {
		case !validModule(item):
			r.errorAt(line, "option "+name+": "+quote(item)+" is not a module name: module names are lowercase letters, digits and _, as in 'ping'")
		case !slices.Contains(out, item):
			out = append(out, item)
		}
	}
	return out
}

// validModule reports whether s can name a module: it is also a Go package
// name and a log prefix, so lowercase only.
func validModule(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkDomain returns what is wrong with domain d, or "". It catches the
// mistakes people make (capitals, spaces, a pasted JID or URL) with advice
// for each; RFC 7622 itself is left to the jid package, applied after it.
func checkDomain(d string) string {
	if lower := strings.ToLower(d); lower != d {
		return "domain " + quote(d) + " must be lowercase: write " + quote(lower)
	}
	if i := strings.IndexFunc(d, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune(`@/\:"'<>&[]`, r) }); i >= 0 {
		return "domain " + quote(d) + " contains " + quote(string(d[i])) + ": give the bare domain, as in 'example.org', without user, port, scheme or spaces"
	}
	if strings.HasSuffix(d, ".") {
		return "domain " + quote(d) + " ends with a dot: write it without"
	}
	if len(d) > 253 {
		return "domain is " + strconv.Itoa(len(d)) + " bytes long: a domain has at most 253"
	}
	for _, label := range strings.Split(d, ".") {
		switch {
		case label == "":
			return "domain " + quote(d) + " has an empty label (a leading dot or two dots in a row)"
		case len(label) > 63:
			return "domain " + quote(d) + " has a label longer than 63 bytes"
		case label[0] == '-' || label[len(label)-1] == '-':
			return "domain " + quote(d) + " has a label that starts or ends with '-'"
		}
	}
	return ""
}
