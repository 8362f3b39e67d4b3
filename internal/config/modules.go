package config

import (
	"maps"
	"slices"
	"strings"
)

// ModuleSpec describes a compiled-in module to CheckModules. The core's
// registry fills it in: this package cannot import the core, and the core
// cannot check lines it does not know.
type ModuleSpec struct {
	Name string
	// Global modules are loaded once for the server, so a host can neither
	// enable nor disable them, and they have no per-host sections.
	Global bool
	// Options reads every option of the module from r the way its Load
	// does, reporting mistakes on r, and has no side effects. Nil means the
	// module takes no options.
	Options func(r *Reader)
}

// CheckModules checks c's use of modules against mods, the modules compiled
// in: every name in modules_enabled and modules_disabled and every module
// section must name one of them, a host may list and configure only modules
// that load per host, and every module section must hold options its module
// reads, with values it accepts. A section is checked whether or not its
// module is enabled, so a mistake is found before someone enables it. The
// result is an ErrorList sorted by line, or nil.
func (c *Config) CheckModules(mods []ModuleSpec) error {
	if c.Raw == nil {
		return nil
	}
	m := &mapper{file: c.Raw.Name}
	byName := map[string]ModuleSpec{}
	var names []string
	for _, spec := range mods {
		byName[spec.Name] = spec
		names = append(names, spec.Name)
	}
	slices.Sort(names)
	unknown := func(name string) string {
		msg := "no module " + quote(name) + " is compiled in"
		if near := closest(name, names); near != "" {
			return msg + " (did you mean " + quote(near) + "?)"
		}
		return msg + " (compiled in: " + strings.Join(names, ", ") + ")"
	}

	// modules_enabled and modules_disabled, item by item at their lines.
	lists := func(s *Section, host bool, list string) {
		o := s.Option(list)
		if o == nil {
			return
		}
		items := o.Values
		if !o.List {
			items = strings.Fields(strings.Join(o.Values, " "))
		}
		for i, item := range items {
			line := o.Line
			if o.List {
				line = o.LineOf(i)
			}
			spec, ok := byName[item]
			switch {
			case !validModule(item):
				// FromFile reports it.
			case !ok:
				m.errorf(line, "option %s: %s", list, unknown(item))
			case host && spec.Global:
				m.errorf(line, "option %s: module %s serves the whole server, not one host: remove it from this host's list", list, quote(item))
			}
		}
	}
	for _, s := range c.Raw.SectionsOf("xmppd") {
		lists(s, false, "modules_enabled")
	}
	for _, s := range c.Raw.SectionsOf("host") {
		lists(s, true, "modules_enabled")
		lists(s, true, "modules_disabled")
	}

	// Module sections, each read by its module's own option code.
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(c.Modules)) {
		mod := c.Modules[name]
		spec, ok := byName[name]
		if !ok {
			for _, s := range mod.sections() {
				line := s.Line
				if o := s.Option("module"); o != nil {
					line = o.Line
				}
				m.errorf(line, "config module %s: %s", quote(name), unknown(name))
			}
			continue
		}
		if spec.Global {
			for _, s := range mod.sections() {
				if o := s.Option("host"); o != nil {
					m.errorf(o.Line, "option host: module %s serves the whole server, so its options apply to every host: remove option host", quote(name))
				}
			}
		}
		domains := []string{""}
		for d := range mod.Hosts {
			domains = append(domains, d)
		}
		slices.Sort(domains)
		for _, d := range domains {
			sec := c.ModuleSection(name, d)
			if sec == nil {
				continue
			}
			r := NewReader(m.file, sec)
			if spec.Options != nil {
				spec.Options(r)
			} else {
				for _, o := range sec.Options {
					r.errorAt(o.Line, "option "+o.Name+": module "+quote(name)+" takes no options: remove it")
				}
			}
			// A global section is read again under each host's section
			// laid over it; its mistakes are reported once.
			for _, e := range r.errs {
				if key := e.Error(); !seen[key] {
					seen[key] = true
					m.errs = append(m.errs, e)
				}
			}
		}
	}
	m.sort()
	return m.errs.err()
}

// sections returns the module's sections, the global one first.
func (m *Module) sections() []*Section {
	var out []*Section
	if m.Global != nil {
		out = append(out, m.Global)
	}
	for _, d := range slices.Sorted(maps.Keys(m.Hosts)) {
		out = append(out, m.Hosts[d])
	}
	return out
}
